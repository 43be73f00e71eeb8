package smsemu_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/twilioapi"
)

func TestFailNextSends(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	e.emu.FailNextSends(2, 503)
	for range 2 {
		_, err := e.send(t, alice, "x", "")
		wantCode(t, err, 20500, 503)
	}
	e.mustSend(t, alice, "x", "")
	e.emu.FailNextSends(1, 0)
	_, err := e.send(t, alice, "y", "")
	wantCode(t, err, 20500, 500)
	st := e.emu.Stats()
	if st.ServerErrors != 3 || st.Accepted != 1 || st.Rejected["20500"] != 3 || e.emu.Count().Total != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRateLimitFaults(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	e.emu.RateLimitNextSends(3)
	for range 3 {
		_, err := e.send(t, alice, "x", "")
		wantCode(t, err, 20429, 429)
		if !strings.Contains(err.Error(), "Too Many Requests") {
			t.Errorf("message %v", err)
		}
	}
	e.mustSend(t, alice, "x", "")

	e.emu.RateLimitRandomly(1)
	_, err := e.send(t, alice, "x", "")
	wantCode(t, err, 20429, 429)
	e.emu.RateLimitRandomly(0.5)
	limited := 0
	for range 200 {
		if _, err := e.send(t, bob, "r", ""); err != nil {
			wantCode(t, err, 20429, 429)
			limited++
		}
	}
	if limited < 60 || limited > 140 {
		t.Errorf("p=0.5: %d of 200 limited", limited)
	}
	e.emu.RateLimitRandomly(0)
	if st := e.emu.Stats(); st.RateLimited != int64(4+limited) {
		t.Errorf("rateLimited %d", st.RateLimited)
	}
}

func TestAccountRateLimit(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true, RateLimit: 20})
	ok, limited := 0, 0
	start := time.Now()
	for range 60 {
		if _, err := e.send(t, alice, "x", ""); err != nil {
			wantCode(t, err, 20429, 429)
			limited++
		} else {
			ok++
		}
	}
	el := time.Since(start).Seconds()
	// A burst of 20 plus 20/s for the time the loop took.
	if maxOK := 20 + int(el*20) + 1; ok > maxOK || ok < 20 || limited == 0 {
		t.Errorf("%d accepted, %d limited in %.2fs", ok, limited, el)
	}
	time.Sleep(300 * time.Millisecond) // refills ~6 tokens
	e.mustSend(t, alice, "after a pause", "")
	e.emu.SetRateLimit(0)
	for range 50 {
		e.mustSend(t, alice, "unlimited", "")
	}
}

func TestNumberFaults(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	e.emu.RejectTo(alice, 21610)
	e.emu.RejectTo(bob, 21211)
	_, err := e.send(t, alice, "x", "")
	wantCode(t, err, 21610, 400)
	_, err = e.send(t, bob, "x", "")
	wantCode(t, err, 21211, 400)
	if !strings.Contains(err.Error(), "The 'To' number "+bob+" is not a valid phone number.") {
		t.Errorf("message %v", err)
	}
	e.mustSend(t, "+15551110003", "others are fine", "")
	if err := e.emu.SetNumberFault(alice, smsemu.NumberFault{}); err != nil {
		t.Fatal(err)
	}
	e.mustSend(t, alice, "cleared", "")
	if f := e.emu.Faults(); len(f.Numbers) != 1 {
		t.Errorf("faults %+v", f)
	}
}

func TestLatency(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	e.emu.SetLatency(80 * time.Millisecond)
	start := time.Now()
	m := e.mustSend(t, alice, "slow", "")
	if _, err := e.rc.Api.FetchMessage(str(m.Sid), nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 160*time.Millisecond {
		t.Errorf("two requests took %v with 80 ms latency", el)
	}
}

func TestTimeoutAfterAccept(t *testing.T) {
	e := newEnv(t, smsemu.Options{CallbackDelay: 10 * time.Millisecond})
	h := newHook(t, e.emu.AuthToken())
	impatient := twilioapi.New(twilioapi.Config{AccountSID: e.emu.AccountSID(), AuthToken: e.emu.AuthToken(),
		BaseURL: e.srv.URL, Timeout: 300 * time.Millisecond})

	// Held until the client gives up: the client sees a timeout.
	e.emu.TimeoutAfterAccept(1, 0)
	start := time.Now()
	_, err := impatient.Api.CreateMessage(new(openapi.CreateMessageParams).SetTo(alice).SetFrom(sender).
		SetBody("lost answer").SetStatusCallback(h.url("/s")))
	if err == nil || !twilioapi.IsTimeout(err) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if _, _, ok := twilioapi.ErrorCode(err); ok {
		t.Errorf("timeout looks like an API error: %v", err)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("gave up after %v", el)
	}
	// The message exists, exactly once, and is called back.
	list, err := e.rc.Api.ListMessage(new(openapi.ListMessageParams).SetTo(alice))
	if err != nil || len(list) != 1 || str(list[0].Body) != "lost answer" {
		t.Fatalf("listing after the lost answer: %d messages, %v", len(list), err)
	}
	h.waitFor(3, 5*time.Second)

	// Held for a while, then closed: the client sees the connection end.
	e.emu.TimeoutAfterAccept(1, 50*time.Millisecond)
	start = time.Now()
	_, err = impatient.Api.CreateMessage(new(openapi.CreateMessageParams).SetTo(bob).SetFrom(sender).SetBody("cut off"))
	if err == nil || twilioapi.IsTimeout(err) {
		t.Fatalf("err = %v, want a closed connection", err)
	}
	if el := time.Since(start); el < 40*time.Millisecond || el > 250*time.Millisecond {
		t.Errorf("closed after %v", el)
	}
	t.Logf("cut-off send: %v", err)
	if c := e.emu.Count(); c.Total != 2 || c.ByTo[bob] != 1 {
		t.Errorf("count %+v", c)
	}
	// The fault is used up: the next send is answered.
	e.mustSend(t, bob, "answered", "")
	st := e.emu.Stats()
	if st.Unanswered != 2 || st.Accepted != 3 || st.Duplicates != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestTimeoutReleasedByClose(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	e.emu.TimeoutAfterAccept(1, 0)
	var wg sync.WaitGroup
	wg.Add(1)
	var err error
	go func() {
		defer wg.Done()
		_, err = e.send(t, alice, "held", "")
	}()
	deadline := time.Now().Add(2 * time.Second)
	for e.emu.Stats().Unanswered == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	e.emu.Close()
	wg.Wait()
	if err == nil {
		t.Error("held send answered")
	}
}

func TestFaultsValidation(t *testing.T) {
	emu := smsemu.New(smsemu.Options{})
	defer emu.Close()
	bad := []smsemu.Faults{
		{FailNext: -1},
		{FailStatus: 404},
		{RateLimitProbability: 1.5},
		{DuplicateCallbacks: -0.1},
		{FinalStatus: "read"},
		{Numbers: map[string]smsemu.NumberFault{alice: {Reject: 42}}},
	}
	for _, f := range bad {
		if err := emu.SetFaults(f); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
	if err := emu.SetFaults(smsemu.Faults{FailNext: 1, Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	emu.ClearFaults()
	if f := emu.Faults(); f.FailNext != 0 || f.Latency != 0 {
		t.Errorf("after clear: %+v", f)
	}
}
