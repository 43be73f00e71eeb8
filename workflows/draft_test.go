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

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

var dr *activities.Draft

func draftEnv() (*testsuite.TestWorkflowEnvironment, *store.GenerationRecord) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.DraftMessage)
	env.RegisterActivity(&activities.Draft{})
	rec := &store.GenerationRecord{}
	env.OnActivity(dr.RecordGeneration, mock.Anything, mock.Anything).Return(func(_ context.Context, r store.GenerationRecord) error {
		*rec = r
		return nil
	})
	return env, rec
}

func draftInput(models ...string) workflows.DraftInput {
	return workflows.DraftInput{RequestID: "r1", ClientID: "c1", Models: models,
		AttemptTimeout: 60 * time.Second, TotalTimeout: 90 * time.Second, InputPricePerM: 1, OutputPricePerM: 10,
		Draft: llm.DraftInput{CampaignName: "Spring", TargetAudience: "patients", Goal: "book", BookingLink: "https://calendly.com/a", Tone: "friendly"}}
}

func TestDraftPrimaryAnswers(t *testing.T) {
	env, rec := draftEnv()
	env.OnActivity(dr.Generate, mock.Anything, mock.MatchedBy(func(in activities.GenerateInput) bool { return in.Model == "p" && in.Nonce != "" })).
		Return(activities.GenerateResult{Message: "Hi {{first_name}} https://calendly.com/a", Model: "p", PromptTokens: 1000, CompletionTokens: 100}, nil)
	env.ExecuteWorkflow(workflows.DraftMessage, draftInput("p", "f"))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.DraftResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "p", res.ModelUsed)
	require.Equal(t, "primary", res.Step)
	require.False(t, res.IsTemplate)
	require.Equal(t, "p", rec.ModelUsed)
	require.InDelta(t, (1000*1+100*10)/1e6, rec.CostUSD, 1e-9)
}

func TestDraftFallsBackThenTemplate(t *testing.T) {
	env, rec := draftEnv()
	env.OnActivity(dr.Generate, mock.Anything, mock.Anything).Return(activities.GenerateResult{},
		temporal.NewNonRetryableApplicationError("nope", activities.ErrTypeModelRefused, errors.New("400")))
	env.ExecuteWorkflow(workflows.DraftMessage, draftInput("p", "f"))
	require.NoError(t, env.GetWorkflowError())
	var res workflows.DraftResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, res.IsTemplate)
	require.Equal(t, workflows.TemplateModel, res.ModelUsed)
	require.Len(t, res.Attempts, 2)
	require.Contains(t, res.Message, "{{first_name}}")
	require.True(t, rec.IsTemplate)
}

// A primary that keeps timing out uses its bounded retries, then the
// fallback answers; the whole chain stays inside the total bound.
func TestDraftTimeoutsAreBounded(t *testing.T) {
	env, _ := draftEnv()
	start := env.Now()
	env.OnActivity(dr.Generate, mock.Anything, mock.MatchedBy(func(in activities.GenerateInput) bool { return in.Model == "p" })).
		Return(activities.GenerateResult{}, context.DeadlineExceeded).After(20 * time.Second)
	env.OnActivity(dr.Generate, mock.Anything, mock.MatchedBy(func(in activities.GenerateInput) bool { return in.Model == "f" })).
		Return(activities.GenerateResult{Message: "Hi {{first_name}} https://calendly.com/a", Model: "f"}, nil)
	var endedAt time.Time
	env.ExecuteWorkflow(workflows.DraftMessage, draftInput("p", "f"))
	endedAt = env.Now()
	require.NoError(t, env.GetWorkflowError())
	var res workflows.DraftResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "f", res.ModelUsed)
	require.LessOrEqual(t, endedAt.Sub(start), 90*time.Second)
}

func TestDraftWithoutModelsIsTemplate(t *testing.T) {
	env, rec := draftEnv()
	env.ExecuteWorkflow(workflows.DraftMessage, draftInput())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.DraftResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, res.IsTemplate)
	require.Equal(t, "template", res.Step)
	require.True(t, rec.IsTemplate)
	env.AssertNotCalled(t, "Generate", mock.Anything, mock.Anything)
}
