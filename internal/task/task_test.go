package task

import (
	"testing"
	"time"
)

func TestMergeFieldByField(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	base := Values{Title: "a", Status: "todo", Assignee: "x", DueDate: "2026-01-02", Notes: "n"}
	local := base
	local.Title = "local title"  // local only
	local.Status = "in_progress" // both (conflict)
	local.Notes = "same"         // both, same value
	remote := base
	remote.Assignee = "remote y" // remote only
	remote.Status = "done"       // both
	remote.Notes = "same"

	// Airtable's edit is newer: it wins the conflicting field.
	m := Merge(local, &base, t0, remote, t0.Add(time.Second), t0.Add(2*time.Second))
	want := Values{Title: "local title", Status: "done", Assignee: "remote y", DueDate: "2026-01-02", Notes: "same"}
	if m.Values != want {
		t.Fatalf("values = %+v, want %+v", m.Values, want)
	}
	c, ok := m.Conflicts["status"]
	if !ok || len(m.Conflicts) != 1 || c.Local != "in_progress" || c.Remote != "done" || c.Winner != "remote" || c.Base != "todo" {
		t.Fatalf("conflicts = %+v", m.Conflicts)
	}
	if m.Base.Title != "a" || !m.PushNeeded() {
		t.Fatalf("the local title must still be pushed: base %+v", m.Base)
	}

	// The local edit is newer (or equal): it wins, and is pushed.
	m = Merge(local, &base, t0.Add(time.Second), remote, t0.Add(time.Second), t0)
	if m.Values.Status != "in_progress" || m.Conflicts["status"].Winner != "local" || m.Conflicts["status"].Remote != "done" {
		t.Fatalf("local should win a tie: %+v %+v", m.Values, m.Conflicts)
	}
	if m.Base.Status != "done" || !m.PushNeeded() {
		t.Fatalf("base must be Airtable's value until the push: %+v", m.Base)
	}

	// Nothing changed anywhere: nothing to push, no conflict.
	m = Merge(base, &base, t0, base, t0, t0)
	if m.PushNeeded() || len(m.Conflicts) != 0 || len(m.RemoteChanged) != 0 {
		t.Fatalf("no-op merge: %+v", m)
	}
	// Never synced: only the local side counts as changed.
	m = Merge(local, nil, t0, remote, t0.Add(time.Hour), t0)
	if m.Values != local || len(m.Conflicts) != 0 || !m.PushNeeded() {
		t.Fatalf("unsynced merge: %+v", m)
	}
}

func TestCheckField(t *testing.T) {
	for _, c := range []struct {
		f, v string
		ok   bool
	}{
		{"title", "Call back", true}, {"title", "  ", false}, {"title", "a\u200bb", false},
		{"status", "done", true}, {"status", "Done", false},
		{"due_date", "2026-02-28", true}, {"due_date", "2026-02-30", false}, {"due_date", "", true},
		{"due_date", "2026-02-28T10:00:00.000Z", true}, {"due_date", "0001-01-01", false},
		{"assignee", "", true}, {"assignee", "Dana", true}, {"notes", "line\nline", true}, {"nope", "", false},
	} {
		_, err := CheckField(c.f, c.v)
		if (err == nil) != c.ok {
			t.Errorf("CheckField(%q, %q) = %v, want ok=%v", c.f, c.v, err, c.ok)
		}
	}
}
