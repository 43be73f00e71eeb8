package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

var (
	ca *activities.Campaign
	al *activities.Alerts
)

const campID = "5f0c3d4e-0000-4000-8000-000000000001"

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.Campaign)
	env.RegisterActivity(&activities.Campaign{})
	env.RegisterActivity(&activities.Alerts{})
	env.RegisterActivity(&activities.Sync{})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Maybe()
	env.OnActivity(sa.WriteBack, mock.Anything, mock.Anything).Return(activities.WriteBackResult{Done: true}, nil).Maybe()
	return env
}

func fastRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 2}
}

func input(startAt *time.Time) workflows.CampaignInput {
	return workflows.CampaignInput{CampaignID: campID, ClientID: "c1", StartAt: startAt, ActivationRetry: fastRetry()}
}

// statuses records every SetStatus call.
func statuses(env *testsuite.TestWorkflowEnvironment) *[]string {
	var got []string
	env.OnActivity(ca.SetStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SetStatusInput) error {
		got = append(got, in.Status)
		return nil
	}).Maybe()
	return &got
}

func enrollOnce(env *testsuite.TestWorkflowEnvironment, total int) {
	env.OnActivity(ca.EnrollChunk, mock.Anything, mock.Anything).Return(activities.EnrollResult{Total: total, Added: total, Done: true}, nil)
}

func TestCampaignWaitsForStartTimerThenActivates(t *testing.T) {
	env := newEnv(t)
	start := env.Now().Add(time.Hour)
	got := statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusScheduled, StartAt: &start}, nil)
	var activatedAt time.Time
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(func(_ context.Context, _ string) (int, error) {
		activatedAt = env.Now()
		return 10, nil
	})
	enrollOnce(env, 10)
	env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{Status: campaign.StatusActive, EnrollmentStatus: campaign.EnrollmentComplete, Enrolled: 10}, nil)

	env.ExecuteWorkflow(workflows.Campaign, input(&start))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusActive, res.Status)
	require.Equal(t, 10, res.Enrolled)
	require.False(t, activatedAt.Before(start), "activated at %v before start %v", activatedAt, start)
	require.Equal(t, []string{campaign.StatusActivating}, *got)
}

func TestCampaignRescheduleRearmsTimer(t *testing.T) {
	env := newEnv(t)
	start := env.Now().Add(time.Hour)
	later := env.Now().Add(3 * time.Hour)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusScheduled, StartAt: &start}, nil)
	var activatedAt time.Time
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(func(_ context.Context, _ string) (int, error) {
		activatedAt = env.Now()
		return 1, nil
	})
	enrollOnce(env, 1)
	env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{Status: campaign.StatusActive, Enrolled: 1}, nil)
	env.RegisterDelayedCallback(func() {
		// A past time is ignored, a future one re-arms the timer.
		env.SignalWorkflow(workflows.SignalReschedule, workflows.RescheduleSignal{StartAt: env.Now().Add(-time.Minute)})
	}, 5*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalReschedule, workflows.RescheduleSignal{StartAt: later})
	}, 10*time.Minute)
	var progressAt20m workflows.CampaignProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryProgress)
		require.NoError(t, err)
		require.NoError(t, v.Get(&progressAt20m))
	}, 20*time.Minute)

	env.ExecuteWorkflow(workflows.Campaign, input(&start))
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, campaign.StatusScheduled, progressAt20m.Status)
	require.True(t, progressAt20m.StartAt.Equal(later))
	require.False(t, activatedAt.Before(later), "activated at %v, rescheduled to %v", activatedAt, later)
}

func TestCampaignCancelWhileScheduled(t *testing.T) {
	env := newEnv(t)
	start := env.Now().Add(24 * time.Hour)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusScheduled, StartAt: &start}, nil)
	env.OnActivity(ca.Cancel, mock.Anything, campID).Return(nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalCancel, nil) }, time.Hour)

	env.ExecuteWorkflow(workflows.Campaign, input(&start))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCancelled, res.Status)
	env.AssertNotCalled(t, "Activate", mock.Anything, mock.Anything)
	env.AssertExpectations(t)
}

func TestCampaignActivationFailureAlertsThenRetrySucceeds(t *testing.T) {
	env := newEnv(t)
	got := statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	healthy := false
	attempts := 0
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(func(_ context.Context, _ string) (int, error) {
		attempts++
		if !healthy {
			return 0, errors.New("client is disabled")
		}
		return 5, nil
	})
	var alerts []activities.Alert
	env.OnActivity(al.SendAlert, mock.Anything, mock.Anything).Return(func(_ context.Context, a activities.Alert) error {
		alerts = append(alerts, a)
		return nil
	})
	enrollOnce(env, 5)
	env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{Status: campaign.StatusActive, Enrolled: 5}, nil)
	var whileFailed workflows.CampaignProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryProgress)
		require.NoError(t, err)
		require.NoError(t, v.Get(&whileFailed))
		healthy = true
		env.SignalWorkflow(workflows.SignalRetryActivation, nil)
	}, time.Hour)

	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, campaign.StatusFailedActivation, whileFailed.Status)
	require.Contains(t, whileFailed.LastError, "client is disabled")
	require.Len(t, alerts, 1)
	require.Equal(t, "campaign.activation_failed", alerts[0].Kind)
	require.Equal(t, 3, attempts, "two attempts under the retry policy, one after retry-activation")
	require.Equal(t, []string{campaign.StatusFailedActivation, campaign.StatusActivating}, *got)
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusActive, res.Status)
}

