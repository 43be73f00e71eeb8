package llmemu

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nurture-sms/nurture/internal/llm"
)

// Fields are what the emulator reads from a drafting prompt.
type Fields struct {
	BookingLink  string `json:"booking_link"`
	CampaignName string `json:"campaign_name"`
	Goal         string `json:"goal"`
	Tone         string `json:"tone"`
}

var (
	// jsonFieldRE finds a "key": "value" pair in text that is not a
	// well-formed data block.
	jsonFieldRE = regexp.MustCompile(`"(booking_link|campaign_name|goal|tone)"\s*:\s*("(?:[^"\\]|\\.)*")`)
	// looseURLRE finds an https URL in free text (the last resort).
	looseURLRE = regexp.MustCompile(`https://[^\s"'<>\\` + "`" + `]+`)
)

// ExtractFields reads the drafting fields from the messages, newest user
// message first. It understands, in this order:
//
//  1. the data block llm.BuildMessages fences: the JSON object between
//     the line <<<CAMPAIGN_DATA_nonce>>> and the matching
//     <<<END_CAMPAIGN_DATA_nonce>>>;
//  2. "booking_link": "…" style pairs anywhere in a user message (e.g. a
//     block whose fence or JSON is damaged);
//  3. for the link only, the first https URL in a user message (trailing
//     sentence punctuation dropped).
//
// A field it cannot find is "". The booking link is returned exactly as
// written (JSON escapes decoded).
func ExtractFields(msgs []Message) Fields {
	var users []string
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			users = append(users, msgs[i].Content)
		}
	}
	for _, u := range users {
		if f, ok := fencedFields(u); ok && f.BookingLink != "" {
			return f
		}
	}
	for _, u := range users {
		if f := pairFields(u); f.BookingLink != "" {
			return f
		}
	}
	for _, u := range users {
		if m := looseURLRE.FindString(u); m != "" {
			f := pairFields(u)
			f.BookingLink = strings.TrimRight(m, `.,;:!?)'"’”`)
			return f
		}
	}
	if len(users) > 0 {
		return pairFields(users[0])
	}
	return Fields{}
}

// ExtractBookingLink is ExtractFields(...).BookingLink for one user
// message.
func ExtractBookingLink(user string) string {
	return ExtractFields([]Message{{Role: "user", Content: user}}).BookingLink
}

// fencedFields decodes the data block of the user message u.
func fencedFields(u string) (Fields, bool) {
	i := strings.Index(u, llm.FencePrefix)
	if i < 0 {
		return Fields{}, false
	}
	rest := u[i+len(llm.FencePrefix):]
	j := strings.Index(rest, ">>>")
	if j <= 0 {
		return Fields{}, false
	}
	nonce := rest[:j]
	body := rest[j+3:]
	end := strings.Index(body, llm.FenceEndPrefix+nonce+">>>")
	if end < 0 {
		return Fields{}, false
	}
	var f Fields
	if err := json.Unmarshal([]byte(strings.TrimSpace(body[:end])), &f); err != nil {
		return Fields{}, false
	}
	f.BookingLink = strings.TrimSpace(f.BookingLink)
	return f, true
}

// pairFields reads "key": "value" pairs of u (the first of each key).
func pairFields(u string) Fields {
	var f Fields
	for _, m := range jsonFieldRE.FindAllStringSubmatch(u, -1) {
		var v string
		if json.Unmarshal([]byte(m[2]), &v) != nil {
			continue
		}
		v = strings.TrimSpace(v)
		p := map[string]*string{"booking_link": &f.BookingLink, "campaign_name": &f.CampaignName, "goal": &f.Goal, "tone": &f.Tone}[m[1]]
		if *p == "" {
			*p = v
		}
	}
	return f
}

// Length limits of the draft's parts, in characters.
const (
	draftTarget  = 320 // two GSM-7 segments, as llm.TemplateTarget
	maxNameChars = 40
	maxGoalChars = 120
)

// greetings per tone: the opening (carries the placeholder).
var greetings = map[string]string{
	llm.ToneFriendly:     "Hi " + llm.FirstNamePlaceholder + ",",
	llm.ToneProfessional: "Hello " + llm.FirstNamePlaceholder + ",",
	llm.ToneCasual:       "Hey " + llm.FirstNamePlaceholder + ",",
	llm.ToneUrgent:       llm.FirstNamePlaceholder + ",",
	llm.ToneEmpathetic:   "Hi " + llm.FirstNamePlaceholder + ", we're here for you.",
}

// Draft is the emulator's reply for f:
//
//	<greeting> <campaign name> here. <goal>. Book: <link> Reply STOP to opt out
//
// The greeting depends on the tone (friendly: "Hi {{first_name}},"). The
// name and goal are cleaned of characters CheckOutput treats as structure
// and shortened at a word boundary; when either would make
// llm.CheckOutput reject the draft (a goal that reads like a domain, "I
// cannot", …) it is left out. Without a booking link the reply has none
// (CheckOutput rejects it as missing the link).
func Draft(f Fields) string {
	greet, ok := greetings[strings.ToLower(strings.TrimSpace(f.Tone))]
	if !ok {
		greet = greetings[llm.DefaultTone]
	}
	if f.BookingLink == "" {
		return greet + " we'd love to see you soon. Reply to book a time. " + llm.OptOutText
	}
	tail := "Book: " + f.BookingLink + " " + llm.OptOutText
	name := cut(clean(f.CampaignName), maxNameChars)
	goal := strings.TrimRight(cut(clean(f.Goal), maxGoalChars), ".!?;:, ")
	var named, goalLine string
	if name != "" {
		named = name + " here."
	}
	if goal != "" {
		goalLine = upperFirst(goal) + "."
	}
	in := llm.DraftInput{BookingLink: f.BookingLink}
	for _, c := range [][]string{{greet, named, goalLine, tail}, {greet, goalLine, tail}, {greet, named, tail}, {greet, tail}} {
		d := joinNonEmpty(c)
		if utf8.RuneCountInString(d) > draftTarget && len(c) > 2 {
			continue
		}
		if out, err := llm.CheckOutput(d, in); err == nil && out == d {
			return d
		}
	}
	return joinNonEmpty([]string{greet, tail})
}

// clean makes s one line of plain text without characters CheckOutput or
// an SMS treat specially.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune("{}[]<>\\|`^~*#_\"", r), unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return strings.Trim(strings.Join(strings.Fields(s), " "), " -:;,")
}

// cut shortens s to at most n characters at a word boundary.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := string([]rune(s)[:n])
	if i := strings.LastIndexByte(r, ' '); i > n/2 {
		r = r[:i]
	}
	return strings.TrimRight(r, " .,;:!?-")
}

func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

func joinNonEmpty(parts []string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}
