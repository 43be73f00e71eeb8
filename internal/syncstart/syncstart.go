// Package syncstart starts a client's AirtableSyncWorkflow: the one place
// shared by the API, the webhook and the scheduled trigger.
package syncstart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/workflows"
)

// ErrNoBase: the client has no Airtable base configured.
var ErrNoBase = errors.New("the client has no Airtable base configured")

// RunningError says a sync is already running for the client.
type RunningError struct {
	SyncID     uuid.UUID
	WorkflowID string
}

func (e *RunningError) Error() string { return "a sync is already running: " + e.SyncID.String() }

// Policy is the deployment's sync policy (zero values: the workflow's defaults).
type Policy struct {
	DecisionWindow time.Duration
	AlertShare     float64
}

// Default is the policy Start uses; processes set it from their config at start-up.
var Default Policy

// Start records a sync run, commits it, then starts its workflow: the
// workflow never runs without its row. If the start fails the row goes
// away again (another sync is running: RunningError) or is closed as
// failed with the reason.
func Start(ctx context.Context, st *store.Store, tc client.Client, taskQueue string, clientID uuid.UUID, actor, requestID string) (store.SyncRun, error) {
	cl, syncID, err := newRun(ctx, st, clientID, actor, requestID)
	if err != nil {
		return store.SyncRun{}, err
	}
	wfID := workflows.SyncWorkflowID(clientID.String())
	_, err = tc.ExecuteWorkflow(ctx, startOptions(cl, taskQueue, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL), workflows.AirtableSync, syncInput(cl, syncID))
	// The caller's context may be gone by now; the clean-up must still run.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		if derr := st.DiscardSyncRun(cctx, syncID); derr != nil {
			return store.SyncRun{}, fmt.Errorf("discard sync run: %w", derr)
		}
		running, _ := st.RunningSyncID(cctx, clientID)
		return store.SyncRun{}, &RunningError{SyncID: running, WorkflowID: wfID}
	}
	if err != nil {
		_ = st.UpdateSyncRun(cctx, syncID, store.SyncUpdate{Phase: store.SyncFailed, Error: "could not start the workflow: " + err.Error(), Finished: true})
		return store.SyncRun{}, fmt.Errorf("start sync: %w", err)
	}
	return st.GetSyncRun(ctx, nil, syncID)
}

// Request starts the client's sync or, while one runs, queues a re-run on
// it, in one update-with-start (no retry loop between a start that
// conflicts and a signal that finds the sync just ended). It answers which
// sync will read the caller's changes.
func Request(ctx context.Context, st *store.Store, tc client.Client, taskQueue string, clientID uuid.UUID, actor, requestID string) (workflows.SyncRequestResult, error) {
	return request(ctx, st, tc, taskQueue, clientID, actor, requestID, false)
}

// RequestIncremental is Request for an Airtable webhook notification: the
// sync it starts applies the webhook's payloads after the stored cursor
// (falling back to a full listing when they cannot tell the whole story);
// under the same per-client workflow ID, so it never overlaps a listing: a
// notification while a sync runs queues an (incremental) re-run on it.
func RequestIncremental(ctx context.Context, st *store.Store, tc client.Client, taskQueue string, clientID uuid.UUID, actor, requestID string) (workflows.SyncRequestResult, error) {
	return request(ctx, st, tc, taskQueue, clientID, actor, requestID, true)
}

func request(ctx context.Context, st *store.Store, tc client.Client, taskQueue string, clientID uuid.UUID, actor, requestID string, incremental bool) (workflows.SyncRequestResult, error) {
	cl, syncID, err := newRun(ctx, st, clientID, actor, requestID)
	if err != nil {
		return workflows.SyncRequestResult{}, err
	}
	in := syncInput(cl, syncID)
	if incremental {
		in.Mode = workflows.ModeIncremental
	}
	op := tc.NewWithStartWorkflowOperation(startOptions(cl, taskQueue, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING),
		workflows.AirtableSync, in)
	var res workflows.SyncRequestResult
	handle, err := tc.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: workflows.UpdateRequestSync, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{workflows.SyncRequest{SyncID: syncID.String(), Actor: actor, RequestID: requestID, Incremental: incremental}}},
	})
	if err == nil {
		err = handle.Get(ctx, &res)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err != nil {
		_ = st.UpdateSyncRun(cctx, syncID, store.SyncUpdate{Phase: store.SyncFailed, Error: "could not start or join the sync: " + err.Error(), Finished: true})
		return res, fmt.Errorf("request sync: %w", err)
	}
	if !res.Started {
		// A running sync took the request: the run row made for a new one is not needed.
		if err := st.DiscardSyncRun(cctx, syncID); err != nil {
			return res, fmt.Errorf("discard sync run: %w", err)
		}
	}
	return res, nil
}

