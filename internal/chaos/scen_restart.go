package chaos

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/store"
)

// restartTemporal stops the dev server with SIGTERM, waits for it to exit,
// starts it again on the same port and state file, and waits for health.
// Then it checks that the worker and API processes lived through it and
// talk to the new server: a process that died is a finding (the scenario
// fails), and it is started again only so the rest can be measured.
// It answers when the restarted server was SERVING.
func restartTemporal(ctx context.Context, s *Stack, f *Facts, down time.Duration, workers []*Proc, apis []*API) (time.Time, error) {
	took, err := s.Temporal.Restart(ctx, down)
	if err != nil {
		return time.Time{}, fmt.Errorf("restart temporal: %w", err)
	}
	serving := time.Now()
	f.Set("temporal_restart", took)
	// A fresh harness client, so the re-poll times measure the worker's
	// reconnect, not the harness's own connection backoff.
	if err := s.redial(ctx); err != nil {
		return serving, err
	}
	for _, w := range workers {
		up, perr := w.Running()
		f.Set(w.Name+"_survived", up)
		if !up {
			f.Fail("%s exited during the Temporal restart (%v): %s", w.Name, perr, w.Tail(600))
			f.Set(w.Name+"_restarted_by_harness", true)
			if err := s.RestartWorker(ctx, w); err != nil {
				return serving, err
			}
			continue
		}
		d, err := s.WaitPolling(ctx, w, 2*time.Minute)
		if err != nil {
			f.Fail("%s does not poll the restarted server: %v", w.Name, err)
			continue
		}
		// An upper bound: the task queue's root partition lists the poller
		// once one of the worker's polls lands there.
		f.Set(w.Name+"_seen_polling_after", d)
	}
	for _, a := range apis {
		up, perr := a.Running()
		f.Set(a.Name+"_survived", up)
		if !up {
			f.Fail("%s exited during the Temporal restart (%v): %s", a.Name, perr, a.Tail(600))
			f.Set(a.Name+"_restarted_by_harness", true)
			if err := a.Start(); err != nil {
				return serving, err
			}
		}
		d, err := a.WaitReady(ctx, 2*time.Minute)
		if err != nil {
			f.Fail("%s not ready after the restart: %v", a.Name, err)
			continue
		}
		f.Set(a.Name+"_ready_after", d)
	}
	return serving, nil
}

// temporalRestartTimer: a campaign scheduled StartAhead ahead; while its
// workflow sleeps on the start timer Temporal is restarted. It must still
// activate on time (never before start_at) and end active with exactly the
// eligible leads enrolled.
func temporalRestartTimer(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	w, err := s.StartWorker(ctx)
	if err != nil {
		return err
	}
	a, err := s.StartAPI(ctx)
	if err != nil {
		return err
	}
	tn, err := s.NewTenant(ctx, "timer", "")
	if err != nil {
		return err
	}
	n := sz.TimerLeads
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
	startAt := time.Now().Add(sz.StartAhead).UTC()
	camp, err := createCampaign(ctx, a, tn.Token, map[string]any{"target_tags": []string{eligibleTag}, "start_at": startAt.Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	// The workflow is on its timer once its progress query says scheduled.
	for {
		v, err := getCampaign(ctx, a, tn.Token, camp.ID)
		if err != nil {
			return err
		}
		if v.Progress != nil && v.Progress.Status == campaign.StatusScheduled {
			break
		}
		if time.Now().After(startAt) {
			return fmt.Errorf("the campaign's workflow never reported scheduled before start_at (status %s)", v.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.Set("start_ahead", sz.StartAhead)
	stopAt := time.Now()
	serving, err := restartTemporal(ctx, s, f, sz.Downtime, []*Proc{w}, []*API{a})
	if err != nil {
		return err
	}
	// Both relative to start_at: how long before it Temporal went down and
	// was serving again (negative: after it).
	f.Set("stopped_before_start_at", startAt.Sub(stopAt))
	f.Set("serving_before_start_at", startAt.Sub(serving))
	f.Check(stopAt.Before(startAt), "Temporal went down after start_at: the timer was not pending")
	v, err := waitCampaign(ctx, a, tn.Token, camp.ID, time.Until(startAt)+3*time.Minute, campaign.StatusActive, campaign.StatusNoEligibleLeads)
	if err != nil {
		return err
	}
	e, err := s.enrollments(ctx, camp.ID)
	if err != nil {
		return err
	}
	late := v.ActivatedAt.Sub(startAt)
	f.Set("lateness", late)
	f.Set("enrolled", v.EnrolledCount)
	f.Set("expected", n)
	f.Set("rows", e.Rows)
	f.Set("leads_in_two_active", e.DupActive)
	f.Set("status", v.Status)
	f.Check(!v.ActivatedAt.Before(startAt), "activated %s before start_at", -late)
	if sz.MaxLateness > 0 {
		f.Check(late <= sz.MaxLateness, "activated %s after start_at (allowed %s)", late, sz.MaxLateness)
	}
	f.Check(v.Status == campaign.StatusActive && v.EnrollmentStatus == campaign.EnrollmentComplete, "campaign ended %s/%s", v.Status, v.EnrollmentStatus)
	f.Check(v.EnrolledCount == n && e.Rows == n && e.Distinct == n, "enrolled_count %d, rows %d, distinct %d, want %d", v.EnrolledCount, e.Rows, e.Distinct, n)
	f.Check(e.DupActive == 0, "%d leads are in two active enrollments", e.DupActive)
	return nil
}

// temporalRestartReview: a sync's staged deletions await the admin in their
// DeletionReview; Temporal is restarted; then the approval through the API
// must be taken (200) and carried out exactly.
func temporalRestartReview(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	w, err := s.StartWorker(ctx)
	if err != nil {
		return err
	}
	a, err := s.StartAPI(ctx)
	if err != nil {
		return err
	}
	tn, ids, v, err := stagedSync(ctx, s, a, f, sz.ReviewRecords, sz.ReviewRemoved)
	if err != nil {
		return err
	}
	if _, err := restartTemporal(ctx, s, f, sz.Downtime, []*Proc{w}, []*API{a}); err != nil {
		return err
	}
	start := time.Now()
	r, err := approve(ctx, a, tn.Token, v.ID, sz.ReviewRemoved)
	f.Set("approve_status", r.Status)
	f.Set("approve_took", time.Since(start))
	if err != nil {
		return err
	}
	if !f.Check(r.Status == http.StatusOK, "approve-deletions after the restart answered %s", r) {
		return nil
	}
	if _, err := waitSync(ctx, a, tn.Token, v.ID, 5*time.Minute, store.SyncCompleted); err != nil {
		return err
	}
	return s.checkDeletion(ctx, f, tn.ID, v.ID, v.ReviewWorkflowID, ids, sz.ReviewRemoved)
}