func TestCampaignCancelWhileFailed(t *testing.T) {
	env := newEnv(t)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(0, errors.New("boom"))
	env.OnActivity(al.SendAlert, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(ca.Cancel, mock.Anything, campID).Return(nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalCancel, nil) }, time.Hour)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCancelled, res.Status)
}

func TestCampaignCapIsPartialAndAlerts(t *testing.T) {
	env := newEnv(t)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(100, nil)
	env.OnActivity(ca.EnrollChunk, mock.Anything, mock.Anything).Return(activities.EnrollResult{Total: 40, Added: 40, Capped: true}, nil).Once()
	env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{
		Status: campaign.StatusActive, EnrollmentStatus: campaign.EnrollmentPartialCapped, Enrolled: 40, Remaining: 60}, nil)
	var alert activities.Alert
	env.OnActivity(al.SendAlert, mock.Anything, mock.Anything).Return(func(_ context.Context, a activities.Alert) error { alert = a; return nil }).Once()
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.EnrollmentPartialCapped, res.EnrollmentStatus)
	require.Equal(t, "campaign.partial_enrollment", alert.Kind)
	env.AssertExpectations(t)
}

func TestCampaignZeroMatchesIsNoEligibleLeads(t *testing.T) {
	env := newEnv(t)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(0, nil)
	env.OnActivity(ca.EnrollChunk, mock.Anything, mock.Anything).Return(activities.EnrollResult{Done: true}, nil)
	env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{Status: campaign.StatusNoEligibleLeads, EnrollmentStatus: campaign.EnrollmentNone}, nil)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusNoEligibleLeads, res.Status)
	require.Zero(t, res.Enrolled)
}

// The workflow carries the walk's position (the keyset cursor) from
// chunk to chunk and finalizes only when a chunk reports Done.
func TestCampaignCarriesWalkPositionAcrossChunks(t *testing.T) {
	env := newEnv(t)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(30, nil)
	var seen []activities.EnrollInput
	env.OnActivity(ca.EnrollChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EnrollInput) (activities.EnrollResult, error) {
		seen = append(seen, in)
		switch len(seen) {
		case 1:
			return activities.EnrollResult{Total: 20, Cursors: []string{"c-20", "d-1"}}, nil
		case 2:
			return activities.EnrollResult{Total: 29, Cursors: []string{"c-25", "d-2"}}, nil
		default:
			return activities.EnrollResult{Total: 30, Cursors: []string{"c-30", "d-3"}, Done: true}, nil
		}
	})
	env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{Status: campaign.StatusActive, Enrolled: 30}, nil)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, seen, 3)
	require.Empty(t, seen[0].Cursors)
	require.Equal(t, 2, seen[0].Streams)
	require.Equal(t, []string{"c-20", "d-1"}, seen[1].Cursors)
	require.Equal(t, []string{"c-25", "d-2"}, seen[2].Cursors)
}

func TestCampaignContinuesAsNewWithState(t *testing.T) {
	env := newEnv(t)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(1000, nil)
	n := 0
	env.OnActivity(ca.EnrollChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EnrollInput) (activities.EnrollResult, error) {
		n++
		return activities.EnrollResult{Total: n * 10, Cursors: []string{"c"}}, nil
	})
	in := input(nil)
	in.MaxChunksPerRun = 3
	env.ExecuteWorkflow(workflows.Campaign, in)
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "expected continue-as-new, got %v", err)
	require.Equal(t, 3, n)
}

func TestCampaignOrphanEndsWithoutSideEffects(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{},
		temporal.NewNonRetryableApplicationError("campaign row not found", activities.ErrTypeNotFound, nil))
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusOrphaned, res.Status)
	env.AssertNotCalled(t, "Activate", mock.Anything, mock.Anything)
}

// A cancel during enrollment stops before the next chunk.
func TestCampaignCancelDuringEnrollment(t *testing.T) {
	env := newEnv(t)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(1000, nil)
	chunks := 0
	env.OnActivity(ca.EnrollChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EnrollInput) (activities.EnrollResult, error) {
		chunks++
		return activities.EnrollResult{Total: chunks, Cursors: []string{"c"}}, nil
	}).After(time.Minute)
	env.OnActivity(ca.Cancel, mock.Anything, campID).Return(nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalCancel, nil) }, 150*time.Second)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCancelled, res.Status)
	require.LessOrEqual(t, chunks, 3)
}
