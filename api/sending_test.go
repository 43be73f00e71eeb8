package api_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/store"
)

// phoneBlock is a range of numbers no other test uses (the emulator is
// shared): +1 5NN NNN 0000..9999.
func phoneBlock() string { return fmt.Sprintf("+1%d", 200000+rand.IntN(700000)) }

// seedZoneLeads adds n leads of the client in zone with tag, phones
// prefix+0000.., and returns their phones.
func seedZoneLeads(t *testing.T, client uuid.UUID, n int, zone, tag, prefix string) []string {
	t.Helper()
	rows, err := testDB.Pool.Query(context.Background(), `INSERT INTO leads (client_id, airtable_record_id, first_name, last_name, phone, timezone, tags)
		SELECT $1::uuid, 'rec' || md5($5 || g::text), 'Lead' || g, 'Z', $5 || lpad(g::text, 4, '0'), $3, ARRAY[$4]
		FROM generate_series(1, $2) g RETURNING phone`, client, n, zone, tag, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var phones []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		phones = append(phones, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return phones
}

// outbound is what the emulator received for phone (oldest first).
func outbound(phone string) []smsemu.Message {
	return testSMS.Messages(smsemu.Filter{To: phone, Direction: "outbound-api"})
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// etcZone is the IANA zone Etc/GMT of a whole-hour UTC offset (POSIX
// signs: Etc/GMT-3 is UTC+3).
func etcZone(t *testing.T, hours int) *time.Location {
	t.Helper()
	name := "Etc/GMT"
	switch {
	case hours > 0:
		name += fmt.Sprintf("-%d", hours)
	case hours < 0:
		name += fmt.Sprintf("+%d", -hours)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// zoneAt finds a zone (UTC offset from -8 to +12 hours, so that its
// neighbours 3 hours behind and 1 ahead exist too) whose local time now
// lies in [from, to) minutes after midnight.
func zoneAt(t *testing.T, now time.Time, from, to int) (*time.Location, int) {
	t.Helper()
	for off := -8; off <= 12; off++ {
		loc := etcZone(t, off)
		l := now.In(loc)
		if m := l.Hour()*60 + l.Minute(); m >= from && m < to {
			return loc, off
		}
	}
	t.Fatalf("no zone has its local time in [%d, %d) minutes", from, to)
	return nil, 0
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// Leads in three time zones, a 3-step campaign, a window that is open now
// for one zone, opens within about two minutes for another and hours later
// for the third: each group gets nothing until its own window opens, then
// all its steps in order.
func TestSendingRespectsEachLeadsWindow(t *testing.T) {
	t.Parallel() // waits for windows and step delays: alongside the rest
	h := newHarness(t)
	tn := newTenant(t, "zones")
	now := time.Now()
	// B's local time is within [08:00, 18:30); the window opens at its next
	// whole minute + 1, so in 60-120 s.
	locB, offB := zoneAt(t, now, 8*60, 18*60+30)
	lb := now.In(locB)
	start := lb.Hour()*60 + lb.Minute() + 2
	end := min(21*60, start+150)
	locA := etcZone(t, offB+1) // an hour ahead: inside
	locC := etcZone(t, offB-3) // three hours behind: before the window
	prefix := phoneBlock()
	a := seedZoneLeads(t, tn.ID, 2, locA.String(), "zones", prefix+"1")
	b := seedZoneLeads(t, tn.ID, 2, locB.String(), "zones", prefix+"2")
	c := seedZoneLeads(t, tn.ID, 2, locC.String(), "zones", prefix+"3")
	camp, r := h.createCampaign(tn.Admin, map[string]any{"name": "three zones", "target_tags": []string{"zones"},
		"messages": []map[string]any{
			{"body": "1/3 Hi {{first_name}}", "delay_minutes": 0},
			{"body": "2/3 Still there, {{first_name}}?", "delay_minutes": 0},
			{"body": "3/3 Last one, {{first_name}} {{last_name}}.", "delay_minutes": 0}},
		"quiet_hours": map[string]any{"start": clock(start), "end": clock(end)}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	bodies := func(phone string) []string {
		var out []string
		for _, m := range outbound(phone) {
			out = append(out, m.Body[:3])
		}
		return out
	}
	want := []string{"1/3", "2/3", "3/3"}
	// A: inside its window: all three, in order.
	waitFor(t, time.Minute, "zone A's three steps", func() bool { return len(bodies(a[0])) == 3 && len(bodies(a[1])) == 3 })
	for _, p := range a {
		if got := bodies(p); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("zone A %s got %v", p, got)
		}
	}
	if got := outbound(a[0])[2].Body; got != "3/3 Last one, Lead1 Z." {
		t.Fatalf("rendered %q", got)
	}
	// B and C: nothing yet.
	for _, p := range append(append([]string{}, b...), c...) {
		if n := len(outbound(p)); n != 0 {
			t.Fatalf("%s got %d messages outside its window", p, n)
		}
	}
	// B's window opens: then all its steps, in order, none before the opening.
	opening := time.Date(lb.Year(), lb.Month(), lb.Day(), start/60, start%60, 0, 0, locB)
	waitFor(t, 3*time.Minute, "zone B's three steps after its window opened", func() bool { return len(bodies(b[0])) == 3 && len(bodies(b[1])) == 3 })
	for _, p := range b {
		msgs := outbound(p)
		if got := bodies(p); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("zone B %s got %v", p, got)
		}
		if msgs[0].Created.Before(opening) {
			t.Fatalf("zone B got its first step at %v, before its window opened at %v", msgs[0].Created, opening)
		}
	}
	// C: still nothing, and it waits for its own opening (3 h later in UTC).
	for _, p := range c {
		if n := len(outbound(p)); n != 0 {
			t.Fatalf("%s got %d messages before its window", p, n)
		}
	}
	var due time.Time
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT e.due_at FROM campaign_enrollments e JOIN leads l ON l.id = e.lead_id
		WHERE e.campaign_id = $1 AND l.phone = $2`, camp.ID, c[0]).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if lc := due.In(locC); lc.Hour()*60+lc.Minute() != start {
		t.Fatalf("zone C waits until %v (local %v), want its window's opening %s", due, lc, clock(start))
	}
	var stats struct {
		Steps []struct {
			Step, Waiting, Sent int
		} `json:"steps"`
	}
	h.do("GET", "/v1/campaigns/"+camp.ID.String()+"/stats", tn.Viewer, nil).json(t, &stats)
	if len(stats.Steps) != 3 || stats.Steps[0].Sent != 4 || stats.Steps[0].Waiting != 2 || stats.Steps[2].Sent != 4 {
		t.Fatalf("stats: %+v", stats.Steps)
	}
}

// A STOP ("Stop.", any case and punctuation) between step 1 and step 2:
// nothing more to that phone from any campaign of the client, one
// confirmation; HELP answers with the help text; START re-subscribes.
func TestStopHelpStart(t *testing.T) {
	t.Parallel() // waits for windows and step delays: alongside the rest
	h := newHarness(t)
	tn := newTenant(t, "stop")
	ctx := context.Background()
	prefix := phoneBlock()
	phones := seedZoneLeads(t, tn.ID, 2, "Etc/GMT", "stop", prefix)
	// An always-open window for the test's UTC leads is not allowed (TCPA):
	// put the leads where it is daytime.
	loc, _ := zoneAt(t, time.Now(), 9*60, 19*60)
	if _, err := testDB.Pool.Exec(ctx, `UPDATE leads SET timezone = $2 WHERE client_id = $1`, tn.ID, loc.String()); err != nil {
		t.Fatal(err)
	}
	camp, r := h.createCampaign(tn.Admin, map[string]any{"name": "stop test", "target_tags": []string{"stop"},
		"messages": []map[string]any{{"body": "Step one", "delay_minutes": 0}, {"body": "Step two", "delay_minutes": 1}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	waitFor(t, time.Minute, "step 1 to both", func() bool { return len(outbound(phones[0])) == 1 && len(outbound(phones[1])) == 1 })
	res, err := testSMS.Inbound(ctx, smsemu.Inbound{From: phones[0], To: testFrom, Body: " Stop. "})
	if err != nil || res.Status != 200 || len(res.Replies) != 1 || !strings.Contains(res.Replies[0], "unsubscribed") {
		t.Fatalf("STOP: %+v %v", res, err)
	}
	var stop bool
	var status string
	if err := testDB.Pool.QueryRow(ctx, `SELECT l.sms_stop, e.status FROM leads l JOIN campaign_enrollments e ON e.lead_id = l.id
		WHERE l.phone = $1 AND e.campaign_id = $2`, phones[0], camp.ID).Scan(&stop, &status); err != nil {
		t.Fatal(err)
	}
	if !stop || status != "stopped" {
		t.Fatalf("after STOP: sms_stop %v, enrollment %s", stop, status)
	}
	// The other lead gets step 2 (a minute later); the stopped one never does.
	waitFor(t, 2*time.Minute, "step 2 to the other lead", func() bool { return len(outbound(phones[1])) == 2 })
	if n := len(outbound(phones[0])); n != 2 { // step 1 + the STOP confirmation
		t.Fatalf("stopped phone got %d messages (step 1 and the confirmation expected)", n)
	}
	// Another campaign of the client does not take the stopped lead.
	c2, r := h.createCampaign(tn.Admin, map[string]any{"name": "after stop", "target_tags": []string{"stop"},
		"messages": []map[string]any{{"body": "Again", "delay_minutes": 0}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	h.waitCampaign(tn.Admin, c2.ID, "active", "no_eligible_leads")
	if enrollmentsOf(t, c2.ID) != 0 && len(outbound(phones[0])) != 2 {
		t.Fatalf("the stopped lead was messaged by another campaign")
	}
	// HELP: the help text; START: subscribed again.
	res, err = testSMS.Inbound(ctx, smsemu.Inbound{From: phones[0], To: testFrom, Body: "help"})
	if err != nil || len(res.Replies) != 1 || !strings.Contains(res.Replies[0], "Msg&data rates may apply") || !strings.Contains(res.Replies[0], "STOP") {
		t.Fatalf("HELP: %+v %v", res.Replies, err)
	}
	res, err = testSMS.Inbound(ctx, smsemu.Inbound{From: phones[0], To: testFrom, Body: "START"})
	if err != nil || len(res.Replies) != 1 || !strings.Contains(res.Replies[0], "resubscribed") {
		t.Fatalf("START: %+v %v", res.Replies, err)
	}
	if err := testDB.Pool.QueryRow(ctx, `SELECT sms_stop FROM leads WHERE phone = $1`, phones[0]).Scan(&stop); err != nil || stop {
		t.Fatalf("after START: sms_stop %v %v", stop, err)
	}
	// Every inbound message is on the lead.
	var id uuid.UUID
	if err := testDB.Pool.QueryRow(ctx, `SELECT id FROM leads WHERE phone = $1`, phones[0]).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var msgs struct {
		Data []struct {
			Direction, Status, Body string
		} `json:"data"`
	}
	h.do("GET", "/v1/leads/"+id.String()+"/messages", tn.Viewer, nil).json(t, &msgs)
	kinds := map[string]int{}
	for _, m := range msgs.Data {
		kinds[m.Direction+":"+m.Status]++
	}
	if kinds["inbound:opt_out"] != 1 || kinds["inbound:help"] != 1 || kinds["inbound:opt_in"] != 1 || kinds["outbound:sent"]+kinds["outbound:delivered"] != 1 {
		t.Fatalf("lead messages: %v", kinds)
	}
}

// A reply ends the sequence (replied); a booking ends it (converted).
func TestReplyAndBookingEndTheSequence(t *testing.T) {
	t.Parallel() // waits for windows and step delays: alongside the rest
	h := newHarness(t)
	tn := newTenant(t, "reply")
	ctx := context.Background()
	loc, _ := zoneAt(t, time.Now(), 9*60, 19*60)
	phones := seedZoneLeads(t, tn.ID, 3, loc.String(), "reply", phoneBlock())
	camp, r := h.createCampaign(tn.Admin, map[string]any{"name": "reply test", "target_tags": []string{"reply"},
		"messages": []map[string]any{{"body": "One", "delay_minutes": 0}, {"body": "Two", "delay_minutes": 1}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	waitFor(t, time.Minute, "step 1", func() bool { return len(outbound(phones[0])) == 1 && len(outbound(phones[1])) == 1 })
	if _, err := testSMS.Inbound(ctx, smsemu.Inbound{From: phones[0], To: testFrom, Body: "Sounds good, can you call me?"}); err != nil {
		t.Fatal(err)
	}
	var lead1 uuid.UUID
	if err := testDB.Pool.QueryRow(ctx, `SELECT id FROM leads WHERE phone = $1`, phones[1]).Scan(&lead1); err != nil {
		t.Fatal(err)
	}
	if r := h.do("PATCH", "/v1/leads/"+lead1.String(), tn.Viewer, map[string]any{"booked": true}); r.Status != 403 {
		t.Fatalf("viewer PATCH: %d", r.Status)
	}
	if r := h.do("PATCH", "/v1/leads/"+lead1.String(), tn.Admin, map[string]any{"booked": true}); r.Status != 200 {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	waitFor(t, 2*time.Minute, "step 2 to the third lead", func() bool { return len(outbound(phones[2])) == 2 })
	// The provider has the message before the send is recorded and the
	// enrollment completed: wait for the ledger to catch up, then every
	// enrollment must have ended the way its lead did.
	statuses := map[string]string{}
	read := func() {
		statuses = map[string]string{}
		rows, err := testDB.Pool.Query(ctx, `SELECT l.phone, e.status FROM campaign_enrollments e JOIN leads l ON l.id = e.lead_id WHERE e.campaign_id = $1`, camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var p, s string
			if err := rows.Scan(&p, &s); err != nil {
				t.Fatal(err)
			}
			statuses[p] = s
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for read(); statuses[phones[2]] == "active" && time.Now().Before(deadline); read() {
		time.Sleep(200 * time.Millisecond)
	}
	if statuses[phones[0]] != "replied" || statuses[phones[1]] != "converted" || statuses[phones[2]] != "completed" {
		t.Fatalf("enrollments: %v", statuses)
	}
	if len(outbound(phones[0])) != 1 || len(outbound(phones[1])) != 1 {
		t.Fatalf("replied/booked leads got step 2: %d, %d", len(outbound(phones[0])), len(outbound(phones[1])))
	}
	h.waitCampaign(tn.Admin, camp.ID, "completed")
	// The lead's page lists its enrollment with how it ended.
	var detail struct {
		ID          uuid.UUID `json:"id"`
		Enrollments []struct {
			CampaignID   uuid.UUID `json:"campaign_id"`
			CampaignName string    `json:"campaign_name"`
			Status       string    `json:"status"`
			EndedAt      *string   `json:"ended_at"`
		} `json:"enrollments"`
	}
	h.do("GET", "/v1/leads/"+lead1.String(), tn.Viewer, nil).json(t, &detail)
	if detail.ID != lead1 || len(detail.Enrollments) != 1 || detail.Enrollments[0].CampaignID != camp.ID ||
		detail.Enrollments[0].Status != "converted" || detail.Enrollments[0].EndedAt == nil || detail.Enrollments[0].CampaignName == "" {
		t.Fatalf("lead detail: %+v", detail)
	}
}

// A forged or missing X-Twilio-Signature on either webhook is 403 and
// changes nothing.
func TestSMSWebhooksRefuseForgedSignatures(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "forged")
	ctx := context.Background()
	phones := seedZoneLeads(t, tn.ID, 1, "UTC", "forged", phoneBlock())
	form := url.Values{"MessageSid": {"SM" + strings.Repeat("0", 32)}, "From": {phones[0]}, "To": {testFrom}, "Body": {"STOP"}}
	for name, sig := range map[string]string{"missing": "", "forged": "c2lnbmF0dXJl", "other token": smsemu.Sign("wrong", testPublic.url+"/v1/webhooks/sms/inbound", form)} {
		req, _ := http.NewRequest("POST", h.srv.URL+"/v1/webhooks/sms/inbound", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("%s signature on inbound: %d", name, resp.StatusCode)
		}
		status := url.Values{"MessageSid": {"SMx"}, "MessageStatus": {"delivered"}}
		req, _ = http.NewRequest("POST", h.srv.URL+"/v1/webhooks/sms/status?send_id="+uuid.NewString(), strings.NewReader(status.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("%s signature on status: %d", name, resp.StatusCode)
		}
	}
	var stop bool
	var inbound int
	if err := testDB.Pool.QueryRow(ctx, `SELECT sms_stop, (SELECT count(*) FROM sms_inbound WHERE from_phone = $1) FROM leads WHERE phone = $1`, phones[0]).Scan(&stop, &inbound); err != nil {
		t.Fatal(err)
	}
	if stop || inbound != 0 {
		t.Fatalf("forged STOP changed something: sms_stop %v, %d inbound rows", stop, inbound)
	}
}

// Delivery callbacks move a send forward only, whatever their order and
// however often they come; 21610 from the provider stops the lead and is
// not retried; 21211 fails the step; a 429 is sent again; an answer lost
// after the provider accepted, or a 5xx after it accepted, is reconciled
// from the provider, never sent again.
func TestProviderAnswersAndCallbacks(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "provider")
	ctx := context.Background()
	loc, _ := zoneAt(t, time.Now(), 9*60, 19*60)
	phones := seedZoneLeads(t, tn.ID, 6, loc.String(), "provider", phoneBlock())
	before := testSMS.Stats()
	testSMS.RejectTo(phones[0], 21610)
	testSMS.RejectTo(phones[1], 21211)
	testSMS.RateLimitNextSends(1)                 // a 429 creates no message: sent again
	testSMS.TimeoutAfterAccept(1, 10*time.Second) // an accepted send's answer is lost
	testSMS.FailAfterAccept(1)                    // an accepted send answered 502: asked, not re-sent
	defer testSMS.ClearFaults()
	testSMS.DuplicateCallbacks(1)
	testSMS.ReorderCallbacks(1)
	camp, r := h.createCampaign(tn.Admin, map[string]any{"name": "provider test", "target_tags": []string{"provider"},
		"messages": []map[string]any{{"body": "Only step", "delay_minutes": 0}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	h.waitCampaign(tn.Admin, camp.ID, "completed")
	rows, err := testDB.Pool.Query(ctx, `SELECT l.phone, s.status, COALESCE(s.error_code, 0), l.sms_stop, e.status
		FROM sms_sends s JOIN leads l ON l.id = s.lead_id JOIN campaign_enrollments e ON e.lead_id = s.lead_id AND e.campaign_id = s.campaign_id
		WHERE s.campaign_id = $1`, camp.ID)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		status     string
		code       int
		stop       bool
		enrollment string
	}
	got := map[string]row{}
	for rows.Next() {
		var p string
		var x row
		if err := rows.Scan(&p, &x.status, &x.code, &x.stop, &x.enrollment); err != nil {
			t.Fatal(err)
		}
		got[p] = x
	}
	if x := got[phones[0]]; x.status != "failed" || x.code != 21610 || !x.stop || x.enrollment != "stopped" {
		t.Fatalf("21610: %+v", x)
	}
	if x := got[phones[1]]; x.status != "failed" || x.code != 21211 || x.enrollment != "failed" {
		t.Fatalf("21211: %+v", x)
	}
	for _, p := range phones[2:] {
		if x := got[p]; x.status != "delivered" || x.enrollment != "completed" {
			t.Fatalf("%s: %+v", p, x)
		}
		if n := len(outbound(p)); n != 1 {
			t.Fatalf("%s got %d messages (one timed out after accept, then reconciled: never sent twice)", p, n)
		}
	}
	if n := len(outbound(phones[0])) + len(outbound(phones[1])); n != 0 {
		t.Fatalf("refused numbers have %d messages", n)
	}
	after := testSMS.Stats()
	if after.Unanswered-before.Unanswered != 2 {
		t.Fatalf("%d answers withheld or failed after accept, want 2 (a fault did not fire)", after.Unanswered-before.Unanswered)
	}
	if after.RateLimited-before.RateLimited != 1 {
		t.Fatalf("%d sends rate-limited, want 1 (the fault did not fire)", after.RateLimited-before.RateLimited)
	}
}

// A test send renders the step for a lead or given values, goes to the
// given number, counts in no stats, enrolls no one, and is rate-limited
// per user.
func TestTestSend(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "testsend")
	ctx := context.Background()
	camp, r := h.createCampaign(tn.Admin, map[string]any{"name": "test sends", "target_tags": []string{"nobody-has-this"},
		"start_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "booking_link": "https://calendly.com/acme",
		"messages": []map[string]any{{"body": "Hi {{first_name}}, book: {{booking_link}}", "delay_minutes": 0}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	to := phoneBlock() + "0001"
	var res struct {
		Test bool   `json:"test"`
		Body string `json:"body"`
	}
	r = h.do("POST", "/v1/campaigns/"+camp.ID.String()+"/test-send", tn.Admin, map[string]any{"step": 1, "to": to, "values": map[string]any{"first_name": "Ada"}})
	if r.Status != 200 {
		t.Fatalf("test send: %d %s", r.Status, r.Body)
	}
	r.json(t, &res)
	if !res.Test || res.Body != "Hi Ada, book: https://calendly.com/acme" {
		t.Fatalf("test send: %+v", res)
	}
	if m := outbound(to); len(m) != 1 || m[0].Body != res.Body {
		t.Fatalf("emulator: %+v", m)
	}
	for _, bad := range []map[string]any{{"step": 2, "to": to}, {"step": 1, "to": "555"}, {"step": 1, "to": to, "lead_id": "x"}} {
		if r := h.do("POST", "/v1/campaigns/"+camp.ID.String()+"/test-send", tn.Admin, bad); r.Status != 400 {
			t.Fatalf("bad test send %v: %d %s", bad, r.Status, r.Body)
		}
	}
	var sends int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM sms_sends WHERE campaign_id = $1`, camp.ID).Scan(&sends); err != nil || sends != 0 {
		t.Fatalf("test send in the ledger: %d %v", sends, err)
	}
	if enrollmentsOf(t, camp.ID) != 0 {
		t.Fatal("a test send enrolled someone")
	}
	codes := []int{}
	for range 6 {
		codes = append(codes, h.do("POST", "/v1/campaigns/"+camp.ID.String()+"/test-send", tn.Admin, map[string]any{"step": 1, "to": to}).Status)
	}
	sort.Ints(codes)
	if codes[0] != 200 || codes[len(codes)-1] != 429 || strings.Count(fmt.Sprint(codes), "200") != 4 {
		t.Fatalf("6 more test sends (limit 5 per hour): %v", codes)
	}

	// A number that opted out (a STOP) gets no test message either: 409,
	// before the hourly limit this user has used up, nothing at the provider,
	// nothing counted.
	stopped := phoneBlock() + "0002"
	if _, err := testDB.Pool.Exec(ctx, `INSERT INTO sms_opt_outs (client_id, phone, source) VALUES ($1, $2, 'sms')`, tn.ID, stopped); err != nil {
		t.Fatal(err)
	}
	r = h.do("POST", "/v1/campaigns/"+camp.ID.String()+"/test-send", tn.Admin, map[string]any{"step": 1, "to": stopped})
	if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "opted out") {
		t.Fatalf("test send to an opted-out number: %d %s", r.Status, r.Body)
	}
	if m := outbound(stopped); len(m) != 0 {
		t.Fatalf("a test message reached an opted-out number: %+v", m)
	}
	var tests int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM sms_tests WHERE to_phone = $1`, stopped).Scan(&tests); err != nil || tests != 0 {
		t.Fatalf("refused test send recorded: %d %v", tests, err)
	}
}

// Pause at about half: the emulator's count does not move while paused;
// resume: the campaign completes with every lead messaged exactly once,
// nothing skipped, nothing twice.
func TestPauseAndResumeLoseNothing(t *testing.T) {
	t.Parallel()
	h := newRatedHarness(t)
	tn := newTenant(t, "pause")
	ctx := context.Background()
	from := phoneBlock() + "9999"
	if _, err := testDB.Pool.Exec(ctx, `UPDATE clients SET sms_from = $2 WHERE id = $1`, tn.ID, from); err != nil {
		t.Fatal(err)
	}
	loc, _ := zoneAt(t, time.Now(), 9*60, 19*60)
	const n = 150
	phones := seedZoneLeads(t, tn.ID, n, loc.String(), "pause", phoneBlock())
	sent := func() int { return len(testSMS.Messages(smsemu.Filter{From: from, Direction: "outbound-api"})) }
	camp, r := h.createCampaign(tn.Admin, map[string]any{"name": "pause test", "target_tags": []string{"pause"},
		"messages": []map[string]any{{"body": "Hello {{first_name}}", "delay_minutes": 0}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	waitFor(t, time.Minute, "about half sent", func() bool { return sent() >= n/2-10 })
	r = h.do("POST", "/v1/campaigns/"+camp.ID.String()+"/pause", tn.Admin, nil)
	if r.Status != 200 {
		t.Fatalf("pause: %d %s", r.Status, r.Body)
	}
	atPause := sent()
	if r := h.do("POST", "/v1/campaigns/"+camp.ID.String()+"/pause", tn.Admin, nil); r.Status != 409 {
		t.Fatalf("second pause: %d %s", r.Status, r.Body)
	}
	// The check: the count does not move for 30 s.
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		if now := sent(); now != atPause {
			t.Fatalf("while paused the count moved from %d to %d (of %d)", atPause, now, n)
		}
	}
	if now := sent(); now != atPause || now >= n {
		t.Fatalf("while paused the count moved from %d to %d (of %d)", atPause, now, n)
	}
	if got := h.waitCampaign(tn.Admin, camp.ID, "paused"); got.Status != "paused" {
		t.Fatalf("status %s", got.Status)
	}
	r = h.do("POST", "/v1/campaigns/"+camp.ID.String()+"/resume", tn.Admin, nil)
	if r.Status != 200 {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	h.waitCampaign(tn.Admin, camp.ID, "completed")
	per := map[string]int{}
	for _, m := range testSMS.Messages(smsemu.Filter{From: from, Direction: "outbound-api"}) {
		per[m.To]++
	}
	for _, p := range phones {
		if per[p] != 1 {
			t.Fatalf("%s got %d messages (want exactly 1: none skipped, none twice)", p, per[p])
		}
	}
	var audits int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE entity_id = $1 AND action IN ('campaign.pause', 'campaign.resume')`,
		camp.ID.String()).Scan(&audits); err != nil || audits != 2 {
		t.Fatalf("%d pause/resume audit rows, %v", audits, err)
	}
	t.Logf("paused at %d of %d", atPause, n)
}

// A claimed row that will not be sent now is released while its
// enrollment still waits for that step (a round cut short, a window that
// closed), so the step is claimed again; only a lead that left the
// sequence gets it skipped. A skipped row under an active enrollment would
// leave the lead active forever with nothing to send.
func TestUnsentRowsNeverStrandAnEnrollment(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "strand")
	ctx := context.Background()
	loc, _ := zoneAt(t, time.Now(), 9*60, 19*60)
	seedZoneLeads(t, tn.ID, 2, loc.String(), "strand", phoneBlock())
	camp, r := h.createCampaign(tn.Admin, map[string]any{"name": "strand test", "target_tags": []string{"strand"},
		"messages": []map[string]any{{"body": "Tomorrow", "delay_minutes": 1440}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	h.waitCampaign(tn.Admin, camp.ID, "active")
	rows, err := testDB.Pool.Query(ctx, `SELECT e.lead_id, l.phone FROM campaign_enrollments e JOIN leads l ON l.id = e.lead_id
		WHERE e.campaign_id = $1 AND e.status = 'active' ORDER BY l.phone`, camp.ID)
	if err != nil {
		t.Fatal(err)
	}
	type enr struct {
		lead  uuid.UUID
		phone string
	}
	var es []enr
	for rows.Next() {
		var e enr
		if err := rows.Scan(&e.lead, &e.phone); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("%d active enrollments, want 2", len(es))
	}
	claim := func(e enr) uuid.UUID {
		t.Helper()
		ids, err := testStore.ClaimSends(ctx, camp.ID, []store.NewSend{{ID: uuid.New(), LeadID: e.lead, Step: 0, To: e.phone, From: testFrom, Body: "x", DueAt: time.Now()}})
		if err != nil || len(ids) != 1 {
			t.Fatalf("claim: %v %v", ids, err)
		}
		return ids[0]
	}
	status := func(id uuid.UUID) string {
		t.Helper()
		var st string
		err := testDB.Pool.QueryRow(ctx, `SELECT status FROM sms_sends WHERE id = $1`, id).Scan(&st)
		if errors.Is(err, pgx.ErrNoRows) {
			return "released"
		}
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// Still waiting for the step: released, and claimable again.
	a := claim(es[0])
	if rel, skip, err := testStore.SettleUnsent(ctx, []uuid.UUID{a}); err != nil || rel != 1 || skip != 0 {
		t.Fatalf("settle a waiting step: released %d skipped %d err %v", rel, skip, err)
	}
	if st := status(a); st != "released" {
		t.Fatalf("a waiting step's row is %s, want released", st)
	}
	again := claim(es[0])
	// Left the sequence (a reply ended it): skipped.
	b := claim(es[1])
	if _, err := testDB.Pool.Exec(ctx, `UPDATE campaign_enrollments SET status = 'replied', ended_at = now() WHERE campaign_id = $1 AND lead_id = $2`, camp.ID, es[1].lead); err != nil {
		t.Fatal(err)
	}
	if rel, skip, err := testStore.SettleUnsent(ctx, []uuid.UUID{again, b}); err != nil || rel != 1 || skip != 1 {
		t.Fatalf("settle: released %d skipped %d err %v, want 1 and 1", rel, skip, err)
	}
	if st := status(b); st != "skipped" {
		t.Fatalf("the replied lead's row is %s, want skipped", st)
	}
	// A v2 campaign still sending shows its live progress.
	if r := h.do("GET", "/v1/campaigns/"+camp.ID.String(), tn.Admin, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"progress"`) {
		t.Fatalf("an active campaign's GET has no live progress: %d %s", r.Status, r.Body)
	}
	// It answers cancel (nothing due for a day).
	if r := h.do("POST", "/v1/campaigns/"+camp.ID.String()+"/cancel", tn.Admin, map[string]any{}); r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
}

// A STOP to the shared number from a phone that is no client's lead yet
// is kept for every client sending from that number: a lead with that
// phone imported later is stopped (never messaged); START clears it.
func TestStopFromAnUnknownPhoneOnTheSharedNumber(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 0, 0)
	other := newTenant(t, "shared-too")
	own := newTenant(t, "own-number")
	ctx := context.Background()
	prefix := phoneBlock()
	phone := prefix + "0009"
	if _, err := testDB.Pool.Exec(ctx, `UPDATE clients SET sms_from = $2 WHERE id = $1`, own.ID, prefix+"0999"); err != nil {
		t.Fatal(err)
	}
	// The other shared client already has an opt-out of that phone from Airtable: a START must not clear it.
	if _, err := testDB.Pool.Exec(ctx, `INSERT INTO sms_opt_outs (client_id, phone, source) VALUES ($1, $2, 'airtable')`, other.ID, phone); err != nil {
		t.Fatal(err)
	}
	res, err := testSMS.Inbound(ctx, smsemu.Inbound{From: phone, To: testFrom, Body: "STOP"})
	if err != nil || res.Status != 200 || len(res.Replies) != 1 || !strings.Contains(res.Replies[0], "no more messages from this number") {
		t.Fatalf("STOP from an unknown phone: %+v %v", res, err)
	}
	optOuts := func(client uuid.UUID) []string {
		t.Helper()
		rows, err := testDB.Pool.Query(ctx, `SELECT source FROM sms_opt_outs WHERE client_id = $1 AND phone = $2 ORDER BY source`, client, phone)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := fmt.Sprint(optOuts(st.ID), optOuts(other.ID), optOuts(own.ID)); got != "[sms:STOP] [airtable] []" {
		t.Fatalf("opt-outs (shared, shared with Airtable's, own number): %s", got)
	}
	if _, err := testEmu.SeedFields(st.Base, "Leads", []map[string]any{{airtableemu.FieldFirstName: "Later", airtableemu.FieldPhone: phone,
		airtableemu.FieldTimezone: "America/New_York"}}); err != nil {
		t.Fatal(err)
	}
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	var stop bool
	if err := testDB.Pool.QueryRow(ctx, `SELECT sms_stop FROM leads WHERE client_id = $1 AND phone = $2`, st.ID, phone).Scan(&stop); err != nil || !stop {
		t.Fatalf("the lead imported after the STOP: sms_stop %v %v", stop, err)
	}
	res, err = testSMS.Inbound(ctx, smsemu.Inbound{From: phone, To: testFrom, Body: "START"})
	if err != nil || res.Status != 200 || len(res.Replies) != 1 || !strings.Contains(res.Replies[0], "resubscribed") {
		t.Fatalf("START: %+v %v", res, err)
	}
	if got := fmt.Sprint(optOuts(st.ID), optOuts(other.ID), optOuts(own.ID)); got != "[] [airtable] []" {
		t.Fatalf("opt-outs after START: %s", got)
	}
	// A START from a phone that is nobody's lead is answered too.
	res, err = testSMS.Inbound(ctx, smsemu.Inbound{From: prefix + "0008", To: testFrom, Body: "START"})
	if err != nil || res.Status != 200 || len(res.Replies) != 1 || !strings.Contains(res.Replies[0], "resubscribed") {
		t.Fatalf("START from an unknown phone: %+v %v", res, err)
	}
	if err := testDB.Pool.QueryRow(ctx, `SELECT sms_stop FROM leads WHERE client_id = $1 AND phone = $2`, st.ID, phone).Scan(&stop); err != nil || stop {
		t.Fatalf("after START: sms_stop %v %v", stop, err)
	}
}
