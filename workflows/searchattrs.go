// Package workflows holds Nurture's Temporal workflows. They do no I/O:
// every side effect is an activity in package activities.
package workflows

import "go.temporal.io/sdk/temporal"

// TaskQueue is the default task queue of the worker.
const TaskQueue = "nurture"

// Custom search attributes; the dev server registers them at start
// (see SearchAttributeArgs) so the Temporal UI can filter on them.
var (
	CampaignStatusKey = temporal.NewSearchAttributeKeyKeyword("CampaignStatus")
	ClientIDKey       = temporal.NewSearchAttributeKeyKeyword("ClientID")
	SyncPhaseKey      = temporal.NewSearchAttributeKeyKeyword("SyncPhase")
)

// SearchAttributes lists every custom attribute with its type, as
// `temporal server start-dev --search-attribute NAME=TYPE` expects.
var SearchAttributes = map[string]string{
	"CampaignStatus": "Keyword",
	"ClientID":       "Keyword",
	"SyncPhase":      "Keyword",
}
