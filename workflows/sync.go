package workflows

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/store"
)

// Messages of the AirtableSyncWorkflow and its DeletionReview. The
// decisions are Updates with validators (usable from the Temporal UI and
// `temporal workflow update execute --name approve-deletions`): racing
// decisions get one verdict each, and the workflow writes the audit row of
// the one it took. The signals of the same names are what v0 workflows
// (started before Updates) listened to; they are still read there.
const (
	UpdateApproveDeletions = "approve-deletions"
	UpdateRejectDeletions  = "reject-deletions"
	// UpdateRequestSync joins a running sync: with update-with-start, a
	// webhook starts the client's sync or, while one runs, queues a re-run.
	UpdateRequestSync = "request-sync"
	QuerySyncStatus   = "status"

	// Legacy signals (v0).
	SignalApproveDeletions = UpdateApproveDeletions
	SignalRejectDeletions  = UpdateRejectDeletions
	// SignalRerun asks a running sync to run once more when it ends (webhooks).
	SignalRerun = "rerun"
)

// SyncWorkflowID is the one workflow ID per client: one running sync at a time.
func SyncWorkflowID(clientID string) string { return "airtable-sync/" + clientID }

// ReviewWorkflowID is the DeletionReview of one sync's staged deletions.
func ReviewWorkflowID(syncID string) string { return "airtable-sync-review/" + syncID }

// DecisionRequest is the argument of approve-deletions and
// reject-deletions: who decides, for which sync (an operator in the Temporal
// UI may leave both out).
type DecisionRequest struct {
	Actor     string `json:"actor,omitempty"`
	SyncID    string `json:"sync_id,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// DecisionResult is the workflow's verdict on a decision it took.
type DecisionResult struct {
	SyncID   string `json:"sync_id"`
	Decision string `json:"decision"`
	Staged   int    `json:"staged"`
}

// SyncRequest is the argument of request-sync: the sync the caller would
// start (its run row is committed) and who asks.
type SyncRequest struct {
	SyncID    string `json:"sync_id"`
	Actor     string `json:"actor,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Incremental: an Airtable webhook notification; the payloads after the
	// stored cursor tell what changed (a queued re-run reads them too).
	Incremental bool `json:"incremental,omitempty"`
}

// SyncRequestResult says what became of a request-sync.
type SyncRequestResult struct {
	// SyncID is the sync that will read the caller's changes.
	SyncID string `json:"sync_id"`
	// Started: the caller's own sync was started by this request.
	Started bool `json:"started"`
	// RerunQueued: a sync was already running; it runs once more when it ends.
	RerunQueued bool `json:"rerun_queued"`
}

// DecisionSignal carries who decided, and for which sync. A decision is
// taken only while this run awaits one and only for its own sync: one
// naming another sync (an admin who approved an earlier run, racing a
// re-run under the same workflow ID) or arriving before the deletions were
// staged is ignored, so no staged set is ever decided unseen. SyncID may be
// left empty by an operator signalling from the Temporal UI.
type DecisionSignal struct {
	Actor  string `json:"actor"`
	SyncID string `json:"sync_id,omitempty"`
}

// SyncInput starts (or continues) an AirtableSyncWorkflow.
type SyncInput struct {
	SyncID, ClientID, BaseID, Table string
	// DecisionWindow: staged deletions not decided within it are restored.
	DecisionWindow time.Duration
	// Threshold: staging more than this share of the client's leads raises an alert.
	Threshold    float64
	PageBudget   time.Duration
	VerifySample int
	// DeleteHeartbeat bounds how long a dead worker holds the deletion
	// activity before another worker resumes it (default 30 s).
	DeleteHeartbeat time.Duration
	State           *SyncStatus
	// Rerun carries a queued webhook re-run across continue-as-new.
	Rerun bool
	// Mode: "" (a full listing) or ModeIncremental (apply the webhook
	// payloads; falls back to a full listing when they cannot tell the
	// whole story).
	Mode string `json:",omitempty"`
}

// ModeIncremental is SyncInput.Mode of an incremental apply (issue 12).
const ModeIncremental = "incremental"

