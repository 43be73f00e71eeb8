package workflows

import (
	"slices"
	"testing"

	"github.com/nurture-sms/nurture/activities"
)

// The task sync's activities talk to Airtable or are short reads: every
// one of their policies is bounded, and bad configuration is not retried.
func TestTaskSyncPoliciesAreBounded(t *testing.T) {
	for name, p := range map[string]int32{"taskAirtableRetry": taskAirtableRetry.MaximumAttempts, "taskStatusRetry": taskStatusRetry.MaximumAttempts} {
		if p <= 0 || p > 10 {
			t.Errorf("%s: MaximumAttempts %d, want 1..10", name, p)
		}
	}
	for _, typ := range []string{activities.ErrTypeAirtableRejected, activities.ErrTypeTaskConfig} {
		if !slices.Contains(taskAirtableRetry.NonRetryableErrorTypes, typ) {
			t.Errorf("taskAirtableRetry retries %s", typ)
		}
	}
}
