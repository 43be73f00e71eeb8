package api

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// The edge rule: every text a request carries into the API is valid UTF-8
// without NUL. Postgres refuses both (SQLSTATE 22021, 22P05), and
// encoding/json would silently turn invalid UTF-8 and unpaired surrogate
// escapes into U+FFFD, so neither may reach a handler. edgeInput checks the
// path parameters, the query string (keys and values) and the headers the
// API reads; DecodeJSON checks every string (keys and values, at any depth)
// of a JSON body. A violation is 400 INVALID_INPUT naming the field.

// edgeHeaders are the request headers handlers read as text. X-Request-ID
// is not refused: anything but a sane one is replaced (requestContext).
var edgeHeaders = []string{"Authorization", "Idempotency-Key", MACHeader}

func validText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func invalidText(field string) *Error {
	return InvalidField(field, field+" must be valid UTF-8 text without NUL characters")
}

// edgeInput refuses a request whose path parameters, query string or read
// headers break the edge rule, before any handler runs.
func edgeInput() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := checkEdge(c); err != nil {
			abort(c, err)
			return
		}
		c.Next()
	}
}

func checkEdge(c *gin.Context) *Error {
	for _, p := range c.Params {
		if !validText(p.Value) {
			return invalidText(p.Key)
		}
	}
	if raw := c.Request.URL.RawQuery; raw != "" {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return InvalidField("query", "malformed query string")
		}
		for k, vs := range q {
			if !validText(k) {
				return InvalidField("query", "query parameter names must be valid UTF-8 text without NUL characters")
			}
			for _, v := range vs {
				if !validText(v) {
					if k == "" {
						return invalidText("query")
					}
					return invalidText(k)
				}
			}
		}
	}
	for _, name := range edgeHeaders {
		for _, v := range c.Request.Header.Values(name) {
			if !validText(v) {
				return invalidText(name)
			}
		}
	}
	return nil
}

// jsonFrame is one open object or array while checkJSONText walks a body.
type jsonFrame struct {
	object  bool
	wantKey bool   // object: the next token is a member name (or '}')
	key     string // object: the current member's name
	index   int    // array: the current element's index
}

// checkJSONText applies the edge rule to every string of a JSON document,
// naming the field ("messages[0].body", "target_tags[2]"; a bad member
// name is reported on the object holding it, "body" at the top). Syntax
// errors are left to the decoder.
func checkJSONText(raw []byte) *Error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var stack []*jsonFrame
	path := func(n int) string {
		var b strings.Builder
		for _, f := range stack[:n] {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error DecodeJSON reports
		}
		span := raw[start:dec.InputOffset()]
		var top *jsonFrame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				valueDone()
				continue
			}
			if !validJSONString(span) {
				return invalidText(path(len(stack) - 1))
			}
			top.key, _ = tok.(string)
			top.wantKey = false
			continue
		}
		if top != nil && !top.object {
			if d, ok := tok.(json.Delim); ok && d == ']' {
				stack = stack[:len(stack)-1]
				valueDone()
				continue
			}
			top.index++
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &jsonFrame{object: true, wantKey: true})
			case '[':
				stack = append(stack, &jsonFrame{index: -1})
			}
		case string:
			if !validJSONString(span) {
				return invalidText(path(len(stack)))
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// validJSONString reports whether the JSON string literal in span (after
// any separators and white space) decodes to valid UTF-8 without NUL: its
// raw bytes are valid UTF-8, and its \u escapes name neither U+0000 nor a
// lone surrogate.
func validJSONString(span []byte) bool {
	i := bytes.IndexByte(span, '"')
	if i < 0 {
		return true
	}
	lit := span[i+1:]
	if n := len(lit); n > 0 && lit[n-1] == '"' {
		lit = lit[:n-1]
	}
	for i := 0; i < len(lit); {
		b := lit[i]
		switch {
		case b == '\\' && i+1 < len(lit) && lit[i+1] == 'u':
			r, ok := hex4(lit, i+2)
			if !ok || r == 0 || (r >= 0xDC00 && r <= 0xDFFF) {
				return false
			}
			i += 6
			if r >= 0xD800 && r < 0xDC00 {
				if i+1 >= len(lit) || lit[i] != '\\' || lit[i+1] != 'u' {
					return false
				}
				lo, ok := hex4(lit, i+2)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return false
				}
				i += 6
			}
		case b == '\\':
			i += 2
		case b < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(lit[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size
		}
	}
	return true
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(n), err == nil
}
