package chaos

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

// faultKind is what a pg-terminate-* or sigkill-* scenario does to the worker.
type faultKind int

const (
	// pgTerminate: SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	// WHERE application_name = 'nurture-worker' (in the stack's database).
	pgTerminate faultKind = iota
	// sigkill: SIGKILL the worker process, then start it again.
	sigkill
)

// injector carries out one kind of fault on a stack's worker and keeps
// count of what it did.
type injector struct {
	kind       faultKind
	s          *Stack
	w          *Proc
	terminated []int // backends terminated by each pgTerminate fault
	orphans    int   // SIGKILLs whose worker's blocked backend outlived the worker
}

// inject is the fault itself; for sigkill the worker is started again by
// restart (after the caller released what the dead worker's backend waits on).
func (in *injector) inject(ctx context.Context) error {
	switch in.kind {
	case pgTerminate:
		n, err := in.s.TerminateWorkerBackends(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("pg_terminate_backend found no %s backend", WorkerAppName)
		}
		in.terminated = append(in.terminated, n)
		return nil
	default:
		return in.w.Kill()
	}
}

// noteOrphan records, after a SIGKILL, whether the dead worker's backend
// (blocked on the gate) is still there: Postgres notices a vanished client
// only when it next reads from or writes to it, so the backend keeps its
// uncommitted batch and its locks until its wait ends.
func (in *injector) noteOrphan(ctx context.Context, pid int) {
	if in.kind != sigkill {
		return
	}
	time.Sleep(500 * time.Millisecond)
	n, err := in.s.count(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid)
	if err == nil && n == 1 {
		in.orphans++
	}
}

// retries records how many attempts of the activity failed and checks
// that the faults cost at least atLeast of them (a fault that no attempt
// noticed did not test anything).
func (in *injector) retries(ctx context.Context, f *Facts, workflowID, activity string, atLeast int) error {
	n, err := in.s.activityRetries(ctx, workflowID, activity)
	if err != nil {
		return err
	}
	f.Set("activity_retries", n)
	f.Check(n >= atLeast, "%d failed attempts of %s, the faults should have cost at least %d", n, activity, atLeast)
	return nil
}

func (in *injector) restart(ctx context.Context) error {
	if in.kind != sigkill {
		return nil
	}
	return in.s.RestartWorker(ctx, in.w)
}

// facts records what the faults did, and that a worker only terminated
// from Postgres never died.
func (in *injector) facts(f *Facts) {
	switch in.kind {
	case pgTerminate:
		f.Set("backends_terminated", in.terminated)
		up, err := in.w.Running()
		f.Set("worker_survived", up && in.w.Starts() == 1)
		f.Check(up && in.w.Starts() == 1, "the worker did not survive its backends' termination: %v", err)
	case sigkill:
		f.Set("worker_starts", in.w.Starts())
		f.Set("backend_outlived_worker", in.orphans)
	}
}

func pgTerminateEnroll(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	return enrollUnderFaults(ctx, s, f, pgTerminate, sz.EnrollLeads, sz.PGEnrollKills)
}

func sigkillEnroll(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	return enrollUnderFaults(ctx, s, f, sigkill, sz.EnrollLeads, sz.EnrollSIGKILLs)
}

