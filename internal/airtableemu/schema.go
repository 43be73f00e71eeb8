package airtableemu

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FieldType is an Airtable field type, spelled as the metadata API spells it.
type FieldType string

// The field types the emulator validates. A table created without field specs
// is schemaless: it accepts any field name and any JSON value.
const (
	TypeSingleLineText  FieldType = "singleLineText"
	TypeMultilineText   FieldType = "multilineText"
	TypeEmail           FieldType = "email"
	TypePhoneNumber     FieldType = "phoneNumber"
	TypeNumber          FieldType = "number"
	TypeCheckbox        FieldType = "checkbox"
	TypeSingleSelect    FieldType = "singleSelect"
	TypeMultipleSelects FieldType = "multipleSelects"
	// TypeLastModifiedTime is computed (see lastmodified.go): the time of
	// the record's last write; writing it is refused.
	TypeLastModifiedTime FieldType = "lastModifiedTime"
)

// FieldSpec declares one field of a table.
type FieldSpec struct {
	Name string    `json:"name"`
	Type FieldType `json:"type"`
	// Options are the choices of a singleSelect or multipleSelects field.
	// Writing another choice fails with INVALID_MULTIPLE_CHOICE_OPTIONS unless
	// the request sets "typecast": true, which adds the choice (as Airtable does).
	Options []string `json:"options,omitempty"`
}

// TableSpec declares a table. With no Fields the table is schemaless.
type TableSpec struct {
	Name   string      `json:"name"`
	Fields []FieldSpec `json:"fields,omitempty"`
}

// column is one field of a table; records store their values by column index.
type column struct {
	id      string
	name    string
	typ     FieldType // "" in a schemaless table
	options []string
}

// apiError is an Airtable-shaped error answer.
type apiError struct {
	status int
	body   any
}

func (e *apiError) Error() string {
	b, _ := json.Marshal(e.body)
	return fmt.Sprintf("%d %s", e.status, b)
}

type errBody struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
}

func typedErr(status int, typ, msg string) *apiError {
	return &apiError{status: status, body: map[string]any{"error": errBody{Type: typ, Message: msg}}}
}

func errNotFound() *apiError {
	return &apiError{status: 404, body: map[string]any{"error": "NOT_FOUND"}}
}

func errInvalidRequest() *apiError {
	return typedErr(422, "INVALID_REQUEST_UNKNOWN", "Invalid request: parameter validation failed. Check your request data.")
}

func errUnknownField(name string) *apiError {
	return typedErr(422, "UNKNOWN_FIELD_NAME", fmt.Sprintf("Unknown field name: %q", name))
}

func errBadValue(field string) *apiError {
	return typedErr(422, "INVALID_VALUE_FOR_COLUMN", fmt.Sprintf("Field %q cannot accept the provided value", field))
}

// normalizeValue turns a Go or JSON value into the stored representation
// (strings, float64, bool, []any, map[string]any) and reports whether it is
// empty. Airtable does not return empty cells: "", false, [] and null are
// omitted from a record's fields.
func normalizeValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return v, x == "" // v, not x: re-boxing would allocate
	case bool:
		return v, !x
	case float64:
		return v, false
	case float32:
		return float64(x), false
	case int:
		return float64(x), false
	case int8:
		return float64(x), false
	case int16:
		return float64(x), false
	case int32:
		return float64(x), false
	case int64:
		return float64(x), false
	case uint:
		return float64(x), false
	case uint8:
		return float64(x), false
	case uint16:
		return float64(x), false
	case uint32:
		return float64(x), false
	case uint64:
		return float64(x), false
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String(), false
		}
		return f, false
	case []string:
		if len(x) == 0 {
			return nil, true
		}
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, false
	case []any:
		if len(x) == 0 {
			return nil, true
		}
		out := make([]any, 0, len(x))
		for _, e := range x {
			n, _ := normalizeValue(e)
			out = append(out, n)
		}
		return out, false
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, _ := normalizeValue(e)
			out[k] = n
		}
		return out, false
	default:
		// Anything else goes through JSON so that what is stored is what
		// the API would have returned.
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x), false
		}
		var back any
		if err := json.Unmarshal(b, &back); err != nil {
			return string(b), false
		}
		return normalizeValue(back)
	}
}

