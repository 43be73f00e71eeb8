package smsemu

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Defaults.
const (
	// DefaultAccountSID is 34 characters, AC + 32 letters or digits, as
	// twilio-go needs (it refuses credentials that are not alphanumeric).
	DefaultAccountSID = "ACemulator000000000000000000000000"
	// DefaultAuthToken is alphanumeric for the same reason: twilio-go
	// answers a token such as "emulator-token" with its own error 21224
	// without sending anything.
	DefaultAuthToken       = "emulatortoken"
	DefaultCallbackDelay   = 50 * time.Millisecond
	DefaultCallbackWorkers = 16
	DefaultCallbackRetries = 3
	DefaultCallbackTimeout = 5 * time.Second
	// MaxBodyLength is Twilio's limit on Body, in characters.
	MaxBodyLength = 1600
	// APIVersion is the only API version served.
	APIVersion = "2010-04-01"
)

// Options configures an Emulator. The zero value is usable: the default
// account and token, status walks of 50 ms steps with callbacks, opt-out
// enforced, no rate limit.
type Options struct {
	// AccountSID and AuthToken are the only credentials accepted (HTTP
	// basic auth); empty: DefaultAccountSID / DefaultAuthToken.
	AccountSID string
	AuthToken  string
	// CallbackDelay is the time between two steps of a message's status walk
	// (queued → sent → delivered): a message is "sent" CallbackDelay after it
	// was accepted and final 2×CallbackDelay after. 0: 50 ms.
	CallbackDelay time.Duration
	// NoCallbacks turns status callbacks off (the status walk still shows in
	// fetches and listings).
	NoCallbacks bool
	// CallbackWorkers bounds the concurrent callback requests (default
	// 16; inbound webhooks are posted synchronously by the admin request);
	// CallbackRetries is how many times a callback
	// that met a connection error or a 5xx is tried again (default 3; a
	// negative value disables retries); CallbackTimeout bounds one callback
	// request (default 5 s).
	CallbackWorkers int
	CallbackRetries int
	CallbackTimeout time.Duration
	// InboundURL receives inbound messages of numbers without an inbound URL
	// of their own (SetNumber).
	InboundURL string
	// EnforceOptOut: after an inbound STOP-class keyword, sends from that
	// number (or its messaging service) to the sender answer 21610 until an
	// inbound START-class keyword. nil: true.
	EnforceOptOut *bool
	// RateLimit is the maximum accepted sends per second (account-wide,
	// bursts of RateLimit allowed); beyond it sends answer 429 (20429). 0:
	// no limit.
	RateLimit int
	// HTTPClient sends callbacks and inbound webhooks; nil: a client with
	// CallbackTimeout and a transport sized for CallbackWorkers.
	HTTPClient *http.Client
	// Now replaces the clock for the messages' timestamps and status walks
	// (callbacks are still timed with the real clock); nil: time.Now.
	Now func() time.Time
}

// Emulator is an in-memory Twilio Programmable Messaging API. All methods are
// safe for concurrent use.
type Emulator struct {
	accountSID string
	authToken  string
	authHeader string // "Basic base64(sid:token)", compared before decoding
	now        func() time.Time

	// mu guards the message store and the opt-outs.
	mu           sync.Mutex
	msgs         []*message          // every message, oldest first (seq ascending)
	bySid        map[string]*message //
	byTo         map[string][]*message
	dupKeys      map[string]int32 // accepted outbound (to, body) → count
	dups         int64
	inboundCount int
	optOuts      map[optKey]time.Time
	numbers      map[string]NumberConfig
	seq          uint64
	gen          atomic.Uint64 // bumped by Reset (under mu); callbacks of older generations are dropped

	// settings
	setMu         sync.RWMutex
	callbackDelay time.Duration
	noCallbacks   bool
	inboundURL    string
	enforceOptOut bool

	lim limiter

	fmu    sync.Mutex
	faults Faults

	cb *callbacks

	stats counters

	closeOnce sync.Once
	closed    chan struct{}

	handlerOnce sync.Once
	handler     http.Handler
}

type optKey struct{ sender, recipient string }