// enrollUnderFaults: a campaign over n eligible leads, created through the
// API, and `kills` faults each landing inside an enrollment batch. The
// point is made certain by a gate: the harness holds, uncommitted, an
// active enrollment of the eligible lead with the highest id, so the upper
// stream's claim inserts its whole batch and then waits on that one row;
// the fault hits it there. Afterwards: enrolled == eligible, each lead once.
func enrollUnderFaults(ctx context.Context, s *Stack, f *Facts, kind faultKind, n, kills int) error {
	w, err := s.StartWorker(ctx)
	if err != nil {
		return err
	}
	a, err := s.StartAPI(ctx)
	if err != nil {
		return err
	}
	tn, err := s.NewTenant(ctx, "enroll", "")
	if err != nil {
		return err
	}
	if err := s.seedLeads(ctx, tn.ID, n); err != nil {
		return err
	}
	pv, err := preview(ctx, a, tn.Token)
	if err != nil {
		return err
	}
	f.Set("eligible", pv.Eligible)
	if !f.Check(pv.Eligible == n, "preview counts %d eligible leads, %d were seeded", pv.Eligible, n) {
		return nil
	}
	var lead uuid.UUID
	if err := s.DB.Pool.QueryRow(ctx, `SELECT id FROM leads WHERE client_id = $1 AND tags && ARRAY[$2::text] AND NOT sms_stop AND NOT booked
		AND status IN ('new','contacted','engaged') ORDER BY id DESC LIMIT 1`, tn.ID, eligibleTag).Scan(&lead); err != nil {
		return err
	}
	g, err := s.enrollGate(ctx, tn.ID, lead)
	if err != nil {
		return err
	}
	defer func() { g.release() }()
	camp, err := createCampaign(ctx, a, tn.Token, map[string]any{"target_tags": []string{eligibleTag}})
	if err != nil {
		return err
	}
	in := &injector{kind: kind, s: s, w: w}
	var committed []int
	var lastFault time.Time
	for k := 1; k <= kills; k++ {
		b, err := s.waitBlocked(ctx, g, 3*time.Minute)
		if err != nil {
			return fmt.Errorf("fault %d: %w", k, err)
		}
		if !f.Check(strings.Contains(b.Query, "INSERT INTO campaign_enrollments"), "fault %d: the blocked worker statement is not the claim: %s", k, truncate(b.Query, 120)) {
			return nil
		}
		c, err := s.count(ctx, `SELECT count(*) FROM campaign_enrollments WHERE campaign_id = $1`, camp.ID)
		if err != nil {
			return err
		}
		committed = append(committed, c)
		s.env.logf("%s: fault %d inside a claim (pid %d, %d enrollments committed)", s.Name, k, b.PID, c)
		if err := in.inject(ctx); err != nil {
			return fmt.Errorf("fault %d: %w", k, err)
		}
		in.noteOrphan(ctx, b.PID)
		lastFault = time.Now()
		if kind == sigkill {
			// The dead worker's backend waits on the gate with its batch
			// uncommitted; let it finish its statement and notice its client
			// is gone (it rolls back), then gate the retry again.
			g.release()
		}
		if _, err := s.waitBackendGone(ctx, b.PID, time.Minute); err != nil {
			return err
		}
		if kind == sigkill && k < kills {
			if g, err = s.enrollGate(ctx, tn.ID, lead); err != nil {
				return err
			}
		}
		if err := in.restart(ctx); err != nil {
			return fmt.Errorf("restart after fault %d: %w", k, err)
		}
	}
	g.release()
	f.Set("faults", kills)
	f.Set("committed_at_faults", committed)
	v, err := waitCampaign(ctx, a, tn.Token, camp.ID, 5*time.Minute, campaign.StatusActive, campaign.StatusNoEligibleLeads)
	f.Set("recovered_in", time.Since(lastFault))
	if err != nil {
		return err
	}
	e, err := s.enrollments(ctx, camp.ID)
	if err != nil {
		return err
	}
	f.Set("enrolled", v.EnrolledCount)
	f.Set("expected", n)
	f.Set("rows", e.Rows)
	f.Set("distinct_leads", e.Distinct)
	f.Set("leads_in_two_active", e.DupActive)
	f.Set("status", v.Status)
	in.facts(f)
	if err := in.retries(ctx, f, v.WorkflowID, "EnrollChunk", kills); err != nil {
		return err
	}
	f.Check(v.Status == campaign.StatusActive && v.EnrollmentStatus == campaign.EnrollmentComplete, "campaign ended %s/%s", v.Status, v.EnrollmentStatus)
	f.Check(v.EnrolledCount == n && e.Counter == n && e.Rows == n && e.Distinct == n,
		"enrolled_count %d, rows %d, distinct leads %d, want %d", v.EnrolledCount, e.Rows, e.Distinct, n)
	f.Check(e.DupActive == 0, "%d leads are in two active enrollments", e.DupActive)
	return nil
}

func pgTerminateListing(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	return listingUnderFaults(ctx, s, f, pgTerminate, sz.ListRecords, sz.ListLatency, sz.PGListKills)
}

func sigkillListing(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	return listingUnderFaults(ctx, s, f, sigkill, sz.ListRecords, sz.ListLatency, sz.ListSIGKILLs)
}

