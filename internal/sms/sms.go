// Package sms provides an SMS encoding and segment calculator: given a
// message body it decides whether the message can be sent in the GSM 7-bit
// default alphabet or must fall back to UCS-2 (3GPP TS 23.038), counts the
// encoded units, works out how many concatenated segments a carrier will bill
// for, estimates the cost, and produces human-readable warnings.
//
// Counting rules:
//
//   - GSM-7: every character of the 128-entry default alphabet costs one
//     septet; every character of the default extension table (form feed,
//     ^ { } \ [ ~ ] | €) costs two (ESC + code). A single message holds 160
//     septets; each part of a multipart message holds 153 (the rest is taken
//     by the concatenation header). An ESC+code pair is never split across
//     parts, so a part may end one septet short.
//   - UCS-2: if any character is outside both GSM-7 tables the WHOLE message
//     is sent as UCS-2, counted in UTF-16 code units: characters of the Basic
//     Multilingual Plane cost one unit, characters above U+FFFF (most emoji)
//     cost two (a surrogate pair). A single message holds 70 units; each part
//     of a multipart message holds 67. A surrogate pair is never split across
//     parts.
//
// Invalid UTF-8: the input is decoded the way Go's range-over-string does,
// so every byte that does not start a valid UTF-8 sequence becomes one
// U+FFFD REPLACEMENT CHARACTER, counting as one character. U+FFFD is not in
// the GSM-7 alphabet, so such a message is UCS-2 (one unit per invalid byte)
// and "\uFFFD" is reported in [Analysis.NonGSM]. This is also what a carrier
// would receive if the string were transcoded to UTF-16 with replacement.
//
// Placeholders such as {{first_name}} are counted exactly as written (the
// braces are extension characters, two septets each); render templates
// before analysing if you need the size of the delivered message.
package sms

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Encoding is the data coding an SMS is sent with.
type Encoding string

// The two encodings an SMS text can be sent with.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segment capacities from 3GPP TS 23.038 / TS 23.040 (140-octet user data,
// minus a 6-octet concatenation header for multipart messages).
const (
	GSM7SingleLimit = 160 // septets in a single-part GSM-7 message
	GSM7MultiLimit  = 153 // septets per part of a multipart GSM-7 message
	UCS2SingleLimit = 70  // 16-bit units in a single-part UCS-2 message
	UCS2MultiLimit  = 67  // 16-bit units per part of a multipart UCS-2 message

	// MaxNonGSM is the maximum number of entries reported in Analysis.NonGSM.
	MaxNonGSM = 10

	// manySegments is the segment count above which Warnings flags the
	// message as long.
	manySegments = 3
)

// Analysis is the result of Analyze.
type Analysis struct {
	// Encoding is GSM7 when every character is in the GSM-7 default alphabet
	// or its extension table, UCS2 otherwise. An empty message is GSM7.
	Encoding Encoding
	// Characters is the number of Unicode code points (runes) in the message;
	// each invalid UTF-8 byte counts as one.
	Characters int
	// Units is the encoded size: GSM-7 septets (extension characters count
	// 2) or UCS-2 16-bit code units (characters above U+FFFF count 2).
	Units int
	// Segments is the number of SMS parts; 0 for an empty message.
	Segments int
	// PerSegment is the capacity that applies to this message: the
	// single-part limit (160 or 70) when Segments <= 1, otherwise the
	// multipart limit (153 or 67).
	PerSegment int
	// NonGSM lists the distinct characters that forced UCS-2, in order of
	// first appearance, at most MaxNonGSM of them. Empty for GSM-7.
	NonGSM []string
}

// noChar marks the position of the ESC code (0x1B) in the basic table: it
// is the escape to the extension table, not a character in its own right.
const noChar = -1

