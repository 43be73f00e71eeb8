package smsemu_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/nurture-sms/nurture/internal/smsemu"
)

const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

func TestInboundSignedWebhook(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	h := newHook(t, e.emu.AuthToken())
	// The receiver refuses a bad signature with 403, as Nurture will.
	h.answer = func(n int, c hookCall) (int, string) {
		if !c.Valid {
			return 403, "bad signature"
		}
		return 200, twiml
	}
	e.admin(t, "PUT", "/_emulator/numbers/"+sender, map[string]string{"inboundUrl": h.url("/twilio/inbound"), "messagingServiceSid": "MG1"}, nil)

	resp := postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"Hi there"}`)
	if resp.status != 200 || resp.body != twiml || !strings.HasPrefix(resp.sid, "SM") {
		t.Fatalf("inbound answer %+v", resp)
	}
	calls := h.all()
	if len(calls) != 1 {
		t.Fatalf("%d webhook calls", len(calls))
	}
	f := calls[0].Form
	want := map[string]string{"MessageSid": resp.sid, "SmsMessageSid": resp.sid, "SmsSid": resp.sid,
		"AccountSid": e.emu.AccountSID(), "MessagingServiceSid": "MG1", "From": alice, "To": sender,
		"Body": "Hi there", "NumMedia": "0", "NumSegments": "1", "FromCountry": "US", "ToCountry": "US",
		"SmsStatus": "received", "ApiVersion": "2010-04-01"}
	for k, v := range want {
		if f.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, f.Get(k), v)
		}
	}
	if !calls[0].Valid || f.Has("OptOutType") {
		t.Errorf("valid %v form %v", calls[0].Valid, f)
	}

	// Another token signs: the receiver answers 403 and so does the admin call.
	other := smsemu.New(smsemu.Options{AuthToken: "someothertoken", InboundURL: h.url("/twilio/inbound")})
	defer other.Close()
	res, err := other.Inbound(context.Background(), smsemu.Inbound{From: alice, To: bob, Body: "forged"})
	if err != nil || res.Status != 403 || string(res.Body) != "bad signature" || res.URL != h.url("/twilio/inbound") {
		t.Errorf("forged inbound: %+v, %v", res, err)
	}

	// The inbound message is in the listing, direction inbound.
	list, err := e.rc.Api.ListMessage(new(openapi.ListMessageParams).SetTo(sender))
	if err != nil || len(list) != 1 || str(list[0].Direction) != "inbound" || str(list[0].Status) != "received" ||
		str(list[0].From) != alice || list[0].DateSent == nil {
		t.Fatalf("listing %v, %v", list, err)
	}
	if c := e.emu.Count(); c.Inbound != 1 || c.Outbound != 0 {
		t.Errorf("count %+v", c)
	}

	// No webhook configured: stored, 202.
	resp = postInbound(t, e, `{"from":"`+alice+`","to":"+15559999999","body":"nobody listens"}`)
	if resp.status != 202 || resp.sid == "" {
		t.Errorf("no webhook: %+v", resp)
	}
	// Unreachable webhook: 502.
	resp = postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"x","url":"http://127.0.0.1:1/in"}`)
	if resp.status != 502 {
		t.Errorf("unreachable webhook: %+v", resp)
	}
	if resp := postInbound(t, e, `{"from":"`+alice+`","body":"x"}`); resp.status != 400 {
		t.Errorf("no to: %+v", resp)
	}
}

type inboundAnswer struct {
	status    int
	body, sid string
	optOut    string
}

func postInbound(t *testing.T, e *env, body string) inboundAnswer {
	t.Helper()
	resp, err := http.Post(e.srv.URL+"/_emulator/inbound", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return inboundAnswer{resp.StatusCode, string(b), resp.Header.Get("X-Emulator-Message-Sid"), resp.Header.Get("X-Emulator-Opt-Out")}
}

func TestStopStart(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	h := newHook(t, e.emu.AuthToken())
	e.emu.SetInboundURL(h.url("/in"))

	e.mustSend(t, alice, "first", "")
	for _, stop := range []string{"STOP", "stop", "  Stop! ", "unsubscribe.", "StopAll", "cancel", "END", "quit", "revoke", "OptOut"} {
		if r := postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"`+stop+`"}`); r.optOut != "STOP" || r.status != 200 {
			t.Errorf("%q: %+v", stop, r)
		}
		_, err := e.send(t, alice, "after "+stop, "")
		wantCode(t, err, 21610, 400)
		if !strings.Contains(err.Error(), "Attempt to send to unsubscribed recipient") {
			t.Errorf("message: %v", err)
		}
		postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"START"}`)
		e.mustSend(t, alice, "back after "+stop, "")
		postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"`+stop+`"}`)
	}
	// The webhook saw OptOutType.
	if calls := h.all(); calls[0].Form.Get("OptOutType") != "STOP" {
		t.Errorf("OptOutType %q", calls[0].Form.Get("OptOutType"))
	}
	// Not a keyword: a sentence with STOP in it.
	postInbound(t, e, `{"from":"`+bob+`","to":"`+sender+`","body":"please stop texting"}`)
	e.mustSend(t, bob, "still fine", "")
	// The opt-out is per sender: another number may still send to alice.
	if _, err := e.rc.Api.CreateMessage(new(openapi.CreateMessageParams).SetTo(alice).SetFrom("+15550000002").SetBody("x")); err != nil {
		t.Errorf("other sender: %v", err)
	}
	if oo := e.emu.OptOuts(); len(oo) != 1 || oo[0].Sender != sender || oo[0].Recipient != alice {
		t.Errorf("opt-outs %+v", oo)
	}
	for _, start := range []string{"yes", " UNSTOP "} {
		postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"STOP"}`)
		postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"`+start+`"}`)
		e.mustSend(t, alice, "after "+start, "")
	}

	// Switched off: the opt-out is recorded but not enforced.
	postInbound(t, e, `{"from":"`+alice+`","to":"`+sender+`","body":"STOP"}`)
	e.emu.SetEnforceOptOut(false)
	e.mustSend(t, alice, "ignored opt-out", "")
	e.emu.SetEnforceOptOut(true)
	_, err := e.send(t, alice, "enforced again", "")
	wantCode(t, err, 21610, 400)
}

func TestStopViaMessagingService(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true, EnforceOptOut: new(true)})
	e.emu.SetNumber(sender, smsemu.NumberConfig{MessagingServiceSid: "MG42"})
	if _, err := e.emu.Inbound(context.Background(), smsemu.Inbound{From: alice, To: sender, Body: "stop"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.rc.Api.CreateMessage(new(openapi.CreateMessageParams).SetTo(alice).SetMessagingServiceSid("MG42").SetBody("x"))
	wantCode(t, err, 21610, 400)

	off := newEnv(t, smsemu.Options{NoCallbacks: true, EnforceOptOut: new(false)})
	off.emu.SetOptOut(sender, alice, true)
	off.mustSend(t, alice, "not enforced", "")
	if s := off.emu.Settings(); s.EnforceOptOut {
		t.Error("EnforceOptOut: false ignored")
	}
}