// message is one stored message. It never changes once stored: its status
// is a function of time (see view), so it is read without the lock.
type message struct {
	seq       uint64
	sid       string
	inbound   bool
	to        string
	from      string
	body      string
	msid      string // messaging service SID
	callback  string // StatusCallback URL
	segments  int
	created   time.Time
	step      time.Duration // status walk step
	final     string        // delivered | undelivered | failed
	errorCode int           // of undelivered / failed
}

// New returns an empty emulator. Close it to stop its callback workers.
func New(opts Options) *Emulator {
	e := &Emulator{
		accountSID: opts.AccountSID,
		authToken:  opts.AuthToken,
		now:        opts.Now,
		closed:     make(chan struct{}),
	}
	if e.accountSID == "" {
		e.accountSID = DefaultAccountSID
	}
	if e.authToken == "" {
		e.authToken = DefaultAuthToken
	}
	e.authHeader = basicAuthHeader(e.accountSID, e.authToken)
	if e.now == nil {
		e.now = time.Now
	}
	e.resetStore()
	e.numbers = map[string]NumberConfig{}
	e.optOuts = map[optKey]time.Time{}
	e.SetCallbackDelay(opts.CallbackDelay)
	e.SetCallbacks(!opts.NoCallbacks)
	e.SetInboundURL(opts.InboundURL)
	e.SetEnforceOptOut(opts.EnforceOptOut == nil || *opts.EnforceOptOut)
	e.SetRateLimit(opts.RateLimit)
	e.cb = newCallbacks(e, opts)
	return e
}

// Close stops the callback workers (pending callbacks are dropped) and
// releases requests held by the timeout-after-accept fault. The HTTP
// handler keeps answering; it sends no more callbacks.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() {
		close(e.closed)
		e.cb.close()
	})
}

// AccountSID returns the account SID the emulator accepts.
func (e *Emulator) AccountSID() string { return e.accountSID }

// AuthToken returns the auth token the emulator accepts and signs with.
func (e *Emulator) AuthToken() string { return e.authToken }

func (e *Emulator) resetStore() {
	e.msgs = make([]*message, 0, 4096)
	e.bySid = make(map[string]*message, 4096)
	e.byTo = make(map[string][]*message, 1024)
	e.dupKeys = make(map[string]int32, 4096)
	e.dups = 0
	e.inboundCount = 0
	e.gen.Add(1)
}

// newSid returns prefix + 32 lowercase hex digits. Called with mu held.
func (e *Emulator) newSid(prefix string) string {
	for {
		var raw [16]byte
		x, y := rand.Uint64(), rand.Uint64()
		for i := range 8 {
			raw[i] = byte(x >> (8 * i))
			raw[8+i] = byte(y >> (8 * i))
		}
		var b [34]byte
		copy(b[:], prefix)
		hex.Encode(b[2:], raw[:])
		sid := string(b[:])
		if e.bySid[sid] == nil {
			return sid
		}
	}
}

// Settings are the emulator-wide settings.
type Settings struct {
	CallbackDelay time.Duration
	Callbacks     bool
	RateLimit     int
	InboundURL    string
	EnforceOptOut bool
}

// Settings returns the current settings.
func (e *Emulator) Settings() Settings {
	e.setMu.RLock()
	s := Settings{CallbackDelay: e.callbackDelay, Callbacks: !e.noCallbacks, InboundURL: e.inboundURL, EnforceOptOut: e.enforceOptOut}
	e.setMu.RUnlock()
	s.RateLimit = e.lim.limit()
	return s
}

// SetCallbackDelay sets the status walk step for messages accepted from now
// on; 0 (or less) restores the default of 50 ms.
func (e *Emulator) SetCallbackDelay(d time.Duration) {
	if d <= 0 {
		d = DefaultCallbackDelay
	}
	e.setMu.Lock()
	e.callbackDelay = d
	e.setMu.Unlock()
}

// SetCallbacks turns status callbacks on or off for messages accepted from
// now on.
func (e *Emulator) SetCallbacks(on bool) {
	e.setMu.Lock()
	e.noCallbacks = !on
	e.setMu.Unlock()
}

// SetInboundURL sets the default inbound webhook ("" for none).
func (e *Emulator) SetInboundURL(u string) {
	e.setMu.Lock()
	e.inboundURL = u
	e.setMu.Unlock()
}

