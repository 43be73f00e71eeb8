package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
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
	sd *activities.Sender
)

const campID = "5f0c3d4e-0000-4000-8000-000000000001"

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	env := newEnvNoSend(t)
	// Sending (v2): by default the sequence is done at once.
	env.OnActivity(sd.SendDue, mock.Anything, mock.Anything).Return(activities.SendResult{Active: 0}, nil).Maybe()
	return env
}

// newEnvNoSend leaves SendDue to the test.
func newEnvNoSend(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.Campaign)
	env.RegisterActivity(&activities.Campaign{})
	env.RegisterActivity(&activities.Alerts{})
	env.RegisterActivity(&activities.Sync{})
	env.RegisterActivity(&activities.Sender{})
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
	require.Equal(t, campaign.StatusCompleted, res.Status, "active, then the (mocked) sequence is sent")
	require.Equal(t, 10, res.Enrolled)
	require.False(t, activatedAt.Before(start), "activated at %v before start %v", activatedAt, start)
	require.Equal(t, []string{campaign.StatusActivating, campaign.StatusCompleted}, *got)
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
	var past, future *updateOutcome
	env.RegisterDelayedCallback(func() {
		// A past time is refused by the validator, a future one re-arms the timer.
		past = sendUpdate(env, workflows.UpdateReschedule, workflows.SteerRequest{Actor: "token:a", StartAt: ptr(env.Now().Add(-time.Minute))})
	}, 5*time.Minute)
	env.RegisterDelayedCallback(func() {
		future = sendUpdate(env, workflows.UpdateReschedule, workflows.SteerRequest{Actor: "token:a", StartAt: &later})
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
	require.ErrorContains(t, past.rejected, "start_at must be in the future")
	require.False(t, past.accepted)
	require.True(t, future.completed)
	require.NoError(t, future.err)
	require.Equal(t, campaign.StatusScheduled, future.result.Status)
	require.True(t, future.result.StartAt.Equal(later))
}

// A v0 workflow (started before Updates) still obeys the signals it was
// started with.
func TestCampaignLegacyCancelSignalWhileScheduled(t *testing.T) {
	env := newEnv(t)
	start := env.Now().Add(24 * time.Hour)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusScheduled, StartAt: &start}, nil)
	env.OnActivity(ca.Cancel, mock.Anything, activities.CancelInput{CampaignID: campID}).Return(nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalCancel, nil) }, time.Hour)

	env.ExecuteWorkflow(workflows.Campaign, input(&start))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCancelled, res.Status)
	env.AssertExpectations(t)
}

func TestCampaignCancelWhileScheduled(t *testing.T) {
	env := newEnv(t)
	start := env.Now().Add(24 * time.Hour)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusScheduled, StartAt: &start}, nil)
	var cancelIn activities.CancelInput
	env.OnActivity(ca.Cancel, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CancelInput) error { cancelIn = in; return nil }).Once()
	var first, second *updateOutcome
	env.RegisterDelayedCallback(func() {
		first = sendUpdate(env, workflows.UpdateCancel, workflows.SteerRequest{Actor: "token:alice", RequestID: "r1"})
		second = sendUpdate(env, workflows.UpdateCancel, workflows.SteerRequest{Actor: "token:bob", RequestID: "r2"})
	}, time.Hour)

	env.ExecuteWorkflow(workflows.Campaign, input(&start))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCancelled, res.Status)
	env.AssertNotCalled(t, "Activate", mock.Anything, mock.Anything)
	env.AssertExpectations(t)
	// One verdict each: the first carried out (and audited as alice's), the second refused.
	require.True(t, first.completed)
	require.NoError(t, first.err)
	require.Equal(t, campaign.StatusCancelled, first.result.Status)
	require.ErrorContains(t, second.rejected, "being cancelled")
	require.Equal(t, "token:alice", cancelIn.Audit.Actor)
	require.Equal(t, "campaign.cancel", cancelIn.Audit.Action)
	require.Equal(t, "r1", cancelIn.Audit.RequestID)
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
	var early, retry *updateOutcome
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryProgress)
		require.NoError(t, err)
		require.NoError(t, v.Get(&whileFailed))
		healthy = true
		retry = sendUpdate(env, workflows.UpdateRetryActivation, workflows.SteerRequest{Actor: "token:a"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		// Still activating (under the retry policy): nothing to retry yet.
		early = sendUpdate(env, workflows.UpdateRetryActivation, workflows.SteerRequest{})
	}, 0)

	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, campaign.StatusFailedActivation, whileFailed.Status)
	require.Contains(t, whileFailed.LastError, "client is disabled")
	require.Len(t, alerts, 1)
	require.Equal(t, "campaign.activation_failed", alerts[0].Kind)
	require.Equal(t, 3, attempts, "two attempts under the retry policy, one after retry-activation")
	require.Equal(t, []string{campaign.StatusFailedActivation, campaign.StatusActivating, campaign.StatusCompleted}, *got)
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCompleted, res.Status)
	require.ErrorContains(t, early.rejected, "only possible after a failed activation")
	require.NoError(t, retry.err)
	require.Equal(t, campaign.StatusActivating, retry.result.Status)
}

