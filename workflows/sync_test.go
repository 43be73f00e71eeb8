package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

var sa *activities.Sync

func syncEnv(t *testing.T, verified bool, staged, live int) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.AirtableSync)
	env.RegisterActivity(&activities.Sync{})
	env.RegisterActivity(&activities.Alerts{})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Maybe()
	env.OnActivity(sa.UpdateRun, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(sa.ListPages, mock.Anything, mock.Anything).Return(activities.ListResult{Done: true, Pages: 3, Records: 250}, nil)
	env.OnActivity(sa.CountSync, mock.Anything, mock.Anything).Return(store.SyncCounts{Listed: 250, Created: 250}, nil)
	reason := ""
	if !verified {
		reason = "listing incomplete: record rec1 still exists"
	}
	env.OnActivity(sa.VerifyMissing, mock.Anything, mock.Anything).Return(activities.VerifyResult{Complete: verified, Reason: reason}, nil)
	env.OnActivity(sa.StageMissing, mock.Anything, mock.Anything).Return(staged, nil).Maybe()
	env.OnActivity(sa.LiveLeadCount, mock.Anything, mock.Anything).Return(live, nil).Maybe()
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
	env.OnActivity(sa.DeleteStaged, mock.Anything, mock.Anything).Return(400, nil).Once()
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
	env.AssertExpectations(t)
}
