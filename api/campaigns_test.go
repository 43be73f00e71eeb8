package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/store"
)

type campaignJSON struct {
	store.Campaign
	Progress *struct {
		Status string `json:"status"`
	} `json:"progress"`
}

// step is a sequence whose second step is a month away: after the first
// message the enrollments stay active (tests about enrollment, not sending).
func step() []map[string]any {
	return []map[string]any{{"body": "Hi {{first_name}}", "delay_minutes": 0}, {"body": "Still there?", "delay_minutes": 43200}}
}

func (h *harness) createCampaign(tok string, body map[string]any, hdr ...string) (campaignJSON, response) {
	h.t.Helper()
	r := h.do("POST", "/v1/campaigns", tok, body, hdr...)
	var c campaignJSON
	if r.Status == 201 {
		r.json(h.t, &c)
	}
	return c, r
}

// waitCampaign polls GET until the campaign reaches one of the statuses
// ("active" includes "completed": an active campaign sends its sequence and
// may be done with it by the time it is looked at).
func (h *harness) waitCampaign(tok string, id uuid.UUID, want ...string) campaignJSON {
	h.t.Helper()
	if slices.Contains(want, "active") && !slices.Contains(want, "completed") {
		want = append(want, "completed")
	}
	deadline := time.Now().Add(90 * time.Second)
	var c campaignJSON
	for time.Now().Before(deadline) {
		r := h.do("GET", "/v1/campaigns/"+id.String(), tok, nil)
		if r.Status != 200 {
			h.t.Fatalf("get campaign: %d %s", r.Status, r.Body)
		}
		r.json(h.t, &c)
		for _, w := range want {
			if c.Status == w {
				return c
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("campaign %s stuck in %s (last_error %q), want %v", id, c.Status, c.LastError, want)
	return c
}

func enrollmentsOf(t *testing.T, id uuid.UUID) int {
	var n int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM campaign_enrollments WHERE campaign_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCampaignCreateEnrollsExactlyTheEligible(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "enroll")
	seedLeads(t, tn.ID, 3000, time.Now().UTC())
	// Make some ineligible: stop, booked, soft-deleted.
	ctx := context.Background()
	if _, err := testDB.Pool.Exec(ctx, `UPDATE leads SET sms_stop = true WHERE client_id = $1 AND icp_score = 50`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := testDB.Pool.Exec(ctx, `UPDATE leads SET booked = true WHERE client_id = $1 AND icp_score = 51`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := testDB.Pool.Exec(ctx, `UPDATE leads SET deleted_at = now() WHERE client_id = $1 AND icp_score = 52`, tn.ID); err != nil {
		t.Fatal(err)
	}
	aud := map[string]any{"target_tags": []string{"WEBINAR-2025", "webinar-2025"}, "icp_min": 20, "icp_max": 80}
	r := h.do("POST", "/v1/campaigns/preview", tn.Admin, aud)
	if r.Status != 200 {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	var pv struct{ Matching, Eligible int }
	r.json(t, &pv)
	if pv.Eligible == 0 || pv.Eligible >= pv.Matching {
		t.Fatalf("preview %+v", pv)
	}
	var n int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM campaign_enrollments WHERE client_id = $1`, tn.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("preview wrote enrollments")
	}

	body := map[string]any{"name": "Spring", "messages": step()}
	for k, v := range aud {
		body[k] = v
	}
	c, r := h.createCampaign(tn.Admin, body)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if c.WorkflowID != "campaign/"+c.ID.String() {
		t.Fatalf("workflow id %q", c.WorkflowID)
	}
	done := h.waitCampaign(tn.Viewer, c.ID, "active")
	if done.EnrolledCount != pv.Eligible || enrollmentsOf(t, c.ID) != pv.Eligible || done.EnrollmentStatus != "complete" {
		t.Fatalf("enrolled %d rows %d, eligible %d (%s)", done.EnrolledCount, enrollmentsOf(t, c.ID), pv.Eligible, done.EnrollmentStatus)
	}
	if done.MatchedCount != pv.Matching {
		t.Fatalf("matched %d, preview %d", done.MatchedCount, pv.Matching)
	}
	// The leads API filters by campaign.
	var page struct {
		Data []store.Lead `json:"data"`
	}
	h.do("GET", "/v1/leads?limit=500&campaign_id="+c.ID.String(), tn.Viewer, nil).json(t, &page)
	if len(page.Data) != min(500, pv.Eligible) {
		t.Fatalf("campaign filter: %d", len(page.Data))
	}
	var audits int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE action = 'campaign.create' AND entity_id = $1`, c.ID.String()).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 1 {
		t.Fatalf("audit rows %d", audits)
	}
}

func TestCampaignValidation(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "cval")
	good := func() map[string]any {
		return map[string]any{"name": "ok", "target_tags": []string{"a"}, "messages": step()}
	}
	long := make([]byte, 1601)
	for i := range long {
		long[i] = 'x'
	}
	cases := []struct {
		field string
		mut   func(m map[string]any)
	}{
		{"name", func(m map[string]any) { m["name"] = "" }},
		{"name", func(m map[string]any) { m["name"] = string(long[:101]) }},
		{"audience", func(m map[string]any) { delete(m, "target_tags") }},
		{"icp_min", func(m map[string]any) { m["icp_min"] = 80; m["icp_max"] = 20 }},
		{"icp_max", func(m map[string]any) { m["icp_max"] = 101 }},
		{"created_after", func(m map[string]any) {
			m["created_after"] = "2026-02-01T00:00:00Z"
			m["created_before"] = "2026-01-01T00:00:00Z"
		}},
		{"created_before", func(m map[string]any) { m["created_before"] = "yesterday" }},
		{"engagement_levels", func(m map[string]any) { m["engagement_levels"] = []string{"ecstatic"} }},
		{"messages", func(m map[string]any) { m["messages"] = []any{} }},
		{"messages[0].body", func(m map[string]any) { m["messages"] = []any{map[string]any{"body": string(long)}} }},
		{"messages[0].delay_minutes", func(m map[string]any) {
			m["messages"] = []any{map[string]any{"body": "x", "delay_minutes": 30*24*60 + 1}}
		}},
		{"start_at", func(m map[string]any) { m["start_at"] = time.Now().Add(-time.Minute).Format(time.RFC3339) }},
		{"start_at", func(m map[string]any) { m["start_at"] = "2030-01-01 10:00" }},
		{"max_leads", func(m map[string]any) { m["max_leads"] = 0 }},
		{"max_leads", func(m map[string]any) { m["max_leads"] = "ten" }},
		{"max_leads", func(m map[string]any) { m["max_leads"] = 1 << 31 }}, // past campaigns.max_leads (int4): was a 500
		{"client_id", func(m map[string]any) { m["client_id"] = uuid.NewString() }},
	}
	for _, c := range cases {
		body := good()
		c.mut(body)
		r := h.do("POST", "/v1/campaigns", tn.Admin, body)
		if r.Status != 400 && !(c.field == "client_id" && r.Status == 403) {
			t.Errorf("%s: status %d %s", c.field, r.Status, r.Body)
			continue
		}
		if e := r.errorOf(t); r.Status == 400 && e.Error.Details["field"] != c.field {
			t.Errorf("%s: field %v (%s)", c.field, e.Error.Details["field"], e.Error.Message)
		}
	}
	var n int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM campaigns WHERE client_id = $1`, tn.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("rejected requests wrote %d campaigns", n)
	}
	if r := h.do("POST", "/v1/campaigns", tn.Viewer, good()); r.Status != 403 {
		t.Fatalf("viewer create: %d", r.Status)
	}
}

func TestCampaignDuplicateNameRace(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "dup")
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	codes := make([]string, 8)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := "Black Friday"
			if i%2 == 1 {
				name = "BLACK friday"
			}
			r := h.do("POST", "/v1/campaigns", tn.Admin, map[string]any{"name": name, "target_tags": []string{"x"}, "messages": step()})
			statuses[i] = r.Status
			if r.Status != 201 {
				codes[i] = r.errorOf(t).Error.Code
			}
		}(i)
	}
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch {
		case s == 201:
			created++
		case s == 409 && codes[i] == "DUPLICATE_NAME":
		default:
			t.Fatalf("request %d: %d %s", i, s, codes[i])
		}
	}
	if created != 1 {
		t.Fatalf("%d created", created)
	}
}

func TestCampaignIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "idem")
	body := map[string]any{"name": "Once", "target_tags": []string{"x"}, "messages": step()}
	key := "key-" + uuid.NewString()
	var wg sync.WaitGroup
	results := make([]response, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = h.do("POST", "/v1/campaigns", tn.Admin, body, "Idempotency-Key", key)
		}(i)
	}
	wg.Wait()
	var first campaignJSON
	for i, r := range results {
		if r.Status != 201 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
		var c campaignJSON
		r.json(t, &c)
		if i == 0 {
			first = c
		} else if c.ID != first.ID {
			t.Fatalf("double submit created %s and %s", first.ID, c.ID)
		}
	}
	var n int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM campaigns WHERE client_id = $1`, tn.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d campaigns", n)
	}
	body["name"] = "Different"
	r := h.do("POST", "/v1/campaigns", tn.Admin, body, "Idempotency-Key", key)
	if r.Status != 409 || r.errorOf(t).Error.Code != "IDEMPOTENCY_CONFLICT" {
		t.Fatalf("different body: %d %s", r.Status, r.Body)
	}
}

// Ten campaigns at once over overlapping audiences: no lead is in two
// running campaigns and the counters add up to the rows.
func TestConcurrentCampaignsNeverShareALead(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "overlap")
	seedLeads(t, tn.ID, 20000, time.Now().UTC())
	audiences := []map[string]any{
		{"target_tags": []string{"webinar-2025"}},
		{"target_tags": []string{"vip"}},
		{"icp_min": 10, "icp_max": 90},
		{"engagement_levels": []string{"low", "high"}},
		{"target_tags": []string{"cold", "vip"}},
	}
	ids := make([]uuid.UUID, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := map[string]any{"name": fmt.Sprintf("overlap-%d", i), "messages": step()}
			for k, v := range audiences[i%len(audiences)] {
				body[k] = v
			}
			c, r := h.createCampaign(tn.Admin, body)
			if r.Status != 201 {
				t.Errorf("create %d: %d %s", i, r.Status, r.Body)
				return
			}
			ids[i] = c.ID
		}(i)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	total := 0
	for _, id := range ids {
		c := h.waitCampaign(tn.Admin, id, "active", "no_eligible_leads")
		if c.EnrolledCount != enrollmentsOf(t, id) {
			t.Fatalf("campaign %s counter %d, rows %d", id, c.EnrolledCount, enrollmentsOf(t, id))
		}
		total += c.EnrolledCount
	}
	ctx := context.Background()
	var rows, distinct, eligibleLeft int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT lead_id) FROM campaign_enrollments WHERE client_id = $1 AND status = 'active'`, tn.ID).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != distinct || rows != total {
		t.Fatalf("rows %d distinct leads %d sum of counters %d", rows, distinct, total)
	}
	// Every lead that any audience matched and was eligible is now enrolled somewhere.
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM leads l WHERE client_id = $1 AND deleted_at IS NULL AND NOT sms_stop AND NOT booked
		AND status IN ('new','contacted','engaged') AND (tags && ARRAY['webinar-2025','vip','cold'] OR icp_score BETWEEN 10 AND 90 OR engagement_level IN ('low','high'))
		AND NOT EXISTS (SELECT 1 FROM campaign_enrollments e WHERE e.lead_id = l.id AND e.status = 'active')`, tn.ID).Scan(&eligibleLeft); err != nil {
		t.Fatal(err)
	}
	if eligibleLeft != 0 {
		t.Fatalf("%d eligible leads left unenrolled", eligibleLeft)
	}
}