// SyncStatus is what the status query answers.
type SyncStatus struct {
	SyncID    string           `json:"sync_id"`
	Phase     string           `json:"phase"`
	Offset    string           `json:"offset"`
	Pages     int              `json:"pages"`
	Records   int              `json:"records"`
	Restarted int              `json:"listing_restarts"`
	Waited429 int              `json:"waited_429"`
	Counts    store.SyncCounts `json:"counts"`
	Staged    int              `json:"staged"`
	Deleted   int              `json:"deleted"`
	Restored  int              `json:"restored"`
	Decision  string           `json:"decision"`
	Alerted   bool             `json:"alerted"`
	// Pending campaign write-backs this run retried (see writeBackPending).
	WrittenBack    int    `json:"written_back"`
	WriteBackError string `json:"writeback_error,omitempty"`
	Error          string `json:"error"`
	// Incremental runs (issue 12): payloads applied, and why the run fell
	// back to a full listing.
	Mode     string `json:"mode,omitempty"`
	Payloads int    `json:"payloads,omitempty"`
	Fallback string `json:"fallback,omitempty"`
	// Missed: for a verified full listing while the webhook watched the
	// base (since before the previous complete listing began; not a
	// fallback), the leads it created or changed, i.e. changes the
	// incremental path had not brought (should be 0). Unset otherwise.
	Missed *int `json:"missed_changes,omitempty"`
}

// Defaults of the sync.
const (
	// MaxListingRestarts: expired iterators tolerated in one sync.
	MaxListingRestarts    = 5
	DefaultDecisionWindow = 7 * 24 * time.Hour
	DefaultThreshold      = 0.05
)

var sa *activities.Sync

// AirtableSync is the AirtableSyncWorkflow: page through the client's
// Airtable table (each stretch of pages one activity, the offset in
// workflow state), upsert each page, and only after a complete listing
// (verified by fetching a sample of the missing records by id) stage the
// leads Airtable no longer has as soft deletes; then wait for the admin:
// approve deletes them in batches, reject or the end of the decision window
// restores them.
func AirtableSync(ctx workflow.Context, in SyncInput) (*SyncStatus, error) {
	rerunCh := workflow.GetSignalChannel(ctx, SignalRerun)
	rerun := in.Rerun
	// A queued re-run is incremental only if every request for it was (one
	// carried across continue-as-new counts as a full one).
	rerunFull := in.Rerun
	workflow.Go(ctx, func(ctx workflow.Context) {
		for rerunCh.Receive(ctx, nil) {
			rerun, rerunFull = true, true
		}
	})
	if err := workflow.SetUpdateHandler(ctx, UpdateRequestSync, func(ctx workflow.Context, req SyncRequest) (SyncRequestResult, error) {
		if req.SyncID == in.SyncID {
			// update-with-start started this very run for the caller.
			return SyncRequestResult{SyncID: in.SyncID, Started: true}, nil
		}
		rerun = true
		rerunFull = rerunFull || !req.Incremental
		return SyncRequestResult{SyncID: in.SyncID, RerunQueued: true}, nil
	}); err != nil {
		return nil, err
	}
	// drain takes re-run signals that arrived in this very workflow task.
	drain := func() bool {
		for rerunCh.ReceiveAsync(nil) {
			rerun, rerunFull = true, true
		}
		return rerun
	}
	st, err := airtableSync(ctx, in, drain)
	if err == nil {
		err = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}
	if err != nil || !drain() {
		return st, err
	}
	// A webhook arrived while this run worked: run once more, as a new sync.
	var next string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return uuid.NewString() }).Get(&next); err != nil {
		return nil, err
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second,
		ScheduleToCloseTimeout: localRetryWindow, RetryPolicy: dbStepRetry})
	if err := workflow.ExecuteLocalActivity(lctx, sa.CreateRun, activities.CreateRunInput{
		SyncID: next, ClientID: in.ClientID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}).Get(ctx, nil); err != nil {
		return nil, err
	}
	again := in
	again.SyncID, again.State, again.Rerun = next, nil, false
	// Only webhook notifications asked for the re-run: it reads their
	// payloads (falling back to a listing if need be); anything else lists.
	again.Mode = ModeIncremental
	if rerunFull {
		again.Mode = ""
	}
	return nil, workflow.NewContinueAsNewError(ctx, AirtableSync, again)
}