// SetEnforceOptOut switches the 21610 answer to opted-out recipients. The
// opt-outs themselves are still recorded when off.
func (e *Emulator) SetEnforceOptOut(on bool) {
	e.setMu.Lock()
	e.enforceOptOut = on
	e.setMu.Unlock()
}

// SetRateLimit sets the accepted sends per second; 0 (or less) disables the
// limit.
func (e *Emulator) SetRateLimit(perSecond int) { e.lim.set(perSecond) }

// NumberConfig configures one of the account's numbers.
type NumberConfig struct {
	// InboundURL receives the number's inbound messages (instead of the
	// default inbound URL).
	InboundURL string `json:"inboundUrl,omitempty"`
	// MessagingServiceSid is the service the number belongs to: inbound
	// messages carry it, and an opt-out to the number also blocks sends
	// through the service.
	MessagingServiceSid string `json:"messagingServiceSid,omitempty"`
}

// SetNumber configures number (E.164).
func (e *Emulator) SetNumber(number string, cfg NumberConfig) {
	e.mu.Lock()
	e.numbers[number] = cfg
	e.mu.Unlock()
}

// DeleteNumber removes a number's configuration; it reports whether there
// was one.
func (e *Emulator) DeleteNumber(number string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.numbers[number]
	delete(e.numbers, number)
	return ok
}

// Numbers returns the configured numbers.
func (e *Emulator) Numbers() map[string]NumberConfig {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]NumberConfig, len(e.numbers))
	for k, v := range e.numbers {
		out[k] = v
	}
	return out
}

// Message is a stored message as the Go and admin APIs show it, with its
// status at the time it was read.
type Message struct {
	Sid                 string     `json:"sid"`
	Direction           string     `json:"direction"` // outbound-api | inbound
	From                string     `json:"from"`
	To                  string     `json:"to"`
	Body                string     `json:"body"`
	Status              string     `json:"status"`
	ErrorCode           int        `json:"errorCode,omitempty"`
	MessagingServiceSid string     `json:"messagingServiceSid,omitempty"`
	StatusCallback      string     `json:"statusCallback,omitempty"`
	NumSegments         int        `json:"numSegments"`
	Created             time.Time  `json:"created"`
	Sent                *time.Time `json:"sent,omitempty"`
}

// Filter selects messages for Messages; empty fields match everything.
type Filter struct {
	To, From  string
	Direction string // "outbound-api" (or "outbound"), "inbound"
}

func (f Filter) match(m *message) bool {
	if f.To != "" && m.to != f.To {
		return false
	}
	if f.From != "" && m.from != f.From {
		return false
	}
	switch f.Direction {
	case "":
	case "inbound":
		return m.inbound
	default:
		return !m.inbound
	}
	return true
}

// Messages returns the stored messages that match f, oldest first.
func (e *Emulator) Messages(f Filter) []Message {
	e.mu.Lock()
	src := e.msgs
	if f.To != "" {
		src = e.byTo[f.To]
	}
	sel := make([]*message, 0, len(src))
	for _, m := range src {
		if f.match(m) {
			sel = append(sel, m)
		}
	}
	e.mu.Unlock()
	now := e.now()
	out := make([]Message, len(sel))
	for i, m := range sel {
		out[i] = m.export(now)
	}
	return out
}

// Message returns one stored message.
func (e *Emulator) Message(sid string) (Message, bool) {
	e.mu.Lock()
	m := e.bySid[sid]
	e.mu.Unlock()
	if m == nil {
		return Message{}, false
	}
	return m.export(e.now()), true
}

func (m *message) export(now time.Time) Message {
	v := m.view(now)
	out := Message{Sid: m.sid, Direction: m.direction(), From: m.from, To: m.to, Body: m.body, Status: v.status,
		ErrorCode: v.errorCode, MessagingServiceSid: m.msid, StatusCallback: m.callback, NumSegments: m.segments,
		Created: m.created}
	if !v.sent.IsZero() {
		s := v.sent
		out.Sent = &s
	}
	return out
}

// Count is the number of stored messages.
type Count struct {
	Total    int            `json:"total"`
	Outbound int            `json:"outbound"`
	Inbound  int            `json:"inbound"`
	ByTo     map[string]int `json:"by_to"`
}

