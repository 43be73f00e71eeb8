package airtablefields

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// TaskMapping names the Airtable column of each task field (issue 12).
type TaskMapping struct {
	Title    string `json:"title,omitempty"`
	Status   string `json:"status,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	DueDate  string `json:"due_date,omitempty"`
	Notes    string `json:"notes,omitempty"`
	// LastModified is a "Last modified time" column (read only): the
	// record's last edit in Airtable, which decides conflicts.
	LastModified string `json:"last_modified,omitempty"`
	// NurtureID holds the task's id, written when Nurture creates the
	// record, so a create retried after a crash links the record it made
	// instead of making a second one.
	NurtureID string `json:"nurture_id,omitempty"`
}

// DefaultTaskTable is the tasks table of a client that named none.
const DefaultTaskTable = "Tasks"

// DefaultTasks is the task mapping of a client that set none.
func DefaultTasks() TaskMapping {
	return TaskMapping{Title: "Title", Status: "Status", Assignee: "Assignee", DueDate: "Due Date", Notes: "Notes",
		LastModified: "Last Modified", NurtureID: "Nurture ID"}
}

// ParseTasks reads a stored task mapping ({} or null: the default).
func ParseTasks(raw []byte) (TaskMapping, error) {
	var m TaskMapping
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return TaskMapping{}, fmt.Errorf("airtable task field mapping: %w", err)
		}
	}
	d := DefaultTasks()
	mv, dv := reflect.ValueOf(&m).Elem(), reflect.ValueOf(d)
	for i := range mv.NumField() {
		if mv.Field(i).String() == "" {
			mv.Field(i).SetString(dv.Field(i).String())
		}
	}
	return m, nil
}

// Column is the Airtable column of a task field by its json name
// ("title", "due_date", ...); "" for an unknown one.
func (m TaskMapping) Column(field string) string {
	switch field {
	case "title":
		return m.Title
	case "status":
		return m.Status
	case "assignee":
		return m.Assignee
	case "due_date":
		return m.DueDate
	case "notes":
		return m.Notes
	}
	return ""
}
