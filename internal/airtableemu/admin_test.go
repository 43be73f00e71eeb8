package airtableemu_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the demo time zones must resolve everywhere

	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

func TestAdminHTTP(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	admin := e.srv.URL + "/_emulator"

	var bi airtableemu.BaseInfo
	if s := do(t, "POST", admin+"/bases", "", map[string]any{
		"id": testBase, "name": "Admin", "tables": []any{map[string]any{"name": "Items"}},
	}, &bi); s != 201 || bi.ID != testBase || len(bi.Tables) != 1 {
		t.Fatalf("create base: %d %+v", s, bi)
	}
	if s := do(t, "POST", admin+"/bases", "", map[string]any{"id": testBase}, nil); s != 400 {
		t.Fatalf("duplicate base: %d", s)
	}
	var gen airtableemu.BaseInfo
	if s := do(t, "POST", admin+"/bases", "", map[string]any{"tables": []any{airtableemu.LeadsSpec()}}, &gen); s != 201 || !airtableemu.IsBaseID(gen.ID) {
		t.Fatalf("generated base: %d %+v", s, gen)
	}
	if s := do(t, "POST", admin+"/bases/"+testBase+"/tables", "", map[string]any{"name": "More"}, nil); s != 201 {
		t.Fatalf("create table: %d", s)
	}

	// Bulk seed.
	recs := make([]map[string]any, 1000)
	for i := range recs {
		recs[i] = map[string]any{"fields": map[string]any{"Name": fmt.Sprint("n", i)}}
	}
	recs[0]["id"] = "recFixedId0000001"
	recs[0]["createdTime"] = "2024-02-03T04:05:06.789Z"
	var seeded struct {
		Created int      `json:"created"`
		IDs     []string `json:"ids"`
	}
	if s := do(t, "POST", admin+"/bases/"+testBase+"/tables/Items/records", "", map[string]any{"records": recs}, &seeded); s != 201 ||
		seeded.Created != 1000 || seeded.IDs[0] != "recFixedId0000001" {
		t.Fatalf("seed: %d %d", s, seeded.Created)
	}
	one, err := e.client.GetTable(testBase, "Items").GetRecord("recFixedId0000001")
	if err != nil || one.CreatedTime != "2024-02-03T04:05:06.789Z" {
		t.Fatalf("seeded record: %+v %v", one, err)
	}
	var listed struct {
		Records []airtableemu.Record `json:"records"`
	}
	if s := do(t, "GET", admin+"/bases/"+testBase+"/tables/Items/records", "", nil, &listed); s != 200 || len(listed.Records) != 1000 {
		t.Fatalf("admin list: %d %d", s, len(listed.Records))
	}
	var deleted struct {
		Deleted int `json:"deleted"`
	}
	if s := do(t, "DELETE", admin+"/bases/"+testBase+"/tables/Items/records", "", map[string]any{"ids": seeded.IDs[:10]}, &deleted); s != 200 || deleted.Deleted != 10 {
		t.Fatalf("delete some: %d %+v", s, deleted)
	}
	if s := do(t, "DELETE", admin+"/bases/"+testBase+"/tables/Items/records", "", nil, nil); s != 400 {
		t.Fatalf("delete without ids: %d", s)
	}

	// Faults.
	var f map[string]any
	if s := do(t, "PUT", admin+"/bases/"+testBase+"/faults", "", map[string]any{
		"truncate": map[string]any{"afterRecords": 150},
		"failPage": map[string]any{"page": 3, "status": 503, "once": true},
		"latency":  "5ms",
	}, &f); s != 200 || f["latency"] != "5ms" {
		t.Fatalf("put faults: %d %v", s, f)
	}
	got, _ := e.emu.GetFaults(testBase)
	if got.Truncate == nil || got.Truncate.AfterRecords != 150 || got.FailPage.Status != 503 || got.Latency != 5*time.Millisecond {
		t.Fatalf("faults %+v", got)
	}
	if recs, _ := walk(t, e.client.GetTable(testBase, "Items"), nil); len(recs) != 150 {
		t.Fatalf("truncated walk: %d", len(recs))
	}
	if s := do(t, "PATCH", admin+"/bases/"+testBase+"/faults", "", map[string]any{"latency": 0, "truncate": nil}, &f); s != 200 {
		t.Fatalf("patch faults: %d", s)
	}
	got, _ = e.emu.GetFaults(testBase)
	if got.Truncate != nil || got.Latency != 0 || got.FailPage == nil {
		t.Fatalf("patched faults %+v", got)
	}
	if s := do(t, "DELETE", admin+"/bases/"+testBase+"/faults", "", nil, nil); s != 200 {
		t.Fatalf("clear faults: %d", s)
	}
	if got, _ = e.emu.GetFaults(testBase); !reflect.DeepEqual(got, airtableemu.Faults{}) {
		t.Fatalf("cleared faults %+v", got)
	}
	if s := do(t, "PUT", admin+"/bases/appNopeNopeNope00/faults", "", map[string]any{}, nil); s != 404 {
		t.Fatalf("faults of unknown base: %d", s)
	}

	// Offsets.
	tbl := e.client.GetTable(testBase, "Items")
	p1, err := tbl.GetRecords().Do()
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Expired int `json:"expired"`
	}
	if s := do(t, "POST", admin+"/bases/"+testBase+"/offsets/expire", "", nil, &exp); s != 200 || exp.Expired < 1 {
		t.Fatalf("expire: %d %+v", s, exp)
	}
	_, err = tbl.GetRecords().WithOffset(p1.Offset).Do()
	httpErr(t, err, 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")
	if s := do(t, "POST", admin+"/offsets/expire", "", nil, &exp); s != 200 {
		t.Fatalf("expire all: %d", s)
	}

	// Settings and penalty.
	var settings map[string]any
	if s := do(t, "PATCH", admin+"/settings", "", map[string]any{"rateLimit": 2, "penalty": "150ms", "offsetTTL": 60000}, &settings); s != 200 ||
		settings["rateLimit"] != 2.0 || settings["penalty"] != "150ms" || settings["offsetTTL"] != "1m0s" {
		t.Fatalf("settings: %d %v", s, settings)
	}
	if s := do(t, "POST", admin+"/bases/"+testBase+"/penalty", "", map[string]any{"duration": "1h"}, nil); s != 200 {
		t.Fatalf("penalty: %d", s)
	}
	_, err = tbl.GetRecords().Do()
	httpErr(t, err, 429, "RATE_LIMIT_REACHED")

	// Stats.
	var st airtableemu.Stats
	if s := do(t, "GET", admin+"/stats", "", nil, &st); s != 200 || st.RateLimited != 1 || st.Bases[testBase].Requests == 0 || st.Requests == 0 {
		t.Fatalf("stats: %d %+v", s, st)
	}
	if s := do(t, "DELETE", admin+"/stats", "", nil, &st); s != 200 || st.Requests != 0 {
		t.Fatalf("reset stats: %d %+v", s, st)
	}

	// Delete base, list bases, demo seed.
	if s := do(t, "DELETE", admin+"/bases/"+testBase, "", nil, nil); s != 200 {
		t.Fatalf("delete base: %d", s)
	}
	if s := do(t, "DELETE", admin+"/bases/"+testBase, "", nil, nil); s != 404 {
		t.Fatalf("delete base again: %d", s)
	}
	var demo []airtableemu.DemoBase
	if s := do(t, "POST", admin+"/seed-demo", "", nil, &demo); s != 201 || len(demo) != 2 {
		t.Fatalf("seed-demo: %d %+v", s, demo)
	}
	var bases []airtableemu.BaseInfo
	if s := do(t, "GET", admin+"/bases", "", nil, &bases); s != 200 || len(bases) != 3 {
		t.Fatalf("bases: %d %+v", s, bases)
	}
	if s := do(t, "GET", admin+"/health", "", nil, nil); s != 200 {
		t.Fatalf("health: %d", s)
	}
}

