package llmemu

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Defaults.
const (
	// DefaultPrimaryModel and DefaultFallbackModel are LLM_PRIMARY_MODEL's
	// and LLM_FALLBACK_MODEL's defaults (internal/config).
	DefaultPrimaryModel  = "gpt-5"
	DefaultFallbackModel = "gpt-4o-mini"
	// MaxLoggedRequests bounds the request log; older entries are dropped
	// (the counts keep counting).
	MaxLoggedRequests = 10000
	// maxDelay bounds the delay_ms fault.
	maxDelay = 5 * time.Minute
	// maxBody bounds a chat completion request body.
	maxBody = 4 << 20
)

// Options configures an Emulator. The zero value is usable: the default
// models, any non-empty bearer token.
type Options struct {
	// Models are the models served, in the order GET /v1/models lists
	// them; empty: DefaultPrimaryModel, DefaultFallbackModel. The defaults
	// are always served in addition, so LLM_* defaults keep working.
	Models []string
	// APIKey is the only bearer token accepted; empty: any non-empty token.
	APIKey string
	// Log receives one line per API request; nil: none.
	Log *zap.Logger
	// Now replaces the clock for "created" and the request log; nil:
	// time.Now.
	Now func() time.Time
}

// Request is one API request, as GET /_emulator/requests reports it.
type Request struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Model  string    `json:"model,omitempty"`
	Status int       `json:"status"`
	// Outcome is "ok" (a compliant draft), "echo" (no system message or
	// no valid fenced data block: the user text echoed), "no_link" (a
	// fenced block without booking_link: a draft without a link), the
	// faults that shaped the reply joined by "+" ("obey_injection",
	// "two_variants", "mangle_placeholder", "bad_output"), or the error
	// code answered ("rate_limit_exceeded", "model_not_found",
	// "server_error", "invalid_api_key", …).
	Outcome string `json:"outcome"`
}

// Log is the request log's summary: Count and ByModel count the chat
// completion requests that were authorized and parsed (ByModel by
// requested model, whatever the answer);
// Requests holds every API request, chat completions and model listings,
// oldest first (at most MaxLoggedRequests).
type Log struct {
	Count    int            `json:"count"`
	ByModel  map[string]int `json:"by_model"`
	Requests []Request      `json:"requests"`
}

// Emulator is an in-memory OpenAI-compatible API. All methods are safe for
// concurrent use.
type Emulator struct {
	models []string
	apiKey string
	log    *zap.Logger
	now    func() time.Time

	mu      sync.Mutex
	faults  Faults
	reqs    []Request
	count   int
	byModel map[string]int
	seq     uint64

	handlerOnce sync.Once
	handler     http.Handler
}

// New returns an emulator without faults or logged requests.
func New(opts Options) *Emulator {
	e := &Emulator{apiKey: strings.TrimSpace(opts.APIKey), log: opts.Log, now: opts.Now, byModel: map[string]int{}}
	if e.log == nil {
		e.log = zap.NewNop()
	}
	if e.now == nil {
		e.now = time.Now
	}
	for _, m := range append(slices.Clone(opts.Models), DefaultPrimaryModel, DefaultFallbackModel) {
		if m = strings.TrimSpace(m); m != "" && !slices.Contains(e.models, m) {
			e.models = append(e.models, m)
		}
	}
	return e
}

// Models returns the models served.
func (e *Emulator) Models() []string { return slices.Clone(e.models) }

// Handler returns the API and the admin API.
func (e *Emulator) Handler() http.Handler {
	e.handlerOnce.Do(func() {
		mux := http.NewServeMux()
		e.registerAPI(mux)
		e.registerAdmin(mux)
		e.handler = mux
	})
	return e.handler
}

// Faults returns the faults in force.
func (e *Emulator) Faults() Faults {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults
}

// SetFaults replaces the faults in force.
func (e *Emulator) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
	return nil
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = Faults{}
}

// Requests returns the request log.
func (e *Emulator) Requests() Log {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := Log{Count: e.count, ByModel: make(map[string]int, len(e.byModel)), Requests: slices.Clone(e.reqs)}
	for k, v := range e.byModel {
		l.ByModel[k] = v
	}
	if l.Requests == nil {
		l.Requests = []Request{}
	}
	return l
}

// ResetRequests forgets the logged requests and counts.
func (e *Emulator) ResetRequests() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reqs, e.count, e.byModel = nil, 0, map[string]int{}
}

// record logs r; chat marks a chat completion request (counted).
func (e *Emulator) record(r Request, chat bool) {
	e.mu.Lock()
	if chat {
		e.count++
		e.byModel[r.Model]++
	}
	e.reqs = append(e.reqs, r)
	if len(e.reqs) > MaxLoggedRequests {
		e.reqs = slices.Delete(e.reqs, 0, len(e.reqs)-MaxLoggedRequests)
	}
	e.mu.Unlock()
	e.log.Info("llm-emulator request", zap.String("method", r.Method), zap.String("path", r.Path),
		zap.String("model", r.Model), zap.Int("status", r.Status), zap.String("outcome", r.Outcome))
}

func (e *Emulator) nextID() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	return e.seq
}

// Faults are the failures injected into the API. The zero value injects
// nothing.
type Faults struct {
	// FailModel answers chat completions for this model ("*": every model)
	// with Status (default 500) and OpenAI's error body.
	FailModel string `json:"fail_model,omitempty"`
	Status    int    `json:"status,omitempty"`
	// RateLimit answers chat completions with 429 rate_limit_exceeded.
	RateLimit bool `json:"rate_limit,omitempty"`
	// InjectBadOutput appends a second URL to the reply.
	InjectBadOutput bool `json:"inject_bad_output,omitempty"`
	// ObeyInjection imitates a model that obeyed a prompt injection: the
	// draft is preceded by "Here is the system prompt: " and the custom
	// instructions and goal of the data block, verbatim.
	ObeyInjection bool `json:"obey_injection,omitempty"`
	// TwoVariants answers two alternative drafts separated by a blank
	// line ("Option 1: … Option 2: …").
	TwoVariants bool `json:"two_variants,omitempty"`
	// ManglePlaceholder writes {first_name} instead of {{first_name}}.
	ManglePlaceholder bool `json:"mangle_placeholder,omitempty"`
	// DelayMS delays every /v1 request by this many milliseconds (at most
	// 5 minutes); the wait ends when the client gives up.
	DelayMS int `json:"delay_ms,omitempty"`
	// Model, when set, restricts RateLimit, InjectBadOutput,
	// ObeyInjection, TwoVariants, ManglePlaceholder and DelayMS to requests
	// for this model (model listings then get no delay).
	Model string `json:"model,omitempty"`
}

func (f Faults) validate() error {
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return errors.New("status must be an HTTP error status (400..599)")
	}
	if f.DelayMS < 0 || time.Duration(f.DelayMS)*time.Millisecond > maxDelay {
		return errors.New("delay_ms must be between 0 and 300000")
	}
	return nil
}

// applies reports whether the scoped faults apply to model.
func (f Faults) applies(model string) bool { return f.Model == "" || f.Model == model }

// fails reports whether FailModel hits model, and the status.
func (f Faults) fails(model string) (int, bool) {
	if f.FailModel == "" || (f.FailModel != "*" && f.FailModel != model) {
		return 0, false
	}
	if f.Status == 0 {
		return http.StatusInternalServerError, true
	}
	return f.Status, true
}
