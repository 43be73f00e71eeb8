package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
)

// WebhookWorkflowID is the per-client workflow that registers or refreshes
// the client's Airtable webhook; WebhookScheduleID the Schedule that runs
// it every day (well inside the webhook's 7-day life).
func WebhookWorkflowID(clientID string) string { return "airtable-webhook/" + clientID }

// WebhookScheduleID is the client's webhook refresh Schedule.
func WebhookScheduleID(clientID string) string { return "airtable-webhook-refresh/" + clientID }

// WebhookResult is what EnsureAirtableWebhook did.
type WebhookResult struct {
	activities.EnsureWebhookResult
	// SyncID: the full listing started because the webhook is new (the
	// time without one is covered by it); "" if none was needed or one ran.
	SyncID string `json:"sync_id,omitempty"`
}

// EnsureAirtableWebhook registers the client's webhook, refreshes it (7
// more days), or re-creates it when Airtable reports it gone, disabled or
// expired. A new webhook starts a full listing, which catches whatever
// changed while there was none.
func EnsureAirtableWebhook(ctx workflow.Context, clientID string) (WebhookResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 2 * time.Minute, RetryPolicy: webhookRetry})
	var res WebhookResult
	if err := workflow.ExecuteActivity(actx, sa.EnsureWebhook, activities.EnsureWebhookInput{ClientID: clientID}).Get(ctx, &res.EnsureWebhookResult); err != nil {
		return res, err
	}
	if !res.Created {
		return res, nil
	}
	sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: webhookRetry})
	if err := workflow.ExecuteActivity(sctx, StartSyncActivity, clientID).Get(ctx, &res.SyncID); err != nil {
		workflow.GetLogger(ctx).Warn("could not start the listing after a new webhook; the next scheduled sync covers it", "error", err)
	}
	return res, nil
}
