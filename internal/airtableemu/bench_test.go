package airtableemu_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

func leadFields(n int) []map[string]any {
	fields := make([]map[string]any, n)
	for i := range fields {
		fields[i] = map[string]any{
			airtableemu.FieldFirstName: "Bulk",
			airtableemu.FieldLastName:  "Lead",
			airtableemu.FieldPhone:     "+15550000000",
			airtableemu.FieldEmail:     "bulk@example.com",
			airtableemu.FieldICPScore:  i % 101,
			airtableemu.FieldStatus:    "new",
			airtableemu.FieldTags:      []string{"trial"},
			airtableemu.FieldBooked:    i%3 == 0,
		}
	}
	return fields
}

// BenchmarkSeed50k measures bulk loading 50,000 Leads records.
func BenchmarkSeed50k(b *testing.B) {
	fields := leadFields(50_000)
	for b.Loop() {
		emu := airtableemu.New(airtableemu.Options{})
		if _, err := emu.CreateBase(testBase, "", airtableemu.LeadsSpec()); err != nil {
			b.Fatal(err)
		}
		if _, err := emu.SeedFields(testBase, airtableemu.LeadsTable, fields); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPage measures serving one 100-record page from a 50,000-record table.
func BenchmarkListPage(b *testing.B) {
	emu := airtableemu.New(airtableemu.Options{})
	if _, err := emu.CreateBase(testBase, "", airtableemu.LeadsSpec()); err != nil {
		b.Fatal(err)
	}
	if _, err := emu.SeedFields(testBase, airtableemu.LeadsTable, leadFields(50_000)); err != nil {
		b.Fatal(err)
	}
	h := emu.Handler()
	req := httptest.NewRequest("GET", "/v0/"+testBase+"/"+airtableemu.LeadsTable+"?pageSize=100", nil)
	req.Header.Set("Authorization", "Bearer k")
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