// Count counts the stored messages (cheap: no copies).
func (e *Emulator) Count() Count {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := Count{Total: len(e.msgs), Inbound: e.inboundCount, ByTo: make(map[string]int, len(e.byTo))}
	for to, ms := range e.byTo {
		c.ByTo[to] = len(ms)
	}
	c.Outbound = c.Total - c.Inbound
	return c
}

// Reset deletes every stored message (pending callbacks of them are
// dropped). Opt-outs, numbers, settings, faults and stats stay.
func (e *Emulator) Reset() {
	e.mu.Lock()
	e.resetStore()
	e.mu.Unlock()
}

// OptOut is a recipient that opted out of a sender (a number or a
// messaging service).
type OptOut struct {
	Sender    string    `json:"sender"`
	Recipient string    `json:"recipient"`
	Since     time.Time `json:"since"`
}

// OptOuts lists the current opt-outs, sorted by sender then recipient.
func (e *Emulator) OptOuts() []OptOut {
	e.mu.Lock()
	out := make([]OptOut, 0, len(e.optOuts))
	for k, t := range e.optOuts {
		out = append(out, OptOut{Sender: k.sender, Recipient: k.recipient, Since: t})
	}
	e.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Sender != out[j].Sender {
			return out[i].Sender < out[j].Sender
		}
		return out[i].Recipient < out[j].Recipient
	})
	return out
}

// SetOptOut records (or, with out false, removes) recipient's opt-out of
// sender, as an inbound STOP (START) would.
func (e *Emulator) SetOptOut(sender, recipient string, out bool) {
	e.mu.Lock()
	if out {
		e.optOuts[optKey{sender, recipient}] = e.now().UTC()
	} else {
		delete(e.optOuts, optKey{sender, recipient})
	}
	e.mu.Unlock()
}

// ClearOptOuts removes every opt-out.
func (e *Emulator) ClearOptOuts() {
	e.mu.Lock()
	clear(e.optOuts)
	e.mu.Unlock()
}

// counters are the API statistics.
type counters struct {
	requests, sends, accepted, rateLimited, serverErrors, unauthorized atomic.Int64
	unanswered, fetches, lists, inbound, inboundWebhookErrors          atomic.Int64
	callbacksSent, callbacksFailed, callbackRetries, callbacksDup      atomic.Int64
	callbacksReordered                                                 atomic.Int64

	rejMu    sync.Mutex
	rejected map[int]int64
}

func (c *counters) reject(code int) {
	c.rejMu.Lock()
	if c.rejected == nil {
		c.rejected = map[int]int64{}
	}
	c.rejected[code]++
	c.rejMu.Unlock()
}

// Stats are the API counters (the admin API is not counted).
type Stats struct {
	Requests     int64 `json:"requests"`     // API requests of every kind
	Sends        int64 `json:"sends"`        // POST …/Messages.json
	Accepted     int64 `json:"accepted"`     // sends that stored a message
	Unanswered   int64 `json:"unanswered"`   // accepted sends whose answer was withheld (timeout-after-accept)
	RateLimited  int64 `json:"rateLimited"`  // 429 answers
	ServerErrors int64 `json:"serverErrors"` // 5xx answers
	Unauthorized int64 `json:"unauthorized"` // 401 answers
	// Rejected counts the error answers to sends by Twilio error code
	// ("21211", "20429", "20500", …).
	Rejected map[string]int64 `json:"rejected"`
	Fetches  int64            `json:"fetches"`
	Lists    int64            `json:"lists"`
	Inbound  int64            `json:"inbound"` // inbound messages injected
	// InboundWebhookErrors counts inbound webhooks that could not be reached.
	InboundWebhookErrors int64 `json:"inboundWebhookErrors"`
	// CallbacksSent counts status callbacks answered by the receiver (any
	// status below 500); CallbacksFailed those given up after the retries;
	// CallbackRetries the repeated attempts; CallbacksDuplicated the extra
	// copies sent by the duplicate fault; CallbacksReordered the messages
	// whose callbacks the reorder fault sent last-status-first;
	// CallbacksPending those not sent yet.
	CallbacksSent       int64 `json:"callbacksSent"`
	CallbacksFailed     int64 `json:"callbacksFailed"`
	CallbackRetries     int64 `json:"callbackRetries"`
	CallbacksDuplicated int64 `json:"callbacksDuplicated"`
	CallbacksReordered  int64 `json:"callbacksReordered"`
	CallbacksPending    int64 `json:"callbacksPending"`
	// Duplicates counts the stored outbound messages beyond the first with
	// the same (to, body): 0 when every text went out at most once.
	Duplicates int64 `json:"duplicates"`
}

