package airtableemu_test

import (
	"testing"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/airtablefields"
)

// The demo Leads table has every column of the default mapping, under the
// default names: the emulator's demo schema and Nurture's defaults cannot drift.
func TestDemoSchemaMatchesTheDefaultMapping(t *testing.T) {
	var cols []string
	for _, f := range airtableemu.LeadsSpec().Fields {
		cols = append(cols, f.Name)
	}
	m := airtablefields.Default()
	if missing := m.Missing(cols); len(missing) > 0 {
		t.Fatalf("demo table lacks %v", missing)
	}
	for got, want := range map[string]string{
		airtableemu.FieldPhone: m.Phone, airtableemu.FieldSMSStop: m.SMSStop, airtableemu.FieldBooked: m.Booked,
		airtableemu.FieldCampaign: m.Campaign, airtableemu.FieldSequenceStatus: m.SequenceStatus, airtableemu.FieldTags: m.Tags,
	} {
		if got != want {
			t.Errorf("emulator field %q, default mapping %q", got, want)
		}
	}
}

func TestRenameField(t *testing.T) {
	e := airtableemu.New(airtableemu.Options{})
	if _, err := e.CreateBase("appRename00000001", "r", airtableemu.LeadsSpec()); err != nil {
		t.Fatal(err)
	}
	ids, err := e.SeedFields("appRename00000001", "Leads", []map[string]any{{airtableemu.FieldSMSStop: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.RenameField("appRename00000001", "Leads", airtableemu.FieldSMSStop, "Opted Out"); err != nil {
		t.Fatal(err)
	}
	r, err := e.GetRecord("appRename00000001", "Leads", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.Fields["Opted Out"] != true || r.Fields[airtableemu.FieldSMSStop] != nil {
		t.Fatalf("after rename: %v", r.Fields)
	}
	if err := e.RenameField("appRename00000001", "Leads", "No Such", "x"); err == nil {
		t.Fatal("renaming a missing field must fail")
	}
}