// withSyncDefaults fills the tuning knobs left zero.
func withSyncDefaults(in SyncInput) SyncInput {
	if in.DecisionWindow <= 0 {
		in.DecisionWindow = DefaultDecisionWindow
	}
	if in.Threshold <= 0 {
		in.Threshold = DefaultThreshold
	}
	if in.PageBudget <= 0 {
		in.PageBudget = 20 * time.Second
	}
	if in.VerifySample <= 0 {
		in.VerifySample = 10
	}
	if in.DeleteHeartbeat <= 0 {
		in.DeleteHeartbeat = 30 * time.Second
	}
	return in
}

func airtableSync(ctx workflow.Context, in SyncInput, rerunQueued func() bool) (*SyncStatus, error) {
	in = withSyncDefaults(in)
	st := &SyncStatus{SyncID: in.SyncID, Phase: store.SyncListing}
	if in.State != nil {
		st = in.State
	}
	if err := workflow.SetQueryHandler(ctx, QuerySyncStatus, func() (SyncStatus, error) { return *st, nil }); err != nil {
		return nil, err
	}
	box, err := newDecisionBox(ctx, in, st)
	if err != nil {
		return nil, err
	}
	box.listenLegacySignals(ctx)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: localRetryWindow,
		RetryPolicy:            dbStepRetry,
	})
	record := func(finished bool) error {
		u := store.SyncUpdate{Phase: st.Phase, Pages: st.Pages, Error: st.Error, Finished: finished,
			WrittenBack: st.WrittenBack, WriteBackError: st.WriteBackError,
			Mode: st.Mode, Payloads: st.Payloads, FallbackReason: st.Fallback, Missed: st.Missed}
		if st.Counts != (store.SyncCounts{}) {
			c := st.Counts
			u.Counts = &c
		}
		if err := workflow.UpsertTypedSearchAttributes(ctx, SyncPhaseKey.ValueSet(st.Phase)); err != nil {
			return err
		}
		return workflow.ExecuteLocalActivity(lctx, sa.UpdateRun, activities.UpdateRunInput{SyncID: in.SyncID, Update: u}).Get(ctx, nil)
	}
	fail := func(reason string) (*SyncStatus, error) {
		st.Phase, st.Error = store.SyncFailed, reason
		if err := record(true); err != nil {
			return nil, err
		}
		return st, nil
	}
	names := activities.StageInput{SyncID: in.SyncID, ClientID: in.ClientID}

	if st.Phase == store.SyncListing && in.Mode == ModeIncremental && st.Mode == "" &&
		workflow.GetVersion(ctx, "incremental-sync", workflow.DefaultVersion, 1) == 1 {
		done, err := incremental(ctx, in, st, record, lctx)
		if err != nil || done {
			return st, err
		}
		// Fallen back: a full listing follows, as any other sync's.
	}
	if st.Phase == store.SyncListing {
		if st.Pages == 0 && st.Offset == "" && workflow.GetVersion(ctx, "check-schema", workflow.DefaultVersion, 1) == 1 {
			// The mapped fields must all be in the table: a renamed "SMS
			// Stop" column must fail the sync, not read as false everywhere.
			sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: time.Minute,
				RetryPolicy:         airtableRetry(10, activities.ErrTypeAirtableRejected, activities.ErrTypeSchema),
			})
			if err := workflow.ExecuteActivity(sctx, sa.CheckSchema, activities.SchemaInput{ClientID: in.ClientID, BaseID: in.BaseID, Table: in.Table}).Get(ctx, nil); err != nil {
				return fail("the Airtable table does not match the client's field mapping: " + rootMessage(err))
			}
		}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: in.PageBudget + 2*time.Minute,
			HeartbeatTimeout:    45 * time.Second,
			RetryPolicy:         airtableRetry(10, activities.ErrTypeAirtableRejected),
		})
		for chunks := 0; ; chunks++ {
			if chunks >= 200 || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				next := in
				next.State, next.Rerun = st, rerunQueued()
				return nil, workflow.NewContinueAsNewError(ctx, AirtableSync, next)
			}
			var res activities.ListResult
			err := workflow.ExecuteActivity(summarized(actx, "list pages: %d records so far", st.Records), sa.ListPages, activities.ListInput{
				SyncID: in.SyncID, ClientID: in.ClientID, BaseID: in.BaseID, Table: in.Table, Offset: st.Offset, Budget: in.PageBudget,
			}).Get(ctx, &res)
			if err != nil {
				// Nothing is staged or deleted after an incomplete listing.
				return fail("listing did not complete: " + rootMessage(err))
			}
			st.Offset, st.Pages, st.Records = res.Offset, st.Pages+res.Pages, st.Records+res.Records
			st.Restarted += res.Restarted
			st.Waited429 += res.Waited429
			if st.Restarted > MaxListingRestarts {
				// A listing that outlives Airtable's iterator every time would
				// hold the client's sync forever.
				return fail(fmt.Sprintf("listing did not complete: Airtable's iterator expired %d times before the listing ended", st.Restarted))
			}
			if res.Done {
				break
			}
			if err := record(false); err != nil {
				return nil, err
			}
		}
		actx2 := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 5 * time.Minute, HeartbeatTimeout: 45 * time.Second,
			RetryPolicy: airtableRetry(10),
		})
		if err := workflow.ExecuteLocalActivity(lctx, sa.CountSync, names).Get(ctx, &st.Counts); err != nil {
			return nil, err
		}
		missedCovered := false
		missedV := workflow.GetVersion(ctx, "incremental-missed", workflow.DefaultVersion, 2)
		switch missedV {
		case 1:
			// The nightly listing is the safety net of the incremental path:
			// the leads whose values it changed are what the webhooks missed.
			missed := st.Counts.Updated
			st.Missed = &missed
		case 2:
			// v2: counted only when the webhook watched the base since before
			// the previous complete listing began and this is no fallback
			// (otherwise the listing covers a time without the incremental
			// path, and its changes are no misses): the leads it created or
			// changed, set once the listing is verified (below).
			if err := workflow.ExecuteLocalActivity(lctx, sa.WebhookCovered, names).Get(ctx, &missedCovered); err != nil {
				return nil, err
			}
		}
		var v activities.VerifyResult
		if err := workflow.ExecuteActivity(summarized(actx2, "verify the listing: sample %d missing records", in.VerifySample), sa.VerifyMissing, activities.VerifyInput{
			SyncID: in.SyncID, ClientID: in.ClientID, BaseID: in.BaseID, Table: in.Table, Sample: in.VerifySample,
		}).Get(ctx, &v); err != nil {
			return fail("could not verify the listing: " + rootMessage(err))
		}
		if !v.Complete {
			return fail(v.Reason)
		}
		if missedV == 2 && missedCovered && st.Fallback == "" {
			// Staged leads are not counted: a lead whose deletion an admin
			// rejected is staged again by every listing, and would read as
			// a miss each night.
			missed := st.Counts.Created + st.Counts.Updated
			st.Missed = &missed
		}
		if workflow.GetVersion(ctx, "stage-in-batches", workflow.DefaultVersion, 1) == 1 {
			// Batches of 10,000 rows, heartbeated, instead of one unbounded UPDATE in a local activity.
			stctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: time.Hour, HeartbeatTimeout: 45 * time.Second, RetryPolicy: dbWorkRetry,
			})
			if err := workflow.ExecuteActivity(summarized(stctx, "stage the leads missing from Airtable"), sa.StageMissingBatches, names).Get(ctx, &st.Staged); err != nil {
				return nil, err
			}
		} else if err := workflow.ExecuteLocalActivity(lctx, sa.StageMissing, names).Get(ctx, &st.Staged); err != nil {
			return nil, err
		}
		// Campaign write-backs an earlier run could not finish are retried
		// here too, so an hourly schedule drains them without a new campaign.
		// A failure is reported and never fails the sync.
		n, err := writeBackPending(ctx, in.ClientID)
		st.WrittenBack = n
		if err != nil {
			st.WriteBackError = rootMessage(err)
			workflow.GetLogger(ctx).Warn("write-back of pending enrollments failed", "error", err)
		}
		if st.Staged == 0 {
			st.Phase = store.SyncCompleted
			return st, record(true)
		}
		// v1: the decision waits in its own workflow (DeletionReview), so
		// this one ends and the client's next syncs keep importing
		// meanwhile (they leave this staged set alone). Until the review
		// runs, the run is "staging" and no decision can be sent.
		review := workflow.GetVersion(ctx, "deletion-review", workflow.DefaultVersion, 1) == 1
		st.Phase = store.SyncAwaitingDecision
		if review {
			st.Phase = store.SyncStaging
		}
		if err := record(false); err != nil {
			return nil, err
		}
		if err := alertIfMany(ctx, in, st, lctx); err != nil {
			return nil, err
		}
		if review {
			return st, handOverToReview(ctx, in, st, lctx)
		}
	}

	if st.Phase == store.SyncAwaitingDecision {
		return st, settle(ctx, in, st, box, record)
	}
	return st, nil
}

