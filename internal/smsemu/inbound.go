package smsemu

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// Twilio's default opt-out and opt-in keywords. A message whose whole body,
// ignoring case and surrounding spaces and punctuation, is one of them opts
// the sender out of (in to) the number it was sent to.
var (
	optOutKeywords = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true,
		"END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true}
	optInKeywords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
)

// keyword returns the normalised body when it is a single word.
func keyword(body string) string {
	return strings.ToUpper(strings.TrimFunc(body, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
	}))
}

// Inbound is a message from a handset to one of the account's numbers.
type Inbound struct {
	From string `json:"from"`
	To   string `json:"to"`
	Body string `json:"body"`
	// MessagingServiceSid overrides the number's configured service.
	MessagingServiceSid string `json:"messagingServiceSid,omitempty"`
	// URL overrides the number's (or the default) inbound webhook.
	URL string `json:"url,omitempty"`
}

// InboundResult is what the inbound webhook answered.
type InboundResult struct {
	Sid string
	// URL is the webhook called; empty when none is configured (the
	// message is stored all the same).
	URL    string
	Status int
	Header http.Header
	Body   []byte
	// OptOut is "STOP" or "START" when the body was an opt-out or opt-in
	// keyword.
	OptOut string
	// Replies are the messages the webhook's TwiML answer asked for
	// (<Response><Message>…</Message></Response>), sent back to the
	// sender as Twilio does and stored as outbound messages.
	Replies []string
}

// ErrNoInboundSender is returned for an inbound message without From or To.
var ErrNoInboundSender = errors.New("smsemu: inbound message needs from and to")

// Inbound stores an inbound message, applies opt-out keywords, and posts
// Twilio's incoming-message webhook (signed with X-Twilio-Signature) to the
// number's inbound URL, synchronously. The error is about the webhook call;
// the message is stored even then.
func (e *Emulator) Inbound(ctx context.Context, in Inbound) (InboundResult, error) {
	if in.From == "" || in.To == "" {
		return InboundResult{}, ErrNoInboundSender
	}
	e.stats.inbound.Add(1)
	m := &message{inbound: true, from: in.From, to: in.To, body: in.Body, segments: segments(in.Body),
		created: e.now().UTC(), final: "received"}
	var res InboundResult
	kw := keyword(in.Body)
	e.mu.Lock()
	num := e.numbers[in.To]
	m.msid = in.MessagingServiceSid
	if m.msid == "" {
		m.msid = num.MessagingServiceSid
	}
	senders := []string{in.To}
	if m.msid != "" {
		senders = append(senders, m.msid)
	}
	switch {
	case optOutKeywords[kw]:
		res.OptOut = "STOP"
		for _, s := range senders {
			e.optOuts[optKey{s, in.From}] = m.created
		}
	case optInKeywords[kw]:
		res.OptOut = "START"
		for _, s := range senders {
			delete(e.optOuts, optKey{s, in.From})
		}
	}
	e.storeLocked(m)
	e.mu.Unlock()
	res.Sid = m.sid

	res.URL = in.URL
	if res.URL == "" {
		res.URL = num.InboundURL
	}
	if res.URL == "" {
		e.setMu.RLock()
		res.URL = e.inboundURL
		e.setMu.RUnlock()
	}
	if res.URL == "" {
		return res, nil
	}
	form := url.Values{
		"MessageSid":    {m.sid},
		"SmsMessageSid": {m.sid},
		"SmsSid":        {m.sid},
		"AccountSid":    {e.accountSID},
		"From":          {m.from},
		"To":            {m.to},
		"Body":          {m.body},
		"NumMedia":      {"0"},
		"NumSegments":   {strconv.Itoa(m.segments)},
		"SmsStatus":     {"received"},
		"ApiVersion":    {APIVersion},
	}
	if m.msid != "" {
		form.Set("MessagingServiceSid", m.msid)
	}
	if c := country(m.from); c != "" {
		form.Set("FromCountry", c)
	}
	if c := country(m.to); c != "" {
		form.Set("ToCountry", c)
	}
	if res.OptOut != "" {
		form.Set("OptOutType", res.OptOut)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, res.URL, nil)
	if err != nil {
		e.stats.inboundWebhookErrors.Add(1)
		return res, err
	}
	res.Status, res.Header, res.Body, err = e.cb.postRead(req, res.URL, form, 1<<20)
	if err != nil {
		e.stats.inboundWebhookErrors.Add(1)
		return res, err
	}
	if res.Status/100 == 2 {
		res.Replies = twimlMessages(res.Body)
		for _, text := range res.Replies {
			r := &message{from: in.To, to: in.From, body: text, segments: segments(text), created: e.now().UTC(), final: "delivered"}
			e.mu.Lock()
			e.storeLocked(r)
			e.mu.Unlock()
		}
	}
	return res, nil
}

// twimlMessages reads the <Message> texts of a TwiML answer (empty for
// anything that is not TwiML).
func twimlMessages(body []byte) []string {
	var resp struct {
		XMLName  xml.Name `xml:"Response"`
		Messages []struct {
			Text string `xml:",chardata"`
			Body string `xml:"Body"`
		} `xml:"Message"`
	}
	if xml.Unmarshal(body, &resp) != nil {
		return nil
	}
	var out []string
	for _, m := range resp.Messages {
		t := strings.TrimSpace(m.Text)
		if m.Body != "" {
			t = strings.TrimSpace(m.Body)
		}
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

// country guesses the ISO country of a few E.164 prefixes, as Twilio fills
// FromCountry / ToCountry.
func country(n string) string {
	switch {
	case strings.HasPrefix(n, "+1"):
		return "US"
	case strings.HasPrefix(n, "+44"):
		return "GB"
	case strings.HasPrefix(n, "+33"):
		return "FR"
	case strings.HasPrefix(n, "+49"):
		return "DE"
	case strings.HasPrefix(n, "+61"):
		return "AU"
	}
	return ""
}
