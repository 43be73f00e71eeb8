package smsemu_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	twilio "github.com/twilio/twilio-go"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/twilioapi"
)

const (
	sender = "+15550000001"
	alice  = "+15551110001"
	bob    = "+15551110002"
)

type env struct {
	emu *smsemu.Emulator
	srv *httptest.Server
	rc  *twilio.RestClient
}

// newEnv starts an emulator over real HTTP and the official client, built by
// twilioapi.New, pointed at it.
func newEnv(t testing.TB, opts smsemu.Options) *env {
	t.Helper()
	emu := smsemu.New(opts)
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(func() {
		srv.Close()
		emu.Close()
	})
	rc := twilioapi.New(twilioapi.Config{AccountSID: emu.AccountSID(), AuthToken: emu.AuthToken(), BaseURL: srv.URL})
	return &env{emu: emu, srv: srv, rc: rc}
}

func (e *env) send(t testing.TB, to, body string, callback string) (*openapi.ApiV2010Message, error) {
	t.Helper()
	p := new(openapi.CreateMessageParams).SetTo(to).SetFrom(sender).SetBody(body)
	if callback != "" {
		p.SetStatusCallback(callback)
	}
	return e.rc.Api.CreateMessage(p)
}

func (e *env) mustSend(t testing.TB, to, body, callback string) *openapi.ApiV2010Message {
	t.Helper()
	m, err := e.send(t, to, body, callback)
	if err != nil {
		t.Fatalf("send to %s: %v", to, err)
	}
	return m
}

// wantCode checks that err is Twilio error code with HTTP status.
func wantCode(t testing.TB, err error, code, status int) {
	t.Helper()
	got, gotStatus, ok := twilioapi.ErrorCode(err)
	if !ok || got != code || gotStatus != status {
		t.Fatalf("err = %v; want Twilio %d / HTTP %d (got %d / %d, ok=%v)", err, code, status, got, gotStatus, ok)
	}
}

// admin calls the admin API and decodes a JSON answer into out (if not nil).
func (e *env) admin(t testing.TB, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// hook is a webhook receiver that checks X-Twilio-Signature with
// twilioapi.ValidateSignature.
type hook struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	calls    []hookCall
	answer   func(n int, c hookCall) (int, string) // nil: 200 ""
	notify   chan struct{}
	badSigns int
}

type hookCall struct {
	URL       string
	Form      url.Values
	Signature string
	Valid     bool
	At        time.Time
}

func newHook(t testing.TB, token string) *hook {
	h := &hook{t: t, token: token, notify: make(chan struct{}, 1<<16)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	full := "http://" + r.Host + r.URL.RequestURI()
	c := hookCall{URL: full, Form: r.PostForm, Signature: r.Header.Get("X-Twilio-Signature"), At: time.Now()}
	c.Valid = twilioapi.ValidateSignature(h.token, full, r.PostForm, c.Signature)
	h.mu.Lock()
	h.calls = append(h.calls, c)
	n := len(h.calls)
	if !c.Valid {
		h.badSigns++
	}
	answer := h.answer
	h.mu.Unlock()
	status, body := 200, ""
	if answer != nil {
		status, body = answer(n, c)
	}
	if body != "" {
		w.Header().Set("Content-Type", "text/xml")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
	h.notify <- struct{}{}
}

func (h *hook) url(path string) string { return h.srv.URL + path }

func (h *hook) all() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.calls...)
}

// waitFor waits until at least n calls arrived.
func (h *hook) waitFor(n int, timeout time.Duration) []hookCall {
	h.t.Helper()
	deadline := time.After(timeout)
	for {
		if c := h.all(); len(c) >= n {
			return c
		}
		select {
		case <-h.notify:
		case <-deadline:
			c := h.all()
			h.t.Fatalf("got %d webhook calls, want %d", len(c), n)
			return c
		}
	}
}

// statuses lists MessageStatus of calls for one message.
func statuses(calls []hookCall, sid string) []string {
	var out []string
	for _, c := range calls {
		if c.Form.Get("MessageSid") == sid {
			out = append(out, c.Form.Get("MessageStatus"))
		}
	}
	return out
}

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// eventually polls the emulator's stats until ok holds (callback counters
// move after the receiver answered) and returns the last stats.
func (e *env) eventually(t testing.TB, ok func(smsemu.Stats) bool) smsemu.Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := e.emu.Stats()
		if ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
}
