package airtableemu

import (
	"fmt"
	"time"
)

// Field names of the demo Tasks table (issue 12: two-way task sync).
const (
	TasksTable = "Tasks"

	TaskFieldTitle        = "Title"
	TaskFieldStatus       = "Status"   // todo, in_progress, blocked, done
	TaskFieldAssignee     = "Assignee" // text
	TaskFieldDueDate      = "Due Date" // YYYY-MM-DD
	TaskFieldNotes        = "Notes"
	TaskFieldLastModified = "Last Modified" // lastModifiedTime (computed)
	TaskFieldNurtureID    = "Nurture ID"    // written by Nurture when it creates a record
)

// DemoTaskStatuses are the choices of the demo Status field.
var DemoTaskStatuses = []string{"todo", "in_progress", "blocked", "done"}

// TasksSpec is the schema of the demo Tasks table.
func TasksSpec() TableSpec {
	return TableSpec{Name: TasksTable, Fields: []FieldSpec{
		{Name: TaskFieldTitle, Type: TypeSingleLineText},
		{Name: TaskFieldStatus, Type: TypeSingleSelect, Options: append([]string(nil), DemoTaskStatuses...)},
		{Name: TaskFieldAssignee, Type: TypeSingleLineText},
		{Name: TaskFieldDueDate, Type: TypeSingleLineText},
		{Name: TaskFieldNotes, Type: TypeMultilineText},
		{Name: TaskFieldLastModified, Type: TypeLastModifiedTime},
		{Name: TaskFieldNurtureID, Type: TypeSingleLineText},
	}}
}

// seedDemoTasks adds a Tasks table with a few tasks to a demo base.
func seedDemoTasks(e *Emulator, baseID string) error {
	if err := e.CreateTable(baseID, TasksSpec()); err != nil {
		return err
	}
	due := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var recs []map[string]any
	for i, title := range []string{"Import last quarter's leads", "Review the spring campaign copy", "Confirm the booking link",
		"Clean up duplicate contacts", "Plan the webinar follow-up"} {
		recs = append(recs, map[string]any{
			TaskFieldTitle: title, TaskFieldStatus: DemoTaskStatuses[i%len(DemoTaskStatuses)],
			TaskFieldAssignee: []string{"Dana", "Sam", ""}[i%3], TaskFieldDueDate: due.AddDate(0, 0, 7*i).Format("2006-01-02"),
		})
	}
	if _, err := e.SeedFields(baseID, TasksTable, recs); err != nil {
		return fmt.Errorf("seed tasks: %w", err)
	}
	return nil
}
