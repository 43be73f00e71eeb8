package smsemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/twilioapi"
)

var sidRe = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func TestCreateAndFetch(t *testing.T) {
	e := newEnv(t, smsemu.Options{CallbackDelay: 20 * time.Millisecond, NoCallbacks: true})
	before := time.Now().UTC().Truncate(time.Second)
	m := e.mustSend(t, alice, "Hello Alice", "http://127.0.0.1:1/status")

	if !sidRe.MatchString(str(m.Sid)) {
		t.Errorf("sid %q", str(m.Sid))
	}
	checks := map[string][2]string{
		"account_sid":  {str(m.AccountSid), smsemu.DefaultAccountSID},
		"to":           {str(m.To), alice},
		"from":         {str(m.From), sender},
		"body":         {str(m.Body), "Hello Alice"},
		"status":       {str(m.Status), "queued"},
		"direction":    {str(m.Direction), "outbound-api"},
		"num_segments": {str(m.NumSegments), "1"},
		"num_media":    {str(m.NumMedia), "0"},
		"api_version":  {str(m.ApiVersion), "2010-04-01"},
		"uri":          {str(m.Uri), "/2010-04-01/Accounts/" + smsemu.DefaultAccountSID + "/Messages/" + str(m.Sid) + ".json"},
	}
	for k, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if m.Price != nil || m.ErrorCode != nil || m.ErrorMessage != nil || m.MessagingServiceSid != nil {
		t.Errorf("price %v error_code %v error_message %v msid %v: want null", m.Price, m.ErrorCode, m.ErrorMessage, m.MessagingServiceSid)
	}
	if m.DateSent != nil {
		t.Errorf("date_sent %q on a queued message, want null", *m.DateSent)
	}
	created, err := time.Parse(time.RFC1123Z, str(m.DateCreated))
	if err != nil || !strings.HasSuffix(str(m.DateCreated), "+0000") {
		t.Fatalf("date_created %q: %v", str(m.DateCreated), err)
	}
	if created.Before(before) || created.After(time.Now().Add(time.Second)) {
		t.Errorf("date_created %v not now", created)
	}

	time.Sleep(60 * time.Millisecond)
	got, err := e.rc.Api.FetchMessage(str(m.Sid), nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.Status) != "delivered" || got.DateSent == nil || got.ErrorCode != nil {
		t.Errorf("after the walk: status %s date_sent %v error_code %v", str(got.Status), got.DateSent, got.ErrorCode)
	}
	sent, err := time.Parse(time.RFC1123Z, str(got.DateSent))
	if err != nil || sent.Before(created) {
		t.Errorf("date_sent %q: %v", str(got.DateSent), err)
	}

	_, err = e.rc.Api.FetchMessage("SM"+strings.Repeat("0", 32), nil)
	wantCode(t, err, 20404, 404)
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	send := func(p *openapi.CreateMessageParams) error {
		_, err := e.rc.Api.CreateMessage(p)
		return err
	}
	wantCode(t, send(new(openapi.CreateMessageParams).SetFrom(sender).SetBody("x")), 21604, 400)
	wantCode(t, send(new(openapi.CreateMessageParams).SetTo(alice).SetBody("x")), 21603, 400)
	wantCode(t, send(new(openapi.CreateMessageParams).SetTo(alice).SetFrom(sender)), 21602, 400)
	wantCode(t, send(new(openapi.CreateMessageParams).SetTo(alice).SetFrom(sender).SetBody(strings.Repeat("a", 1601))), 21617, 400)
	for _, bad := range []string{"+x", "5551110001", "+0123456", "+1555abc0001", "+1234567890123456"} {
		err := send(new(openapi.CreateMessageParams).SetTo(bad).SetFrom(sender).SetBody("x"))
		wantCode(t, err, 21211, 400)
		if want := "The 'To' number " + bad + " is not a valid phone number."; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// 1600 characters (not bytes) are fine.
	if err := send(new(openapi.CreateMessageParams).SetTo(alice).SetFrom(sender).SetBody(strings.Repeat("é", 1600))); err != nil {
		t.Errorf("1600 characters: %v", err)
	}
	// A messaging service replaces From.
	m, err := e.rc.Api.CreateMessage(new(openapi.CreateMessageParams).SetTo(alice).SetMessagingServiceSid("MG123").SetBody("x"))
	if err != nil || str(m.MessagingServiceSid) != "MG123" || m.From != nil {
		t.Errorf("messaging service send: %v, msid %s from %s", err, str(m.MessagingServiceSid), str(m.From))
	}
	if got := e.emu.Count().Total; got != 2 {
		t.Errorf("stored %d messages, want 2", got)
	}
	st := e.emu.Stats()
	if st.Rejected["21211"] != 5 || st.Rejected["21604"] != 1 || st.Accepted != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	wrong := twilioapi.New(twilioapi.Config{AccountSID: e.emu.AccountSID(), AuthToken: "wrongtoken", BaseURL: e.srv.URL})
	_, err := wrong.Api.CreateMessage(new(openapi.CreateMessageParams).SetTo(alice).SetFrom(sender).SetBody("x"))
	wantCode(t, err, 20003, 401)
	_, err = wrong.Api.FetchMessage("SM1", nil)
	wantCode(t, err, 20003, 401)

	// Right credentials, another account in the path.
	_, err = e.rc.Api.CreateMessage(new(openapi.CreateMessageParams).SetPathAccountSid("AC" + strings.Repeat("1", 32)).
		SetTo(alice).SetFrom(sender).SetBody("x"))
	wantCode(t, err, 20404, 404)

	// A raw request without auth gets Twilio's JSON.
	resp, err := http.PostForm(e.srv.URL+"/2010-04-01/Accounts/"+e.emu.AccountSID()+"/Messages.json", url.Values{"To": {alice}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 401 || body["code"] != float64(20003) || body["more_info"] != "https://www.twilio.com/docs/errors/20003" || body["status"] != float64(401) {
		t.Errorf("unauthenticated: %d %v", resp.StatusCode, body)
	}
	if e.emu.Count().Total != 0 || e.emu.Stats().Unauthorized != 3 {
		t.Errorf("count %d stats %+v", e.emu.Count().Total, e.emu.Stats())
	}
}

func TestSegments(t *testing.T) {
	e := newEnv(t, smsemu.Options{NoCallbacks: true})
	cases := []struct {
		body string
		want string
	}{
		{strings.Repeat("a", 160), "1"},
		{strings.Repeat("a", 161), "2"},
		{strings.Repeat("a", 306), "2"},
		{strings.Repeat("a", 307), "3"},
		{strings.Repeat("€", 80), "1"}, // extension: 2 septets each
		{strings.Repeat("€", 81), "2"},
		{strings.Repeat("ж", 70), "1"}, // UCS-2
		{strings.Repeat("ж", 71), "2"},
		{strings.Repeat("ж", 134), "2"},
		{strings.Repeat("ж", 135), "3"},
		{"hi 😀", "1"},
	}
	for _, c := range cases {
		m := e.mustSend(t, alice, c.body, "")
		if str(m.NumSegments) != c.want {
			t.Errorf("%d runes of %q: num_segments %s, want %s", len([]rune(c.body)), []rune(c.body)[0], str(m.NumSegments), c.want)
		}
	}
}

func TestListFiltersAndPaging(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newEnv(t, smsemu.Options{NoCallbacks: true, Now: clock.Now, CallbackDelay: time.Second})
	// Day 1: 4 to alice, 2 to bob. Day 2: 5 to alice, 1 to bob.
	var aliceDay2 []string
	for i := range 4 {
		e.mustSend(t, alice, "d1 alice "+string(rune('a'+i)), "")
		clock.Advance(time.Minute)
	}
	for range 2 {
		e.mustSend(t, bob, "d1 bob", "")
		clock.Advance(time.Minute)
	}
	clock.Set(time.Date(2025, 3, 2, 9, 0, 0, 0, time.UTC))
	for i := range 5 {
		m := e.mustSend(t, alice, "d2 alice "+string(rune('a'+i)), "")
		aliceDay2 = append(aliceDay2, str(m.Sid))
		clock.Advance(time.Minute)
	}
	e.mustSend(t, bob, "d2 bob", "")
	clock.Advance(2 * time.Second)
	queued := e.mustSend(t, alice, "still queued", "") // sent a second from now: no date_sent yet

	// Newest first, across pages of 2, filtered by To and DateSent> (an
	// RFC 3339 time, as twilio-go sends it).
	list, err := e.rc.Api.ListMessage(new(openapi.ListMessageParams).SetTo(alice).
		SetDateSentAfter(time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)).SetPageSize(2))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range list {
		got = append(got, str(m.Sid))
		if str(m.To) != alice {
			t.Errorf("listed a message to %s", str(m.To))
		}
	}
	want := []string{aliceDay2[4], aliceDay2[3], aliceDay2[2], aliceDay2[1], aliceDay2[0]}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v\nwant   %v", got, want)
	}
	if st := e.emu.Stats(); st.Lists != 3 {
		t.Errorf("%d list requests, want 3 pages", st.Lists)
	}

	// DateSent> with a time inside day 2: only messages sent at or after it.
	list, err = e.rc.Api.ListMessage(new(openapi.ListMessageParams).SetTo(alice).
		SetDateSentAfter(time.Date(2025, 3, 2, 9, 2, 1, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || str(list[2].Sid) != aliceDay2[2] {
		t.Errorf("DateSent> 09:02:01: %d messages", len(list))
	}

	// Limit stops the walk.
	list, err = e.rc.Api.ListMessage(new(openapi.ListMessageParams).SetTo(alice).SetPageSize(2).SetLimit(3))
	if err != nil || len(list) != 3 || str(list[0].Sid) != str(queued.Sid) {
		t.Errorf("limit 3: %d messages, %v", len(list), err)
	}

	// Raw YYYY-MM-DD filters as Twilio documents them.
	count := func(q string) int {
		t.Helper()
		var page struct {
			Messages []json.RawMessage `json:"messages"`
		}
		status := e.raw(t, "GET", "/2010-04-01/Accounts/"+e.emu.AccountSID()+"/Messages.json?"+q, &page)
		if status != 200 {
			t.Fatalf("%s: HTTP %d", q, status)
		}
		return len(page.Messages)
	}
	if n := count("DateSent=2025-03-01"); n != 6 {
		t.Errorf("DateSent=2025-03-01: %d, want 6", n)
	}
	if n := count("DateSent%3E=2025-03-02&To=%2B15551110002"); n != 1 {
		t.Errorf("bob on or after day 2: %d, want 1", n)
	}
	if n := count("DateSent%3C=2025-03-01&To=%2B15551110001"); n != 4 {
		t.Errorf("alice on or before day 1: %d, want 4", n)
	}
	if n := count("From=%2B15550000001&PageSize=1000"); n != 13 {
		t.Errorf("every message: %d, want 13", n)
	}
	if status := e.raw(t, "GET", "/2010-04-01/Accounts/"+e.emu.AccountSID()+"/Messages.json?DateSent=yesterday", nil); status != 400 {
		t.Errorf("bad date: HTTP %d", status)
	}

	// The envelope.
	var env map[string]any
	e.raw(t, "GET", "/2010-04-01/Accounts/"+e.emu.AccountSID()+"/Messages.json?To=%2B15551110001&PageSize=3&Page=0", &env)
	next, _ := env["next_page_uri"].(string)
	if env["page"] != float64(0) || env["page_size"] != float64(3) || env["previous_page_uri"] != nil ||
		!strings.HasPrefix(env["first_page_uri"].(string), "/2010-04-01/Accounts/") || !strings.Contains(next, "PageToken=PA") ||
		!strings.Contains(next, "To=%2B15551110001") || env["uri"] == nil {
		t.Errorf("envelope %v", env)
	}
	var second map[string]any
	e.raw(t, "GET", next, &second)
	prev, _ := second["previous_page_uri"].(string)
	if second["page"] != float64(1) || !strings.Contains(prev, "PageToken=PB") {
		t.Errorf("second page %v", second)
	}
	var back map[string]any
	e.raw(t, "GET", prev, &back)
	if msgs := back["messages"].([]any); len(msgs) != 3 || msgs[0].(map[string]any)["sid"] != str(queued.Sid) {
		t.Errorf("previous page: %v", back["messages"])
	}

	// A new message during a walk does not shift its pages.
	e.mustSend(t, alice, "late", "")
	var third map[string]any
	e.raw(t, "GET", next, &third)
	if a, b := second["messages"].([]any), third["messages"].([]any); len(a) != len(b) ||
		a[0].(map[string]any)["sid"] != b[0].(map[string]any)["sid"] {
		t.Error("page 2 changed after a new message")
	}
}

// raw calls the Twilio API with basic auth and decodes the answer.
func (e *env) raw(t testing.TB, method, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.SetBasicAuth(e.emu.AccountSID(), e.emu.AuthToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v in %s", path, err, b)
		}
	}
	return resp.StatusCode
}

func TestUnknownAPIRoute(t *testing.T) {
	e := newEnv(t, smsemu.Options{})
	var body map[string]any
	if status := e.raw(t, "GET", "/2010-04-01/Accounts/"+e.emu.AccountSID()+"/Calls.json", &body); status != 404 || body["code"] != float64(20404) {
		t.Errorf("%d %v", status, body)
	}
}
