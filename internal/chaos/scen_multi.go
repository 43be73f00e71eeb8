package chaos

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/lead"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

// twoByTwo starts two workers and two APIs on the stack's one Temporal and
// one Postgres (the multi-machine path: nothing shared but those).
func twoByTwo(ctx context.Context, s *Stack, apiEnv ...string) ([]*Proc, []*API, error) {
	var ws []*Proc
	var as []*API
	for range 2 {
		w, err := s.StartWorker(ctx)
		if err != nil {
			return nil, nil, err
		}
		ws = append(ws, w)
	}
	for range 2 {
		a, err := s.StartAPI(ctx, apiEnv...)
		if err != nil {
			return nil, nil, err
		}
		as = append(as, a)
	}
	return ws, as, nil
}

// pollers counts the distinct worker processes polling the task queue.
func (s *Stack) pollers(ctx context.Context) (int, error) {
	resp, err := s.TC.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace: "default", TaskQueue: taskQueue(s.Queue), TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
	})
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	for _, p := range resp.GetPollers() {
		pid, _, _ := strings.Cut(p.GetIdentity(), "@")
		seen[pid] = true
	}
	return len(seen), nil
}

// The overlapping audiences of multi-campaigns (campaign i takes i % 5).
var multiAudiences = []map[string]any{
	{"target_tags": []string{"webinar-2025"}},
	{"target_tags": []string{"vip"}},
	{"icp_min": 10, "icp_max": 90},
	{"engagement_levels": []string{lead.EngagementLow, lead.EngagementHigh}},
	{"target_tags": []string{"cold", "vip"}},
}

// multiEligible is the SQL predicate "eligible and in at least one of multiAudiences".
const multiEligible = `client_id = $1 AND deleted_at IS NULL AND NOT sms_stop AND NOT booked AND status IN ('new','contacted','engaged')
	AND (tags && ARRAY['webinar-2025','vip','cold'] OR icp_score BETWEEN 10 AND 90 OR engagement_level IN ('low','high'))`

