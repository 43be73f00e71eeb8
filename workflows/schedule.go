package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// SyncScheduleID is the Temporal Schedule that syncs a client periodically.
func SyncScheduleID(clientID string) string { return "airtable-sync-schedule/" + clientID }

// StartSyncActivity is the trigger activity's name (syncstart.Trigger.StartSync;
// referred to by name because that package starts this one's workflows).
const StartSyncActivity = "StartSync"

// ScheduledSync is the Schedule's action: start the client's sync (the one
// with the per-client workflow ID), or skip the tick if one is running.
func ScheduledSync(ctx workflow.Context, clientID string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
	var syncID string
	err := workflow.ExecuteActivity(ctx, StartSyncActivity, clientID).Get(ctx, &syncID)
	return syncID, err
}
