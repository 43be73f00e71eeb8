package llm

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nurture-sms/nurture/internal/sms"
)

// Analysis is the size and cost of a draft as an SMS.
type Analysis struct {
	Characters       int      `json:"characters"`
	Encoding         string   `json:"encoding"` // "GSM-7" or "UCS-2"
	Segments         int      `json:"segments"`
	EstimatedCostUSD float64  `json:"estimated_cost_usd"`
	Warnings         []string `json:"warnings"`
}

// placeholderNote is added to Analysis.Warnings when the draft contains the
// placeholder, whose rendered length differs from its written length.
const placeholderNote = "counts {{first_name}} as written (18 GSM-7 units); the sent size depends on each recipient's name"

// Analyze measures msg as written (see package sms) and estimates its cost
// at perSegmentUSD per segment. Warnings is never nil (empty when there is
// nothing to report), so it encodes as a JSON array.
func Analyze(msg string, perSegmentUSD float64) Analysis {
	a := sms.Analyze(msg)
	w := sms.Warnings(a)
	if strings.Contains(msg, FirstNamePlaceholder) {
		w = append(w, placeholderNote)
	}
	if w == nil {
		w = []string{}
	}
	return Analysis{
		Characters:       a.Characters,
		Encoding:         string(a.Encoding),
		Segments:         a.Segments,
		EstimatedCostUSD: sms.EstimateCost(a, perSegmentUSD),
		Warnings:         w,
	}
}

// gsmReplacements suggests GSM-7 substitutes for common UCS-2 characters.
var gsmReplacements = map[string]string{
	"‘": "'", "’": "'", "‚": "'", "′": "'",
	"“": `"`, "”": `"`, "„": `"`, "″": `"`,
	"–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-",
	"…": "...", "•": "-", "\u00a0": " ",
	"á": "a", "â": "a", "ê": "e", "í": "i", "ó": "o", "ú": "u", "ç": "c",
}

var (
	ctaRE      = regexp.MustCompile(`(?i)\b(?:book|schedule|reserve|call|reply|claim|grab|join|register|sign\s+up|visit|tap|click|pick|choose|secure|save|get|start|see|find)\b`)
	optOutLine = regexp.MustCompile(`(?i)\b(?:reply|text|txt|send)\s+stop\b(?:\s+to\s+(?:opt[\s-]?out|unsubscribe|end|cancel|quit|stop))?`)
	optOutRE   = regexp.MustCompile(`(?i)\bstop\b|\bopt[\s-]?out\b|\bunsubscribe\b`)
	wordRE     = regexp.MustCompile(`\pL[\pL\pN'’]*`)
	spamRE     = regexp.MustCompile(`(?i)\b(?:free|guarantee[ds]?|winner|won|cash|prize|act\s+now|100%|risk[\s-]free|no\s+cost|urgent|limited\s+time|click\s+here|congratulations)`)
	multiBangs = regexp.MustCompile(`!{2,}`)
)

// allowedCaps are upper-case words that are fine in an SMS.
var allowedCaps = map[string]bool{
	"STOP": true, "SMS": true, "OK": true, "USA": true, "UK": true, "FAQ": true,
	"AM": true, "PM": true, "HELP": true, "START": true, "ID": true,
}

