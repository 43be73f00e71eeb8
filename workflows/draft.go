package workflows

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/store"
)

// LLMTaskQueue carries the model calls, on a worker whose
// TaskQueueActivitiesPerSecond caps the total call rate.
const LLMTaskQueue = "nurture-llm"

// DraftWorkflowID is the workflow ID of a draft request.
func DraftWorkflowID(requestID string) string { return "draft-message/" + requestID }

// DraftInput starts a DraftMessageWorkflow.
type DraftInput struct {
	RequestID      string
	ClientID       string
	Draft          llm.DraftInput
	Models         []string // primary, fallback; empty when no provider is configured
	AttemptTimeout time.Duration
	TotalTimeout   time.Duration
	// Prices per million tokens, for the usage ledger.
	InputPricePerM, OutputPricePerM float64
}

// DraftAttempt is one step of the chain.
type DraftAttempt struct {
	Model string `json:"model"`
	Error string `json:"error,omitempty"`
}

// DraftResult is what the chain produced.
type DraftResult struct {
	Message          string         `json:"message"`
	ModelUsed        string         `json:"model_used"`
	IsTemplate       bool           `json:"is_template"`
	Step             string         `json:"step"` // primary, fallback, template
	Attempts         []DraftAttempt `json:"attempts"`
	PromptTokens     int            `json:"prompt_tokens"`
	CompletionTokens int            `json:"completion_tokens"`
}

// TemplateModel names the last-resort step in model_used.
const TemplateModel = "template"

var dr *activities.Draft

// DraftMessage is the DraftMessageWorkflow: the primary model, then the
// fallback model, then a template built from the inputs. Each model step is
// bounded (AttemptTimeout) and retried only on retryable errors; the whole
// chain ends before TotalTimeout, so the caller always gets an answer.
func DraftMessage(ctx workflow.Context, in DraftInput) (*DraftResult, error) {
	if in.AttemptTimeout <= 0 {
		in.AttemptTimeout = 60 * time.Second
	}
	if in.TotalTimeout <= 0 {
		in.TotalTimeout = 90 * time.Second
	}
	// Leave room for the template and the ledger write.
	deadline := workflow.Now(ctx).Add(in.TotalTimeout - 2*time.Second)
	var nonce string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}).Get(&nonce); err != nil {
		return nil, err
	}
	res := &DraftResult{Attempts: []DraftAttempt{}}
	steps := []string{"primary", "fallback"}
	for i, model := range in.Models {
		remaining := deadline.Sub(workflow.Now(ctx))
		if remaining < time.Second {
			res.Attempts = append(res.Attempts, DraftAttempt{Model: model, Error: "skipped: no time left"})
			continue
		}
		// A step, retries included, gets AttemptTimeout (the last step gets
		// whatever is left), so a hanging primary leaves time for the fallback.
		budget := remaining
		if i < len(in.Models)-1 {
			budget = min(in.AttemptTimeout, remaining)
		}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue:              LLMTaskQueue,
			StartToCloseTimeout:    min(in.AttemptTimeout, budget),
			ScheduleToCloseTimeout: budget,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 5 * time.Second, MaximumAttempts: 3,
				NonRetryableErrorTypes: []string{activities.ErrTypeInvalidOutput, activities.ErrTypeModelRefused, activities.ErrTypeNoProvider},
			},
		})
		var out activities.GenerateResult
		err := workflow.ExecuteActivity(actx, dr.Generate, activities.GenerateInput{Model: model, Input: in.Draft, Nonce: nonce}).Get(ctx, &out)
		if err != nil {
			res.Attempts = append(res.Attempts, DraftAttempt{Model: model, Error: attemptMessage(err)})
			continue
		}
		res.Attempts = append(res.Attempts, DraftAttempt{Model: model})
		res.Message, res.ModelUsed, res.PromptTokens, res.CompletionTokens = out.Message, out.Model, out.PromptTokens, out.CompletionTokens
		res.Step = "fallback"
		if i < len(steps) {
			res.Step = steps[i]
		}
		break
	}
	if res.Message == "" {
		res.Message, res.ModelUsed, res.IsTemplate, res.Step = llm.Template(in.Draft), TemplateModel, true, "template"
	}
	attempts := make([]map[string]any, 0, len(res.Attempts))
	for _, a := range res.Attempts {
		attempts = append(attempts, map[string]any{"model": a.Model, "error": a.Error})
	}
	cost := (float64(res.PromptTokens)*in.InputPricePerM + float64(res.CompletionTokens)*in.OutputPricePerM) / 1e6
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    5 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Second, // room for the 3 attempts
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	if err := workflow.ExecuteLocalActivity(lctx, dr.RecordGeneration, store.GenerationRecord{
		RequestID: in.RequestID, ModelUsed: res.ModelUsed, IsTemplate: res.IsTemplate,
		PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, CostUSD: cost, Attempts: attempts,
	}).Get(ctx, nil); err != nil {
		// The draft is still returned; the ledger row stays "reserved" (it still counts for the rate limit).
		workflow.GetLogger(ctx).Error("usage not recorded", "error", err)
	}
	return res, nil
}

// attemptMessage is why a model's attempt failed: the activity's own
// message in full ("model output rejected: llm: invalid SMS draft: leaks
// the prompt ..."), where rootMessage would keep only its innermost part.
// Only the workflow's result changes with it, no command.
func attemptMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Message() != "" {
		return appErr.Message()
	}
	return rootMessage(err)
}
