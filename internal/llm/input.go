// Package llm drafts campaign SMS messages with a large language model and
// is built to withstand prompt injection.
//
// The package holds pure, testable building blocks for a workflow that
// tries a primary model, then a fallback model, then a fixed template:
//
//   - [DraftInput.Normalize] validates and cleans what an admin typed:
//     control characters are removed, lengths are enforced (over-long input is
//     an error, never silently truncated), the tone must come from a fixed
//     set, and the booking link must be an https URL on an allow-listed host.
//   - [BuildMessages] produces the chat messages. The system message is the
//     constant [SystemPrompt]; it never contains user text. The user message
//     holds only a data block fenced by delimiters that carry a random nonce
//     per request, with the fields JSON-encoded inside. The fence plus JSON
//     encoding is the defence; neutralising "<<<", role markers and chat
//     template tokens inside the values is a second layer.
//   - [CheckOutput] cleans what the model returned and rejects drafts that
//     are empty, too long, hold more than one message, lose the booking link
//     or the {{first_name}} placeholder, contain other URLs, or leak the
//     prompt.
//   - [Template] is the last resort: a draft built without a model that
//     always passes CheckOutput.
//   - [Suggestions] and [Analyze] help an admin improve a draft and see its
//     SMS size and cost.
//   - [NewProvider] returns an OpenAI or Azure OpenAI [Provider], and
//     [IsRetryable] classifies the errors it returns.
package llm

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DraftInput is what an admin supplies to draft a campaign SMS. The JSON
// names are the ones reported in [FieldError.Field].
type DraftInput struct {
	CampaignName       string `json:"campaign_name"`
	TargetAudience     string `json:"target_audience"`
	Goal               string `json:"goal"`
	BookingLink        string `json:"booking_link"`
	Tone               string `json:"tone"`
	CustomInstructions string `json:"custom_instructions"`
}

// JSON field names, as used in FieldError.Field.
const (
	FieldCampaignName       = "campaign_name"
	FieldTargetAudience     = "target_audience"
	FieldGoal               = "goal"
	FieldBookingLink        = "booking_link"
	FieldTone               = "tone"
	FieldCustomInstructions = "custom_instructions"
)

// Length limits, in characters (Unicode code points) after normalisation.
// MaxBookingLink is measured on the link as given (it is ASCII).
const (
	MaxCampaignName       = 100
	MaxTargetAudience     = 300
	MaxGoal               = 300
	MaxCustomInstructions = 500
	MaxBookingLink        = 300

	// rawSlack bounds the bytes Normalize will look at per field: anything
	// longer than this many bytes per allowed character is rejected before
	// it is cleaned, so a huge payload costs nothing to refuse. A UTF-8
	// character is at most 4 bytes; the rest is room for whitespace that
	// cleaning would collapse.
	rawSlack = 8
)

// Tones accepted by Normalize (after lower-casing). An empty tone becomes
// DefaultTone.
const (
	ToneFriendly     = "friendly"
	ToneProfessional = "professional"
	ToneCasual       = "casual"
	ToneUrgent       = "urgent"
	ToneEmpathetic   = "empathetic"

	DefaultTone = ToneFriendly
)

// Tones lists the accepted tones in a stable order.
func Tones() []string {
	return []string{ToneFriendly, ToneProfessional, ToneCasual, ToneUrgent, ToneEmpathetic}
}

// FieldError reports an invalid input field. Field is the JSON name of the
// field (one of the Field* constants); Message is a human-readable reason
// that does not echo the offending value.
type FieldError struct {
	Field   string
	Message string
}