func TestSeedDemo(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	demo := airtableemu.SeedDemo(e.emu)
	if len(demo) < 2 {
		t.Fatalf("%d demo bases", len(demo))
	}
	phoneRe := regexp.MustCompile(`^\+1555\d{7}$`)
	total := 0
	phones := map[string]bool{}
	for _, d := range demo {
		if !regexp.MustCompile(`^app[A-Za-z0-9]{14}$`).MatchString(d.ID) || d.Table != airtableemu.LeadsTable {
			t.Fatalf("demo base %+v", d)
		}
		recs, _ := walk(t, e.client.GetTable(d.ID, airtableemu.LeadsTable), nil)
		if len(recs) != d.Records {
			t.Fatalf("%s: %d records, want %d", d.ID, len(recs), d.Records)
		}
		total += len(recs)
		for _, r := range recs {
			checkLead(t, r, phoneRe)
			phone := r.Fields[airtableemu.FieldPhone].(string)
			if phones[phone] {
				t.Fatalf("duplicate phone %s", phone)
			}
			phones[phone] = true
		}
	}
	if total < 1000 {
		t.Fatalf("%d demo records", total)
	}

	// Deterministic, and re-seeding restores the data.
	other := airtableemu.New(airtableemu.Options{})
	airtableemu.SeedDemo(other)
	if _, err := e.emu.DeleteRecords(airtableemu.DemoBaseAcme, airtableemu.LeadsTable); err != nil {
		t.Fatal(err)
	}
	airtableemu.SeedDemo(e.emu)
	for _, d := range demo {
		a, _ := e.emu.Records(d.ID, airtableemu.LeadsTable)
		b, _ := other.Records(d.ID, airtableemu.LeadsTable)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s differs between two seeds", d.ID)
		}
	}
}

