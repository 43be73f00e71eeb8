package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

// eligibleTag marks the leads a scenario's campaign targets.
const eligibleTag = "chaos"

// seedLeads inserts n eligible leads tagged eligibleTag and n/10 that a
// campaign on that tag must leave alone (stopped, booked, closed, other
// tag), so "enrolled == eligible" is not "enrolled == everything".
func (s *Stack) seedLeads(ctx context.Context, clientID uuid.UUID, n int) error {
	_, err := s.DB.Pool.Exec(ctx, `
		INSERT INTO leads (client_id, airtable_record_id, first_name, phone, tags, icp_score, engagement_level, status)
		SELECT $1::uuid, 'recE' || g, 'Lead' || g, '+1555' || lpad(g::text, 7, '0'), ARRAY[$3::text],
		       g % 101, (ARRAY['low','medium','high'])[1 + g % 3], (ARRAY['new','contacted','engaged'])[1 + g % 3]
		FROM generate_series(1, $2) g`, clientID, n, eligibleTag)
	if err != nil {
		return fmt.Errorf("seed eligible leads: %w", err)
	}
	_, err = s.DB.Pool.Exec(ctx, `
		INSERT INTO leads (client_id, airtable_record_id, first_name, tags, sms_stop, booked, status)
		SELECT $1::uuid, 'recX' || g, 'Other' || g,
		       CASE WHEN g % 4 = 3 THEN ARRAY['other'] ELSE ARRAY[$3::text] END,
		       g % 4 = 0, g % 4 = 1, CASE WHEN g % 4 = 2 THEN 'closed' ELSE 'new' END
		FROM generate_series(1, $2) g`, clientID, max(n/10, 4), eligibleTag)
	if err != nil {
		return fmt.Errorf("seed ineligible leads: %w", err)
	}
	_, err = s.DB.Pool.Exec(ctx, `ANALYZE leads`)
	return err
}

// preview asks the API how many leads a campaign on eligibleTag would reach.
func preview(ctx context.Context, a *API, tok string) (store.AudienceCounts, error) {
	var c store.AudienceCounts
	r, err := a.Do(ctx, http.MethodPost, "/v1/campaigns/preview", tok, map[string]any{"target_tags": []string{eligibleTag}})
	if err != nil {
		return c, err
	}
	if r.Status != http.StatusOK {
		return c, fmt.Errorf("preview: %s", r)
	}
	return c, r.JSON(&c)
}

// campaignView is GET /v1/campaigns/{id}.
type campaignView struct {
	store.Campaign
	Progress *workflows.CampaignProgress `json:"progress"`
}

// createCampaign posts a campaign (body merged over a valid default).
func createCampaign(ctx context.Context, a *API, tok string, body map[string]any) (store.Campaign, error) {
	// The second step is a month away: the campaign sends its first message
	// (to the stack's SMS emulator) and its enrollments stay active, so
	// the scenarios' enrollment counts hold.
	req := map[string]any{"name": "chaos " + uuid.NewString()[:8],
		"messages": []map[string]any{{"body": "Hi {{first_name}}, time for a check-up? https://calendly.com/acme", "delay_minutes": 0},
			{"body": "Still interested, {{first_name}}?", "delay_minutes": 43200}}}
	for k, v := range body {
		req[k] = v
	}
	var c store.Campaign
	r, err := a.Do(ctx, http.MethodPost, "/v1/campaigns", tok, req)
	if err != nil {
		return c, err
	}
	if r.Status != http.StatusCreated {
		return c, fmt.Errorf("create campaign: %s", r)
	}
	return c, r.JSON(&c)
}

func getCampaign(ctx context.Context, a *API, tok string, id uuid.UUID) (campaignView, error) {
	var v campaignView
	r, err := a.Do(ctx, http.MethodGet, "/v1/campaigns/"+id.String(), tok, nil)
	if err != nil {
		return v, err
	}
	if r.Status != http.StatusOK {
		return v, fmt.Errorf("get campaign: %s", r)
	}
	return v, r.JSON(&v)
}

// waitCampaign polls the API until the campaign reaches one of statuses.
func waitCampaign(ctx context.Context, a *API, tok string, id uuid.UUID, limit time.Duration, statuses ...string) (campaignView, error) {
	deadline := time.Now().Add(limit)
	var v campaignView
	var err error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		v, err = getCampaign(ctx, a, tok, id)
		if err == nil && slices.Contains(statuses, v.Status) {
			return v, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return v, fmt.Errorf("campaign %s: %w", id, err)
	}
	return v, fmt.Errorf("campaign %s still %s after %s (want %v; last_error %q)", id, v.Status, limit, statuses, v.LastError)
}

