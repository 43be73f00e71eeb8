package syncstart

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/nurture-sms/nurture/workflows"
)

// WebhookRefreshEvery is how often the Schedule checks a client's webhook:
// refreshed (Airtable's expire after 7 days), or re-created when it is
// gone or disabled, so a disabled hook costs at most an hour of changes
// waiting for the scheduled listing. Two Airtable requests a run.
const WebhookRefreshEvery = time.Hour

// RegisterWebhook registers (or refreshes, or re-creates) the client's
// Airtable webhook now, waiting for the answer, and creates (or replaces)
// the Schedule that checks it every hour. A new webhook also starts a
// full listing (WebhookResult.SyncID). The Schedule is created even when
// this registration fails (Airtable down, say): its next run tries again.
func RegisterWebhook(ctx context.Context, tc client.Client, taskQueue, clientID string) (workflows.WebhookResult, error) {
	var res workflows.WebhookResult
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WebhookWorkflowID(clientID), TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Airtable webhook for client " + clientID,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.ClientIDKey.ValueSet(clientID)),
	}, workflows.EnsureAirtableWebhook, clientID)
	if err != nil {
		return res, fmt.Errorf("start webhook registration: %w", err)
	}
	regErr := run.Get(ctx, &res)
	id := workflows.WebhookScheduleID(clientID)
	// The Schedule is replaced even when the caller gave up (Ctrl-C): a
	// deleted Schedule without its replacement would let the hook lapse.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = tc.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
	_, err = tc.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      id,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: WebhookRefreshEvery}}},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action: &client.ScheduleWorkflowAction{
			ID: workflows.WebhookWorkflowID(clientID), Workflow: workflows.EnsureAirtableWebhook, Args: []any{clientID}, TaskQueue: taskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.ClientIDKey.ValueSet(clientID)),
		},
	})
	if err != nil {
		return res, fmt.Errorf("create schedule %s: %w", id, err)
	}
	if regErr != nil {
		return res, fmt.Errorf("register webhook (the hourly schedule %s tries again): %w", id, regErr)
	}
	return res, nil
}
