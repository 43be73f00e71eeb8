// Package airtablefields maps a client's Airtable columns to lead fields:
// which column holds the phone, the opt-out checkbox, the tags, and which
// columns the write-back fills. Each client has its own mapping (stored
// with the client); an empty entry takes the default name.
package airtablefields

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Mapping names the Airtable column of each lead field.
type Mapping struct {
	FirstName  string `json:"first_name,omitempty"`
	LastName   string `json:"last_name,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Email      string `json:"email,omitempty"`
	Timezone   string `json:"timezone,omitempty"`
	Tags       string `json:"tags,omitempty"`
	ICPScore   string `json:"icp_score,omitempty"`
	Engagement string `json:"engagement_level,omitempty"`
	Status     string `json:"status,omitempty"`
	Booked     string `json:"booked,omitempty"`
	SMSStop    string `json:"sms_stop,omitempty"`
	// Written back by Nurture (campaign name, sequence status).
	Campaign       string `json:"campaign,omitempty"`
	SequenceStatus string `json:"sequence_status,omitempty"`
}

// Default is the mapping of a client that set none (and of the emulator's
// demo bases).
func Default() Mapping {
	return Mapping{
		FirstName: "First Name", LastName: "Last Name", Phone: "Phone", Email: "Email", Timezone: "Timezone",
		Tags: "Tags", ICPScore: "ICP Score", Engagement: "Engagement", Status: "Status", Booked: "Booked", SMSStop: "SMS Stop",
		Campaign: "Campaign", SequenceStatus: "Sequence Status",
	}
}

// Parse reads a stored mapping ({} or null: the default) and fills every
// entry left empty with the default name.
func Parse(raw []byte) (Mapping, error) {
	var m Mapping
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return Mapping{}, fmt.Errorf("airtable field mapping: %w", err)
		}
	}
	return m.WithDefaults(), nil
}

// WithDefaults fills empty entries with the default names.
func (m Mapping) WithDefaults() Mapping {
	d := Default()
	mv, dv := reflect.ValueOf(&m).Elem(), reflect.ValueOf(d)
	for i := range mv.NumField() {
		if mv.Field(i).String() == "" {
			mv.Field(i).SetString(dv.Field(i).String())
		}
	}
	return m
}

// Read is every column the sync reads, by lead field (json name), in a
// fixed order. Each one must exist in the table: a renamed or deleted
// column would otherwise read as empty (an opt-out as false) for every lead.
func (m Mapping) Read() [][2]string {
	return [][2]string{
		{"first_name", m.FirstName}, {"last_name", m.LastName}, {"phone", m.Phone}, {"email", m.Email},
		{"timezone", m.Timezone}, {"tags", m.Tags}, {"icp_score", m.ICPScore}, {"engagement_level", m.Engagement},
		{"status", m.Status}, {"booked", m.Booked}, {"sms_stop", m.SMSStop},
	}
}

// Missing lists the read columns the table does not have, as
// "field (column)" pairs, given the table's column names.
func (m Mapping) Missing(columns []string) []string {
	var out []string
	for _, f := range m.Read() {
		if !slices.Contains(columns, f[1]) {
			out = append(out, fmt.Sprintf("%s (column %q)", f[0], f[1]))
		}
	}
	return out
}
