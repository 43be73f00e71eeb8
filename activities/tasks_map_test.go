package activities

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/airtablefields"
	"github.com/nurture-sms/nurture/internal/store"
)

func TestMapTaskRecord(t *testing.T) {
	m := airtablefields.DefaultTasks()
	rt, why := mapTaskRecord(TaskRecord{ID: "rec1", Fields: map[string]any{"Title": " Call ", "Status": "done", "Due Date": "2026-03-01",
		"Last Modified": "2026-03-01T10:00:00.000Z", "Nurture ID": "abc"}}, m)
	if why != "" || rt.Values.Title != "Call" || rt.Values.Status != "done" || rt.Values.DueDate != "2026-03-01" || rt.NurtureID != "abc" ||
		!rt.Modified.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("mapped %+v (%s)", rt, why)
	}
	for _, c := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"Status": "done"}, "title"},
		{map[string]any{"Title": "a", "Status": "Archived"}, "status"},
		{map[string]any{"Title": "a", "Status": "done", "Due Date": "soon"}, "due_date"},
		{map[string]any{"Title": []any{"x"}, "Status": "done"}, "title is not text"},
	} {
		if _, why := mapTaskRecord(TaskRecord{ID: "rec2", Fields: c.fields}, m); !strings.Contains(why, c.want) {
			t.Errorf("%v: %q, want %q", c.fields, why, c.want)
		}
	}
	if _, why := mapTaskRecord(TaskRecord{Fields: map[string]any{"Title": "a", "Status": "done"}}, m); why == "" {
		t.Error("a record without an id was accepted")
	}
}

// A PATCH writes only the fields changed since the last sync; a create
// writes every non-empty field and the Nurture ID.
func TestTaskFields(t *testing.T) {
	m := airtablefields.DefaultTasks()
	due := "2026-01-02"
	tk := store.Task{ID: uuid.New(), Title: "t", Status: "todo", DueDate: &due}
	create := taskFields(tk, m, true)
	if len(create) != 4 || create["Title"] != "t" || create["Due Date"] != due || create["Nurture ID"] != tk.ID.String() {
		t.Fatalf("create fields %v", create)
	}
	if _, ok := create["Notes"]; ok {
		t.Fatal("an empty field was written on create")
	}
}