// gsmBasic is the GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1),
// indexed by septet value.
var gsmBasic = [128]rune{
	// 0x00-0x0F
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	// 0x10-0x1F
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', noChar, 'Æ', 'æ', 'ß', 'É',
	// 0x20-0x2F
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	// 0x30-0x3F
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	// 0x40-0x4F
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	// 0x50-0x5F
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	// 0x60-0x6F
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	// 0x70-0x7F
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsmExtension maps the characters of the default extension table
// (3GPP TS 23.038 §6.2.1.1) to their code after ESC. Only the code is kept
// for documentation; what matters here is that each costs two septets.
var gsmExtension = map[rune]byte{
	'\f': 0x0A, // form feed (page break)
	'^':  0x14,
	'{':  0x28,
	'}':  0x29,
	'\\': 0x2F,
	'[':  0x3C,
	'~':  0x3D,
	']':  0x3E,
	'|':  0x40,
	'€':  0x65,
}

// gsmSeptetCost maps every GSM-7 character to its cost in septets (1 for the
// basic table, 2 for the extension table). Built once from the tables above
// and only read afterwards, so it is safe for concurrent use.
var gsmSeptetCost = func() map[rune]int {
	m := make(map[rune]int, len(gsmBasic)+len(gsmExtension))
	for _, r := range gsmBasic {
		if r != noChar {
			m[r] = 1
		}
	}
	for r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// septets returns the GSM-7 cost of r, or 0 if r is not representable.
func septets(r rune) int {
	return gsmSeptetCost[r]
}

// ucs2Units returns the number of UTF-16 code units r occupies. Runes that
// come out of ranging over a Go string are always valid scalar values
// (invalid bytes become U+FFFD), so only the astral check is needed.
func ucs2Units(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// Analyze determines the encoding, size and segment count of msg. It never
// panics, whatever the input bytes.
func Analyze(msg string) Analysis {
	a := Analysis{Encoding: GSM7, PerSegment: GSM7SingleLimit}
	if msg == "" {
		return a
	}

	// Pass 1: character count, GSM-7 size, and the characters that are not
	// GSM-7 (the first of which decides the encoding).
	gsmUnits, ucsUnits := 0, 0
	for _, r := range msg {
		a.Characters++
		ucsUnits += ucs2Units(r)
		if c := septets(r); c > 0 {
			gsmUnits += c
			continue
		}
		a.Encoding = UCS2
		if len(a.NonGSM) < MaxNonGSM {
			s := string(r)
			seen := false
			for _, x := range a.NonGSM {
				if x == s {
					seen = true
					break
				}
			}
			if !seen {
				a.NonGSM = append(a.NonGSM, s)
			}
		}
	}

	single, multi, cost := GSM7SingleLimit, GSM7MultiLimit, septets
	a.Units = gsmUnits
	if a.Encoding == UCS2 {
		single, multi, cost = UCS2SingleLimit, UCS2MultiLimit, ucs2Units
		a.Units = ucsUnits
	}

	if a.Units <= single {
		a.Segments, a.PerSegment = 1, single
		return a
	}

	// Pass 2: multipart. Fill parts character by character so that an
	// ESC+code pair or a surrogate pair that does not fit in the remaining
	// space of a part starts the next part instead of being split.
	a.Segments, a.PerSegment = 1, multi
	used := 0
	for _, r := range msg {
		c := cost(r)
		if used+c > multi {
			a.Segments++
			used = 0
		}
		used += c
	}
	return a
}

// EstimateCost returns a.Segments * perSegmentUSD rounded to 4 decimal
// places (half away from zero). NaN or infinite prices propagate.
func EstimateCost(a Analysis, perSegmentUSD float64) float64 {
	v := math.Round(float64(a.Segments)*perSegmentUSD*1e4) / 1e4
	if v == 0 {
		return 0 // normalise -0
	}
	return v
}

// Warnings returns human-readable notes about a that an author may want to
// act on: an empty message (Segments == 0, reported alone), a fall-back to
// UCS-2 (and which characters caused it), a message that spans several
// billable segments, and a message longer than 3 segments. It returns nil
// when there is nothing to report.
func Warnings(a Analysis) []string {
	if a.Segments == 0 {
		return []string{"message is empty"}
	}
	var w []string
	if a.Encoding == UCS2 {
		var b strings.Builder
		b.WriteString("message uses UCS-2")
		if len(a.NonGSM) > 0 {
			b.WriteString(" because of ")
			astral := false
			for i, s := range a.NonGSM {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(strconv.Quote(s))
				for _, r := range s {
					if r > 0xFFFF {
						astral = true
					}
				}
			}
			if len(a.NonGSM) >= MaxNonGSM {
				b.WriteString(" (first ")
				b.WriteString(strconv.Itoa(MaxNonGSM))
				b.WriteString(" shown)")
			}
			b.WriteString(", which ")
			if len(a.NonGSM) == 1 {
				b.WriteString("is")
			} else {
				b.WriteString("are")
			}
			b.WriteString(" not in the GSM-7 alphabet")
			if astral {
				b.WriteString("; emoji and other characters above U+FFFF count as 2")
			}
		}
		fmt.Fprintf(&b, " → %d chars per segment (%d when split) instead of %d",
			UCS2SingleLimit, UCS2MultiLimit, GSM7SingleLimit)
		w = append(w, b.String())
	}
	if a.Segments > 1 {
		w = append(w, fmt.Sprintf(
			"message is split into %d segments of up to %d %s each; cost is multiplied by %d",
			a.Segments, a.PerSegment, unitName(a.Encoding), a.Segments))
	}
	if a.Segments > manySegments {
		w = append(w, fmt.Sprintf(
			"message is longer than %d segments (%d); long concatenated messages may be delivered out of order or rejected by some carriers — consider shortening it",
			manySegments, a.Segments))
	}
	return w
}

func unitName(e Encoding) string {
	if e == UCS2 {
		return "UCS-2 units"
	}
	return "septets"
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// ValidE164 reports whether s is a phone number in E.164 form (+ and 8 to
// 15 digits): what leads, sending numbers and test recipients must be.
func ValidE164(s string) bool { return e164.MatchString(s) }
