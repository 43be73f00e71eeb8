// Package task holds what both sides of the two-way task sync (issue 12,
// HIGH-6) share: a task's synced fields, their validation, and the merge
// rule that decides, field by field, which side's edit stands.
package task

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nurture-sms/nurture/internal/text"
)

// Statuses a task can have, in the order the console offers them.
var Statuses = []string{"todo", "in_progress", "blocked", "done"}

// Limits of the text fields (characters).
const (
	MaxTitle    = 200
	MaxAssignee = 100
	MaxNotes    = 5000
)

// Fields are the synced fields by json name, in a fixed order.
var Fields = []string{"title", "status", "assignee", "due_date", "notes"}

// Values are a task's synced fields. DueDate is YYYY-MM-DD or "".
type Values struct {
	Title    string `json:"title"`
	Status   string `json:"status"`
	Assignee string `json:"assignee"`
	DueDate  string `json:"due_date"`
	Notes    string `json:"notes"`
}

// Get returns a field by json name.
func (v Values) Get(f string) string {
	switch f {
	case "title":
		return v.Title
	case "status":
		return v.Status
	case "assignee":
		return v.Assignee
	case "due_date":
		return v.DueDate
	case "notes":
		return v.Notes
	}
	return ""
}

// Set sets a field by json name.
func (v *Values) Set(f, s string) {
	switch f {
	case "title":
		v.Title = s
	case "status":
		v.Status = s
	case "assignee":
		v.Assignee = s
	case "due_date":
		v.DueDate = s
	case "notes":
		v.Notes = s
	}
}

// Map is v keyed by field (what tasks.synced stores).
func (v Values) Map() map[string]string {
	m := make(map[string]string, len(Fields))
	for _, f := range Fields {
		m[f] = v.Get(f)
	}
	return m
}

// FromMap is the inverse of Map (missing keys: "").
func FromMap(m map[string]string) Values {
	var v Values
	for _, f := range Fields {
		v.Set(f, m[f])
	}
	return v
}

// FieldError names the field a value is refused for.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidStatus says whether s is a task status.
func ValidStatus(s string) bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

// CheckField validates and normalizes one field's value.
func CheckField(f, s string) (string, error) {
	switch f {
	case "title":
		t, err := text.Name(s, MaxTitle)
		if err != nil {
			return s, &FieldError{f, fmt.Sprintf("title %v (1 to %d characters)", err, MaxTitle)}
		}
		return t, nil
	case "assignee":
		if strings.TrimSpace(s) == "" {
			return "", nil
		}
		t, err := text.Name(s, MaxAssignee)
		if err != nil {
			return s, &FieldError{f, fmt.Sprintf("assignee %v (up to %d characters)", err, MaxAssignee)}
		}
		return t, nil
	case "status":
		if !ValidStatus(s) {
			return s, &FieldError{f, "status must be one of: " + strings.Join(Statuses, ", ")}
		}
		return s, nil
	case "due_date":
		if s == "" {
			return "", nil
		}
		d, err := ParseDate(s)
		if err != nil {
			return s, &FieldError{f, "due_date must be a date YYYY-MM-DD (or empty)"}
		}
		return d, nil
	case "notes":
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return s, &FieldError{f, "notes must be valid UTF-8 text"}
		}
		if utf8.RuneCountInString(s) > MaxNotes {
			return s, &FieldError{f, fmt.Sprintf("notes must be at most %d characters", MaxNotes)}
		}
		return s, nil
	}
	return s, &FieldError{f, "unknown field"}
}

// ParseDate accepts YYYY-MM-DD (and an ISO time, as Airtable's date-time
// fields answer, of which the date is kept), years 1900..9999.
func ParseDate(s string) (string, error) {
	if len(s) > 10 && s[10] == 'T' {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return "", err
		}
		s = s[:10]
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return "", err
	}
	if d.Year() < 1900 {
		return "", errors.New("year before 1900")
	}
	return d.Format("2006-01-02"), nil
}

// Check validates every field of v, returning the normalized values.
func (v Values) Check() (Values, error) {
	out := v
	for _, f := range Fields {
		s, err := CheckField(f, v.Get(f))
		if err != nil {
			return v, err
		}
		out.Set(f, s)
	}
	return out, nil
}

// Conflict is one field both sides changed since they last agreed.
type Conflict struct {
	Local            string    `json:"local"`
	Remote           string    `json:"remote"`
	Base             string    `json:"base"`
	Winner           string    `json:"winner"` // local or remote
	LocalUpdatedAt   time.Time `json:"local_updated_at"`
	RemoteModifiedAt time.Time `json:"remote_modified_at"`
	DetectedAt       time.Time `json:"detected_at"`
}

// Merged is the outcome of a merge.
type Merged struct {
	Values Values // the task's values from now on
	// Base is what Airtable holds after the merge (the new synced values);
	// a field where Values differs from Base must be pushed.
	Base      Values
	Conflicts map[string]Conflict
	// RemoteChanged lists the fields taken from Airtable.
	RemoteChanged []string
}

// PushNeeded says whether a field must still be written to Airtable.
func (m Merged) PushNeeded() bool { return m.Values != m.Base }

// Merge applies Airtable's values to a task, field by field, against base,
// the values both sides last agreed on (nil: never synced, then only the
// local side counts as changed). For each field:
//
//   - same value on both sides: nothing to do;
//   - changed in Airtable only: Airtable's value is taken;
//   - changed locally only: the local value stays (and is pushed);
//   - changed on both sides to different values: the newer edit wins (the
//     task's local updated_at against the record's Airtable last-modified
//     time; a tie goes to the local edit) and both values are kept in a
//     Conflict. The losing value is never dropped silently.
func Merge(local Values, base *Values, localAt time.Time, remote Values, remoteAt, now time.Time) Merged {
	b := remote
	if base != nil {
		b = *base
	}
	out := Merged{Values: local, Base: b}
	for _, f := range Fields {
		l, r, o := local.Get(f), remote.Get(f), b.Get(f)
		switch {
		case l == r:
			out.Base.Set(f, r)
		case l == o: // only Airtable changed
			out.Values.Set(f, r)
			out.Base.Set(f, r)
			out.RemoteChanged = append(out.RemoteChanged, f)
		case r == o: // only the local side changed: push it
		default:
			c := Conflict{Local: l, Remote: r, Base: o, LocalUpdatedAt: localAt, RemoteModifiedAt: remoteAt, DetectedAt: now}
			if remoteAt.After(localAt) {
				c.Winner = "remote"
				out.Values.Set(f, r)
				out.RemoteChanged = append(out.RemoteChanged, f)
			} else {
				c.Winner = "local"
			}
			out.Base.Set(f, r) // Airtable holds r until the push
			if out.Conflicts == nil {
				out.Conflicts = map[string]Conflict{}
			}
			out.Conflicts[f] = c
		}
	}
	return out
}
