package activities

import (
	"strings"
	"testing"

	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtablefields"
)

func TestMapRecord(t *testing.T) {
	m := airtablefields.Default()
	valid := func() map[string]any {
		return map[string]any{
			m.FirstName: " Ada ", m.Phone: "+15550001111", m.Email: "Ada@Example.com",
			m.Tags: []any{"VIP", " vip", "webinar", ""}, m.ICPScore: float64(70),
			m.Engagement: "High", m.Status: "Engaged", m.Timezone: "America/New_York",
		}
	}
	rec := func(f map[string]any) *airtable.Record {
		return &airtable.Record{ID: "rec00000000000001", CreatedTime: "2026-01-02T03:04:05.000Z", Fields: f}
	}
	l, reason := mapRecord(rec(valid()), airtablefields.Default())
	if reason != "" {
		t.Fatalf("valid record refused: %s", reason)
	}
	if l.FirstName != "Ada" || l.Email != "ada@example.com" || l.Status != "engaged" || l.EngagementLevel != "high" ||
		strings.Join(l.Tags, ",") != "vip,webinar" || l.ICPScore == nil || *l.ICPScore != 70 || l.CreatedAt.Year() != 2026 {
		t.Fatalf("mapped: %+v", l)
	}
	for name, c := range map[string]struct {
		key    string
		value  any
		reason string
	}{
		"bad phone":          {m.Phone, "555-0001", "phone"},
		"unknown zone":       {m.Timezone, "Mars/Olympus_Mons", "unknown timezone"},
		"local zone":         {m.Timezone, "Local", "unknown timezone"},
		"fractional score":   {m.ICPScore, 7.5, "ICP score"},
		"score out of range": {m.ICPScore, float64(101), "ICP score"},
		"score as text":      {m.ICPScore, "70", "ICP score"},
		"unknown status":     {m.Status, "zombie", "unknown status"},
	} {
		// Twice: the second answer comes from the zone cache and must agree.
		for range 2 {
			f := valid()
			f[c.key] = c.value
			if _, reason := mapRecord(rec(f), m); !strings.Contains(reason, c.reason) {
				t.Errorf("%s: reason %q, want %q", name, reason, c.reason)
			}
		}
	}
	f := valid()
	delete(f, m.Timezone)
	f[m.Engagement] = "weird"
	if l, reason := mapRecord(rec(f), m); reason != "" || l.Timezone != "UTC" || l.EngagementLevel != "unknown" {
		t.Fatalf("defaults: %q %+v", reason, l)
	}
	r := rec(valid())
	r.CreatedTime = "yesterday"
	if _, reason := mapRecord(r, m); !strings.Contains(reason, "createdTime") {
		t.Fatalf("createdTime: %q", reason)
	}
}

// A client with its own column names is read through its mapping.
func TestMapRecordCustomMapping(t *testing.T) {
	m, err := airtablefields.Parse([]byte(`{"phone": "Mobile", "sms_stop": "Do Not Text"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := &airtable.Record{ID: "rec00000000000001", CreatedTime: "2026-01-02T03:04:05.000Z",
		Fields: map[string]any{"Mobile": "+15550001111", "Do Not Text": true, "SMS Stop": false, "Phone": "junk"}}
	l, reason := mapRecord(r, m)
	if reason != "" || l.Phone != "+15550001111" || !l.SMSStop {
		t.Fatalf("mapped %+v (%s)", l, reason)
	}
	if missing := m.Missing([]string{"Mobile", "First Name"}); len(missing) != 9 || !strings.Contains(strings.Join(missing, ","), `"Do Not Text"`) {
		t.Fatalf("missing: %v", missing)
	}
	if _, err := airtablefields.Parse([]byte(`{"phon": "x"}`)); err == nil {
		t.Fatal("a mapping naming an unknown field must be refused")
	}
}