// listingUnderFaults: a sync of n records (and a few invalid ones) with
// latency on every Airtable request, started through the API; a fault each
// time another share of the records has been imported, while the listing
// runs. Afterwards the run's counts are exact.
func listingUnderFaults(ctx context.Context, s *Stack, f *Facts, kind faultKind, n int, latency time.Duration, kills int) error {
	w, err := s.StartWorker(ctx)
	if err != nil {
		return err
	}
	a, err := s.StartAPI(ctx)
	if err != nil {
		return err
	}
	base := baseID("L")
	invalid := max(n/200, 3)
	if _, err := s.seedBase(base, n, invalid); err != nil {
		return err
	}
	tn, err := s.NewTenant(ctx, "listing", base)
	if err != nil {
		return err
	}
	if err := s.Emu.SetLatency(base, latency); err != nil {
		return err
	}
	run, err := startSync(ctx, a, tn.Token)
	if err != nil {
		return err
	}
	in := &injector{kind: kind, s: s, w: w}
	var atFault []int
	for k := 1; k <= kills; k++ {
		got, err := s.waitCount(ctx, n*k/(kills+1), 5*time.Minute, `SELECT count(*) FROM leads WHERE client_id = $1`, tn.ID)
		if err != nil {
			return fmt.Errorf("fault %d: %w", k, err)
		}
		var phase string
		if err := s.DB.Pool.QueryRow(ctx, `SELECT phase FROM sync_runs WHERE id = $1`, run.ID).Scan(&phase); err != nil {
			return err
		}
		if !f.Check(phase == store.SyncListing && got < n, "fault %d came too late: %d of %d imported, phase %s", k, got, n, phase) {
			return nil
		}
		atFault = append(atFault, got)
		s.env.logf("%s: fault %d during the listing (%d of %d imported)", s.Name, k, got, n)
		if err := in.inject(ctx); err != nil {
			return fmt.Errorf("fault %d: %w", k, err)
		}
		if err := in.restart(ctx); err != nil {
			return fmt.Errorf("restart after fault %d: %w", k, err)
		}
	}
	f.Set("records", n)
	f.Set("invalid_records", invalid)
	f.Set("faults", kills)
	f.Set("imported_at_faults", atFault)
	v, err := waitSync(ctx, a, tn.Token, run.ID, 10*time.Minute, store.SyncCompleted)
	if err != nil {
		return err
	}
	leads, err := s.count(ctx, `SELECT count(DISTINCT airtable_record_id) FROM leads WHERE client_id = $1`, tn.ID)
	if err != nil {
		return err
	}
	f.Set("created", v.Created)
	f.Set("listed", v.Listed)
	f.Set("invalid", v.Invalid)
	f.Set("updated", v.Updated)
	f.Set("staged", v.Staged)
	f.Set("leads", leads)
	var wst workflows.SyncStatus
	if err := s.TC.GetWorkflow(ctx, workflows.SyncWorkflowID(tn.ID.String()), "").Get(ctx, &wst); err != nil {
		return fmt.Errorf("sync workflow: %w", err)
	}
	f.Set("pages", v.Pages)
	f.Set("expected_pages", (n+invalid+99)/100)
	f.Set("workflow_records", wst.Records)
	// A termination that only hit idle connections may cost no attempt (the
	// pool drops dead connections); at least one must have hit a page.
	atLeast := kills
	if kind == pgTerminate {
		atLeast = 1
	}
	if err := in.retries(ctx, f, workflows.SyncWorkflowID(tn.ID.String()), "ListPages", atLeast); err != nil {
		return err
	}
	f.Check(wst.Records == n+invalid && wst.Pages == (n+invalid+99)/100, "the sync workflow's result counts %d records in %d pages, want %d in %d",
		wst.Records, wst.Pages, n+invalid, (n+invalid+99)/100)
	in.facts(f)
	f.Check(v.Created == n && v.Listed == n+invalid && v.Invalid == invalid && v.Updated == 0 && v.Unchanged == 0 && v.Staged == 0,
		"counts created %d listed %d invalid %d updated %d unchanged %d staged %d, want created %d listed %d invalid %d",
		v.Created, v.Listed, v.Invalid, v.Updated, v.Unchanged, v.Staged, n, n+invalid, invalid)
	f.Check(leads == n, "%d leads imported, want %d", leads, n)
	return nil
}

func pgTerminateDelete(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	return deleteUnderFaults(ctx, s, f, pgTerminate, sz.DeleteRecords, sz.DeleteRemoved, sz.PGDeleteKills)
}

func sigkillDelete(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	return deleteUnderFaults(ctx, s, f, sigkill, sz.DeleteRecords, sz.DeleteRemoved, sz.DeleteSIGKILLs)
}

