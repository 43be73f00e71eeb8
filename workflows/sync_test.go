package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
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
	env.RegisterWorkflow(workflows.DeletionReview)
	env.RegisterActivity(&activities.Sync{})
	env.RegisterActivity(&activities.Alerts{})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Maybe()
	env.OnActivity(sa.UpdateRun, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(sa.CheckSchema, mock.Anything, mock.Anything).Return(nil).Maybe()
	return env
}

func syncEnv(t *testing.T, verified bool, staged, live int) *testsuite.TestWorkflowEnvironment {
	env := bareSyncEnv()
	env.OnActivity(sa.WebhookCovered, mock.Anything, mock.Anything).Return(false, nil).Maybe()
	env.OnActivity(sa.ListPages, mock.Anything, mock.Anything).Return(activities.ListResult{Done: true, Pages: 3, Records: 250}, nil)
	env.OnActivity(sa.CountSync, mock.Anything, mock.Anything).Return(store.SyncCounts{Listed: 250, Created: 250}, nil)
	reason := ""
	if !verified {
		reason = "listing incomplete: record rec1 still exists"
	}
	env.OnActivity(sa.VerifyMissing, mock.Anything, mock.Anything).Return(activities.VerifyResult{Complete: verified, Reason: reason}, nil)
	env.OnActivity(sa.StageMissingBatches, mock.Anything, mock.Anything).Return(staged, nil).Maybe()
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
	env.AssertNotCalled(t, "StageMissingBatches", mock.Anything, mock.Anything)
}

// A sync that stages deletions hands the decision to its DeletionReview
// and ends, so the client's next syncs are not held up meanwhile.
func TestSyncHandsStagedDeletionsToAReview(t *testing.T) {
	env := syncEnv(t, true, 400, 600)
	env.OnActivity(al.SendAlert, mock.Anything, mock.Anything).Return(nil).Once()
	var review workflows.SyncInput
	env.OnWorkflow(workflows.DeletionReview, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in workflows.SyncInput) (*workflows.SyncStatus, error) {
		review = in
		return in.State, nil
	})
	var ref activities.ReviewRef
	env.OnActivity(sa.SetReviewWorkflow, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.ReviewRef) error { ref = r; return nil }).Once()
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, store.SyncAwaitingDecision, st.Phase)
	require.True(t, st.Alerted)
	require.Equal(t, 3, st.WrittenBack, "pending campaign write-backs are retried by the sync")
	require.Equal(t, 400, review.State.Staged)
	require.Equal(t, "s1", review.SyncID)
	require.Equal(t, workflows.ReviewWorkflowID("s1"), ref.WorkflowID)
	env.AssertExpectations(t)
}

// A sync whose table lacks a mapped column fails before listing anything.
func TestSyncFailsOnAMissingMappedColumn(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.AirtableSync)
	env.RegisterActivity(&activities.Sync{})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Maybe()
	env.OnActivity(sa.UpdateRun, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(sa.CheckSchema, mock.Anything, mock.Anything).Return(
		temporal.NewNonRetryableApplicationError(`table "Leads" has no column for sms_stop (column "SMS Stop")`, activities.ErrTypeSchema, nil))
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, store.SyncFailed, st.Phase)
	require.Contains(t, st.Error, `sms_stop (column "SMS Stop")`)
	env.AssertNotCalled(t, "ListPages", mock.Anything, mock.Anything)
}

func reviewEnv() *testsuite.TestWorkflowEnvironment { return bareSyncEnv() }

func reviewInput(staged int) workflows.SyncInput {
	in := syncInput()
	in.State = &workflows.SyncStatus{SyncID: "s1", Phase: store.SyncAwaitingDecision, Staged: staged}
	return in
}

func TestReviewNoDecisionRestoresAfterTheWindow(t *testing.T) {
	env := reviewEnv()
	var restoredAt time.Time
	start := env.Now()
	env.OnActivity(sa.RestoreStaged, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RestoreInput) (int, error) {
		restoredAt = env.Now()
		require.Equal(t, "expired", in.Reason)
		require.Equal(t, "system:decision-window", in.Actor)
		return 40, nil
	})
	var late *decisionOutcome
	env.RegisterDelayedCallback(func() { late = decide(env, workflows.UpdateApproveDeletions, workflows.DecisionRequest{Actor: "late"}) }, 48*time.Hour+time.Second)
	env.ExecuteWorkflow(workflows.DeletionReview, reviewInput(40))
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "expired", st.Decision)
	require.Equal(t, 40, st.Restored)
	require.GreaterOrEqual(t, restoredAt.Sub(start), 48*time.Hour)
	env.AssertNotCalled(t, "DeleteStaged", mock.Anything, mock.Anything)
	if late != nil && late.rejected == nil {
		require.False(t, late.accepted, "an approval after the window must not be accepted")
	}
}