// alertIfMany raises the mass-deletion alert when the staged share of the
// client's leads is above the threshold.
func alertIfMany(ctx workflow.Context, in SyncInput, st *SyncStatus, lctx workflow.Context) error {
	var live int
	if err := workflow.ExecuteLocalActivity(lctx, sa.LiveLeadCount, in.ClientID).Get(ctx, &live); err != nil {
		return err
	}
	if share := float64(st.Staged) / float64(st.Staged+live); share > in.Threshold {
		st.Alerted = true
		aactx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         alertRetry,
		})
		if err := workflow.ExecuteActivity(aactx, al.SendAlert, activities.Alert{
			ID: workflow.GetInfo(ctx).WorkflowExecution.ID + "/" + in.SyncID + "/mass-deletion", ClientID: in.ClientID,
			Kind: "sync.mass_deletion_staged", Severity: "warning", Subject: "Airtable sync staged many deletions",
			Message: fmt.Sprintf("%d leads (%.1f%%) are missing from Airtable and staged for deletion; nothing is deleted until an admin approves.",
				st.Staged, 100*share),
			SyncID: in.SyncID, Details: map[string]any{"staged": st.Staged, "share": share}, At: workflow.Now(ctx),
		}).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("alert delivery failed", "error", err)
		}
	}
	return nil
}