// stagedSync syncs a base of total records, removes `removed` of them from
// Airtable and syncs again: the second run awaits the decision on exactly
// those. It answers the record ids (the removed ones first) and the run.
func stagedSync(ctx context.Context, s *Stack, a *API, f *Facts, total, removed int) (Tenant, []string, syncView, error) {
	base := baseID("D")
	ids, err := s.seedBase(base, total, 0)
	if err != nil {
		return Tenant{}, nil, syncView{}, err
	}
	tn, err := s.NewTenant(ctx, "delete", base)
	if err != nil {
		return tn, nil, syncView{}, err
	}
	first, err := startSync(ctx, a, tn.Token)
	if err != nil {
		return tn, nil, syncView{}, err
	}
	v, err := waitSync(ctx, a, tn.Token, first.ID, 5*time.Minute, store.SyncCompleted)
	if err != nil {
		return tn, nil, v, err
	}
	if v.Created != total {
		return tn, nil, v, fmt.Errorf("first sync created %d of %d", v.Created, total)
	}
	if _, err := s.Emu.DeleteRecords(base, airtableemu.LeadsTable, ids[:removed]...); err != nil {
		return tn, nil, v, err
	}
	second, err := startSync(ctx, a, tn.Token)
	if err != nil {
		return tn, nil, v, err
	}
	if v, err = waitSync(ctx, a, tn.Token, second.ID, 5*time.Minute, store.SyncAwaitingDecision); err != nil {
		return tn, nil, v, err
	}
	f.Set("records", total)
	f.Set("staged", v.Staged)
	if v.Staged != removed || v.ReviewWorkflowID == "" {
		return tn, nil, v, fmt.Errorf("second sync staged %d of %d removed records (review %q)", v.Staged, removed, v.ReviewWorkflowID)
	}
	return tn, ids, v, nil
}

// approve posts approve-deletions and checks the workflow's verdict.
func approve(ctx context.Context, a *API, tok string, syncID uuid.UUID, staged int) (Resp, error) {
	r, err := a.Do(ctx, http.MethodPost, "/v1/syncs/"+syncID.String()+"/approve-deletions", tok, nil)
	if err != nil || r.Status != http.StatusOK {
		return r, err
	}
	var res struct {
		Decision string `json:"decision"`
		Staged   int    `json:"staged"`
	}
	if err := r.JSON(&res); err != nil {
		return r, err
	}
	if res.Decision != "approved" || res.Staged != staged {
		return r, fmt.Errorf("approve answered %s", r)
	}
	return r, nil
}

// deleteUnderFaults: 'removed' of 'total' leads staged by a sync, the
// deletion approved through the API, and a fault inside each of `kills`
// deletion batches: a gate (the harness holding a row lock on one staged
// lead, at 1/(kills+1), 2/(kills+1), ... of the staged leads in id order)
// stops a batch's transaction in the middle, the fault hits it there, the
// gate is released. Afterwards exactly the staged leads are gone, each with
// one lead.delete audit row, and every other lead is untouched.
func deleteUnderFaults(ctx context.Context, s *Stack, f *Facts, kind faultKind, total, removed, kills int) error {
	w, err := s.StartWorker(ctx)
	if err != nil {
		return err
	}
	a, err := s.StartAPI(ctx)
	if err != nil {
		return err
	}
	tn, ids, v, err := stagedSync(ctx, s, a, f, total, removed)
	if err != nil {
		return err
	}
	var gates []*gate
	defer func() {
		for _, g := range gates {
			g.release()
		}
	}()
	for k := 1; k <= kills; k++ {
		var lead uuid.UUID
		if err := s.DB.Pool.QueryRow(ctx, `SELECT id FROM leads WHERE deletion_sync_id = $1 AND deleted_at IS NOT NULL ORDER BY id OFFSET $2 LIMIT 1`,
			v.ID, removed*k/(kills+1)).Scan(&lead); err != nil {
			return err
		}
		g, err := s.rowGate(ctx, lead)
		if err != nil {
			return err
		}
		gates = append(gates, g)
	}
	before, err := s.keptFingerprint(ctx, tn.ID)
	if err != nil {
		return err
	}
	r, err := approve(ctx, a, tn.Token, v.ID, removed)
	if err != nil {
		return err
	}
	if !f.Check(r.Status == http.StatusOK, "approve-deletions answered %s", r) {
		return nil
	}
	in := &injector{kind: kind, s: s, w: w}
	var atFault []int
	for k, g := range gates {
		b, err := s.waitBlocked(ctx, g, 3*time.Minute)
		if err != nil {
			return fmt.Errorf("fault %d: %w", k+1, err)
		}
		if !f.Check(strings.Contains(b.Query, "victims"), "fault %d: the blocked worker statement is not a deletion batch: %s", k+1, truncate(b.Query, 120)) {
			return nil
		}
		d, err := s.count(ctx, `SELECT deleted_count FROM sync_runs WHERE id = $1`, v.ID)
		if err != nil {
			return err
		}
		atFault = append(atFault, d)
		s.env.logf("%s: fault %d inside a deletion batch (pid %d, %d deleted)", s.Name, k+1, b.PID, d)
		if err := in.inject(ctx); err != nil {
			return fmt.Errorf("fault %d: %w", k+1, err)
		}
		in.noteOrphan(ctx, b.PID)
		g.release()
		if _, err := s.waitBackendGone(ctx, b.PID, time.Minute); err != nil {
			return err
		}
		if err := in.restart(ctx); err != nil {
			return fmt.Errorf("restart after fault %d: %w", k+1, err)
		}
	}
	f.Set("faults", kills)
	f.Set("deleted_at_faults", atFault)
	if _, err := waitSync(ctx, a, tn.Token, v.ID, 10*time.Minute, store.SyncCompleted); err != nil {
		return err
	}
	in.facts(f)
	after, err := s.keptFingerprint(ctx, tn.ID)
	if err != nil {
		return err
	}
	if err := in.retries(ctx, f, v.ReviewWorkflowID, "DeleteStaged", kills); err != nil {
		return err
	}
	f.Set("kept_untouched", before == after)
	f.Check(before == after, "leads that were not staged changed during the deletion")
	return s.checkDeletion(ctx, f, tn.ID, v.ID, v.ReviewWorkflowID, ids, removed)
}