// coerce validates a normalized, non-empty value against a typed column,
// applying Airtable's typecast conversions when typecast is set. It returns
// the value to store (nil: the cell becomes empty) and any new select
// options that typecast created.
func (c *column) coerce(v any, typecast bool) (any, []string, *apiError) {
	switch c.typ {
	case "":
		return v, nil, nil
	case TypeLastModifiedTime:
		return nil, nil, errComputed(c.name)
	case TypeSingleLineText, TypeMultilineText, TypeEmail, TypePhoneNumber:
		switch x := v.(type) {
		case string:
			if c.typ == TypeSingleLineText && strings.Contains(x, "\n") {
				return strings.ReplaceAll(x, "\n", " "), nil, nil
			}
			return v, nil, nil
		case float64, bool:
			if typecast {
				return formatValue(x), nil, nil
			}
		}
		return nil, nil, errBadValue(c.name)
	case TypeNumber:
		switch x := v.(type) {
		case float64:
			return v, nil, nil
		case string:
			if typecast {
				f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
				if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
					return nil, nil, nil
				}
				return f, nil, nil
			}
		case bool:
			if typecast {
				if x {
					return 1.0, nil, nil
				}
				return 0.0, nil, nil
			}
		}
		return nil, nil, errBadValue(c.name)
	case TypeCheckbox:
		switch x := v.(type) {
		case bool:
			return v, nil, nil
		case string:
			if typecast {
				switch strings.ToLower(strings.TrimSpace(x)) {
				case "true", "1", "yes", "checked", "on", "x":
					return true, nil, nil
				}
				return nil, nil, nil
			}
		case float64:
			if typecast {
				return x != 0, nil, nil
			}
		}
		return nil, nil, errBadValue(c.name)
	case TypeSingleSelect:
		s, ok := v.(string)
		if !ok {
			if !typecast {
				return nil, nil, errBadValue(c.name)
			}
			s = formatValue(v)
		}
		if slices.Contains(c.options, s) {
			if _, ok := v.(string); ok {
				return v, nil, nil
			}
			return s, nil, nil
		}
		if !typecast {
			return nil, nil, errSelectOption(s)
		}
		return s, []string{s}, nil
	case TypeMultipleSelects:
		if x, ok := v.([]any); ok && validChoices(x, c.options) {
			return v, nil, nil // fast path: nothing to convert
		}
		var items []string
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					if !typecast {
						return nil, nil, errBadValue(c.name)
					}
					s = formatValue(e)
				}
				items = append(items, s)
			}
		case string:
			if !typecast {
				return nil, nil, errBadValue(c.name)
			}
			for _, p := range strings.Split(x, ",") {
				if p = strings.TrimSpace(p); p != "" {
					items = append(items, p)
				}
			}
		default:
			return nil, nil, errBadValue(c.name)
		}
		var added []string
		out := make([]any, 0, len(items))
		for _, s := range items {
			if slices.Contains(out, any(s)) {
				continue
			}
			if !slices.Contains(c.options, s) && !slices.Contains(added, s) {
				if !typecast {
					return nil, nil, errSelectOption(s)
				}
				added = append(added, s)
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			return nil, nil, nil
		}
		return out, added, nil
	}
	return v, nil, nil
}

// validChoices reports whether items are distinct strings among options.
func validChoices(items []any, options []string) bool {
	for i, e := range items {
		s, ok := e.(string)
		if !ok || !slices.Contains(options, s) || slices.Contains(items[:i], e) {
			return false
		}
	}
	return true
}

func errSelectOption(s string) *apiError {
	return typedErr(422, "INVALID_MULTIPLE_CHOICE_OPTIONS",
		fmt.Sprintf("Insufficient permissions to create new select option \"\"%s\"\"", s))
}

// formatValue renders a stored value as Airtable's formulas and typecast do.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, ", ")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