// Suggestions returns improvements an admin could make to msg, a draft for
// in: shorten it (segments, over 160 GSM-7 characters), replace the
// characters that force UCS-2 (listing them, with GSM-7 substitutes where
// known), add the booking link or move it near the end, add a clear call to
// action, add opt-out wording, personalise with {{first_name}}, avoid ALL
// CAPS words, repeated exclamation marks, spam trigger words, and emojis for
// tones other than casual. The result is never nil (empty when nothing is
// to improve). The wording is for people and may change.
func Suggestions(msg string, in DraftInput) []string {
	s := []string{}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return append(s, "Write a message: the draft is empty.")
	}
	link := in.BookingLink
	text := msg // msg without the booking link and placeholder, for word checks
	if link != "" {
		text = strings.ReplaceAll(text, link, " ")
	}
	text = strings.ReplaceAll(text, FirstNamePlaceholder, " ")

	a := sms.Analyze(msg)
	switch {
	case a.Segments > 3:
		s = append(s, fmt.Sprintf("Shorten the message: it needs %d SMS segments; aim for one (160 GSM-7 characters).", a.Segments))
	case a.Segments > 1:
		s = append(s, fmt.Sprintf("Shorten the message to fit one SMS segment: it needs %d (%d %s units, one segment holds %d).",
			a.Segments, a.Units, a.Encoding, singleLimit(a.Encoding)))
	}
	if a.Encoding == sms.UCS2 && len(a.NonGSM) > 0 {
		var parts []string
		for _, c := range a.NonGSM {
			if rep, ok := gsmReplacements[c]; ok {
				parts = append(parts, fmt.Sprintf("%q (use %q)", c, rep))
			} else {
				parts = append(parts, fmt.Sprintf("%q", c))
			}
		}
		s = append(s, "Replace characters outside the GSM-7 alphabet, which switch the SMS to UCS-2 (70 characters per segment instead of 160): "+strings.Join(parts, ", ")+".")
	}

	if link != "" {
		if i := strings.LastIndex(msg, link); i < 0 {
			s = append(s, "Include the booking link "+link+" so recipients can book.")
		} else {
			after := msg[i+len(link):]
			if loc := optOutRE.FindStringIndex(after); loc != nil {
				after = after[:loc[0]]
			}
			after = strings.TrimRight(after, " .!\n")
			if utf8.RuneCountInString(after) > 40 {
				s = append(s, "Move the booking link near the end of the message, right after the call to action.")
			}
		}
	}
	if cta := optOutLine.ReplaceAllString(text, " "); !ctaRE.MatchString(cta) && !strings.Contains(cta, "?") {
		s = append(s, "Add a clear call to action (for example \"Book your visit:\") or a question that invites a reply.")
	}
	if !optOutRE.MatchString(text) {
		s = append(s, "Add opt-out wording such as \""+OptOutText+"\".")
	}
	if !strings.Contains(msg, FirstNamePlaceholder) {
		s = append(s, "Personalise the message with "+FirstNamePlaceholder+".")
	}

	var caps []string
	for _, w := range wordRE.FindAllString(text, -1) {
		if utf8.RuneCountInString(w) >= 3 && isAllCaps(w) && !allowedCaps[w] && !containsStr(caps, w) {
			caps = append(caps, w)
		}
	}
	if len(caps) > 0 {
		s = append(s, "Avoid words in ALL CAPS ("+strings.Join(caps, ", ")+"); they read as shouting and can trip spam filters.")
	}
	if multiBangs.MatchString(text) || strings.Count(text, "!") > 1 {
		s = append(s, "Use at most one exclamation mark.")
	}
	if m := spamRE.FindAllString(text, -1); len(m) > 0 {
		s = append(s, "Avoid spam trigger words ("+strings.Join(dedupeFold(m), ", ")+"); carriers may filter the message.")
	}
	if in.Tone != ToneCasual {
		if e := emojis(text); len(e) > 0 {
			s = append(s, "Remove emojis ("+strings.Join(e, " ")+"): they do not suit a "+toneName(in.Tone)+" tone and force UCS-2.")
		}
	}
	return s
}

func singleLimit(e sms.Encoding) int {
	if e == sms.UCS2 {
		return sms.UCS2SingleLimit
	}
	return sms.GSM7SingleLimit
}

func isAllCaps(w string) bool {
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			if !unicode.IsUpper(r) {
				return false
			}
			letters++
		}
	}
	return letters >= 3
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func dedupeFold(in []string) []string {
	var out []string
	for _, s := range in {
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, s) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// emojis returns the distinct emoji-like symbols in s (pictographs,
// dingbats, regional indicators), at most ten.
func emojis(s string) []string {
	var out []string
	for _, r := range s {
		isEmoji := (r >= 0x1F000 && r <= 0x1FAFF) || (r >= 0x2600 && r <= 0x27BF) || (r >= 0x1F1E6 && r <= 0x1F1FF)
		if isEmoji && !containsStr(out, string(r)) {
			out = append(out, string(r))
			if len(out) == 10 {
				break
			}
		}
	}
	return out
}

func toneName(t string) string {
	if t == "" {
		return DefaultTone
	}
	return t
}