func TestCampaignCancelWhileFailed(t *testing.T) {
	env := newEnv(t)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(0, errors.New("boom"))
	env.OnActivity(al.SendAlert, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(ca.Cancel, mock.Anything, mock.Anything).Return(nil).Once()
	var c *updateOutcome
	env.RegisterDelayedCallback(func() { c = sendUpdate(env, workflows.UpdateCancel, workflows.SteerRequest{}) }, time.Hour)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, c.err)
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

// A cancel Update during enrollment is carried out at once, while the chunk
// still runs (its batches then find the campaign cancelled).
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
	env.OnActivity(ca.Cancel, mock.Anything, mock.Anything).Return(nil).Once()
	var c *updateOutcome
	var cancelledAt time.Time
	env.RegisterDelayedCallback(func() { c = sendUpdate(env, workflows.UpdateCancel, workflows.SteerRequest{Actor: "token:a"}) }, 150*time.Second)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(func(temporal.SearchAttributes) error {
		cancelledAt = env.Now()
		return nil
	}).Maybe()
	start := env.Now()
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCancelled, res.Status)
	require.Equal(t, 2, chunks, "two chunks done, the third running when the cancel came")
	require.NoError(t, c.err)
	require.Equal(t, campaign.StatusCancelled, c.result.Status)
	require.Less(t, cancelledAt.Sub(start), 170*time.Second, "cancelled without waiting for the running chunk")
}

// A cancel that arrives while the last chunk runs stops the campaign; one
// that arrives while the finished enrollment is being settled is refused
// with the campaign's state. Never accepted and then dropped.
func TestCampaignCancelRacingTheLastChunkGetsAVerdict(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Duration
		want string
	}{
		{"during the last chunk", 30 * time.Second, campaign.StatusCancelled},
		{"while enrollment is settled", 75 * time.Second, campaign.StatusCompleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			statuses(env)
			env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
			env.OnActivity(ca.Activate, mock.Anything, campID).Return(10, nil)
			env.OnActivity(ca.EnrollChunk, mock.Anything, mock.Anything).Return(activities.EnrollResult{Total: 10, Done: true}, nil).After(time.Minute)
			env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{Status: campaign.StatusActive, Enrolled: 10}, nil).After(30 * time.Second).Maybe()
			env.OnActivity(ca.Cancel, mock.Anything, mock.Anything).Return(nil).Maybe()
			var c *updateOutcome
			env.RegisterDelayedCallback(func() { c = sendUpdate(env, workflows.UpdateCancel, workflows.SteerRequest{}) }, tc.at)
			env.ExecuteWorkflow(workflows.Campaign, input(nil))
			require.NoError(t, env.GetWorkflowError())
			var res workflows.CampaignResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, tc.want, res.Status)
			require.NotNil(t, c)
			require.True(t, c.accepted)
			require.True(t, c.completed, "every accepted update gets a verdict")
			if tc.want == campaign.StatusCancelled {
				require.NoError(t, c.err)
				require.Equal(t, campaign.StatusCancelled, c.result.Status)
				return
			}
			require.ErrorContains(t, c.err, "campaign is active")
		})
	}
}