func checkLead(t *testing.T, r *airtable.Record, phoneRe *regexp.Regexp) {
	t.Helper()
	f := r.Fields
	for _, k := range []string{airtableemu.FieldFirstName, airtableemu.FieldLastName, airtableemu.FieldPhone,
		airtableemu.FieldTimezone, airtableemu.FieldICPScore, airtableemu.FieldEngagement, airtableemu.FieldStatus} {
		if f[k] == nil {
			t.Fatalf("%s: missing %s in %v", r.ID, k, f)
		}
	}
	if !phoneRe.MatchString(f[airtableemu.FieldPhone].(string)) {
		t.Fatalf("phone %v", f[airtableemu.FieldPhone])
	}
	if email, ok := f[airtableemu.FieldEmail].(string); ok && !strings.HasSuffix(email, "@example.com") {
		t.Fatalf("email %s", email)
	}
	if _, err := time.LoadLocation(f[airtableemu.FieldTimezone].(string)); err != nil {
		t.Fatal(err)
	}
	if s := f[airtableemu.FieldICPScore].(float64); s < 0 || s > 100 || s != float64(int(s)) {
		t.Fatalf("ICP score %v", s)
	}
	if v := f[airtableemu.FieldEngagement]; v != "low" && v != "medium" && v != "high" {
		t.Fatalf("engagement %v", v)
	}
	if v := f[airtableemu.FieldStatus]; v != "new" && v != "contacted" && v != "engaged" {
		t.Fatalf("status %v", v)
	}
	if tags, ok := f[airtableemu.FieldTags]; ok {
		if _, ok := tags.([]any); !ok {
			t.Fatalf("tags %T", tags)
		}
	}
	for _, k := range []string{airtableemu.FieldBooked, airtableemu.FieldSMSStop} {
		if v, ok := f[k]; ok && v != true {
			t.Fatalf("%s = %v", k, v)
		}
	}
}
