package smsemu_test

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/twilioapi"
)

func TestStatusCallbacksWalk(t *testing.T) {
	e := newEnv(t, smsemu.Options{CallbackDelay: 40 * time.Millisecond})
	h := newHook(t, e.emu.AuthToken())
	cbURL := h.url("/twilio/status?tenant=7")
	start := time.Now()
	m := e.mustSend(t, alice, "walk", cbURL)
	sid := str(m.Sid)

	calls := h.waitFor(3, 5*time.Second)
	if got := statuses(calls, sid); !slices.Equal(got, []string{"queued", "sent", "delivered"}) {
		t.Fatalf("statuses %v", got)
	}
	for _, c := range calls {
		if !c.Valid {
			t.Errorf("callback %s: signature %q rejected", c.Form.Get("MessageStatus"), c.Signature)
		}
		if c.URL != cbURL {
			t.Errorf("callback to %s, want %s", c.URL, cbURL)
		}
		want := url.Values{
			"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {e.emu.AccountSID()}, "From": {sender}, "To": {alice},
			"ApiVersion": {"2010-04-01"},
		}
		for k, v := range want {
			if c.Form.Get(k) != v[0] {
				t.Errorf("callback %s = %q, want %q", k, c.Form.Get(k), v[0])
			}
		}
		if c.Form.Get("SmsStatus") != c.Form.Get("MessageStatus") || c.Form.Has("ErrorCode") {
			t.Errorf("callback form %v", c.Form)
		}
	}
	// Steps are CallbackDelay apart: sent is due after 40 ms, delivered
	// after 80 ms.
	if el := calls[1].At.Sub(start); el < 40*time.Millisecond {
		t.Errorf("sent after %v", el)
	}
	if el := calls[2].At.Sub(start); el < 80*time.Millisecond {
		t.Errorf("delivered after %v", el)
	}

	// A tampered callback fails the check: another status, another URL,
	// another token.
	c := calls[2]
	tampered := url.Values{}
	for k, v := range c.Form {
		tampered[k] = v
	}
	tampered.Set("MessageStatus", "failed")
	if twilioapi.ValidateSignature(e.emu.AuthToken(), c.URL, tampered, c.Signature) {
		t.Error("tampered form accepted")
	}
	if twilioapi.ValidateSignature(e.emu.AuthToken(), strings.Replace(c.URL, "tenant=7", "tenant=8", 1), c.Form, c.Signature) {
		t.Error("other URL accepted")
	}
	if twilioapi.ValidateSignature("othertoken", c.URL, c.Form, c.Signature) {
		t.Error("other token accepted")
	}
	// smsemu.Sign is the same computation.
	if smsemu.Sign(e.emu.AuthToken(), c.URL, c.Form) != c.Signature {
		t.Error("Sign differs from the header")
	}

	st := e.eventually(t, func(st smsemu.Stats) bool { return st.CallbacksSent == 3 && st.CallbacksPending == 0 })
	if st.CallbacksSent != 3 || st.CallbacksFailed != 0 || st.CallbacksPending != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestForcedFinalStatus(t *testing.T) {
	e := newEnv(t, smsemu.Options{CallbackDelay: 30 * time.Millisecond})
	h := newHook(t, e.emu.AuthToken())
	e.emu.UndeliverTo(bob, 30005)

	a := str(e.mustSend(t, alice, "to alice", h.url("/s")).Sid)
	b := str(e.mustSend(t, bob, "to bob", h.url("/s")).Sid)
	calls := h.waitFor(6, 5*time.Second)
	if got := statuses(calls, a); !slices.Equal(got, []string{"queued", "sent", "delivered"}) {
		t.Errorf("alice: %v", got)
	}
	if got := statuses(calls, b); !slices.Equal(got, []string{"queued", "sent", "undelivered"}) {
		t.Errorf("bob: %v", got)
	}
	for _, c := range calls {
		if c.Form.Get("MessageSid") == b && c.Form.Get("MessageStatus") == "undelivered" && c.Form.Get("ErrorCode") != "30005" {
			t.Errorf("undelivered ErrorCode %q", c.Form.Get("ErrorCode"))
		}
	}
	m, err := e.rc.Api.FetchMessage(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(m.Status) != "undelivered" || m.ErrorCode == nil || *m.ErrorCode != 30005 || m.ErrorMessage == nil || m.DateSent == nil {
		t.Errorf("bob's message: status %s error %v", str(m.Status), m.ErrorCode)
	}

	// Every message fails (never sent).
	if err := e.emu.ForceFinalStatus("failed", 0); err != nil {
		t.Fatal(err)
	}
	f := str(e.mustSend(t, alice, "fails", h.url("/s")).Sid)
	calls = h.waitFor(8, 5*time.Second)
	if got := statuses(calls, f); !slices.Equal(got, []string{"queued", "failed"}) {
		t.Errorf("failed walk: %v", got)
	}
	if c := calls[len(calls)-1]; c.Form.Get("ErrorCode") != "30008" {
		t.Errorf("failed ErrorCode %q", c.Form.Get("ErrorCode"))
	}
	m, _ = e.rc.Api.FetchMessage(f, nil)
	if str(m.Status) != "failed" || m.DateSent != nil || m.ErrorCode == nil || *m.ErrorCode != 30008 {
		t.Errorf("failed message: %s %v %v", str(m.Status), m.DateSent, m.ErrorCode)
	}
	if err := e.emu.ForceFinalStatus("lost", 0); err == nil {
		t.Error("unknown final status accepted")
	}
}

func TestDuplicateAndReorderedCallbacks(t *testing.T) {
	e := newEnv(t, smsemu.Options{CallbackDelay: 40 * time.Millisecond})
	h := newHook(t, e.emu.AuthToken())

	e.emu.DuplicateCallbacks(1)
	d := str(e.mustSend(t, alice, "dup", h.url("/s")).Sid)
	calls := h.waitFor(6, 5*time.Second)
	got := statuses(calls, d)
	slices.Sort(got)
	if !slices.Equal(got, []string{"delivered", "delivered", "queued", "queued", "sent", "sent"}) {
		t.Errorf("duplicated: %v", got)
	}

	e.emu.DuplicateCallbacks(0)
	e.emu.ReorderCallbacks(1)
	r := str(e.mustSend(t, bob, "reorder", h.url("/s")).Sid)
	calls = h.waitFor(9, 5*time.Second)
	if got := statuses(calls, r); !slices.Equal(got, []string{"delivered", "sent", "queued"}) {
		t.Errorf("reordered: %v", got)
	}
	for _, c := range calls {
		if !c.Valid {
			t.Errorf("bad signature on %v", c.Form)
		}
	}
	// The resource itself still walks forward.
	m, _ := e.rc.Api.FetchMessage(r, nil)
	if str(m.Status) != "delivered" {
		t.Errorf("status %s", str(m.Status))
	}
	st := e.eventually(t, func(st smsemu.Stats) bool { return st.CallbacksSent == 9 })
	if st.CallbacksDuplicated != 3 || st.CallbacksReordered != 1 || st.CallbacksSent != 9 {
		t.Errorf("stats %+v", st)
	}
}

func TestCallbackRetries(t *testing.T) {
	e := newEnv(t, smsemu.Options{CallbackDelay: 10 * time.Millisecond, CallbackRetries: 2})
	h := newHook(t, e.emu.AuthToken())
	// The first two attempts of every callback fail with 503.
	var mu sync.Mutex
	attempts := map[string]int{}
	h.answer = func(n int, c hookCall) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		k := c.Form.Get("MessageStatus")
		attempts[k]++
		if attempts[k] <= 2 {
			return 503, ""
		}
		return 204, ""
	}
	e.mustSend(t, alice, "retry", h.url("/s"))
	h.waitFor(9, 10*time.Second)
	st := e.eventually(t, func(st smsemu.Stats) bool { return st.CallbacksSent == 3 })
	if st.CallbacksSent != 3 || st.CallbackRetries != 6 || st.CallbacksFailed != 0 {
		t.Errorf("stats %+v", st)
	}

	// A receiver that never answers: given up after the retries.
	e2 := newEnv(t, smsemu.Options{CallbackDelay: 5 * time.Millisecond, CallbackRetries: 1})
	e2.mustSend(t, alice, "nobody home", "http://127.0.0.1:1/s")
	if st := e2.eventually(t, func(st smsemu.Stats) bool { return st.CallbacksFailed == 3 }); st.CallbacksFailed != 3 || st.CallbackRetries != 3 || st.CallbacksSent != 0 {
		t.Errorf("unreachable receiver: %+v", st)
	}
}

func TestNoCallbacks(t *testing.T) {
	e := newEnv(t, smsemu.Options{CallbackDelay: 5 * time.Millisecond, NoCallbacks: true})
	h := newHook(t, e.emu.AuthToken())
	sid := str(e.mustSend(t, alice, "quiet", h.url("/s")).Sid)
	time.Sleep(50 * time.Millisecond)
	if n := len(h.all()); n != 0 {
		t.Errorf("%d callbacks with callbacks off", n)
	}
	m, _ := e.rc.Api.FetchMessage(sid, nil)
	if str(m.Status) != "delivered" {
		t.Errorf("status %s: the walk goes on without callbacks", str(m.Status))
	}
	// Switched on at run time.
	e.emu.SetCallbacks(true)
	e.mustSend(t, alice, "loud", h.url("/s"))
	h.waitFor(3, 5*time.Second)
}

func TestResetDropsPendingCallbacks(t *testing.T) {
	e := newEnv(t, smsemu.Options{CallbackDelay: 100 * time.Millisecond})
	h := newHook(t, e.emu.AuthToken())
	e.mustSend(t, alice, "x", h.url("/s"))
	h.waitFor(1, 5*time.Second) // queued
	e.emu.Reset()
	time.Sleep(300 * time.Millisecond)
	if n := len(h.all()); n != 1 {
		t.Errorf("%d callbacks after reset, want only the first", n)
	}
}