// newRun checks the client and commits a new run row with its audit row.
func newRun(ctx context.Context, st *store.Store, clientID uuid.UUID, actor, requestID string) (store.Client, uuid.UUID, error) {
	cl, err := st.GetClient(ctx, clientID)
	if err != nil {
		return cl, uuid.Nil, err
	}
	if cl.AirtableBaseID == "" {
		return cl, uuid.Nil, ErrNoBase
	}
	syncID := uuid.New()
	wfID := workflows.SyncWorkflowID(clientID.String())
	err = st.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sync_runs (id, client_id, workflow_id) VALUES ($1, $2, $3)`, syncID, clientID, wfID); err != nil {
			return err
		}
		return store.LogActivity(ctx, tx, store.Activity{ClientID: &clientID, Actor: actor, Action: "sync.start", Entity: "sync",
			EntityID: syncID.String(), Details: map[string]any{"request_id": requestID}})
	})
	if err != nil {
		return cl, uuid.Nil, fmt.Errorf("record sync: %w", err)
	}
	return cl, syncID, nil
}

func startOptions(cl store.Client, taskQueue string, conflict enumspb.WorkflowIdConflictPolicy) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: workflows.SyncWorkflowID(cl.ID.String()), TaskQueue: taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 conflict,
		WorkflowExecutionErrorWhenAlreadyStarted: conflict == enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		StaticSummary:                            "Airtable sync for " + cl.Name,
		StaticDetails:                            fmt.Sprintf("Base %s, table %q. Staged deletions wait for an admin in a DeletionReview.", cl.AirtableBaseID, cl.AirtableTable),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.ClientIDKey.ValueSet(cl.ID.String()), workflows.SyncPhaseKey.ValueSet(store.SyncListing)),
	}
}

func syncInput(cl store.Client, syncID uuid.UUID) workflows.SyncInput {
	return workflows.SyncInput{SyncID: syncID.String(), ClientID: cl.ID.String(), BaseID: cl.AirtableBaseID, Table: cl.AirtableTable,
		DecisionWindow: Default.DecisionWindow, Threshold: Default.AlertShare}
}

// NotAwaitingError says the sync has no pending decision.
type NotAwaitingError struct {
	Phase string
	Why   string // overrides the message
}

func (e *NotAwaitingError) Error() string {
	if e.Why != "" {
		return e.Why
	}
	return "sync is " + e.Phase + "; there is no decision to make"
}

// Decide sends the admin's decision (UpdateApproveDeletions or
// UpdateRejectDeletions) to the workflow that holds the sync's decision, in
// scope (nil: any client), and answers with that workflow's verdict: the
// decision it took, or a *temporalx.RefusedError with its reason (another
// decision came first, the window ended, nothing is awaiting one). The
// workflow writes the audit row of the decision it takes. The API and the
// CLI both use it.
func Decide(ctx context.Context, st *store.Store, tc client.Client, scope *uuid.UUID, syncID uuid.UUID, update, actor, requestID string) (store.SyncRun, workflows.DecisionResult, error) {
	var res workflows.DecisionResult
	run, err := st.GetSyncRun(ctx, scope, syncID)
	if err != nil {
		return run, res, err
	}
	err = temporalx.Update(ctx, tc, run.DecisionWorkflow(), update, workflows.DecisionRequest{Actor: actor, SyncID: run.ID.String(), RequestID: requestID}, &res)
	if errors.Is(err, temporalx.ErrWorkflowGone) {
		if run.FinishedAt == nil && run.Phase == store.SyncAwaitingDecision {
			// The workflow ended without deciding (an operator terminated
			// it): close the run, so the next sync takes these staged leads
			// over and asks again.
			if cerr := st.CloseAbandonedRun(context.WithoutCancel(ctx), run.ID); cerr != nil {
				return run, res, cerr
			}
			return run, res, &NotAwaitingError{Phase: run.Phase,
				Why: "the sync's review ended without a decision; start a new sync: it takes over these staged leads and asks again"}
		}
		return run, res, &NotAwaitingError{Phase: run.Phase}
	}
	return run, res, err
}