func TestCampaignCapAndZeroMatch(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "cap")
	seedLeads(t, tn.ID, 500, time.Now().UTC())
	c, r := h.createCampaign(tn.Admin, map[string]any{"name": "capped", "target_tags": []string{"webinar-2025"}, "messages": step(), "max_leads": 25})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := h.waitCampaign(tn.Admin, c.ID, "active")
	if got.EnrolledCount != 25 || got.EnrollmentStatus != "partial_capped" || enrollmentsOf(t, c.ID) != 25 {
		t.Fatalf("capped: %d %s rows %d", got.EnrolledCount, got.EnrollmentStatus, enrollmentsOf(t, c.ID))
	}
	var alerts int
	deadline := time.Now().Add(10 * time.Second)
	for alerts == 0 && time.Now().Before(deadline) {
		if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM activity_log WHERE action = 'alert.campaign.partial_enrollment' AND client_id = $1`, tn.ID).Scan(&alerts); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if alerts != 1 {
		t.Fatalf("partial enrollment alerts: %d", alerts)
	}
	z, r := h.createCampaign(tn.Admin, map[string]any{"name": "nobody", "target_tags": []string{"no-such-tag"}, "messages": step()})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if got := h.waitCampaign(tn.Admin, z.ID, "no_eligible_leads", "active"); got.Status != "no_eligible_leads" || got.EnrolledCount != 0 {
		t.Fatalf("zero match: %s %d", got.Status, got.EnrolledCount)
	}
}

func TestCampaignScheduleRescheduleCancel(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "sched")
	seedLeads(t, tn.ID, 50, time.Now().UTC())
	far := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second)
	c, r := h.createCampaign(tn.Admin, map[string]any{"name": "later", "target_tags": []string{"vip"}, "messages": step(), "start_at": far.Format(time.RFC3339)})
	if r.Status != 201 || c.Status != "scheduled" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	got := h.waitCampaign(tn.Admin, c.ID, "scheduled")
	if got.StartAt == nil || !got.StartAt.Equal(far) {
		t.Fatalf("start_at %v", got.StartAt)
	}
	// Reschedule: bad input, then 3 s ahead.
	if r := h.do("POST", "/v1/campaigns/"+c.ID.String()+"/reschedule", tn.Admin, map[string]any{"start_at": "2020-01-01T00:00:00Z"}); r.Status != 400 {
		t.Fatalf("past reschedule: %d", r.Status)
	}
	soon := time.Now().Add(3 * time.Second).UTC()
	if r := h.do("POST", "/v1/campaigns/"+c.ID.String()+"/reschedule", tn.Admin, map[string]any{"start_at": soon.Format(time.RFC3339Nano)}); r.Status != 200 {
		t.Fatalf("reschedule: %d %s", r.Status, r.Body)
	}
	got = h.waitCampaign(tn.Admin, c.ID, "active", "no_eligible_leads")
	if got.ActivatedAt == nil || got.ActivatedAt.Before(soon) {
		t.Fatalf("activated at %v, start %v", got.ActivatedAt, soon)
	}
	if got.StartAt == nil || !got.StartAt.Equal(soon.Truncate(time.Microsecond)) {
		t.Fatalf("start_at not persisted: %v", got.StartAt)
	}
	// Once active it cannot be rescheduled.
	if r := h.do("POST", "/v1/campaigns/"+c.ID.String()+"/reschedule", tn.Admin, map[string]any{"start_at": far.Format(time.RFC3339)}); r.Status != 409 {
		t.Fatalf("reschedule active: %d", r.Status)
	}

	c2, _ := h.createCampaign(tn.Admin, map[string]any{"name": "cancel me", "target_tags": []string{"vip"}, "messages": step(), "start_at": far.Format(time.RFC3339)})
	h.waitCampaign(tn.Admin, c2.ID, "scheduled")
	if r := h.do("POST", "/v1/campaigns/"+c2.ID.String()+"/cancel", tn.Viewer, nil); r.Status != 403 {
		t.Fatalf("viewer cancel: %d", r.Status)
	}
	other := newTenant(t, "sched-other")
	if r := h.do("POST", "/v1/campaigns/"+c2.ID.String()+"/cancel", other.Admin, nil); r.Status != 404 {
		t.Fatalf("other tenant cancel: %d", r.Status)
	}
	if r := h.do("POST", "/v1/campaigns/"+c2.ID.String()+"/cancel", tn.Admin, nil); r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	h.waitCampaign(tn.Admin, c2.ID, "cancelled")
	var audits int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM activity_log WHERE entity_id IN ($1, $2) AND action IN ('campaign.reschedule','campaign.cancel')`,
		c.ID.String(), c2.ID.String()).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 2 {
		t.Fatalf("audit rows %d", audits)
	}
}

