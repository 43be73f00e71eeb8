package workflows

import (
	"go.temporal.io/sdk/worker"

	"github.com/nurture-sms/nurture/activities"
)

// Register adds every workflow and the non-LLM activities to w (the main
// task queue). The drafting workflow's local activity (the usage ledger)
// runs here too.
func Register(w worker.Registry, camp *activities.Campaign, alerts *activities.Alerts, draft *activities.Draft, sync *activities.Sync) {
	w.RegisterWorkflow(Campaign)
	w.RegisterWorkflow(DraftMessage)
	w.RegisterWorkflow(AirtableSync)
	w.RegisterWorkflow(DeletionReview)
	w.RegisterWorkflow(ScheduledSync)
	w.RegisterWorkflow(EnsureAirtableWebhook)
	w.RegisterWorkflow(TaskSync)
	w.RegisterActivity(sync)
	w.RegisterActivity(camp)
	w.RegisterActivity(alerts)
	w.RegisterActivity(draft)
}

// RegisterLLM adds the model-calling activities to the worker of
// LLMTaskQueue, whose TaskQueueActivitiesPerSecond caps total model calls.
func RegisterLLM(w worker.Registry, draft *activities.Draft) {
	w.RegisterActivity(draft)
}

// RegisterSender adds the sequence-sending activity (SendDue) to w.
func RegisterSender(w worker.Registry, s *activities.Sender) {
	w.RegisterActivity(s)
}
