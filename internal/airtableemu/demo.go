package airtableemu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Field names of the demo Leads table, for code that syncs it.
const (
	LeadsTable = "Leads"

	FieldFirstName  = "First Name"
	FieldLastName   = "Last Name"
	FieldPhone      = "Phone"      // E.164, fake +1555… numbers
	FieldEmail      = "Email"      // @example.com
	FieldTimezone   = "Timezone"   // IANA name
	FieldTags       = "Tags"       // multiple select
	FieldICPScore   = "ICP Score"  // number 0..100
	FieldEngagement = "Engagement" // low, medium, high
	FieldStatus     = "Status"     // new, contacted, engaged
	FieldBooked     = "Booked"     // checkbox
	FieldSMSStop    = "SMS Stop"   // checkbox
	// Written back by Nurture when a lead is enrolled in a campaign.
	FieldCampaign       = "Campaign"        // text
	FieldSequenceStatus = "Sequence Status" // text
)

// IDs of the demo bases.
const (
	DemoBaseAcme   = "appDemoAcme000001"
	DemoBaseGlobex = "appDemoGlobex0001"
)

// Choices of the demo select fields.
var (
	DemoTags        = []string{"vip", "webinar", "referral", "trial", "enterprise", "smb", "newsletter"}
	DemoEngagements = []string{"low", "medium", "high"}
	DemoStatuses    = []string{"new", "contacted", "engaged"}
	DemoTimezones   = []string{"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
		"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"}
)

// LeadsSpec is the schema of the demo Leads table.
func LeadsSpec() TableSpec {
	return TableSpec{Name: LeadsTable, Fields: []FieldSpec{
		{Name: FieldFirstName, Type: TypeSingleLineText},
		{Name: FieldLastName, Type: TypeSingleLineText},
		{Name: FieldPhone, Type: TypePhoneNumber},
		{Name: FieldEmail, Type: TypeEmail},
		{Name: FieldTimezone, Type: TypeSingleLineText},
		{Name: FieldTags, Type: TypeMultipleSelects, Options: append([]string(nil), DemoTags...)},
		{Name: FieldICPScore, Type: TypeNumber},
		{Name: FieldEngagement, Type: TypeSingleSelect, Options: append([]string(nil), DemoEngagements...)},
		{Name: FieldStatus, Type: TypeSingleSelect, Options: append([]string(nil), DemoStatuses...)},
		{Name: FieldBooked, Type: TypeCheckbox},
		{Name: FieldSMSStop, Type: TypeCheckbox},
		{Name: FieldCampaign, Type: TypeSingleLineText},
		{Name: FieldSequenceStatus, Type: TypeSingleLineText},
	}}
}

// DemoBase describes a base created by SeedDemo.
type DemoBase struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Table   string `json:"table"`
	Records int    `json:"records"`
}

var (
	demoFirst = []string{"Ava", "Liam", "Olivia", "Noah", "Emma", "Elijah", "Sophia", "Mateo", "Isabella", "Lucas",
		"Mia", "Levi", "Amelia", "Ezra", "Harper", "Asher", "Evelyn", "Leo", "Abigail", "Kai", "Priya", "Wei",
		"Fatima", "Diego", "Aiko", "Omar", "Zoe", "Ravi", "Nora", "Jamal"}
	demoLast = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
		"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
		"Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Nguyen", "Patel", "Kim"}
)

// SeedDemo creates two deterministic demo bases, each with a Leads table
// (LeadsSpec) and a Tasks table (TasksSpec, five tasks): Acme (600 leads) and Globex (450 leads). Existing demo bases
// are replaced, so calling it again restores the demo data.
func SeedDemo(e *Emulator) []DemoBase {
	specs := []struct {
		id, name string
		n        int
		seed     uint64
	}{
		{DemoBaseAcme, "Acme Dental Group", 600, 1},
		{DemoBaseGlobex, "Globex Fitness", 450, 2},
	}
	out := make([]DemoBase, 0, len(specs))
	for bi, s := range specs {
		e.DeleteBase(s.id)
		if _, err := e.CreateBase(s.id, s.name, LeadsSpec()); err != nil {
			panic(fmt.Sprintf("airtableemu: SeedDemo: %v", err)) // IDs are constants: cannot happen
		}
		rng := rand.New(rand.NewPCG(s.seed, 0xA11CE))
		start := time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)
		recs := make([]Record, s.n)
		seen := map[string]bool{}
		for i := range recs {
			id := demoRecordID(rng)
			for seen[id] {
				id = demoRecordID(rng)
			}
			seen[id] = true
			recs[i] = Record{
				ID:          id,
				CreatedTime: start.Add(time.Duration(i)*97*time.Second + time.Duration(rng.IntN(1000))*time.Millisecond),
				Fields:      demoLead(rng, bi, i),
			}
		}
		if _, err := e.SeedRecords(s.id, LeadsTable, recs); err != nil {
			panic(fmt.Sprintf("airtableemu: SeedDemo: %v", err))
		}
		if err := seedDemoTasks(e, s.id); err != nil {
			panic(fmt.Sprintf("airtableemu: SeedDemo: %v", err))
		}
		out = append(out, DemoBase{ID: s.id, Name: s.name, Table: LeadsTable, Records: s.n})
	}
	return out
}

func demoRecordID(rng *rand.Rand) string {
	var b [17]byte
	copy(b[:], "rec")
	for i := 3; i < len(b); i++ {
		b[i] = idAlphabet[rng.IntN(len(idAlphabet))]
	}
	return string(b[:])
}

func demoLead(rng *rand.Rand, baseIdx, i int) map[string]any {
	first := demoFirst[rng.IntN(len(demoFirst))]
	last := demoLast[rng.IntN(len(demoLast))]
	f := map[string]any{
		FieldFirstName: first,
		FieldLastName:  last,
		FieldPhone:     fmt.Sprintf("+1555%07d", 2_000_000+baseIdx*100_000+i),
		FieldTimezone:  DemoTimezones[rng.IntN(len(DemoTimezones))],
		FieldICPScore:  rng.IntN(101),
	}
	if rng.IntN(100) >= 5 { // 5% have no email: the cell is empty
		f[FieldEmail] = fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), i)
	}
	var tags []string
	for _, t := range DemoTags {
		if rng.IntN(100) < 18 {
			tags = append(tags, t)
		}
	}
	if len(tags) > 0 {
		f[FieldTags] = tags
	}
	switch n := rng.IntN(100); {
	case n < 45:
		f[FieldEngagement] = "low"
	case n < 80:
		f[FieldEngagement] = "medium"
	default:
		f[FieldEngagement] = "high"
	}
	status := DemoStatuses[rng.IntN(len(DemoStatuses))]
	f[FieldStatus] = status
	f[FieldBooked] = status == "engaged" && rng.IntN(100) < 35
	f[FieldSMSStop] = rng.IntN(100) < 4
	return f
}