// incremental applies the client's webhook payloads (ApplyPayloads: created
// and changed records upserted as the listing does, destroyed records
// staged as soft deletes of this sync). Staged leads go to a DeletionReview
// exactly as a listing's do (alert threshold, approve, reject, window).
// done=false: the payloads could not tell the whole story (no webhook,
// cursor expired, a gap, webhook gone) and the caller lists the table.
func incremental(ctx workflow.Context, in SyncInput, st *SyncStatus, record func(bool) error, lctx workflow.Context) (bool, error) {
	st.Mode = ModeIncremental
	if err := record(false); err != nil {
		return false, err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute, HeartbeatTimeout: 45 * time.Second,
		RetryPolicy: incrementalRetry,
	})
	var res activities.IncrementalResult
	if err := workflow.ExecuteActivity(summarized(actx, "apply Airtable webhook payloads"), sa.ApplyPayloads,
		activities.IncrementalInput{SyncID: in.SyncID, ClientID: in.ClientID}).Get(ctx, &res); err != nil {
		st.Phase, st.Error = store.SyncFailed, "incremental apply failed: "+rootMessage(err)
		return true, record(true)
	}
	st.Payloads = res.Payloads
	if res.Fallback != "" {
		st.Fallback = res.Fallback
		workflow.GetLogger(ctx).Info("incremental sync falls back to a full listing", "reason", res.Fallback)
		return false, record(false)
	}
	if err := workflow.ExecuteLocalActivity(lctx, sa.CountSync, activities.StageInput{SyncID: in.SyncID, ClientID: in.ClientID}).Get(ctx, &st.Counts); err != nil {
		return false, err
	}
	st.Staged = res.Staged
	if st.Staged == 0 {
		st.Phase = store.SyncCompleted
		return true, record(true)
	}
	st.Phase = store.SyncStaging
	if err := record(false); err != nil {
		return false, err
	}
	if err := alertIfMany(ctx, in, st, lctx); err != nil {
		return false, err
	}
	return true, handOverToReview(ctx, in, st, lctx)
}

