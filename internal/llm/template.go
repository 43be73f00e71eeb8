package llm

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// TemplateTarget is the length Template aims for (two GSM-7 segments);
// only a very long booking link can push it beyond, never past
// MaxOutputChars.
const TemplateTarget = 320

// Template parts per tone: the greeting (carries the placeholder) and the
// call to action placed before the link.
var templateParts = map[string]struct{ greet, cta string }{
	ToneFriendly:     {"Hi " + FirstNamePlaceholder + "!", "Book a time that suits you:"},
	ToneProfessional: {"Hello " + FirstNamePlaceholder + ",", "Schedule your appointment here:"},
	ToneCasual:       {"Hey " + FirstNamePlaceholder + "!", "Grab a spot:"},
	ToneUrgent:       {FirstNamePlaceholder + ", spots are limited.", "Book now:"},
	ToneEmpathetic:   {"Hi " + FirstNamePlaceholder + ", we're here to help.", "Book a time that works for you:"},
}

const (
	templateMaxName    = 40 // characters of campaign name used
	templateMinName    = 3  // below this, the name is left out
	templateMinGoal    = 15 // below this much room, the goal is left out
	templateNameGoalSp = 2  // ": " between name and goal
)

// Template returns the last-resort draft for in (which should have passed
// Normalize): a greeting with {{first_name}} in the tone of in, the campaign
// name and goal (shortened at a word boundary with "..." to stay within
// TemplateTarget characters), a call to action with the booking link, and
// "Reply STOP to opt out". Characters with meaning to CheckOutput or SMS
// cost (braces, brackets, angle brackets, backslash, pipe, backticks,
// control characters) are removed from the name and goal.
//
// For any input that passes Normalize the result passes CheckOutput
// unchanged: if the name or goal would make it fail (say, a goal that looks
// like a domain or says "I cannot"), they are dropped in turn, down to
// "<greeting> <call to action> <link> Reply STOP to opt out".
func Template(in DraftInput) string {
	parts, ok := templateParts[in.Tone]
	if !ok {
		parts = templateParts[DefaultTone]
	}
	tail := parts.cta + " " + in.BookingLink + " " + OptOutText
	fixed := utf8.RuneCountInString(parts.greet) + 1 + utf8.RuneCountInString(tail)
	room := TemplateTarget - fixed - 1 // -1: the space before tail

	name := templateText(in.CampaignName)
	goal := templateText(in.Goal)
	goal = strings.TrimRight(goal, ".!?;:, ")

	var candidates []string
	// Name and goal.
	if n, g := fitNameGoal(name, goal, room); n != "" && g != "" {
		candidates = append(candidates, join(parts.greet, n+": "+sentence(g), tail))
	}
	// Goal only, then name only.
	if g := shorten(goal, room-1); g != "" && utf8.RuneCountInString(g) >= templateMinGoal {
		candidates = append(candidates, join(parts.greet, sentence(g), tail))
	}
	if n := shorten(name, min(templateMaxName, room-1)); utf8.RuneCountInString(n) >= templateMinName {
		candidates = append(candidates, join(parts.greet, sentence("From "+n), tail))
	}
	minimal := join(parts.greet, tail, "")
	candidates = append(candidates, minimal)

	for _, c := range candidates {
		if out, err := CheckOutput(c, in); err == nil && out == c {
			return c
		}
	}
	return minimal
}

// fitNameGoal shortens name and goal to fit room together; "" means the
// pair does not fit.
func fitNameGoal(name, goal string, room int) (string, string) {
	if utf8.RuneCountInString(name) < templateMinName || goal == "" {
		return "", ""
	}
	n := shorten(name, min(templateMaxName, room))
	if utf8.RuneCountInString(n) < templateMinName {
		return "", ""
	}
	left := room - utf8.RuneCountInString(n) - templateNameGoalSp - 1 // -1: final "."
	if left < templateMinGoal {
		return "", ""
	}
	g := shorten(goal, left)
	if utf8.RuneCountInString(g) < templateMinGoal && utf8.RuneCountInString(g) < utf8.RuneCountInString(goal) {
		return "", ""
	}
	return n, g
}

// sentence ends s with a single full stop unless it ends with "...".
func sentence(s string) string {
	if strings.HasSuffix(s, "...") {
		return s
	}
	return strings.TrimRight(s, ".!?;:, ") + "."
}

func join(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return strings.Join(nonEmpty, " ")
}

// templateText makes a user value safe to put in the template: one line,
// no characters CheckOutput treats as structure, no control or invisible
// characters, single spaces, first letter upper-cased.
func templateText(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune("{}[]<>\\|`^~*#_\"", r):
			return ' '
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Trim(s, " -:;,")
	if r, size := utf8.DecodeRuneInString(s); size > 0 && unicode.IsLower(r) {
		s = string(unicode.ToUpper(r)) + s[size:]
	}
	return s
}

// shorten cuts s to at most max characters, at a word boundary when one is
// near, and marks the cut with "...". It returns "" when max is too small
// for anything useful.
func shorten(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max < 4 {
		return ""
	}
	r := []rune(s)[:max-3]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > 0 && utf8.RuneCountInString(cut[i:]) <= 20 {
		cut = cut[:i]
	}
	cut = strings.TrimRight(cut, " .,;:!?-")
	if cut == "" {
		return ""
	}
	return cut + "..."
}
