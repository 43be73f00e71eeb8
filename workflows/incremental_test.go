package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

func incrementalInput() workflows.SyncInput {
	in := syncInput()
	in.Mode = workflows.ModeIncremental
	return in
}

// Applied payloads: no listing, counts from the rows, completed.
func TestIncrementalSyncAppliesWithoutListing(t *testing.T) {
	env := bareSyncEnv()
	env.OnActivity(sa.ApplyPayloads, mock.Anything, activities.IncrementalInput{SyncID: "s1", ClientID: "c1"}).
		Return(activities.IncrementalResult{Payloads: 2, Records: 3, Cursor: 7}, nil).Once()
	env.OnActivity(sa.CountSync, mock.Anything, mock.Anything).Return(store.SyncCounts{Listed: 3, Updated: 3}, nil).Once()
	env.ExecuteWorkflow(workflows.AirtableSync, incrementalInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, store.SyncCompleted, st.Phase)
	require.Equal(t, workflows.ModeIncremental, st.Mode)
	require.Equal(t, 2, st.Payloads)
	require.Equal(t, 3, st.Counts.Updated)
	require.Zero(t, st.Pages)
	env.AssertNotCalled(t, "ListPages", mock.Anything, mock.Anything)
	env.AssertExpectations(t)
}

// Destroyed records go to the same DeletionReview as a listing's staged leads.
func TestIncrementalSyncHandsDestroyedRecordsToAReview(t *testing.T) {
	env := bareSyncEnv()
	env.OnActivity(sa.ApplyPayloads, mock.Anything, mock.Anything).Return(activities.IncrementalResult{Payloads: 1, Staged: 10}, nil).Once()
	env.OnActivity(sa.CountSync, mock.Anything, mock.Anything).Return(store.SyncCounts{}, nil)
	env.OnActivity(sa.LiveLeadCount, mock.Anything, mock.Anything).Return(990, nil).Once()
	var review workflows.SyncInput
	env.OnWorkflow(workflows.DeletionReview, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in workflows.SyncInput) (*workflows.SyncStatus, error) {
		review = in
		return in.State, nil
	})
	env.OnActivity(sa.SetReviewWorkflow, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(workflows.AirtableSync, incrementalInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, store.SyncAwaitingDecision, st.Phase)
	require.False(t, st.Alerted, "10 of 1,000 is below the alert threshold")
	require.Equal(t, 10, review.State.Staged)
	env.AssertExpectations(t)
}

// A lost cursor falls back to a full listing in the same run.
func TestIncrementalSyncFallsBackToAListing(t *testing.T) {
	env := syncEnv(t, true, 0, 0)
	env.OnActivity(sa.ApplyPayloads, mock.Anything, mock.Anything).Return(activities.IncrementalResult{Fallback: "the payload cursor expired"}, nil).Once()
	env.ExecuteWorkflow(workflows.AirtableSync, incrementalInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, store.SyncCompleted, st.Phase)
	require.Equal(t, "the payload cursor expired", st.Fallback)
	require.Equal(t, 3, st.Pages)
	require.Nil(t, st.Missed, "a fallback listing covers a time without the incremental path: nothing to call missed")
	env.AssertExpectations(t)
}

// A full listing while the webhook watched the base reports what it found
// that the incremental path had not brought: created, changed and staged
// leads; without a webhook watching since the previous listing, nothing.
func TestFullListingReportsMissedChanges(t *testing.T) {
	for _, covered := range []bool{true, false} {
		env := bareSyncEnv()
		env.OnActivity(sa.WebhookCovered, mock.Anything, mock.Anything).Return(covered, nil).Once()
		env.OnActivity(sa.ListPages, mock.Anything, mock.Anything).Return(activities.ListResult{Done: true, Pages: 1, Records: 100}, nil)
		env.OnActivity(sa.CountSync, mock.Anything, mock.Anything).Return(store.SyncCounts{Listed: 100, Created: 2, Updated: 3, Unchanged: 95}, nil)
		env.OnActivity(sa.VerifyMissing, mock.Anything, mock.Anything).Return(activities.VerifyResult{Complete: true}, nil)
		env.OnActivity(sa.StageMissingBatches, mock.Anything, mock.Anything).Return(1, nil)
		env.OnActivity(sa.LiveLeadCount, mock.Anything, mock.Anything).Return(100, nil)
		env.OnActivity(sa.WriteBack, mock.Anything, mock.Anything).Return(activities.WriteBackResult{Done: true}, nil).Maybe()
		env.OnActivity(sa.SetReviewWorkflow, mock.Anything, mock.Anything).Return(nil).Maybe()
		env.OnWorkflow(workflows.DeletionReview, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in workflows.SyncInput) (*workflows.SyncStatus, error) {
			return in.State, nil
		}).Maybe()
		env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
		require.NoError(t, env.GetWorkflowError())
		var st workflows.SyncStatus
		require.NoError(t, env.GetWorkflowResult(&st))
		if covered {
			require.NotNil(t, st.Missed)
			require.Equal(t, 2+3, *st.Missed)
		} else {
			require.Nil(t, st.Missed)
		}
		env.AssertExpectations(t)
	}
}

// A schema mismatch or a refused request fails the sync, naming it.
func TestIncrementalSyncFailsOnASchemaMismatch(t *testing.T) {
	env := bareSyncEnv()
	env.OnActivity(sa.ApplyPayloads, mock.Anything, mock.Anything).Return(activities.IncrementalResult{},
		temporal.NewNonRetryableApplicationError(`table "Leads" has no column for phone (column "Phone")`, activities.ErrTypeSchema, nil)).Once()
	env.ExecuteWorkflow(workflows.AirtableSync, incrementalInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, store.SyncFailed, st.Phase)
	require.Contains(t, st.Error, `no column for phone`)
	env.AssertExpectations(t)
}

// A new webhook starts a full listing; a refreshed one does not.
func TestEnsureWebhookStartsAListingOnlyForANewWebhook(t *testing.T) {
	for _, created := range []bool{true, false} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterWorkflow(workflows.EnsureAirtableWebhook)
		env.RegisterActivity(&activities.Sync{})
		calls := 0
		env.RegisterActivityWithOptions(func(clientID string) (string, error) { calls++; return "s9", nil }, activity.RegisterOptions{Name: workflows.StartSyncActivity})
		env.OnActivity(sa.EnsureWebhook, mock.Anything, activities.EnsureWebhookInput{ClientID: "c1"}).
			Return(activities.EnsureWebhookResult{WebhookID: "ach1", Created: created, Refreshed: !created}, nil).Once()
		env.ExecuteWorkflow(workflows.EnsureAirtableWebhook, "c1")
		require.NoError(t, env.GetWorkflowError())
		var res workflows.WebhookResult
		require.NoError(t, env.GetWorkflowResult(&res))
		if created {
			require.Equal(t, 1, calls)
			require.Equal(t, "s9", res.SyncID)
		} else {
			require.Zero(t, calls)
			require.Empty(t, res.SyncID)
		}
	}
}
