package airtableemu

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// formatTime renders a time as Airtable does: UTC with milliseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// appendTime appends t as formatTime does, without time.Format's cost.
func appendTime(buf []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(buf, "2006-01-02T15:04:05.000Z")
	}
	ms := t.Nanosecond() / 1e6
	two := func(n int) { buf = append(buf, byte('0'+n/10), byte('0'+n%10)) }
	two(y / 100)
	two(y % 100)
	buf = append(buf, '-')
	two(int(mo))
	buf = append(buf, '-')
	two(d)
	buf = append(buf, 'T')
	two(h)
	buf = append(buf, ':')
	two(mi)
	buf = append(buf, ':')
	two(s)
	buf = append(buf, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return buf
}

// appendRecord encodes one record as {"id":…,"createdTime":…,"fields":{…}}.
// Empty cells are left out, as Airtable does.
func appendRecord(buf []byte, cols []*column, proj []int, rv recView, byID, asString bool) []byte {
	buf = append(buf, `{"id":`...)
	buf = appendString(buf, rv.id)
	buf = append(buf, `,"createdTime":"`...)
	buf = appendTime(buf, rv.created)
	buf = append(buf, `","fields":{`...)
	first := true
	field := func(i int) {
		if i >= len(rv.vals) || i >= len(cols) || rv.vals[i] == nil {
			return
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		name := cols[i].name
		if byID {
			name = cols[i].id
		}
		buf = appendString(buf, name)
		buf = append(buf, ':')
		v := rv.vals[i]
		if asString {
			v = cellString(cols[i], v)
		}
		buf = appendValue(buf, v)
	}
	if proj == nil {
		for i := range rv.vals {
			field(i)
		}
	} else {
		for _, i := range proj {
			field(i)
		}
	}
	return append(buf, "}}"...)
}

// cellString renders a cell for cellFormat=string.
func cellString(_ *column, v any) string {
	if b, ok := v.(bool); ok {
		if b {
			return "checked"
		}
		return ""
	}
	return formatValue(v)
}

func appendValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...)
	case string:
		return appendString(buf, x)
	case bool:
		return strconv.AppendBool(buf, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(buf, "null"...)
		}
		if x == math.Trunc(x) && math.Abs(x) < 1e21 {
			return strconv.AppendFloat(buf, x, 'f', -1, 64)
		}
		return strconv.AppendFloat(buf, x, 'g', -1, 64)
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendValue(buf, e)
		}
		return append(buf, ']')
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return append(buf, "null"...)
		}
		return append(buf, b...)
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