// Approve and reject at the same moment: one is taken (and audited), the
// other refused with the reason.
func TestReviewRacingDecisionsGetOneVerdictEach(t *testing.T) {
	env := reviewEnv()
	var recorded []activities.DecisionInput
	env.OnActivity(sa.RecordDecision, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DecisionInput) error {
		recorded = append(recorded, in)
		return nil
	})
	env.OnActivity(sa.DeleteStaged, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeleteInput) (activities.DeleteResult, error) {
		require.Equal(t, "client_admin:a", in.Actor)
		return activities.DeleteResult{Deleted: 400}, nil
	}).Once()
	var approve, reject, foreign *decisionOutcome
	env.RegisterDelayedCallback(func() {
		foreign = decide(env, workflows.UpdateApproveDeletions, workflows.DecisionRequest{Actor: "other", SyncID: "s0"})
		approve = decide(env, workflows.UpdateApproveDeletions, workflows.DecisionRequest{Actor: "client_admin:a", SyncID: "s1", RequestID: "r1"})
		reject = decide(env, workflows.UpdateRejectDeletions, workflows.DecisionRequest{Actor: "client_admin:b", SyncID: "s1"})
	}, time.Hour)
	env.ExecuteWorkflow(workflows.DeletionReview, reviewInput(400))
	require.NoError(t, env.GetWorkflowError())
	var st workflows.SyncStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, "approved", st.Decision)
	require.Equal(t, 400, st.Deleted)
	require.ErrorContains(t, foreign.rejected, "not s0")
	require.NoError(t, approve.err)
	require.Equal(t, workflows.DecisionResult{SyncID: "s1", Decision: "approved", Staged: 400}, approve.result)
	require.ErrorContains(t, reject.rejected, "already approved by client_admin:a")
	require.Len(t, recorded, 1, "one audit row: the decision taken")
	require.Equal(t, "r1", recorded[0].RequestID)
	env.AssertExpectations(t)
}

// A webhook re-run queued during a long listing (request-sync, as
// update-with-start sends it to a running sync) survives the listing's
// continue-as-new.
func TestSyncRerunSurvivesContinueAsNew(t *testing.T) {
	env := bareSyncEnv()
	env.OnActivity(sa.ListPages, mock.Anything, mock.Anything).Return(activities.ListResult{Offset: "itr/next", Pages: 2, Records: 200}, nil).After(time.Second)
	var own, other *workflows.SyncRequestResult
	env.RegisterDelayedCallback(func() {
		own = requestSync(env, "s1")
		other = requestSync(env, "s-webhook")
	}, 1500*time.Millisecond)
	env.ExecuteWorkflow(workflows.AirtableSync, syncInput())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var next workflows.SyncInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.True(t, next.Rerun, "the queued re-run is carried over")
	require.Equal(t, workflows.SyncRequestResult{SyncID: "s1", Started: true}, *own, "the request that started the run")
	require.Equal(t, workflows.SyncRequestResult{SyncID: "s1", RerunQueued: true}, *other)
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
	env.AssertNotCalled(t, "StageMissingBatches", mock.Anything, mock.Anything)
}

type decisionOutcome struct {
	rejected error
	accepted bool
	err      error
	result   workflows.DecisionResult
}

func decide(env *testsuite.TestWorkflowEnvironment, name string, req workflows.DecisionRequest) *decisionOutcome {
	o := &decisionOutcome{}
	env.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
		OnReject: func(err error) { o.rejected = err },
		OnAccept: func() { o.accepted = true },
		OnComplete: func(v interface{}, err error) {
			o.err = err
			if r, ok := v.(workflows.DecisionResult); ok {
				o.result = r
			}
		},
	}, req)
	return o
}

func requestSync(env *testsuite.TestWorkflowEnvironment, syncID string) *workflows.SyncRequestResult {
	out := &workflows.SyncRequestResult{}
	env.UpdateWorkflow(workflows.UpdateRequestSync, uuid.NewString(), &testsuite.TestUpdateCallback{
		OnReject: func(error) {}, OnAccept: func() {},
		OnComplete: func(v interface{}, _ error) { *out, _ = v.(workflows.SyncRequestResult) },
	}, workflows.SyncRequest{SyncID: syncID})
	return out
}
