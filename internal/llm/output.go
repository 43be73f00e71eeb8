package llm

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxOutputChars is the longest draft CheckOutput accepts, in characters
// (about three GSM-7 segments).
const MaxOutputChars = 480

// ErrInvalidOutput is wrapped by every error CheckOutput returns. The more
// specific errors below wrap it too, so errors.Is(err, ErrInvalidOutput)
// identifies a rejected draft and errors.Is(err, ErrTooLong) etc. the
// reason. A rejected draft is not a transport failure: IsRetryable reports
// false for it.
var ErrInvalidOutput = errors.New("llm: invalid SMS draft")

// Reasons for rejecting a draft.
var (
	ErrEmptyOutput      = fmt.Errorf("%w: empty", ErrInvalidOutput)
	ErrTooLong          = fmt.Errorf("%w: too long", ErrInvalidOutput)
	ErrMultipleMessages = fmt.Errorf("%w: more than one message", ErrInvalidOutput)
	ErrMissingLink      = fmt.Errorf("%w: booking link missing", ErrInvalidOutput)
	ErrOtherURL         = fmt.Errorf("%w: contains a URL other than the booking link", ErrInvalidOutput)
	ErrPlaceholder      = fmt.Errorf("%w: {{first_name}} placeholder missing or mangled", ErrInvalidOutput)
	ErrPromptLeak       = fmt.Errorf("%w: leaks the prompt or answers as an assistant", ErrInvalidOutput)
	ErrFormatting       = fmt.Errorf("%w: contains markdown or formatting", ErrInvalidOutput)
)

var (
	crlfRE        = regexp.MustCompile(`\r\n?`)
	labelRE       = regexp.MustCompile(`(?i)^(?:final\s+)?(?:sms|text|message|draft|sms\s+text|sms\s+draft|text\s+message)\s*:\s*`)
	fenceOpenRE   = regexp.MustCompile("^```[A-Za-z0-9_-]*[ \t]*\n?")
	placeholderRE = regexp.MustCompile(`(?i)\{\{\s*first[\s_-]?name\s*\}\}`)
	schemeURLRE   = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://\S*`)
	wwwRE         = regexp.MustCompile(`(?i)\bwww\.\S+`)
	// bareDomainRE finds web addresses written without a scheme: a host
	// name followed by a path, or a host name under a common top-level
	// domain. (A general "word.word" rule would flag typos such as
	// "today.Book".)
	bareDomainRE = regexp.MustCompile(`(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:` +
		`[a-z]{2,24}/|(?:com|net|org|info|biz|io|co|ly|me|app|dev|ai|gg|to|tv|us|uk|ca|au|de|fr|nl|eu|es|it|in|ru|cn|` +
		`xyz|site|online|link|click|top|shop|store|club|live|page|website|tech|pro|bit|tk|ml|ga|cf|gq)\b)`)
	blankLineRE = regexp.MustCompile(`\n[ \t]*\n`)
	separatorRE = regexp.MustCompile(`-{3,}|\*{3,}|={3,}|_{3,}|~{3,}`)
	optionRE    = regexp.MustCompile(`(?i)\b(?:option|variant|alternative|version|draft|sms|message)\s*#?\s*\d+\b|\boption\s+[a-c]\s*[:.)]`)
	numberedRE  = regexp.MustCompile(`(?m)^\s*(?:\(?\d+[.):]|[-*•])\s+`)
	replyStopRE = regexp.MustCompile(`(?i)\breply\s+stop\b`)
	markdownRE  = regexp.MustCompile("\\]\\(|\\*\\*|__|`|(?m)^\\s*#{1,6}\\s")
	firstNameRE = regexp.MustCompile(`(?i)first[\s_-]?name`)

	// leakRE matches text that only appears when the model leaks the prompt,
	// obeys an injection, or answers as an assistant instead of writing the
	// SMS. It runs on the draft with the booking link and the placeholder
	// removed.
	leakRE = regexp.MustCompile(`(?i)` + strings.Join([]string{
		`campaign_data`,
		`<<<`, `>>>`,
		`\bsystem\s+(?:prompt|message|instructions?)\b`,
		`\bignore\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier)\b`,
		`\b(?:previous|prior|above)\s+instructions\b`,
		`\bmy\s+(?:instructions|rules|guidelines)\b`,
		`\bas\s+an\s+ai\b`,
		`\bas\s+a\s+(?:large\s+)?language\s+model\b`,
		`\blanguage\s+model\b`,
		`\bi\s+cannot\b`, `\bi\s+can(?:'|’)?t\s+(?:help|assist|comply|do\s+that|provide|write)\b`,
		`\bi(?:'|’)?m\s+(?:sorry|unable)\b`, `\bi\s+am\s+(?:sorry|unable)\b`,
		`\b(?:system|assistant|user|developer|human)\s*:`,
		`<\|`, `\|>`, `\bim_(?:start|end)\b`, `\[/?inst\]`, `<</?sys>>`, `endoftext`,
		`\bhere(?:'|’)?s\s+(?:a|an|the|your)\s+(?:draft|sms|text\s+message|message|version)\b`,
		`\bhere\s+is\s+(?:a|an|the|your)\s+(?:draft|sms|text\s+message|message|version)\b`,
	}, "|"))
)

// quotePairs are wrappers CheckOutput strips when they enclose the whole
// draft.
var quotePairs = [][2]string{
	{`"`, `"`}, {`'`, `'`}, {"`", "`"}, {"“", "”"}, {"‘", "’"}, {"«", "»"}, {"„", "“"},
}

