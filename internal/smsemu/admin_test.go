package smsemu_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nurture-sms/nurture/internal/smsemu"
)

func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})

	var health map[string]any
	if st := e.admin(t, "GET", "/_emulator/health", nil, &health); st != 200 || health["ok"] != true || health["accountSid"] != smsemu.DefaultAccountSID {
		t.Errorf("health %d %v", st, health)
	}

	e.mustSend(t, alice, "one", "")
	e.mustSend(t, alice, "two", "")
	e.mustSend(t, bob, "one", "")
	e.mustSend(t, alice, "one", "") // a duplicate (to, body)
	postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"hello"}`)

	var list struct {
		Count    int              `json:"count"`
		Messages []smsemu.Message `json:"messages"`
	}
	e.admin(t, "GET", "/_emulator/messages", nil, &list)
	if list.Count != 5 || len(list.Messages) != 5 || list.Messages[0].Body != "one" || list.Messages[0].To != alice {
		t.Fatalf("messages %+v", list)
	}
	m := list.Messages[0]
	if !sidRe.MatchString(m.Sid) || m.Status == "" || m.Created.IsZero() || m.From != sender || m.Direction != "outbound-api" {
		t.Errorf("message %+v", m)
	}
	e.admin(t, "GET", "/_emulator/messages?to=%2B15551110001", nil, &list)
	if list.Count != 3 {
		t.Errorf("to alice: %d", list.Count)
	}
	e.admin(t, "GET", "/_emulator/messages?direction=inbound", nil, &list)
	if list.Count != 1 || list.Messages[0].Direction != "inbound" || list.Messages[0].Status != "received" {
		t.Errorf("inbound: %+v", list)
	}
	e.admin(t, "GET", "/_emulator/messages?from=%2B15551110001&direction=outbound", nil, &list)
	if list.Count != 0 {
		t.Errorf("outbound from alice: %d", list.Count)
	}
	var one smsemu.Message
	if st := e.admin(t, "GET", "/_emulator/messages/"+m.Sid, nil, &one); st != 200 || one.Sid != m.Sid {
		t.Errorf("one message: %d %+v", st, one)
	}
	if st := e.admin(t, "GET", "/_emulator/messages/SMnope", nil, nil); st != 404 {
		t.Errorf("unknown sid: %d", st)
	}

	var count smsemu.Count
	e.admin(t, "GET", "/_emulator/messages/count", nil, &count)
	if count.Total != 5 || count.Outbound != 4 || count.Inbound != 1 || count.ByTo[alice] != 3 || count.ByTo[bob] != 1 || count.ByTo[sender] != 1 {
		t.Errorf("count %+v", count)
	}

	var st smsemu.Stats
	e.admin(t, "GET", "/_emulator/stats", nil, &st)
	if st.Sends != 4 || st.Accepted != 4 || st.Duplicates != 1 || st.Inbound != 1 || st.Requests != 4 {
		t.Errorf("stats %+v", st)
	}
	e.admin(t, "DELETE", "/_emulator/stats", nil, &st)
	if st.Sends != 0 || st.Duplicates != 1 {
		t.Errorf("after stats reset %+v", st)
	}

	// Settings.
	var settings map[string]any
	e.admin(t, "GET", "/_emulator/settings", nil, &settings)
	if settings["callbackDelay"] != "50ms" || settings["rateLimit"] != float64(0) || settings["enforceOptOut"] != true || settings["callbacks"] != false {
		t.Errorf("settings %v", settings)
	}
	e.admin(t, "PATCH", "/_emulator/settings", map[string]any{"callbackDelay": "10ms", "rateLimit": 100,
		"inboundUrl": "http://127.0.0.1:9/in", "enforceOptOut": false, "callbacks": true}, &settings)
	s := e.emu.Settings()
	if s.CallbackDelay != 10*time.Millisecond || s.RateLimit != 100 || s.InboundURL != "http://127.0.0.1:9/in" || s.EnforceOptOut || !s.Callbacks {
		t.Errorf("after PATCH: %+v", s)
	}
	e.admin(t, "PATCH", "/_emulator/settings", map[string]any{"callbackDelay": 20}, nil)
	if d := e.emu.Settings().CallbackDelay; d != 20*time.Millisecond {
		t.Errorf("callbackDelay in ms: %v", d)
	}
	if code := e.admin(t, "PATCH", "/_emulator/settings", map[string]any{"callbackDelays": "1s"}, nil); code != 400 {
		t.Errorf("unknown setting: %d", code)
	}

	// Faults: PUT, PATCH (null removes, numbers merge), GET, DELETE.
	var f smsemu.Faults
	e.admin(t, "PUT", "/_emulator/faults", map[string]any{"failNext": 2, "latency": "5ms",
		"numbers": map[string]any{alice: map[string]any{"reject": 21610}}}, &f)
	if f.FailNext != 2 || f.Latency != 5*time.Millisecond || f.Numbers[alice].Reject != 21610 {
		t.Errorf("PUT faults %+v", f)
	}
	e.admin(t, "PATCH", "/_emulator/faults", map[string]any{"latency": nil, "rateLimitNext": 1, "timeoutNext": 1, "timeoutHold": 250,
		"numbers": map[string]any{bob: map[string]any{"finalStatus": "undelivered", "errorCode": 30005}}}, &f)
	if f.FailNext != 2 || f.Latency != 0 || f.RateLimitNext != 1 || f.TimeoutNext != 1 || f.TimeoutHold != 250*time.Millisecond ||
		f.Numbers[alice].Reject != 21610 || f.Numbers[bob].ErrorCode != 30005 {
		t.Errorf("PATCH faults %+v", f)
	}
	e.admin(t, "PATCH", "/_emulator/faults", map[string]any{"numbers": map[string]any{alice: nil}}, &f)
	if _, ok := f.Numbers[alice]; ok || len(f.Numbers) != 1 {
		t.Errorf("numbers after removing alice: %+v", f.Numbers)
	}
	if code := e.admin(t, "PATCH", "/_emulator/faults", map[string]any{"rateLimitProbability": 2}, nil); code != 400 {
		t.Errorf("bad probability: %d", code)
	}
	e.admin(t, "GET", "/_emulator/faults", nil, &f)
	if f.FailNext != 2 {
		t.Errorf("GET faults %+v", f)
	}
	_, err := e.send(t, bob, "x", "")
	wantCode(t, err, 20500, 500)
	e.admin(t, "DELETE", "/_emulator/faults", nil, &f)
	if f.FailNext != 0 || len(f.Numbers) != 0 {
		t.Errorf("after DELETE %+v", f)
	}
	e.mustSend(t, bob, "x", "")

	// Numbers and opt-outs.
	e.admin(t, "PUT", "/_emulator/numbers/"+sender, map[string]any{"inboundUrl": "http://127.0.0.1:9/x"}, nil)
	var nums map[string]smsemu.NumberConfig
	e.admin(t, "GET", "/_emulator/numbers", nil, &nums)
	if nums[sender].InboundURL != "http://127.0.0.1:9/x" {
		t.Errorf("numbers %v", nums)
	}
	if code := e.admin(t, "DELETE", "/_emulator/numbers/"+sender, nil, nil); code != 200 {
		t.Errorf("delete number: %d", code)
	}
	if code := e.admin(t, "DELETE", "/_emulator/numbers/"+sender, nil, nil); code != 404 {
		t.Errorf("delete number again: %d", code)
	}
	e.emu.SetOptOut(sender, alice, true)
	var oo []smsemu.OptOut
	e.admin(t, "GET", "/_emulator/optouts", nil, &oo)
	if len(oo) != 1 || oo[0].Recipient != alice {
		t.Errorf("optouts %v", oo)
	}
	e.admin(t, "DELETE", "/_emulator/optouts", nil, nil)
	if len(e.emu.OptOuts()) != 0 {
		t.Error("optouts not cleared")
	}

	// Reset.
	e.admin(t, "DELETE", "/_emulator/messages", nil, nil)
	var after smsemu.Count
	e.admin(t, "GET", "/_emulator/messages/count", nil, &after)
	if after.Total != 0 || len(after.ByTo) != 0 || e.emu.Stats().Duplicates != 0 {
		t.Errorf("after reset %+v", after)
	}
	if code := e.admin(t, "GET", "/_emulator/nothing", nil, nil); code != 404 {
		t.Errorf("unknown admin route: %d", code)
	}
}

// TestConcurrentSends: 2,000 sends from 32 goroutines through twilio-go,
// callbacks on: every message stored once, every SID distinct, every
// callback signed.
func TestConcurrentSends(t *testing.T) {
	const workers, total = 32, 2000
	e := newEnv(t, smsemu.Options{CallbackDelay: 5 * time.Millisecond})
	h := newHook(t, e.emu.AuthToken())
	var wg sync.WaitGroup
	sids := make([]string, total)
	errs := make(chan error, total)
	next := make(chan int, total)
	for i := range total {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				to := fmt.Sprintf("+1555200%04d", i%500)
				cb := ""
				if i%10 == 0 {
					cb = h.url("/s")
				}
				m, err := e.send(t, to, fmt.Sprintf("message %d", i), cb)
				if err != nil {
					errs <- err
					continue
				}
				sids[i] = str(m.Sid)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range sids {
		if seen[s] || !sidRe.MatchString(s) {
			t.Fatalf("sid %q repeated or malformed", s)
		}
		seen[s] = true
	}
	c := e.emu.Count()
	st := e.emu.Stats()
	if c.Total != total || len(c.ByTo) != 500 || st.Accepted != total || st.Duplicates != 0 {
		t.Fatalf("count %d (%d numbers), accepted %d, duplicates %d", c.Total, len(c.ByTo), st.Accepted, st.Duplicates)
	}
	for to, n := range c.ByTo {
		if n != 4 {
			t.Fatalf("%s: %d messages", to, n)
		}
	}
	calls := h.waitFor(3*total/10, 20*time.Second)
	for _, c := range calls {
		if !c.Valid {
			t.Fatalf("bad signature: %v", c.Form)
		}
	}
	// Listing sees all of them too: without a Limit, twilio-go walks every
	// page (40 of 50).
	list, err := e.rc.Api.ListMessage(nil)
	if err != nil || len(list) != total {
		t.Errorf("list: %d, %v", len(list), err)
	}
	for i, m := range list {
		if !seen[str(m.Sid)] {
			t.Fatalf("listed unknown sid %s", str(m.Sid))
		}
		delete(seen, str(m.Sid))
		if i > 0 && str(m.Sid) == str(list[i-1].Sid) {
			t.Fatal("repeated in listing")
		}
	}
}