// enrollmentFacts are what the database holds for a campaign.
type enrollmentFacts struct {
	Rows, Distinct, Counter int
	// DupActive counts leads in more than one active enrollment (any campaign).
	DupActive int
}

func (s *Stack) enrollments(ctx context.Context, campaignID uuid.UUID) (enrollmentFacts, error) {
	var e enrollmentFacts
	err := s.DB.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM campaign_enrollments WHERE campaign_id = $1),
			(SELECT count(DISTINCT lead_id) FROM campaign_enrollments WHERE campaign_id = $1),
			(SELECT enrolled_count FROM campaigns WHERE id = $1),
			(SELECT count(*) FROM (SELECT lead_id FROM campaign_enrollments WHERE status = 'active' GROUP BY lead_id HAVING count(*) > 1) d)`,
		campaignID).Scan(&e.Rows, &e.Distinct, &e.Counter, &e.DupActive)
	return e, err
}

// syncView is GET /v1/syncs/{id}.
type syncView struct {
	store.SyncRun
	Status *workflows.SyncStatus `json:"status"`
}

func startSync(ctx context.Context, a *API, tok string) (store.SyncRun, error) {
	var run store.SyncRun
	r, err := a.Do(ctx, http.MethodPost, "/v1/syncs", tok, map[string]any{})
	if err != nil {
		return run, err
	}
	if r.Status != http.StatusAccepted {
		return run, fmt.Errorf("start sync: %s", r)
	}
	return run, r.JSON(&run)
}

func getSync(ctx context.Context, a *API, tok string, id uuid.UUID) (syncView, error) {
	var v syncView
	r, err := a.Do(ctx, http.MethodGet, "/v1/syncs/"+id.String(), tok, nil)
	if err != nil {
		return v, err
	}
	if r.Status != http.StatusOK {
		return v, fmt.Errorf("get sync: %s", r)
	}
	return v, r.JSON(&v)
}

// waitSync polls the API until the sync reaches one of phases (failed
// ends the wait with an error unless it is wanted).
func waitSync(ctx context.Context, a *API, tok string, id uuid.UUID, limit time.Duration, phases ...string) (syncView, error) {
	deadline := time.Now().Add(limit)
	var v syncView
	var err error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		v, err = getSync(ctx, a, tok, id)
		if err == nil && slices.Contains(phases, v.Phase) {
			return v, nil
		}
		if err == nil && v.Phase == store.SyncFailed {
			return v, fmt.Errorf("sync %s failed: %s", id, v.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return v, fmt.Errorf("sync %s: %w", id, err)
	}
	return v, fmt.Errorf("sync %s still %s after %s (want %v)", id, v.Phase, limit, phases)
}

// seedBase creates an emulator base with n valid lead records and invalid
// ones (no usable phone), and answers the record ids in listing order.
func (s *Stack) seedBase(base string, n, invalid int) ([]string, error) {
	if _, err := s.Emu.CreateBase(base, "chaos", airtableemu.LeadsSpec()); err != nil {
		return nil, err
	}
	fields := make([]map[string]any, 0, n+invalid)
	for i := range n {
		fields = append(fields, map[string]any{
			airtableemu.FieldFirstName: fmt.Sprint("Lead", i), airtableemu.FieldPhone: fmt.Sprintf("+1555%07d", i),
			airtableemu.FieldEmail: fmt.Sprintf("l%d@example.com", i), airtableemu.FieldTags: []any{"webinar", "vip"},
			airtableemu.FieldICPScore: float64(i % 101), airtableemu.FieldEngagement: "high", airtableemu.FieldStatus: "new",
			airtableemu.FieldTimezone: "America/New_York",
		})
	}
	for range invalid {
		fields = append(fields, map[string]any{airtableemu.FieldFirstName: "NoPhone", airtableemu.FieldPhone: "555-1234"})
	}
	return s.Emu.SeedFields(base, airtableemu.LeadsTable, fields)
}

// baseID makes a valid Airtable base id (app + 14 characters).
func baseID(tag string) string {
	id := strings.ReplaceAll(uuid.NewString(), "-", "")
	return "app" + (tag + id)[:14]
}

func (s *Stack) count(ctx context.Context, q string, args ...any) (int, error) {
	var n int
	err := s.DB.Pool.QueryRow(ctx, q, args...).Scan(&n)
	return n, err
}

// TerminateWorkerBackends is the fault of the pg-terminate scenarios:
// every Postgres backend of the worker (application_name nurture-worker)
// in this stack's database is terminated. It answers how many were.
func (s *Stack) TerminateWorkerBackends(ctx context.Context) (int, error) {
	var n int
	err := s.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM (
			SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()) x WHERE t`, WorkerAppName).Scan(&n)
	return n, err
}