// multiCampaigns: campaigns over overlapping audiences, created at once,
// alternately through the two APIs. No lead may end in two active
// enrollments, every counter must equal its rows, and together they hold
// exactly the leads eligible for any of the audiences.
func multiCampaigns(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	_, apis, err := twoByTwo(ctx, s)
	if err != nil {
		return err
	}
	tn, err := s.NewTenant(ctx, "multi", "")
	if err != nil {
		return err
	}
	if _, err := s.DB.Pool.Exec(ctx, `
		INSERT INTO leads (client_id, airtable_record_id, first_name, phone, tags, icp_score, engagement_level, status, sms_stop, booked)
		SELECT $1::uuid, 'recM' || g, 'Lead' || g, '+1555' || lpad(g::text, 7, '0'),
		       CASE WHEN g % 3 = 0 THEN ARRAY['webinar-2025','vip'] WHEN g % 3 = 1 THEN ARRAY['webinar-2025'] ELSE ARRAY['cold'] END,
		       g % 101, (ARRAY['low','medium','high'])[1 + g % 3], (ARRAY['new','contacted','engaged','closed'])[1 + g % 4],
		       g % 17 = 0, g % 19 = 0
		FROM generate_series(1, $2) g`, tn.ID, sz.MultiLeads); err != nil {
		return err
	}
	eligible, err := s.count(ctx, `SELECT count(*) FROM leads WHERE `+multiEligible, tn.ID)
	if err != nil {
		return err
	}
	ids := make([]uuid.UUID, sz.MultiCampaigns)
	errs := make([]error, sz.MultiCampaigns)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			c, err := createCampaign(ctx, apis[i%2], tn.Token, multiAudiences[i%len(multiAudiences)])
			ids[i], errs[i] = c.ID, err
		})
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		if f.Check(err == nil, "campaign %d through %s: %v", i, apis[i%2].Name, err) {
			created++
		}
	}
	f.Set("campaigns", sz.MultiCampaigns)
	f.Set("created", created)
	if created != sz.MultiCampaigns {
		return nil
	}
	sum, active, none := 0, 0, 0
	var spans [][2]time.Time // when each campaign enrolled
	for i, id := range ids {
		v, err := waitCampaign(ctx, apis[(i+1)%2], tn.Token, id, 5*time.Minute, campaign.StatusActive, campaign.StatusNoEligibleLeads)
		if err != nil {
			return err
		}
		e, err := s.enrollments(ctx, id)
		if err != nil {
			return err
		}
		f.Check(v.EnrolledCount == e.Rows && e.Rows == e.Distinct, "campaign %d: enrolled_count %d, rows %d, distinct %d", i, v.EnrolledCount, e.Rows, e.Distinct)
		sum += e.Rows
		if v.ActivatedAt != nil {
			spans = append(spans, [2]time.Time{*v.ActivatedAt, v.UpdatedAt})
		}
		if v.Status == campaign.StatusActive {
			active++
		} else {
			none++
		}
	}
	var dup, left int
	if err := s.DB.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM (SELECT lead_id FROM campaign_enrollments WHERE status = 'active' GROUP BY lead_id HAVING count(*) > 1) d),
			(SELECT count(*) FROM leads l WHERE `+strings.ReplaceAll(multiEligible, "client_id", "l.client_id")+`
			   AND NOT EXISTS (SELECT 1 FROM campaign_enrollments e WHERE e.lead_id = l.id AND e.status = 'active'))`, tn.ID).Scan(&dup, &left); err != nil {
		return err
	}
	pollers, err := s.pollers(ctx)
	if err != nil {
		return err
	}
	f.Set("max_enrolling_at_once", maxOverlap(spans))
	f.Set("active", active)
	f.Set("no_eligible_leads", none)
	f.Set("enrollments", sum)
	f.Set("eligible", eligible)
	f.Set("leads_in_two_active", dup)
	f.Set("eligible_left", left)
	f.Set("worker_pollers", pollers)
	f.Check(sum == eligible, "the campaigns hold %d enrollments, %d leads were eligible", sum, eligible)
	f.Check(dup == 0, "%d leads are in two active enrollments", dup)
	f.Check(left == 0, "%d eligible leads were left unenrolled", left)
	f.Check(pollers == 2, "%d worker processes poll the task queue, want 2", pollers)
	return nil
}

// multiWebhook: a sync started through one API; while it lists (latency on
// every Airtable request), signed webhook pings arrive at once at the other API.
// Each ping joins the running sync; exactly one re-run follows, and every
// run's counts are exact.
func multiWebhook(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	_, apis, err := twoByTwo(ctx, s)
	if err != nil {
		return err
	}
	n := sz.WebhookRecords
	base := baseID("W")
	if _, err := s.seedBase(base, n, 0); err != nil {
		return err
	}
	tn, err := s.NewTenant(ctx, "webhook", base)
	if err != nil {
		return err
	}
	if err := s.Emu.SetLatency(base, sz.WebhookLatency); err != nil {
		return err
	}
	first, err := startSync(ctx, apis[0], tn.Token)
	if err != nil {
		return err
	}
	body := `{"base":{"id":"` + base + `"},"webhook":{"id":"achChaos"},"timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `"}`
	m := hmac.New(sha256.New, []byte(tn.WebhookSecret))
	m.Write([]byte(body))
	mac := "hmac-sha256=" + hex.EncodeToString(m.Sum(nil))
	path := "/v1/webhooks/airtable/" + tn.ID.String()
	// A forged ping is refused and starts nothing.
	bad, err := apis[1].Do(ctx, http.MethodPost, path, "", body, api.MACHeader, "hmac-sha256="+strings.Repeat("0", 64))
	if err != nil {
		return err
	}
	f.Set("forged_ping_status", bad.Status)
	f.Check(bad.Status == http.StatusUnauthorized, "a forged ping answered %s", bad)
	// The pings arrive at once, on the other API, while the first sync lists.
	resps := make([]Resp, sz.WebhookPings)
	errs := make([]error, sz.WebhookPings)
	var wg sync.WaitGroup
	for i := range resps {
		wg.Go(func() { resps[i], errs[i] = apis[1].Do(ctx, http.MethodPost, path, "", body, api.MACHeader, mac) })
	}
	wg.Wait()
	accepted, queued, started, other := 0, 0, 0, 0
	for i, r := range resps {
		if errs[i] != nil {
			return errs[i]
		}
		var res struct {
			SyncID      uuid.UUID `json:"sync_id"`
			Started     bool      `json:"started"`
			RerunQueued bool      `json:"rerun_queued"`
		}
		if !f.Check(r.Status == http.StatusAccepted, "ping %d answered %s", i+1, r) {
			continue
		}
		accepted++
		if err := r.JSON(&res); err != nil {
			return err
		}
		switch {
		case res.RerunQueued && res.SyncID == first.ID:
			queued++
		case res.Started:
			started++
		default:
			other++
		}
	}
	var phase string
	if err := s.DB.Pool.QueryRow(ctx, `SELECT phase FROM sync_runs WHERE id = $1`, first.ID).Scan(&phase); err != nil {
		return err
	}
	f.Set("pings", sz.WebhookPings)
	f.Set("accepted", accepted)
	f.Set("rerun_queued", queued)
	f.Set("started_by_ping", started)
	f.Check(phase == store.SyncListing, "the first sync was %s when the last ping was answered: the pings did not overlap it", phase)
	f.Check(queued == sz.WebhookPings && started == 0 && other == 0, "pings queued %d re-runs on the first sync, started %d, other %d", queued, started, other)
	if _, err := waitSync(ctx, apis[0], tn.Token, first.ID, 5*time.Minute, store.SyncCompleted); err != nil {
		return err
	}
	// The client's sync workflow is done once its latest run completed
	// (rather than continued as new into another run).
	wfID := workflows.SyncWorkflowID(tn.ID.String())
	deadline := time.Now().Add(5 * time.Minute)
	for {
		d, err := s.TC.DescribeWorkflowExecution(ctx, wfID, "")
		if err != nil {
			return err
		}
		st := d.GetWorkflowExecutionInfo().GetStatus()
		if st == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			break
		}
		if st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && st != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			return fmt.Errorf("sync workflow ended %s", st)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sync workflow still %s after 5 min", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	runs, err := s.Store.ListSyncRuns(ctx, &tn.ID, "", 100)
	if err != nil {
		return err
	}
	leads, err := s.count(ctx, `SELECT count(*) FROM leads WHERE client_id = $1`, tn.ID)
	if err != nil {
		return err
	}
	f.Set("runs", len(runs))
	f.Set("leads", leads)
	want := 1
	if queued > 0 {
		want = 2
	}
	f.Check(len(runs) == want, "%d sync runs, want %d (the first and at most one re-run)", len(runs), want)
	for _, r := range runs { // newest first
		isFirst := r.ID == first.ID
		key := "rerun"
		if isFirst {
			key = "first"
		}
		f.Set(key+"_created", r.Created)
		f.Set(key+"_unchanged", r.Unchanged)
		f.Check(r.Phase == store.SyncCompleted && r.FinishedAt != nil, "run %s ended %s (%s)", r.ID, r.Phase, r.Error)
		if isFirst {
			f.Check(r.Created == n && r.Listed == n && r.Updated == 0 && r.Staged == 0, "first run: created %d listed %d updated %d staged %d, want %d created", r.Created, r.Listed, r.Updated, r.Staged, n)
		} else {
			f.Check(r.Unchanged == n && r.Listed == n && r.Created == 0 && r.Updated == 0 && r.Staged == 0,
				"re-run: unchanged %d listed %d created %d updated %d staged %d, want %d unchanged", r.Unchanged, r.Listed, r.Created, r.Updated, r.Staged, n)
		}
	}
	f.Check(leads == n, "%d leads, want %d", leads, n)
	return nil
}

// multiDrafts: parallel drafts (template path, no model configured) from
// one client_admin token, alternately through both APIs, each started with
// AI_USER_LIMIT_PER_HOUR = DraftLimit: exactly DraftLimit are answered,
// the rest refused with 429, and the ledger holds exactly DraftLimit rows.
func multiDrafts(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	_, apis, err := twoByTwo(ctx, s, fmt.Sprintf("AI_USER_LIMIT_PER_HOUR=%d", sz.DraftLimit))
	if err != nil {
		return err
	}
	tn, err := s.NewTenant(ctx, "drafts", "")
	if err != nil {
		return err
	}
	body := map[string]any{"campaign_name": "Spring check-ups", "target_audience": "patients overdue for a cleaning",
		"goal": "book a cleaning", "booking_link": "https://calendly.com/acme/checkup", "tone": "friendly"}
	resps := make([]Resp, sz.Drafts)
	errs := make([]error, sz.Drafts)
	var wg sync.WaitGroup
	for i := range resps {
		wg.Go(func() {
			resps[i], errs[i] = apis[i%2].Do(ctx, http.MethodPost, "/v1/messages/generate", tn.Token, body)
		})
	}
	wg.Wait()
	ok, limited, template := 0, 0, 0
	okBy := []int{0, 0}
	for i, r := range resps {
		if !f.Check(errs[i] == nil, "draft %d: %v", i, errs[i]) {
			continue
		}
		switch r.Status {
		case http.StatusOK:
			ok++
			okBy[i%2]++
			var d struct {
				IsTemplate bool   `json:"is_template"`
				Message    string `json:"message"`
			}
			if err := r.JSON(&d); err == nil && d.IsTemplate && strings.Contains(d.Message, "https://calendly.com/acme/checkup") {
				template++
			}
		case http.StatusTooManyRequests:
			limited++
			f.Check(r.Header.Get("Retry-After") != "" && r.Header.Get("X-RateLimit-Limit") == fmt.Sprint(sz.DraftLimit) &&
				strings.Contains(string(r.Body), "RATE_LIMITED"), "a 429 without its headers or code: %v %s", r.Header, r.Body)
		default:
			f.Fail("draft %d answered %s", i, r)
		}
	}
	var rows, completed int
	if err := s.DB.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'completed') FROM ai_generations WHERE client_id = $1`, tn.ID).
		Scan(&rows, &completed); err != nil {
		return err
	}
	f.Set("requests", sz.Drafts)
	f.Set("limit", sz.DraftLimit)
	f.Set("ok", ok)
	f.Set("ok_per_api", okBy)
	f.Set("rate_limited", limited)
	f.Set("template_answers", template)
	f.Set("ai_generations", rows)
	f.Set("completed", completed)
	want := min(sz.Drafts, sz.DraftLimit)
	f.Check(ok == want && limited == sz.Drafts-want, "%d answered, %d refused; want %d and %d", ok, limited, want, sz.Drafts-want)
	f.Check(template == ok, "%d of %d answers are the template", template, ok)
	f.Check(rows == want && completed == want, "ai_generations holds %d rows (%d completed), want %d", rows, completed, want)
	return nil
}

// maxOverlap is the largest number of spans that share an instant.
func maxOverlap(spans [][2]time.Time) int {
	best := 0
	for _, a := range spans {
		n := 0
		for _, b := range spans {
			if !b[0].After(a[0]) && b[1].After(a[0]) {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}
