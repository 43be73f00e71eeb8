package airtableemu_test

import (
	"testing"
	"time"

	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/airtablefields"
)

// A Last Modified column holds the time of the record's last write through
// the Web API, and refuses a value of its own.
func TestLastModifiedTime(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	if _, err := e.emu.CreateBase("appTasksLM0000001", "t", airtableemu.TasksSpec()); err != nil {
		t.Fatal(err)
	}
	tbl := e.client.GetTable("appTasksLM0000001", airtableemu.TasksTable)
	created, err := tbl.AddRecords(&airtable.Records{Records: []*airtable.Record{{Fields: map[string]any{airtableemu.TaskFieldTitle: "a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := created.Records[0].Fields[airtableemu.TaskFieldLastModified].(string)
	t1, err := time.Parse(time.RFC3339, first)
	if err != nil {
		t.Fatalf("Last Modified on create = %v: %v", created.Records[0].Fields, err)
	}
	time.Sleep(5 * time.Millisecond)
	up, err := tbl.UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{{ID: created.Records[0].ID,
		Fields: map[string]any{airtableemu.TaskFieldStatus: "done"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t2, err := time.Parse(time.RFC3339, up.Records[0].Fields[airtableemu.TaskFieldLastModified].(string))
	if err != nil || !t2.After(t1) {
		t.Fatalf("Last Modified after PATCH = %v (was %v): %v", t2, t1, err)
	}
	_, err = tbl.UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{{ID: created.Records[0].ID,
		Fields: map[string]any{airtableemu.TaskFieldLastModified: "2020-01-01T00:00:00.000Z"}}}})
	httpErr(t, err, 422, "INVALID_VALUE_FOR_COLUMN")
}

// The demo Tasks table has every column of the default task mapping.
func TestDemoTasksMatchTheDefaultTaskMapping(t *testing.T) {
	cols := map[string]bool{}
	for _, f := range airtableemu.TasksSpec().Fields {
		cols[f.Name] = true
	}
	m := airtablefields.DefaultTasks()
	for _, c := range []string{m.Title, m.Status, m.Assignee, m.DueDate, m.Notes, m.LastModified, m.NurtureID} {
		if !cols[c] {
			t.Errorf("demo Tasks table lacks %q", c)
		}
	}
	e := airtableemu.New(airtableemu.Options{})
	airtableemu.SeedDemo(e)
	recs, err := e.Records(airtableemu.DemoBaseAcme, airtableemu.TasksTable)
	if err != nil || len(recs) != 5 || recs[0].Fields[m.LastModified] == nil {
		t.Fatalf("demo tasks: %v %v", recs, err)
	}
}
