package syncstart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/nurture-sms/nurture/workflows"
)

// Schedule creates (or replaces) the client's Temporal Schedule that starts
// a sync every interval; overlapping ticks are skipped.
func Schedule(ctx context.Context, tc client.Client, taskQueue, clientID string, every time.Duration, triggerNow bool) error {
	if every < time.Minute {
		return fmt.Errorf("the sync interval must be at least 1m")
	}
	id := workflows.SyncScheduleID(clientID)
	_ = Unschedule(ctx, tc, clientID)
	_, err := tc.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:                 id,
		Spec:               client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Overlap:            0, // SKIP
		TriggerImmediately: triggerNow,
		Action: &client.ScheduleWorkflowAction{
			ID: "airtable-sync-trigger/" + clientID, Workflow: workflows.ScheduledSync, Args: []any{clientID}, TaskQueue: taskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.ClientIDKey.ValueSet(clientID)),
		},
	})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	return nil
}

// Unschedule deletes the client's schedule (no error if there is none).
func Unschedule(ctx context.Context, tc client.Client, clientID string) error {
	err := tc.ScheduleClient().GetHandle(ctx, workflows.SyncScheduleID(clientID)).Delete(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}
