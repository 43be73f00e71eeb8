// Package text holds the one rule for text a person types as a name: a
// client, token, campaign or Airtable table name, a tag. Every place that
// takes a name checks it here, so the rule cannot drift between them.
package text

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrUnprintable is wrapped by Name's error when the name holds invalid
// UTF-8 or a character HasControl refuses.
var ErrUnprintable = errors.New("must be valid UTF-8 without control or invisible formatting characters")

// LengthError is Name's error for a name outside 1..Max characters.
type LengthError struct{ Max int }

func (e *LengthError) Error() string { return fmt.Sprintf("must be 1..%d characters", e.Max) }

// Name checks a human-entered name and returns it trimmed of surrounding
// white space. The name must be valid UTF-8, 1..maxRunes characters (code
// points) after trimming, and hold no character HasControl refuses.
// Errors read as the end of a sentence starting with the field's name
// ("name " + err.Error()).
func Name(s string, maxRunes int) (string, error) {
	if !utf8.ValidString(s) {
		return s, ErrUnprintable
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > maxRunes {
		return s, &LengthError{Max: maxRunes}
	}
	if HasControl(s) {
		return s, ErrUnprintable
	}
	return s, nil
}

// HasControl reports whether s is invalid UTF-8 or holds a character no name
// should: a control character (Cc: NUL, C0, DEL, C1; tab and line breaks
// included), a format character (Cf: bidi embeddings, overrides and
// isolates U+202A..U+202E and U+2066..U+2069, zero-width characters
// U+200B..U+200F, word joiner, U+FEFF, soft hyphen, tag characters, ...)
// or a line or paragraph separator (U+2028, U+2029).
func HasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, refused)
}

func refused(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}