// Error implements error as "<field>: <message>".
func (e *FieldError) Error() string {
	return e.Field + ": " + e.Message
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Limits configures Normalize. The zero value is usable.
type Limits struct {
	// AllowedHosts is the booking-link host allow-list. A host is accepted
	// when it equals an entry or is a subdomain of one ("www.calendly.com"
	// for "calendly.com"); "calendly.com.evil.io" and "evilcalendly.com" are
	// not. Entries are compared case-insensitively. Empty means
	// DefaultLimits().AllowedHosts, i.e. {"calendly.com"}.
	AllowedHosts []string
}

// DefaultLimits returns the limits used when Limits is left empty.
func DefaultLimits() Limits {
	return Limits{AllowedHosts: []string{"calendly.com"}}
}

// Normalize validates in and rewrites it into canonical form. On success
// every field is cleaned:
//
//   - invalid UTF-8 is an error;
//   - control and invisible formatting characters (bidi overrides, zero
//     width spaces, BOM; ZWJ/ZWNJ are kept for emoji and scripts) are
//     removed; tabs and other Unicode spaces become a space;
//   - goal and custom_instructions keep line breaks (CR LF and CR become
//     LF, blank lines are dropped); in the other fields a line break becomes
//     a space;
//   - runs of spaces collapse to one and every line is trimmed;
//   - tone is lower-cased and must be one of Tones(); empty means
//     DefaultTone;
//   - booking_link must be an absolute https URL without user info or a
//     port other than 443, on a host allowed by l, using only URL
//     characters (RFC 3986, no brackets); its scheme and host are
//     lower-cased and ":443" dropped.
//
// Limits: campaign_name 1..100, target_audience 1..300, goal 1..300,
// custom_instructions 0..500 characters after cleaning, booking_link
// 1..300 characters. Required text fields must contain a letter or digit.
//
// On failure Normalize returns a *FieldError for the first invalid field (in
// the order of the DraftInput fields) and leaves in unchanged. Normalize is
// idempotent.
func (in *DraftInput) Normalize(l Limits) error {
	out := *in
	var err *FieldError

	if out.CampaignName, err = cleanField(FieldCampaignName, in.CampaignName, false, 1, MaxCampaignName); err != nil {
		return err
	}
	if out.TargetAudience, err = cleanField(FieldTargetAudience, in.TargetAudience, false, 1, MaxTargetAudience); err != nil {
		return err
	}
	if out.Goal, err = cleanField(FieldGoal, in.Goal, true, 1, MaxGoal); err != nil {
		return err
	}
	if out.BookingLink, err = normalizeLink(in.BookingLink, l); err != nil {
		return err
	}
	if out.Tone, err = normalizeTone(in.Tone); err != nil {
		return err
	}
	if out.CustomInstructions, err = cleanField(FieldCustomInstructions, in.CustomInstructions, true, 0, MaxCustomInstructions); err != nil {
		return err
	}
	*in = out
	return nil
}

// cleanField applies cleanText and the length rules of one field.
func cleanField(field, s string, multiline bool, minLen, maxLen int) (string, *FieldError) {
	if len(s) > maxLen*rawSlack {
		return "", fieldErr(field, "must be at most %d characters", maxLen)
	}
	if !utf8.ValidString(s) {
		return "", fieldErr(field, "must be valid UTF-8 text")
	}
	s = cleanText(s, multiline)
	n := utf8.RuneCountInString(s)
	if n > maxLen {
		return "", fieldErr(field, "must be at most %d characters (got %d)", maxLen, n)
	}
	if minLen > 0 {
		if n < minLen {
			return "", fieldErr(field, "is required")
		}
		if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			return "", fieldErr(field, "must contain letters or digits")
		}
	}
	return s, nil
}

