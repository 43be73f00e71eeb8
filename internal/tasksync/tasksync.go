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

// Force runs a cycle of the client's task sync now (starting it if
// needed) and answers its verdict.
func Force(ctx context.Context, tc client.Client, taskQueue string, clientID uuid.UUID, clientName, actor, requestID string, window time.Duration) (workflows.TaskSyncVerdict, error) {
	var v workflows.TaskSyncVerdict
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = Nudge(ctx, tc, taskQueue, clientID, clientName, workflows.SignalTaskPull, window); err != nil {
			return v, err
		}
		err = temporalx.Update(ctx, tc, workflows.TaskSyncWorkflowID(clientID.String()), workflows.UpdateForceTaskSync,
			workflows.ForceTaskSyncRequest{Actor: actor, RequestID: requestID}, &v)
		if !errors.Is(err, temporalx.ErrWorkflowGone) {
			break // the workflow ended between the two calls: start it again
		}
	}
	return v, err
}