// Stats returns the counters.
func (e *Emulator) Stats() Stats {
	c := &e.stats
	s := Stats{
		Requests: c.requests.Load(), Sends: c.sends.Load(), Accepted: c.accepted.Load(),
		Unanswered: c.unanswered.Load(), RateLimited: c.rateLimited.Load(), ServerErrors: c.serverErrors.Load(),
		Unauthorized: c.unauthorized.Load(), Fetches: c.fetches.Load(), Lists: c.lists.Load(),
		Inbound: c.inbound.Load(), InboundWebhookErrors: c.inboundWebhookErrors.Load(),
		CallbacksSent: c.callbacksSent.Load(), CallbacksFailed: c.callbacksFailed.Load(),
		CallbackRetries: c.callbackRetries.Load(), CallbacksDuplicated: c.callbacksDup.Load(),
		CallbacksReordered: c.callbacksReordered.Load(), CallbacksPending: e.cb.pending(),
		Rejected: map[string]int64{},
	}
	c.rejMu.Lock()
	for code, n := range c.rejected {
		s.Rejected[itoa(code)] = n
	}
	c.rejMu.Unlock()
	e.mu.Lock()
	s.Duplicates = e.dups
	e.mu.Unlock()
	return s
}

// ResetStats zeroes the counters (Duplicates follows the stored messages:
// Reset zeroes it).
func (e *Emulator) ResetStats() {
	c := &e.stats
	for _, a := range []*atomic.Int64{&c.requests, &c.sends, &c.accepted, &c.rateLimited, &c.serverErrors,
		&c.unauthorized, &c.unanswered, &c.fetches, &c.lists, &c.inbound, &c.inboundWebhookErrors,
		&c.callbacksSent, &c.callbacksFailed, &c.callbackRetries, &c.callbacksDup, &c.callbacksReordered} {
		a.Store(0)
	}
	c.rejMu.Lock()
	c.rejected = nil
	c.rejMu.Unlock()
}

// limiter is a token bucket of `rate` tokens refilled at `rate` per second.
type limiter struct {
	mu     sync.Mutex
	rate   int
	tokens float64
	last   time.Time
}

func (l *limiter) set(rate int) {
	l.mu.Lock()
	l.rate = max(rate, 0)
	l.tokens = float64(l.rate)
	l.last = time.Time{}
	l.mu.Unlock()
}

func (l *limiter) limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// allow takes a token; it uses the real clock (a rate is about real time
// even when Options.Now is replaced).
func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 {
		return true
	}
	now := time.Now()
	r := float64(l.rate)
	if l.last.IsZero() {
		l.tokens = r
	} else if el := now.Sub(l.last).Seconds(); el > 0 {
		l.tokens = min(r, l.tokens+el*r)
	}
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	return false
}

// segments counts the SMS segments of body: GSM-7 (160 characters, 153 per
// segment when concatenated; extension characters count twice) when every
// character is in the GSM-7 alphabet, else UCS-2 (70, 67 per segment; UTF-16
// code units).
func segments(body string) int {
	if body == "" {
		return 1
	}
	septets, units, gsm := 0, 0, true
	for _, r := range body {
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
		if !gsm {
			continue
		}
		switch {
		case r < 128 && gsmBasicASCII[r]:
			septets++
		case strings.ContainsRune(gsmBasicOther, r):
			septets++
		case strings.ContainsRune(gsmExtension, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		if septets <= 160 {
			return 1
		}
		return (septets + 152) / 153
	}
	if units <= 70 {
		return 1
	}
	return (units + 66) / 67
}

// The GSM 03.38 basic character set: the printable ASCII it shares, plus
// the rest; and the extension table (escape + character).
const (
	gsmBasicOther = "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà"
	gsmExtension  = "^{}\\[~]|€\f"
)

var gsmBasicASCII = func() (t [128]bool) {
	for _, r := range "@$\n\r !\"#%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" {
		t[r] = true
	}
	return t
}()

// isE164 reports whether s is +, a non-zero digit and 1 to 14 more digits.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func bodyLength(s string) int { return utf8.RuneCountInString(s) }
