package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/store"
)

// Draft holds the SMS drafting activities' dependencies. Provider is nil
// when no model is configured (the workflow then goes straight to the template).
type Draft struct {
	Provider llm.Provider
	Store    *store.Store
}

// Error types the drafting retry policy does not retry.
const (
	ErrTypeInvalidOutput = "InvalidOutput"
	ErrTypeModelRefused  = "ModelRefused"
	ErrTypeNoProvider    = "NoProvider"
)

// GenerateInput asks one model for one draft.
type GenerateInput struct {
	Model string
	Input llm.DraftInput
	Nonce string // the data-fence nonce (recorded in history, unknown to the caller)
}

// GenerateResult is a checked draft.
type GenerateResult struct {
	Message          string
	Model            string
	PromptTokens     int
	CompletionTokens int
}

// Generate calls the model and checks its output. Rate limits, 5xx and
// timeouts are retryable; other API errors and an output that fails the
// checks are not (the workflow moves on to the next step of the chain).
func (a *Draft) Generate(ctx context.Context, in GenerateInput) (GenerateResult, error) {
	if a.Provider == nil {
		return GenerateResult{}, temporal.NewNonRetryableApplicationError("no model provider configured", ErrTypeNoProvider, nil)
	}
	msgs, err := llm.BuildMessagesWithNonce(in.Input, in.Nonce)
	if err != nil {
		msgs = llm.BuildMessages(in.Input) // the nonce occurred in the input: draw a fresh one
	}
	c, err := a.Provider.Complete(ctx, in.Model, msgs)
	if err != nil {
		if llm.IsRetryable(err) || errors.Is(err, context.DeadlineExceeded) {
			return GenerateResult{}, err
		}
		return GenerateResult{}, temporal.NewNonRetryableApplicationError("model refused the request: "+err.Error(), ErrTypeModelRefused, err)
	}
	msg, err := llm.CheckOutput(c.Text, in.Input)
	if err != nil {
		return GenerateResult{}, temporal.NewNonRetryableApplicationError("model output rejected: "+err.Error(), ErrTypeInvalidOutput, err)
	}
	model := c.Model
	if model == "" {
		model = in.Model
	}
	return GenerateResult{Message: msg, Model: model, PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens}, nil
}

// RecordGeneration writes the outcome to the usage ledger.
func (a *Draft) RecordGeneration(ctx context.Context, r store.GenerationRecord) error {
	return a.Store.CompleteGeneration(ctx, r)
}