// keptFingerprint is a digest of every lead of the client not staged for
// deletion, all columns.
func (s *Stack) keptFingerprint(ctx context.Context, clientID uuid.UUID) (string, error) {
	var fp string
	err := s.DB.Pool.QueryRow(ctx, `SELECT md5(coalesce(string_agg(l::text, '|' ORDER BY l.id), '')) FROM leads l
		WHERE client_id = $1 AND deleted_at IS NULL`, clientID).Scan(&fp)
	return fp, err
}

// checkDeletion checks an approved deletion: exactly the removed records'
// leads are gone, each with one lead.delete audit row, every other lead is
// live, and the run and its review workflow say so.
func (s *Stack) checkDeletion(ctx context.Context, f *Facts, clientID, syncID uuid.UUID, reviewWF string, ids []string, removed int) error {
	var staged, deleted, restored int
	var phase string
	if err := s.DB.Pool.QueryRow(ctx, `SELECT staged_count, deleted_count, restored_count, phase FROM sync_runs WHERE id = $1`, syncID).
		Scan(&staged, &deleted, &restored, &phase); err != nil {
		return err
	}
	var audits, left, removedLeft, keptLive int
	err := s.DB.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM activity_log WHERE action = 'lead.delete' AND details->>'sync_id' = $2::text),
			(SELECT count(*) FROM leads WHERE client_id = $1),
			(SELECT count(*) FROM leads WHERE client_id = $1 AND airtable_record_id = ANY($3)),
			(SELECT count(*) FROM leads WHERE client_id = $1 AND airtable_record_id = ANY($4) AND deleted_at IS NULL)`,
		clientID, syncID, ids[:removed], ids[removed:]).Scan(&audits, &left, &removedLeft, &keptLive)
	if err != nil {
		return err
	}
	var review workflows.SyncStatus
	if err := s.TC.GetWorkflow(ctx, reviewWF, "").Get(ctx, &review); err != nil {
		return fmt.Errorf("review workflow %s: %w", reviewWF, err)
	}
	kept := len(ids) - removed
	f.Set("deleted", deleted)
	f.Set("audit_rows", audits)
	f.Set("restored", restored)
	f.Set("leads_left", left)
	f.Set("kept_live", keptLive)
	f.Set("review_result_deleted", review.Deleted)
	f.Check(phase == store.SyncCompleted, "run ended %s", phase)
	f.Check(staged == removed && deleted == removed && restored == 0, "staged %d deleted %d restored %d, want %d deleted", staged, deleted, restored, removed)
	f.Check(audits == removed, "%d lead.delete audit rows, want %d", audits, removed)
	f.Check(removedLeft == 0 && left == kept && keptLive == kept, "leads left %d (want %d), removed still there %d, kept live %d", left, kept, removedLeft, keptLive)
	f.Check(review.Deleted == removed, "the DeletionReview's result says %d deleted, the database %d", review.Deleted, deleted)
	return nil
}
