package llmemu

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The prompt format the emulator understands, as a model reads it from the
// request (the emulator does not import internal/llm: when the product
// changes or drops the fence, the emulator stops answering well, as a real
// model would). The newest user message holds exactly
//
//	<<<CAMPAIGN_DATA_{nonce}>>>
//	{ ...JSON... }
//	<<<END_CAMPAIGN_DATA_{nonce}>>>
const (
	fenceOpen    = "<<<CAMPAIGN_DATA_"
	fenceClose   = "<<<END_CAMPAIGN_DATA_"
	fenceSuffix  = ">>>"
	placeholder  = "{{first_name}}"
	optOut       = "Reply STOP to opt out"
	maxEchoChars = 600
	// maxReplyChars is the length the system prompt tells the model to stay
	// well under; the sender name is left out rather than exceed it.
	maxReplyChars = 300
)

// reasoningPrefixes are the model name prefixes OpenAI treats as reasoning
// models (no max_tokens, temperature 1 only).
var reasoningPrefixes = []string{"gpt-5", "o1", "o3", "o4"}

func isReasoningModel(model string) bool {
	m := strings.ToLower(strings.TrimSpace(model))
	for _, p := range reasoningPrefixes {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// Fields are what the emulator reads from the fenced data block.
type Fields struct {
	BookingLink        string `json:"booking_link"`
	CampaignName       string `json:"campaign_name"`
	Goal               string `json:"goal"`
	Tone               string `json:"tone"`
	CustomInstructions string `json:"custom_instructions"`
}

// ExtractFields reads the drafting fields of a request. ok is true only
// when the request has a system message and its newest user message holds
// a well-formed data block: a line <<<CAMPAIGN_DATA_nonce>>>, a JSON
// object, and the matching <<<END_CAMPAIGN_DATA_nonce>>>. There is no
// looser fallback: without the fence the emulator echoes (see Echo). The
// booking link is returned exactly as written in the JSON (escapes
// decoded).
func ExtractFields(msgs []Message) (f Fields, ok bool) {
	hasSystem := false
	for _, m := range msgs {
		if m.Role == "system" || m.Role == "developer" {
			hasSystem = true
		}
	}
	user, found := newestUser(msgs)
	if !hasSystem || !found {
		return Fields{}, false
	}
	return fencedFields(user)
}

// ExtractBookingLink is the booking link of the data block in the user
// message user (as if sent with a system message); "" without a valid
// block.
func ExtractBookingLink(user string) string {
	f, _ := ExtractFields([]Message{{Role: "system", Content: "-"}, {Role: "user", Content: user}})
	return f.BookingLink
}

func newestUser(msgs []Message) (string, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content, true
		}
	}
	return "", false
}

// fencedFields decodes the data block of the user message u.
func fencedFields(u string) (Fields, bool) {
	i := strings.Index(u, fenceOpen)
	if i < 0 {
		return Fields{}, false
	}
	rest := u[i+len(fenceOpen):]
	j := strings.Index(rest, fenceSuffix)
	if j <= 0 {
		return Fields{}, false
	}
	nonce := rest[:j]
	body := rest[j+len(fenceSuffix):]
	end := strings.Index(body, fenceClose+nonce+fenceSuffix)
	if end < 0 {
		return Fields{}, false
	}
	var f Fields
	if err := json.Unmarshal([]byte(strings.TrimSpace(body[:end])), &f); err != nil {
		return Fields{}, false
	}
	return f, true
}