// trailingURLPunct may follow a URL in running text without being part of
// it.
const trailingURLPunct = `.,;:!?)'"’”`

// CheckOutput cleans a model's draft and validates it for in, which must
// have passed Normalize. Cleaning: line endings become '\n', surrounding
// whitespace, quotes, code fences and a leading label ("SMS:") are removed,
// trailing spaces on lines are trimmed, and a spaced or re-cased placeholder
// ("{{ first_name }}", "{{First_Name}}") is repaired to {{first_name}}.
//
// It then rejects the draft (error wrapping ErrInvalidOutput and one of the
// specific reasons) when it is empty; longer than MaxOutputChars
// characters; leaks the prompt or delimiters or talks as an assistant
// ("system prompt", "ignore previous", "as an AI", "I cannot", role markers,
// "CAMPAIGN_DATA", "<<<"); holds more than one message (blank lines, "---",
// "Option 1", a numbered or bulleted list, two opt-out lines); contains
// markdown; lacks the {{first_name}} placeholder or has a mangled one
// ("{first_name}", "[first_name]", other braces); lacks the exact booking
// link; or contains any other URL or domain. Text inside the booking link
// itself is ignored by all content checks.
//
// On success it returns the cleaned draft.
func CheckOutput(out string, in DraftInput) (string, error) {
	msg := cleanOutput(out)
	if msg == "" {
		return "", ErrEmptyOutput
	}
	msg = placeholderRE.ReplaceAllString(msg, FirstNamePlaceholder)
	if n := utf8.RuneCountInString(msg); n > MaxOutputChars {
		return "", fmt.Errorf("%w: %d characters (max %d)", ErrTooLong, n, MaxOutputChars)
	}
	link := in.BookingLink
	if link == "" {
		return "", fmt.Errorf("%w: no booking link in the input", ErrMissingLink)
	}

	// Separate the booking link from other URLs, then run every content
	// check on the text without them (the link is validated input and may
	// legitimately contain any URL character sequence).
	foundLink, otherURL := false, ""
	rest := schemeURLRE.ReplaceAllStringFunc(msg, func(u string) string {
		if isBookingLink(u, link) {
			foundLink = true
		} else if otherURL == "" {
			otherURL = u
		}
		return " "
	})

	if m := leakRE.FindString(rest); m != "" {
		return "", fmt.Errorf("%w: contains %q", ErrPromptLeak, m)
	}
	if err := checkSingleMessage(rest); err != nil {
		return "", err
	}
	if m := markdownRE.FindString(rest); m != "" {
		return "", fmt.Errorf("%w: %q", ErrFormatting, m)
	}
	if !strings.Contains(rest, FirstNamePlaceholder) {
		return "", fmt.Errorf("%w: %s not found", ErrPlaceholder, FirstNamePlaceholder)
	}
	noPH := strings.ReplaceAll(rest, FirstNamePlaceholder, " ")
	if strings.ContainsAny(noPH, "{}") || firstNameRE.MatchString(noPH) {
		return "", fmt.Errorf("%w: unexpected braces or a second, altered placeholder", ErrPlaceholder)
	}
	if otherURL != "" {
		return "", fmt.Errorf("%w: %q", ErrOtherURL, truncate(otherURL, 60))
	}
	if !foundLink {
		return "", fmt.Errorf("%w: %s", ErrMissingLink, link)
	}
	if m := wwwRE.FindString(noPH); m != "" {
		return "", fmt.Errorf("%w: %q", ErrOtherURL, truncate(m, 60))
	}
	if m := bareDomainRE.FindString(noPH); m != "" {
		return "", fmt.Errorf("%w: %q", ErrOtherURL, truncate(m, 60))
	}
	return msg, nil
}

// isBookingLink reports whether the URL token u (as found in running text)
// is the booking link, possibly followed by sentence punctuation.
func isBookingLink(u, link string) bool {
	if !strings.HasPrefix(u, link) {
		return false
	}
	return strings.Trim(u[len(link):], trailingURLPunct) == ""
}

func checkSingleMessage(s string) error {
	if blankLineRE.MatchString(s) {
		return fmt.Errorf("%w: paragraphs separated by a blank line", ErrMultipleMessages)
	}
	if m := separatorRE.FindString(s); m != "" {
		return fmt.Errorf("%w: separator %q", ErrMultipleMessages, m)
	}
	if m := optionRE.FindString(s); m != "" {
		return fmt.Errorf("%w: %q", ErrMultipleMessages, m)
	}
	if len(numberedRE.FindAllString(s, 2)) > 1 {
		return fmt.Errorf("%w: a list", ErrMultipleMessages)
	}
	if len(replyStopRE.FindAllString(s, 2)) > 1 {
		return fmt.Errorf("%w: more than one opt-out line", ErrMultipleMessages)
	}
	return nil
}

// cleanOutput removes the wrapping a model may add around the SMS.
func cleanOutput(s string) string {
	s = crlfRE.ReplaceAllString(s, "\n")
	for {
		prev := s
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "```") {
			s = fenceOpenRE.ReplaceAllString(s, "")
			s = strings.TrimSuffix(strings.TrimSpace(s), "```")
			s = strings.TrimSpace(s)
		}
		for _, q := range quotePairs {
			if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
				s = strings.TrimSpace(s[len(q[0]) : len(s)-len(q[1])])
				break
			}
		}
		s = labelRE.ReplaceAllString(s, "")
		if s == prev {
			break
		}
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "..."
}