// cleanText removes control and invisible formatting characters, maps
// whitespace to spaces (keeping '\n' when multiline), collapses runs of
// spaces, trims every line and drops empty lines. s must be valid UTF-8.
func cleanText(s string, multiline bool) string {
	var b strings.Builder
	b.Grow(len(s))
	prevCR := false
	for _, r := range s {
		cr := r == '\r'
		switch {
		case r == '\n' && prevCR:
			// second half of CR LF: already emitted
		case r == '\r' || r == '\n' || r == '\u2028' || r == '\u2029' || r == '\u0085' || r == '\v' || r == '\f':
			if multiline {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.IsControl(r):
			// dropped
		case unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d':
			// invisible formatting (bidi controls, ZWSP, BOM, tags): dropped
		default:
			b.WriteRune(r)
		}
		prevCR = cr
	}
	lines := strings.Split(b.String(), "\n")
	kept := lines[:0]
	for _, line := range lines {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

func normalizeTone(s string) (string, *FieldError) {
	if len(s) > 64 {
		return "", fieldErr(FieldTone, "must be one of: %s", strings.Join(Tones(), ", "))
	}
	t := strings.ToLower(cleanText(strings.ToValidUTF8(s, ""), false))
	if t == "" {
		return DefaultTone, nil
	}
	if !slices.Contains(Tones(), t) {
		return "", fieldErr(FieldTone, "must be one of: %s", strings.Join(Tones(), ", "))
	}
	return t, nil
}

// isURLByte reports whether c may appear in a booking link: the RFC 3986
// unreserved and reserved characters and '%', except the IP-literal
// brackets.
func isURLByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#@!$&'()*+,;=%", c) >= 0
}

// normalizeLink validates a booking link and returns its canonical form.
func normalizeLink(raw string, l Limits) (string, *FieldError) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fieldErr(FieldBookingLink, "is required")
	}
	if len(s) > MaxBookingLink {
		return "", fieldErr(FieldBookingLink, "must be at most %d characters", MaxBookingLink)
	}
	for i := 0; i < len(s); i++ {
		if !isURLByte(s[i]) {
			return "", fieldErr(FieldBookingLink, "must be a plain URL without spaces or special characters")
		}
	}
	const scheme = "https://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		if len(s) >= 7 && strings.EqualFold(s[:7], "http://") {
			return "", fieldErr(FieldBookingLink, "must use https")
		}
		return "", fieldErr(FieldBookingLink, "must be an absolute https URL")
	}
	rest := s[len(scheme):]
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	if strings.Contains(authority, "@") {
		return "", fieldErr(FieldBookingLink, "must not contain user info")
	}
	host := strings.ToLower(authority)
	if h, port, ok := strings.Cut(host, ":"); ok {
		if port != "443" && port != "" {
			return "", fieldErr(FieldBookingLink, "must not specify a port")
		}
		host = h
	}
	if !validHostname(host) {
		return "", fieldErr(FieldBookingLink, "must have a valid host name")
	}
	if !hostAllowed(host, l.AllowedHosts) {
		return "", fieldErr(FieldBookingLink, "host is not allowed (allowed: %s)", strings.Join(allowedHosts(l), ", "))
	}
	// The rest must be well formed (e.g. no broken %-escapes). The
	// authority was checked above; parsing confirms the two agree.
	canonical := scheme + host + tail
	if u, err := url.Parse(canonical); err != nil || u.Hostname() != host || u.User != nil || u.Port() != "" {
		return "", fieldErr(FieldBookingLink, "must be a valid URL")
	}
	return canonical, nil
}

// validHostname accepts a DNS name of LDH labels with at least one dot and
// an alphabetic top-level label; IP addresses are rejected.
func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 || net.ParseIP(h) != nil {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, lb := range labels {
		if len(lb) == 0 || len(lb) > 63 || lb[0] == '-' || lb[len(lb)-1] == '-' {
			return false
		}
		for i := 0; i < len(lb); i++ {
			c := lb[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.IndexFunc(tld, func(r rune) bool { return r < 'a' || r > 'z' }) < 0 || strings.HasPrefix(tld, "xn--")
}

func allowedHosts(l Limits) []string {
	var hosts []string
	for _, a := range l.AllowedHosts {
		a = strings.Trim(strings.ToLower(strings.TrimSpace(a)), ".")
		if a != "" {
			hosts = append(hosts, a)
		}
	}
	if len(hosts) == 0 {
		return DefaultLimits().AllowedHosts
	}
	return hosts
}

func hostAllowed(host string, allow []string) bool {
	for _, a := range allowedHosts(Limits{AllowedHosts: allow}) {
		if host == a || strings.HasSuffix(host, "."+a) {
			return true
		}
	}
	return false
}

// NormalizeBookingLink validates a booking link (an https URL on an
// allow-listed host, see Limits) and returns its canonical form: the rule
// of drafting, shared by campaigns' {{booking_link}}.
func NormalizeBookingLink(raw string, hosts []string) (string, error) {
	l := Limits{AllowedHosts: hosts}
	if len(l.AllowedHosts) == 0 {
		l = DefaultLimits()
	}
	s, fe := normalizeLink(raw, l)
	if fe != nil {
		return "", fe
	}
	return s, nil
}
