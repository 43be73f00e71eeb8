package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

var sa *activities.Sync

// bareSyncEnv runs AirtableSync with only the run-row updates mocked.
func bareSyncEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.AirtableSync)
	env.RegisterActivity(&activities.Sync{})
	env.RegisterActivity(&activities.Alerts{})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Maybe()
	env.OnActivity(sa.UpdateRun, mock.Anything, mock.Anything).Return(nil).Maybe()
	return env
}

func syncEnv(t *testing.T, verified bool, staged, live int) *testsuite.TestWorkflowEnvironment {
	env := bareSyncEnv()
	env.OnActivity(sa.ListPages, mock.Anything, mock.Anything).Return(activities.ListResult{Done: true, Pages: 3, Records: 250}, nil)
	env.OnActivity(sa.CountSync, mock.Anything, mock.Anything).Return(store.SyncCounts{Listed: 250, Created: 250}, nil)
	reason := ""
	if !verified {
		reason = "listing incomplete: record rec1 still exists"
	}
	env.OnActivity(sa.VerifyMissing, mock.Anything, mock.Anything).Return(activities.VerifyResult{Complete: verified, Reason: reason}, nil)
	env.OnActivity(sa.StageMissing, mock.Anything, mock.Anything).Return(staged, nil).Maybe()
	env.OnActivity(sa.LiveLeadCount, mock.Anything, mock.Anything).Return(live, nil).Maybe()
	env.OnActivity(sa.WriteBack, mock.Anything, activities.WriteBackInput{ClientID: "c1", Budget: 20 * time.Second}).
		Return(activities.WriteBackResult{Written: 3, Done: true}, nil).Maybe()
	return env
}

func syncInput() workflows.SyncInput {
	return workflows.SyncInput{SyncID: "s1", ClientID: "c1", BaseID: "appX", Table: "Leads", DecisionWindow: 48 * time.Hour}
}

func TestSyncIncompleteListingStagesNothing(t *testing.T) {
	env := syncEnv(t, false, 0, 0)
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, store.SyncFailed, st.Phase)
	require.Contains(t, st.Error, "listing incomplete")
	env.AssertNotCalled(t, "StageMissing", mock.Anything, mock.Anything)
}

func TestSyncNoDecisionRestoresAfterTheWindow(t *testing.T) {
	env := syncEnv(t, true, 40, 960)
	var restoredAt time.Time
	start := env.Now()
	env.OnActivity(sa.RestoreStaged, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RestoreInput) (int, error) {
		restoredAt = env.Now()
		require.Equal(t, "expired", in.Reason)
		return 40, nil
	})
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "expired", st.Decision)
	require.Equal(t, 40, st.Restored)
	require.False(t, st.Alerted, "4%% is under the 5%% threshold")
	require.GreaterOrEqual(t, restoredAt.Sub(start), 48*time.Hour)
	env.AssertNotCalled(t, "DeleteStaged", mock.Anything, mock.Anything)
}

func TestSyncApproveDeletesAndAlertsAboveThreshold(t *testing.T) {
	env := syncEnv(t, true, 400, 600)
	env.OnActivity(al.SendAlert, mock.Anything, mock.Anything).Return(nil).Once()
	env.OnActivity(sa.DeleteStaged, mock.Anything, mock.Anything).Return(activities.DeleteResult{Deleted: 400}, nil).Once()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalApproveDeletions, workflows.DecisionSignal{Actor: "client_admin:x"})
	}, time.Hour)
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "approved", st.Decision)
	require.Equal(t, 400, st.Deleted)
	require.True(t, st.Alerted)
	require.Equal(t, 3, st.WrittenBack, "pending campaign write-backs are retried by the sync")
	env.AssertExpectations(t)
}

// A decision that arrives before anything is staged, or that names another
// sync, must not decide this run's staged deletions.
func TestSyncIgnoresEarlyAndForeignDecisions(t *testing.T) {
	env := syncEnv(t, true, 400, 600)
	env.OnActivity(al.SendAlert, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(sa.RestoreStaged, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RestoreInput) (int, error) {
		require.Equal(t, "client_admin:r", in.Actor)
		return 400, nil
	}).Once()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalApproveDeletions, workflows.DecisionSignal{Actor: "early"})
	}, 0)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalApproveDeletions, workflows.DecisionSignal{Actor: "other", SyncID: "s0"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalRejectDeletions, workflows.DecisionSignal{Actor: "client_admin:r", SyncID: "s1"})
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalApproveDeletions, workflows.DecisionSignal{Actor: "late", SyncID: "s1"})
	}, 2*time.Hour+time.Second)
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "rejected", st.Decision)
	require.Equal(t, 400, st.Restored)
	env.AssertNotCalled(t, "DeleteStaged", mock.Anything, mock.Anything)
}

// A webhook re-run queued during a long listing survives the listing's
// continue-as-new.
func TestSyncRerunSurvivesContinueAsNew(t *testing.T) {
	env := bareSyncEnv()
	env.OnActivity(sa.ListPages, mock.Anything, mock.Anything).Return(activities.ListResult{Offset: "itr/next", Pages: 2, Records: 200}, nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalRerun, nil) }, 0)
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var next workflows.SyncInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.True(t, next.Rerun, "the queued re-run is carried over")
	require.Equal(t, "s1", next.SyncID, "the same sync goes on listing")
	require.Equal(t, 400, next.State.Pages)
	require.Equal(t, "itr/next", next.State.Offset)
}

// A run that starts with a queued re-run finishes, then continues as a new
// sync with a fresh run row and nothing queued.
func TestSyncQueuedRerunStartsANewSync(t *testing.T) {
	env := syncEnv(t, true, 0, 1000)
	env.OnActivity(sa.CreateRun, mock.Anything, mock.Anything).Return(nil).Once()
	in := syncInput()
	in.Rerun = true
	env.ExecuteWorkflow(workflows.AirtableSync, in)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var next workflows.SyncInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.False(t, next.Rerun)
	require.Nil(t, next.State)
	require.NotEqual(t, "s1", next.SyncID)
	env.AssertExpectations(t)
}

// A listing whose iterator keeps expiring fails the sync instead of holding
// the client's sync forever; nothing is staged.
func TestSyncGivesUpOnEndlessIteratorRestarts(t *testing.T) {
	env := bareSyncEnv()
	env.OnActivity(sa.ListPages, mock.Anything, mock.Anything).Return(activities.ListResult{Offset: "itr/x", Pages: 1, Records: 100, Restarted: 2}, nil)
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, store.SyncFailed, st.Phase)
	require.Contains(t, st.Error, "iterator expired 6 times")
	env.AssertNotCalled(t, "StageMissing", mock.Anything, mock.Anything)
}