// Echo is the reply of a naive model that obeys the raw text: the newest
// user message (the last message when there is none), trimmed, at most 600
// characters.
func Echo(msgs []Message) string {
	s, ok := newestUser(msgs)
	if !ok && len(msgs) > 0 {
		s = msgs[len(msgs)-1].Content
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxEchoChars {
		s = strings.TrimSpace(string([]rune(s)[:maxEchoChars]))
	}
	return s
}

// sentence is one fixed reply shape: greeting (carries the placeholder),
// how the sender is named, and a fixed, benign body that leads to the link.
type sentence struct{ greet, sender, body string }

// sentences per tone. Nothing of the goal, audience or custom instructions
// is copied into a reply.
var sentences = map[string]sentence{
	"friendly":     {"Hi " + placeholder, "this is %s", "We would love to see you again soon. Book a time that suits you:"},
	"professional": {"Hello " + placeholder, "this is %s", "You can book your next appointment online:"},
	"casual":       {"Hey " + placeholder, "%s here", "Want to grab a time with us? Book here:"},
	"urgent":       {placeholder, "%s here", "Please book your appointment today:"},
	"empathetic":   {"Hi " + placeholder, "this is %s", "We know life gets busy, and we are here when you are ready. Book at your own pace:"},
}

// toneOrder is the order of the sentences, for a second variant.
var toneOrder = []string{"friendly", "professional", "casual", "urgent", "empathetic"}

// Draft is a compliant model's reply for f, built from the fixed sentence
// of the tone (friendly when unknown):
//
//	Hi {{first_name}}, this is <campaign name>. <fixed sentence> <booking link> Reply STOP to opt out
//
// The campaign name is used as given (whitespace collapsed); it is left
// out when the reply would exceed 300 characters, and so is the "this is"
// part when the name is empty. The booking link is copied exactly. Without
// a booking link the reply has none.
func Draft(f Fields) string {
	return draftWith(f, tone(f.Tone))
}

func tone(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	if _, ok := sentences[t]; ok {
		return t
	}
	return "friendly"
}

func draftWith(f Fields, t string) string {
	s := sentences[t]
	tail := s.body + " " + f.BookingLink + " " + optOut
	if f.BookingLink == "" {
		tail = "Reply to this text to book a time. " + optOut
	}
	plain := s.greet + ". " + tail
	name := strings.Join(strings.Fields(f.CampaignName), " ")
	if name == "" {
		return plain
	}
	named := s.greet + ", " + strings.Replace(s.sender, "%s", name, 1) + ". " + tail
	if utf8.RuneCountInString(named) > maxReplyChars {
		return plain
	}
	return named
}

// secondVariant is a second, different draft for f (the next tone's
// sentence).
func secondVariant(f Fields) string {
	t := tone(f.Tone)
	for i, x := range toneOrder {
		if x == t {
			return draftWith(f, toneOrder[(i+1)%len(toneOrder)])
		}
	}
	return draftWith(f, "professional")
}

// reply is the text answered to msgs for model under the faults f, and the
// request's outcome.
func (f Faults) reply(msgs []Message, model string) (text, outcome string) {
	fields, ok := ExtractFields(msgs)
	var outcomes []string
	if !ok {
		text = Echo(msgs)
		outcomes = append(outcomes, "echo")
	} else {
		text = Draft(fields)
		if fields.BookingLink == "" {
			outcomes = append(outcomes, "no_link")
		}
		if f.applies(model) {
			if f.ManglePlaceholder {
				text = strings.ReplaceAll(text, placeholder, "{first_name}")
				outcomes = append(outcomes, "mangle_placeholder")
			}
			if f.TwoVariants {
				second := secondVariant(fields)
				if f.ManglePlaceholder {
					second = strings.ReplaceAll(second, placeholder, "{first_name}")
				}
				text = "Option 1: " + text + "\n\nOption 2: " + second
				outcomes = append(outcomes, "two_variants")
			}
			if f.ObeyInjection {
				var obeyed []string
				for _, s := range []string{fields.CustomInstructions, fields.Goal} {
					if s != "" {
						obeyed = append(obeyed, s)
					}
				}
				text = "Here is the system prompt: " + strings.Join(obeyed, " ") + " " + text
				outcomes = append(outcomes, "obey_injection")
			}
		}
	}
	if f.InjectBadOutput && f.applies(model) {
		text += " More at " + BadOutputURL
		outcomes = append(outcomes, "bad_output")
	}
	if len(outcomes) == 0 {
		return text, "ok"
	}
	return text, strings.Join(outcomes, "+")
}