func TestActivationFailureAlertsAndRetry(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	type received struct {
		alert activities.Alert
		valid bool
	}
	got := make(chan received, 10)
	var secret string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		valid := hmac.Equal([]byte(r.Header.Get("X-Nurture-Signature")), []byte("sha256="+hex.EncodeToString(m.Sum(nil))))
		var a activities.Alert
		_ = json.Unmarshal(body, &a)
		got <- received{a, valid}
		w.WriteHeader(204)
	}))
	defer hook.Close()
	super := superToken(t)
	r := h.do("POST", "/v1/clients", super, map[string]any{"name": "Alerted " + uuid.NewString()[:6], "alert_webhook_url": hook.URL})
	if r.Status != 201 {
		t.Fatalf("client: %d %s", r.Status, r.Body)
	}
	var cl store.Client
	r.json(t, &cl)
	secret = cl.WebhookSecret
	seedLeads(t, cl.ID, 100, time.Now().UTC())
	if _, err := testDB.Pool.Exec(ctx, `UPDATE clients SET disabled = true WHERE id = $1`, cl.ID); err != nil {
		t.Fatal(err)
	}
	c, r := h.createCampaign(super, map[string]any{"client_id": cl.ID, "name": "doomed", "target_tags": []string{"vip"}, "messages": step()})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	failed := h.waitCampaign(super, c.ID, "failed_activation")
	if failed.LastError == "" || failed.ActivationAttempts < 2 {
		t.Fatalf("failed campaign: %+v", failed.Campaign)
	}
	select {
	case rc := <-got:
		if !rc.valid || rc.alert.Kind != "campaign.activation_failed" || rc.alert.CampaignID != c.ID.String() {
			t.Fatalf("alert %+v valid=%v", rc.alert, rc.valid)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no alert delivered to the webhook")
	}
	if r := h.do("POST", "/v1/campaigns/"+c.ID.String()+"/retry-activation", super, nil); r.Status != 202 {
		t.Fatalf("retry: %d", r.Status) // still failing is fine: it must fail again
	}
	h.waitCampaign(super, c.ID, "failed_activation")
	if _, err := testDB.Pool.Exec(ctx, `UPDATE clients SET disabled = false WHERE id = $1`, cl.ID); err != nil {
		t.Fatal(err)
	}
	// Wait for the second failure to settle before retrying.
	time.Sleep(200 * time.Millisecond)
	var ok bool
	for i := 0; i < 100 && !ok; i++ {
		r := h.do("POST", "/v1/campaigns/"+c.ID.String()+"/retry-activation", super, nil)
		ok = r.Status == 202
		if !ok {
			time.Sleep(200 * time.Millisecond)
		}
	}
	done := h.waitCampaign(super, c.ID, "active")
	if done.EnrolledCount == 0 || done.EnrolledCount != enrollmentsOf(t, c.ID) {
		t.Fatalf("after retry: %d enrolled, %d rows", done.EnrolledCount, enrollmentsOf(t, c.ID))
	}
}
