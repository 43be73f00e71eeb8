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

func taskEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.TaskSync)
	env.RegisterActivity(&activities.Sync{})
	return env
}

// An edit waits out the window (a durable timer), is pushed, and the
// workflow ends after its quiet cycles.
func TestTaskSyncPushesAfterTheWindow(t *testing.T) {
	env := taskEnv()
	var pushedAt []time.Time
	start := env.Now()
	env.OnActivity(sa.PullTasks, mock.Anything, activities.TaskPullInput{ClientID: "c1"}).Return(activities.TaskApplyResult{}, nil)
	env.OnActivity(sa.PushTasks, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.TaskPushInput) (activities.TaskPushResult, error) {
		pushedAt = append(pushedAt, env.Now())
		if len(pushedAt) == 1 {
			return activities.TaskPushResult{Updated: 1, Done: true}, nil
		}
		return activities.TaskPushResult{Done: true}, nil
	})
	env.OnActivity(sa.TaskSyncStatus, mock.Anything, "c1").Return(store.TaskSyncStatus{}, nil)
	env.ExecuteWorkflow(workflows.TaskSync, workflows.TaskSyncInput{ClientID: "c1", Window: 10 * time.Second, Dirty: true})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.NotEmpty(t, pushedAt)
	require.Equal(t, 10*time.Second, pushedAt[0].Sub(start).Round(time.Second), "the first push comes one window after the edit")
	// One busy cycle, then 10 quiet ones.
	require.Len(t, pushedAt, 11)
}

// Force sync runs a cycle at once (the window is cut short) and answers
// the verdict, with what is still pending and why.
func TestTaskSyncForceAnswersTheVerdict(t *testing.T) {
	env := taskEnv()
	env.OnActivity(sa.PullTasks, mock.Anything, mock.Anything).Return(activities.TaskApplyResult{}, nil)
	env.OnActivity(sa.PushTasks, mock.Anything, mock.Anything).Return(activities.TaskPushResult{Error: "airtable refused the write: 422 UNKNOWN_FIELD_NAME"}, nil)
	id := "11111111-1111-1111-1111-111111111111"
	env.OnActivity(sa.TaskSyncStatus, mock.Anything, "c1").Return(store.TaskSyncStatus{PendingN: 1,
		Pending: []store.TaskBacklog{{Reason: "airtable refused the write: 422 UNKNOWN_FIELD_NAME"}}}, nil)
	var got workflows.TaskSyncVerdict
	var gotAt time.Time
	start := env.Now()
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateForceTaskSync, "force-1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				got = v.(workflows.TaskSyncVerdict)
				gotAt = env.Now()
			},
		}, workflows.ForceTaskSyncRequest{Actor: "test"})
	}, time.Second)
	env.ExecuteWorkflow(workflows.TaskSync, workflows.TaskSyncInput{ClientID: "c1", Window: time.Minute})
	require.NoError(t, env.GetWorkflowError())
	require.False(t, got.InSync)
	require.Equal(t, 1, got.PendingCount)
	require.Contains(t, got.PushError, "UNKNOWN_FIELD_NAME")
	require.Less(t, gotAt.Sub(start), 10*time.Second, "force sync does not wait for the window")
	_ = id
}

// Bad input in the activities is non-retryable: a pull that fails is
// reported in the verdict and the workflow keeps running.
func TestTaskSyncReportsAFailedPull(t *testing.T) {
	env := taskEnv()
	env.OnActivity(sa.PullTasks, mock.Anything, mock.Anything).Return(activities.TaskApplyResult{Unavailable: true, Error: "base appX has no table \"Tasks\""}, nil)
	env.OnActivity(sa.PushTasks, mock.Anything, mock.Anything).Return(activities.TaskPushResult{Done: true}, nil)
	env.OnActivity(sa.TaskSyncStatus, mock.Anything, "c1").Return(store.TaskSyncStatus{}, nil)
	var got workflows.TaskSyncVerdict
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateForceTaskSync, "force-1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) { require.NoError(t, err); got = v.(workflows.TaskSyncVerdict) },
		}, workflows.ForceTaskSyncRequest{})
	}, time.Second)
	env.ExecuteWorkflow(workflows.TaskSync, workflows.TaskSyncInput{ClientID: "c1", Window: time.Minute})
	require.NoError(t, env.GetWorkflowError())
	require.False(t, got.InSync)
	require.Contains(t, got.PullError, "no table")
}

// A long-lived sync continues as new, carrying an unpushed edit along.
func TestTaskSyncContinuesAsNew(t *testing.T) {
	env := taskEnv()
	env.OnActivity(sa.PullTasks, mock.Anything, mock.Anything).Return(activities.TaskApplyResult{ApplyResult: store.ApplyResult{Updated: 1}}, nil) // never quiet
	env.OnActivity(sa.PushTasks, mock.Anything, mock.Anything).Return(activities.TaskPushResult{Done: true}, nil)
	env.OnActivity(sa.TaskSyncStatus, mock.Anything, "c1").Return(store.TaskSyncStatus{}, nil)
	env.ExecuteWorkflow(workflows.TaskSync, workflows.TaskSyncInput{ClientID: "c1", Window: time.Second})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "continue as new")
}
