package workflows

import (
	"go.temporal.io/sdk/worker"

	"github.com/nurture-sms/nurture/activities"
)

// Register adds every workflow and activity to w.
func Register(w worker.Registry, camp *activities.Campaign, alerts *activities.Alerts) {
	w.RegisterWorkflow(Campaign)
	w.RegisterActivity(camp)
	w.RegisterActivity(alerts)
}
