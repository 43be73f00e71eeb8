package activities

import (
	"strings"
	"testing"

	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

func TestMapRecord(t *testing.T) {
	valid := func() map[string]any {
		return map[string]any{
			airtableemu.FieldFirstName: " Ada ", airtableemu.FieldPhone: "+15550001111", airtableemu.FieldEmail: "Ada@Example.com",
			airtableemu.FieldTags: []any{"VIP", " vip", "webinar", ""}, airtableemu.FieldICPScore: float64(70),
			airtableemu.FieldEngagement: "High", airtableemu.FieldStatus: "Engaged", airtableemu.FieldTimezone: "America/New_York",
		}
	}
	rec := func(f map[string]any) *airtable.Record {
		return &airtable.Record{ID: "rec00000000000001", CreatedTime: "2026-01-02T03:04:05.000Z", Fields: f}
	}
	l, reason := mapRecord(rec(valid()))
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
		"bad phone":          {airtableemu.FieldPhone, "555-0001", "phone"},
		"unknown zone":       {airtableemu.FieldTimezone, "Mars/Olympus_Mons", "unknown timezone"},
		"local zone":         {airtableemu.FieldTimezone, "Local", "unknown timezone"},
		"fractional score":   {airtableemu.FieldICPScore, 7.5, "ICP score"},
		"score out of range": {airtableemu.FieldICPScore, float64(101), "ICP score"},
		"score as text":      {airtableemu.FieldICPScore, "70", "ICP score"},
		"unknown status":     {airtableemu.FieldStatus, "zombie", "unknown status"},
	} {
		// Twice: the second answer comes from the zone cache and must agree.
		for range 2 {
			f := valid()
			f[c.key] = c.value
			if _, reason := mapRecord(rec(f)); !strings.Contains(reason, c.reason) {
				t.Errorf("%s: reason %q, want %q", name, reason, c.reason)
			}
		}
	}
	f := valid()
	delete(f, airtableemu.FieldTimezone)
	f[airtableemu.FieldEngagement] = "weird"
	if l, reason := mapRecord(rec(f)); reason != "" || l.Timezone != "UTC" || l.EngagementLevel != "unknown" {
		t.Fatalf("defaults: %q %+v", reason, l)
	}
	r := rec(valid())
	r.CreatedTime = "yesterday"
	if _, reason := mapRecord(r); !strings.Contains(reason, "createdTime") {
		t.Fatalf("createdTime: %q", reason)
	}
}