// updateOutcome is what the test environment reported for an Update.
type updateOutcome struct {
	rejected  error
	accepted  bool
	completed bool
	err       error
	result    workflows.SteerResult
}

func sendUpdate(env *testsuite.TestWorkflowEnvironment, name string, req workflows.SteerRequest) *updateOutcome {
	o := &updateOutcome{}
	env.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
		OnReject: func(err error) { o.rejected = err },
		OnAccept: func() { o.accepted = true },
		OnComplete: func(v interface{}, err error) {
			o.completed, o.err = true, err
			if r, ok := v.(workflows.SteerResult); ok {
				o.result = r
			}
		},
	}, req)
	return o
}

func ptr[T any](v T) *T { return &v }

// A cancel that arrives before the workflow has loaded its campaign is
// carried out right after the load.
func TestCampaignCancelBeforeLoad(t *testing.T) {
	env := newEnv(t)
	statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil).After(time.Second)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(10, nil).Maybe()
	env.OnActivity(ca.EnrollChunk, mock.Anything, mock.Anything).Return(activities.EnrollResult{Total: 10, Done: true}, nil).Maybe()
	env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{Status: campaign.StatusActive, Enrolled: 10}, nil).Maybe()
	env.OnActivity(ca.Cancel, mock.Anything, mock.Anything).Return(nil).Once()
	var c *updateOutcome
	env.RegisterDelayedCallback(func() { c = sendUpdate(env, workflows.UpdateCancel, workflows.SteerRequest{}) }, 100*time.Millisecond)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCancelled, res.Status)
	require.NoError(t, c.err)
	require.Equal(t, campaign.StatusCancelled, c.result.Status)
}

// activeEnv is a campaign that enrolls at once and goes on to send.
func activeEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *[]string) {
	env := newEnvNoSend(t)
	got := statuses(env)
	env.OnActivity(ca.LoadCampaign, mock.Anything, campID).Return(activities.CampaignInfo{Status: campaign.StatusActivating}, nil)
	env.OnActivity(ca.Activate, mock.Anything, campID).Return(10, nil)
	enrollOnce(env, 10)
	env.OnActivity(ca.Finalize, mock.Anything, campID).Return(store.FinalizeResult{Status: campaign.StatusActive, EnrollmentStatus: campaign.EnrollmentComplete, Enrolled: 10}, nil)
	return env, got
}

// Rounds of SendDue with a durable timer to the next due step between
// them, until no enrollment is left: completed.
func TestCampaignSendsTheSequenceUntilDone(t *testing.T) {
	env, got := activeEnv(t)
	var rounds []time.Time
	env.OnActivity(sd.SendDue, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
		rounds = append(rounds, env.Now())
		if len(rounds) == 1 {
			return activities.SendResult{Sent: 10, Active: 10, NextDue: 2 * time.Hour}, nil
		}
		return activities.SendResult{Sent: 10, Active: 0}, nil
	})
	var p workflows.CampaignProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryProgress)
		require.NoError(t, err)
		require.NoError(t, v.Get(&p))
	}, time.Hour)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCompleted, res.Status)
	require.Len(t, rounds, 2)
	require.GreaterOrEqual(t, rounds[1].Sub(rounds[0]), 2*time.Hour, "the second round waited for the next due step")
	require.Equal(t, campaign.StatusActive, p.Status)
	require.Equal(t, 10, p.Sent)
	require.Equal(t, []string{campaign.StatusCompleted}, (*got)[len(*got)-1:])
}

