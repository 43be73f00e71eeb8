package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
)

// Retry policies, in one place. Every activity's failures come in two
// kinds: bad input (an id that does not parse, a campaign that is not
// there) is a non-retryable ApplicationError ("InvalidInput", "NotFound",
// ...) and stops at once, whatever the policy; everything else is retried.
//
// Policies without MaximumAttempts retry until the step succeeds, on
// purpose: they only touch PostgreSQL (the system of record) and are
// idempotent, and what they carry out was already promised to someone (a
// cancel the API answered, a decision an admin took, a batch of a campaign
// that must end with exact counts). A database outage must make such a
// workflow wait, never fail and leave half-done state behind. The
// Temporal UI shows the attempt count and the last error meanwhile.
// Everything that talks to a third party (Airtable, the LLM, alert
// webhooks) is bounded.
// localRetryWindow bounds the retries of the local activities whose
// policy is unbounded (dbStepRetry, dbWorkRetry). The SDK bounds a local
// activity by its ScheduleToCloseTimeout, which defaults to its
// StartToCloseTimeout: left unset, "retried until the database answers"
// was one attempt, and a cancel that waited 10 s for the campaign's lock
// behind a slow enrollment batch failed the whole campaign workflow
// (found recording histories; TestCancelWaitingLongForTheLock). Every
// local activity sets ScheduleToCloseTimeout.
const localRetryWindow = 24 * time.Hour

var (
	// dbStepRetry: short database steps (local activities: status rows,
	// audit rows, counts). Unbounded, see above.
	dbStepRetry = &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 10 * time.Second}
	// dbWorkRetry: long idempotent database work (enrollment chunks,
	// staged deletions, restores), resumed from its heartbeat. Unbounded.
	dbWorkRetry = &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second}
	// airtableRetry: Airtable requests (listing, schema, verification,
	// write-back) after 5xx and network errors; 4xx are non-retryable.
	airtableRetry = func(attempts int32, nonRetryable ...string) *temporal.RetryPolicy {
		return &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: attempts,
			NonRetryableErrorTypes: nonRetryable}
	}
	// incrementalRetry: the webhook payloads apply (Airtable, then
	// Postgres; resumable from the stored cursor): 10 attempts, 4xx and a
	// schema mismatch non-retryable.
	incrementalRetry = airtableRetry(10, "AirtableRejected", "SchemaMismatch")
	// webhookRetry: registering or refreshing a webhook: 5 attempts (the
	// next day's tick tries again).
	webhookRetry = &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5,
		NonRetryableErrorTypes: []string{"AirtableRejected", "SchemaMismatch"}}
	// alertRetry: alert sinks (log, signed webhook): 10 attempts over
	// about 8 minutes; an undeliverable alert is logged and never blocks.
	alertRetry = &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10}
	// taskAirtableRetry: the task sync's pull and push (Airtable): 5
	// attempts; 4xx and a broken configuration are not retried. A failed
	// cycle is reported in its verdict and the next cycle tries again.
	taskAirtableRetry = airtableRetry(5, activities.ErrTypeAirtableRejected, activities.ErrTypeTaskConfig)
	// taskStatusRetry: the task sync's status read (Postgres), bounded:
	// 10 attempts within the local activity's 10 minutes.
	taskStatusRetry = &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 10 * time.Second, MaximumAttempts: 10}
)

// summarized names the next activity for the Temporal UI's timeline
// ("enroll chunk 3: 100,000 enrolled so far"); an operator reads it there
// instead of decoding inputs.
func summarized(ctx workflow.Context, format string, args ...any) workflow.Context {
	o := workflow.GetActivityOptions(ctx)
	o.Summary = fmt.Sprintf(format, args...)
	return workflow.WithActivityOptions(ctx, o)
}

// summarizedLocal is summarized for a local activity.
func summarizedLocal(ctx workflow.Context, format string, args ...any) workflow.Context {
	o := workflow.GetLocalActivityOptions(ctx)
	o.Summary = fmt.Sprintf(format, args...)
	return workflow.WithLocalActivityOptions(ctx, o)
}
