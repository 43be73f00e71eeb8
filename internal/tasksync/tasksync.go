// Package tasksync starts and steers a client's TaskSync workflow
// (issue 12, HIGH-6) for the API and the schedule's trigger.
package tasksync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/workflows"
)

func startOptions(taskQueue string, clientID uuid.UUID, clientName string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: workflows.TaskSyncWorkflowID(clientID.String()), TaskQueue: taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         "Task sync for " + clientName,
		StaticDetails:         "Two-way sync of the client's Airtable Tasks table: local edits pushed after the conflict window, Airtable's pulled each cycle.",
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.ClientIDKey.ValueSet(clientID.String())),
	}
}

// Nudge tells the client's task sync that a task was edited (signal is
// workflows.SignalTaskEdited) or that it should pull now
// (workflows.SignalTaskPull), starting the workflow if none runs.
func Nudge(ctx context.Context, tc client.Client, taskQueue string, clientID uuid.UUID, clientName, signal string, window time.Duration) error {
	if tc == nil {
		return errors.New("temporal client not configured")
	}
	_, err := tc.SignalWithStartWorkflow(ctx, workflows.TaskSyncWorkflowID(clientID.String()), signal, nil,
		startOptions(taskQueue, clientID, clientName), workflows.TaskSync,
		workflows.TaskSyncInput{ClientID: clientID.String(), Window: window, Dirty: signal == workflows.SignalTaskEdited})
	if err != nil {
		return fmt.Errorf("signal task sync: %w", err)
	}
	return nil
}

// Force runs a cycle of the client's task sync now and answers its
// verdict: one update-with-start (WorkflowIDConflictPolicy USE_EXISTING),
// so it starts the workflow when none runs and wakes nothing else (a
// signal as well would leave a second wake-up behind). Every attempt
// carries one Update ID.
// A cycle that outlives timeout (0: temporalx.UpdateTimeout) after the
// workflow accepted the Update answers ErrStillRunning: the cycle carries
// on. A wait that ends before the workflow accepted it (Temporal down, no
// worker) is another error.
func Force(ctx context.Context, tc client.Client, taskQueue string, clientID uuid.UUID, clientName, actor, requestID string, window, timeout time.Duration) (workflows.TaskSyncVerdict, error) {
	var v workflows.TaskSyncVerdict
	if tc == nil {
		return v, errors.New("temporal client not configured")
	}
	if timeout <= 0 {
		timeout = temporalx.UpdateTimeout
	}
	uctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := startOptions(taskQueue, clientID, clientName)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	updateID := uuid.NewString()
	var err error
	for attempt := 1; attempt <= 20; attempt++ {
		op := tc.NewWithStartWorkflowOperation(opts, workflows.TaskSync, workflows.TaskSyncInput{ClientID: clientID.String(), Window: window})
		var handle client.WorkflowUpdateHandle
		handle, err = tc.UpdateWithStartWorkflow(uctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{UpdateID: updateID, UpdateName: workflows.UpdateForceTaskSync,
				WaitForStage: client.WorkflowUpdateStageAccepted, Args: []any{workflows.ForceTaskSyncRequest{Actor: actor, RequestID: requestID}}},
		})
		if err == nil {
			// Accepted: the cycle runs whether or not this caller waits for it.
			if err = handle.Get(uctx, &v); err != nil && uctx.Err() != nil && ctx.Err() == nil {
				return v, fmt.Errorf("%w: %w", ErrStillRunning, err)
			}
		}
		// The workflow's task failed as the Update arrived (it was ending): try again.
		if !errors.As(err, new(*serviceerror.WorkflowNotReady)) || uctx.Err() != nil {
			break
		}
		select {
		case <-uctx.Done():
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
	if err != nil {
		return v, fmt.Errorf("force task sync: %w", err)
	}
	return v, nil
}

// ErrStillRunning: Force's wait ended before the cycle did; the workflow
// had accepted the Update and answers it when the cycle ends.
var ErrStillRunning = errors.New("the task sync cycle is still running")

// Nudger is the worker's activities.Sync.TasksChanged: it marks the
// client's task sync dirty (starting it if none runs), so tasks left
// pending by Airtable's changes are pushed within the window.
func Nudger(tc client.Client, taskQueue string, window time.Duration) func(ctx context.Context, clientID uuid.UUID, clientName string) error {
	return func(ctx context.Context, clientID uuid.UUID, clientName string) error {
		return Nudge(ctx, tc, taskQueue, clientID, clientName, workflows.SignalTaskEdited, window)
	}
}