// gate is a harness transaction holding a lock that a worker statement
// will need, so a fault lands at a known point inside a batch: the
// worker's backend is then blocked in the middle of its transaction.
type gate struct {
	tx   pgx.Tx
	pid  int
	what string
}

func (s *Stack) openGate(ctx context.Context, what, stmt string, args ...any) (*gate, error) {
	tx, err := s.DB.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	g := &gate{tx: tx, what: what}
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&g.pid); err != nil {
		_ = tx.Rollback(ctx)
		return nil, err
	}
	if _, err := tx.Exec(ctx, stmt, args...); err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("gate %s: %w", what, err)
	}
	return g, nil
}

// enrollGate inserts, uncommitted, an active enrollment of lead in another
// (made-up) campaign: a claim that reaches the lead waits on the partial
// unique index until the gate ends. Rolled back, it leaves no trace.
func (s *Stack) enrollGate(ctx context.Context, clientID, lead uuid.UUID) (*gate, error) {
	return s.openGate(ctx, "enrollment of lead "+lead.String(),
		`INSERT INTO campaign_enrollments (campaign_id, lead_id, client_id, status) VALUES (gen_random_uuid(), $1, $2, 'active')`, lead, clientID)
}

// rowGate locks a lead row, as another transaction updating it would.
func (s *Stack) rowGate(ctx context.Context, lead uuid.UUID) (*gate, error) {
	return s.openGate(ctx, "row lock on lead "+lead.String(), `SELECT 1 FROM leads WHERE id = $1 FOR UPDATE`, lead)
}

// release ends the gate (nothing it did remains).
func (g *gate) release() {
	if g != nil && g.tx != nil {
		_ = g.tx.Rollback(context.Background())
		g.tx = nil
	}
}

// blocked is a worker backend waiting on a gate.
type blocked struct {
	PID   int
	Query string
}

// waitBlocked waits until a worker backend waits for the gate's lock.
func (s *Stack) waitBlocked(ctx context.Context, g *gate, limit time.Duration) (blocked, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var b blocked
		err := s.DB.Pool.QueryRow(ctx, `SELECT pid, regexp_replace(query, '\s+', ' ', 'g') FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database() AND $2::int = ANY(pg_blocking_pids(pid)) LIMIT 1`,
			WorkerAppName, g.pid).Scan(&b.PID, &b.Query)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return b, err
		}
		if ctx.Err() != nil {
			return b, ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return blocked{}, fmt.Errorf("no worker backend waited on the gate (%s) within %s", g.what, limit)
}

// waitBackendGone waits until a backend has exited (a killed worker's
// backend lives on until Postgres notices its client is gone).
func (s *Stack) waitBackendGone(ctx context.Context, pid int, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		n, err := s.count(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return time.Since(start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("backend %d of the killed worker still there after %s", pid, limit)
}

// waitCount polls a count query until it reaches at least n.
func (s *Stack) waitCount(ctx context.Context, n int, limit time.Duration, q string, args ...any) (int, error) {
	deadline := time.Now().Add(limit)
	got := 0
	for time.Now().Before(deadline) {
		var err error
		if got, err = s.count(ctx, q, args...); err != nil {
			return got, err
		}
		if got >= n {
			return got, nil
		}
		if ctx.Err() != nil {
			return got, ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return got, fmt.Errorf("count reached %d of %d within %s", got, n, limit)
}

// activityRetries counts the failed attempts of an activity type in the
// history of a workflow's latest run: a retried activity's started event
// carries the attempt that ended it.
func (s *Stack) activityRetries(ctx context.Context, workflowID, activityType string) (int, error) {
	it := s.TC.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	retries := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, err
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] == activityType {
			retries += int(a.GetAttempt()) - 1
		}
	}
	return retries, nil
}
