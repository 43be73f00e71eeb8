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
	cl, err := st.GetClient(ctx, clientID)
	if err != nil {
		return store.SyncRun{}, err
	}
	if cl.AirtableBaseID == "" {
		return store.SyncRun{}, ErrNoBase
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
		return store.SyncRun{}, fmt.Errorf("record sync: %w", err)
	}
	_, err = tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wfID, TaskQueue: taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.ClientIDKey.ValueSet(clientID.String()), workflows.SyncPhaseKey.ValueSet(store.SyncListing)),
	}, workflows.AirtableSync, workflows.SyncInput{SyncID: syncID.String(), ClientID: clientID.String(), BaseID: cl.AirtableBaseID, Table: cl.AirtableTable,
		DecisionWindow: Default.DecisionWindow, Threshold: Default.AlertShare})
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

// ErrSignal: Temporal did not take the decision signal.
var ErrSignal = errors.New("could not signal the sync workflow")

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

// Decide sends the admin's decision (SignalApproveDeletions or
// SignalRejectDeletions) to a sync awaiting one, in scope (nil: any
// client), and writes the audit row. The API and the CLI both use it.
func Decide(ctx context.Context, st *store.Store, tc client.Client, scope *uuid.UUID, syncID uuid.UUID, signal, actor, requestID string) (store.SyncRun, error) {
	run, err := st.GetSyncRun(ctx, scope, syncID)
	if err != nil {
		return run, err
	}
	if run.Phase != store.SyncAwaitingDecision {
		return run, &NotAwaitingError{Phase: run.Phase}
	}
	if err := tc.SignalWorkflow(ctx, run.WorkflowID, "", signal, workflows.DecisionSignal{Actor: actor, SyncID: run.ID.String()}); err != nil {
		var gone *serviceerror.NotFound
		if errors.As(err, &gone) {
			// The workflow ended without deciding (terminated): the next
			// sync takes these staged leads over and asks again.
			return run, &NotAwaitingError{Phase: run.Phase,
				Why: "the sync's workflow ended without a decision; start a new sync: it takes over these staged leads and asks again"}
		}
		return run, fmt.Errorf("%w: %w", ErrSignal, err)
	}
	action := map[string]string{workflows.SignalApproveDeletions: "sync.approve_deletions", workflows.SignalRejectDeletions: "sync.reject_deletions"}[signal]
	err = store.LogActivity(ctx, st.Pool, store.Activity{ClientID: &run.ClientID, Actor: actor, Action: action, Entity: "sync",
		EntityID: run.ID.String(), Details: map[string]any{"staged": run.Staged, "request_id": requestID}})
	return run, err
}
