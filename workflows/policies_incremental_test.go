package workflows

import (
	"slices"
	"testing"

	"github.com/nurture-sms/nurture/activities"
)

// The incremental sync's activities talk to Airtable: their retries are
// bounded, and a refused request or a schema mismatch is not retried.
func TestIncrementalPoliciesAreBounded(t *testing.T) {
	for name, p := range map[string]struct {
		attempts int32
		nonRetry []string
	}{
		"incrementalRetry": {incrementalRetry.MaximumAttempts, incrementalRetry.NonRetryableErrorTypes},
		"webhookRetry":     {webhookRetry.MaximumAttempts, webhookRetry.NonRetryableErrorTypes},
	} {
		if p.attempts <= 0 || p.attempts > 10 {
			t.Errorf("%s: %d attempts, want 1..10", name, p.attempts)
		}
		for _, typ := range []string{activities.ErrTypeAirtableRejected, activities.ErrTypeSchema} {
			if !slices.Contains(p.nonRetry, typ) {
				t.Errorf("%s retries %s", name, typ)
			}
		}
	}
}
