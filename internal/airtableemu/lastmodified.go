package airtableemu

import "time"

// Last modified time fields (issue 12): a column of type
// TypeLastModifiedTime holds the time of the record's last write through
// the Web API or the admin API (create, PATCH, PUT; UTC, milliseconds, as
// Airtable formats it). It is stored like any value when the record is
// written, so listings, formulas and sorts read it as they read other
// cells. Writing it is refused (INVALID_VALUE_FOR_COLUMN: computed).
// Only strict tables (with field specs) have typed columns.

// clock is the time stamped into last-modified columns (tests may replace it).
var clock = time.Now

// stampModified sets every last-modified column of vals to now.
func (t *table) stampModified(vals []any) {
	var now string
	for i, c := range t.cols {
		if c.typ != TypeLastModifiedTime || i >= len(vals) {
			continue
		}
		if now == "" {
			now = formatTime(clock())
		}
		vals[i] = now
	}
}

func errComputed(field string) *apiError {
	return typedErr(422, "INVALID_VALUE_FOR_COLUMN", "Field \""+field+"\" cannot accept a value because the field is computed")
}