// A pause during a round is committed at once and answered when the round
// has ended (nothing more reaches the provider after the answer); resume
// goes on; a pause while paused is refused.
func TestCampaignPauseAndResume(t *testing.T) {
	env, got := activeEnv(t)
	var rounds []time.Time
	env.OnActivity(sd.SendDue, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
		rounds = append(rounds, env.Now())
		if len(rounds) == 1 {
			return activities.SendResult{Sent: 4, Active: 10, Stopped: true}, nil
		}
		return activities.SendResult{Sent: 6, Active: 0}, nil
	}).After(30 * time.Second)
	var pause, again, resume *updateOutcome
	var pausedAt time.Time
	env.RegisterDelayedCallback(func() {
		pause = sendUpdate(env, workflows.UpdatePause, workflows.SteerRequest{Actor: "token:a"})
	}, 10*time.Second)
	env.RegisterDelayedCallback(func() {
		if pause.completed {
			pausedAt = env.Now()
		}
		again = sendUpdate(env, workflows.UpdatePause, workflows.SteerRequest{})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		resume = sendUpdate(env, workflows.UpdateResume, workflows.SteerRequest{Actor: "token:a"})
	}, time.Hour)
	start := env.Now()
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCompleted, res.Status)
	require.NoError(t, pause.err)
	require.Equal(t, campaign.StatusPaused, pause.result.Status)
	require.False(t, pausedAt.IsZero(), "pause answered by the time the round ended")
	require.ErrorContains(t, again.rejected, "only a campaign that is sending can be paused")
	require.NoError(t, resume.err)
	require.Equal(t, campaign.StatusActive, resume.result.Status)
	require.Len(t, rounds, 2)
	require.GreaterOrEqual(t, rounds[1].Sub(start), time.Hour, "nothing was sent while paused")
	require.Contains(t, *got, campaign.StatusPaused)
}

// A resume that arrives while the round that paused is still running is
// carried out when the round ends (it was queued, its wake-up taken by the
// round): answered, and the campaign goes on to complete.
func TestCampaignResumeDuringThePausingRound(t *testing.T) {
	env, _ := activeEnv(t)
	rounds := 0
	env.OnActivity(sd.SendDue, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
		rounds++
		if rounds == 1 {
			return activities.SendResult{Sent: 4, Active: 10, Stopped: true}, nil
		}
		return activities.SendResult{Sent: 6, Active: 0}, nil
	}).After(30 * time.Second)
	var pause, resume *updateOutcome
	env.RegisterDelayedCallback(func() { pause = sendUpdate(env, workflows.UpdatePause, workflows.SteerRequest{Actor: "token:a"}) }, 10*time.Second)
	env.RegisterDelayedCallback(func() { resume = sendUpdate(env, workflows.UpdateResume, workflows.SteerRequest{Actor: "token:a"}) }, 20*time.Second)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCompleted, res.Status)
	require.NoError(t, pause.err)
	require.NoError(t, resume.err)
	require.Nil(t, resume.rejected)
	require.True(t, resume.completed, "the resume was answered")
	require.Equal(t, campaign.StatusActive, resume.result.Status)
	require.Equal(t, 2, rounds)
}

// Cancel while waiting for the next due step ends the campaign at once.
func TestCampaignCancelWhileSending(t *testing.T) {
	env, _ := activeEnv(t)
	env.OnActivity(sd.SendDue, mock.Anything, mock.Anything).Return(activities.SendResult{Sent: 10, Active: 10, NextDue: 24 * time.Hour}, nil).Once()
	env.OnActivity(ca.Cancel, mock.Anything, mock.Anything).Return(nil).Once()
	var c *updateOutcome
	env.RegisterDelayedCallback(func() { c = sendUpdate(env, workflows.UpdateCancel, workflows.SteerRequest{Actor: "token:a"}) }, time.Hour)
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CampaignResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, campaign.StatusCancelled, res.Status)
	require.NoError(t, c.err)
	env.AssertExpectations(t)
}

// Messages that could not be settled raise an alert.
func TestCampaignAlertsOnUnknownSends(t *testing.T) {
	env, _ := activeEnv(t)
	env.OnActivity(sd.SendDue, mock.Anything, mock.Anything).Return(activities.SendResult{Sent: 8, Unknown: 2, Active: 0}, nil)
	var kinds []string
	env.OnActivity(al.SendAlert, mock.Anything, mock.Anything).Return(func(_ context.Context, a activities.Alert) error {
		kinds = append(kinds, a.Kind)
		return nil
	})
	env.ExecuteWorkflow(workflows.Campaign, input(nil))
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"campaign.sends_unknown"}, kinds)
}