// handOverToReview starts the sync's DeletionReview (it outlives this
// workflow) and, once it runs, records it on the run row, which then
// awaits the decision (sent to the review).
func handOverToReview(ctx workflow.Context, in SyncInput, st *SyncStatus, lctx workflow.Context) error {
	s := *st
	s.Phase = store.SyncAwaitingDecision
	rin := in
	rin.State = &s
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        ReviewWorkflowID(in.SyncID),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:     fmt.Sprintf("Review of %d staged deletions (sync %s)", st.Staged, in.SyncID),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			ClientIDKey.ValueSet(in.ClientID), SyncPhaseKey.ValueSet(store.SyncAwaitingDecision)),
	})
	child := workflow.ExecuteChildWorkflow(cctx, DeletionReview, rin)
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return err
	}
	if err := workflow.ExecuteLocalActivity(lctx, sa.SetReviewWorkflow, activities.ReviewRef{SyncID: in.SyncID, WorkflowID: ReviewWorkflowID(in.SyncID)}).Get(ctx, nil); err != nil {
		return err
	}
	// This run's answer; it ends in this very task, so no decision reaches
	// it (they go to the review).
	st.Phase = store.SyncAwaitingDecision
	return nil
}

// DeletionReview is the admin's decision on one sync's staged deletions:
// it waits for approve-deletions or reject-deletions (Updates) against the
// decision window, then deletes (approve) or restores (reject, expiry) them.
func DeletionReview(ctx workflow.Context, in SyncInput) (*SyncStatus, error) {
	in = withSyncDefaults(in)
	st := in.State
	if st == nil {
		return nil, temporal.NewNonRetryableApplicationError("a review needs the sync's state", ErrTypeInvalid, nil)
	}
	if err := workflow.SetQueryHandler(ctx, QuerySyncStatus, func() (SyncStatus, error) { return *st, nil }); err != nil {
		return nil, err
	}
	box, err := newDecisionBox(ctx, in, st)
	if err != nil {
		return nil, err
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: localRetryWindow,
		RetryPolicy:            dbStepRetry,
	})
	record := func(finished bool) error {
		if err := workflow.UpsertTypedSearchAttributes(ctx, SyncPhaseKey.ValueSet(st.Phase)); err != nil {
			return err
		}
		return workflow.ExecuteLocalActivity(lctx, sa.UpdateRun, activities.UpdateRunInput{SyncID: in.SyncID,
			Update: store.SyncUpdate{Phase: st.Phase, Pages: st.Pages, Error: st.Error, Finished: finished,
				WrittenBack: st.WrittenBack, WriteBackError: st.WriteBackError}}).Get(ctx, nil)
	}
	if err := settle(ctx, in, st, box, record); err != nil {
		return nil, err
	}
	return st, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// settle waits for the decision (or the end of the window) and carries it out.
func settle(ctx workflow.Context, in SyncInput, st *SyncStatus, box *decisionBox, record func(bool) error) error {
	decided, err := workflow.AwaitWithTimeout(ctx, in.DecisionWindow, func() bool { return st.Decision != "" })
	if err != nil {
		return err
	}
	if !decided {
		st.Decision = "expired"
	}
	// An Update's decision is carried out once its audit row is written.
	if err := workflow.Await(ctx, func() bool { return box.recorded || st.Decision == "expired" }); err != nil {
		return err
	}
	sig := box.decider
	switch {
	case !decided:
		sig.Actor = "system:decision-window"
	case sig.Actor == "":
		sig.Actor = "temporal-signal"
	}
	if st.Decision == "approved" {
		st.Phase = store.SyncDeleting
	} else {
		st.Phase = store.SyncRestoring
	}
	if err := record(false); err != nil {
		return err
	}
	dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour, HeartbeatTimeout: in.DeleteHeartbeat,
		RetryPolicy: dbWorkRetry,
	})
	if st.Phase == store.SyncDeleting {
		var res activities.DeleteResult
		if err := workflow.ExecuteActivity(dctx, sa.DeleteStaged, activities.DeleteInput{
			SyncID: in.SyncID, Actor: sig.Actor, BaseID: in.BaseID, Table: in.Table,
		}).Get(ctx, &res); err != nil {
			return err
		}
		st.Deleted, st.Restored = res.Deleted, res.Restored
	} else {
		if err := workflow.ExecuteActivity(dctx, sa.RestoreStaged, activities.RestoreInput{
			SyncID: in.SyncID, ClientID: in.ClientID, Actor: sig.Actor, Reason: st.Decision,
		}).Get(ctx, &st.Restored); err != nil {
			return err
		}
	}
	st.Phase = store.SyncCompleted
	return record(true)
}
