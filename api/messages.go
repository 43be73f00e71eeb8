package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/text"
	"github.com/nurture-sms/nurture/workflows"
)

// DraftingConfig tunes POST /v1/messages/generate.
type DraftingConfig struct {
	Models            []string // primary, fallback; empty = template only
	AttemptTimeout    time.Duration
	TotalTimeout      time.Duration
	Limits            store.RateLimits
	BookingHosts      []string
	SMSCostPerSegment float64
	InputPricePerM    float64
	OutputPricePerM   float64
}

// DefaultDrafting is used when Deps.Drafting is zero.
func DefaultDrafting() DraftingConfig {
	return DraftingConfig{
		AttemptTimeout: 60 * time.Second, TotalTimeout: 90 * time.Second,
		Limits:       store.RateLimits{PerUser: 10, UserWindow: time.Hour, PerClient: 100, ClientWindow: 24 * time.Hour},
		BookingHosts: []string{"calendly.com"}, SMSCostPerSegment: 0.0079,
		InputPricePerM: 1.25, OutputPricePerM: 10,
	}
}

// GenerateRequest is the body of POST /v1/messages/generate.
type GenerateRequest struct {
	ClientID           string `json:"client_id"`
	CampaignName       string `json:"campaign_name"`
	TargetAudience     string `json:"target_audience"`
	Goal               string `json:"goal"`
	BookingLink        string `json:"booking_link"`
	Tone               string `json:"tone"`
	CustomInstructions string `json:"custom_instructions"`
}

// Draft validates and normalizes the request into the drafting input. The
// campaign name follows the name rule of every other name (internal/text).
func (r GenerateRequest) Draft(hosts []string) (llm.DraftInput, error) {
	if _, err := text.Name(r.CampaignName, llm.MaxCampaignName); err != nil {
		return llm.DraftInput{}, InvalidField(llm.FieldCampaignName, llm.FieldCampaignName+" "+err.Error())
	}
	in := llm.DraftInput{CampaignName: r.CampaignName, TargetAudience: r.TargetAudience, Goal: r.Goal,
		BookingLink: r.BookingLink, Tone: r.Tone, CustomInstructions: r.CustomInstructions}
	if err := in.Normalize(llm.Limits{AllowedHosts: hosts}); err != nil {
		var fe *llm.FieldError
		if errors.As(err, &fe) {
			return in, InvalidField(fe.Field, fe.Message)
		}
		return in, InvalidField("body", err.Error())
	}
	return in, nil
}

type generateResponse struct {
	Message       string                   `json:"message"`
	ModelUsed     string                   `json:"model_used"`
	IsTemplate    bool                     `json:"is_template"`
	Step          string                   `json:"step"`
	Characters    int                      `json:"characters"`
	Encoding      string                   `json:"encoding"`
	Segments      int                      `json:"segments"`
	EstimatedCost float64                  `json:"estimated_cost"`
	Warnings      []string                 `json:"warnings"`
	Suggestions   []string                 `json:"suggestions"`
	Attempts      []workflows.DraftAttempt `json:"attempts"`
	RequestID     string                   `json:"request_id"`
	WorkflowID    string                   `json:"workflow_id"`
}

func (h *handlers) generateMessage(c *gin.Context) {
	ctx := c.Request.Context()
	p := principal(c)
	var req GenerateRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	clientID, err := writeScope(p, req.ClientID)
	if err != nil {
		h.fail(c, err)
		return
	}
	in, err := req.Draft(h.drafting.BookingHosts)
	if err != nil {
		h.fail(c, err)
		return
	}
	// A super_admin may name any client_id: it must name a client.
	if _, err := h.store.GetClient(ctx, clientID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = InvalidField("client_id", "client_id names no client")
		}
		h.fail(c, err)
		return
	}
	requestID := uuid.NewString()
	dec, err := h.store.ReserveGeneration(ctx, requestID, clientID, p.TokenID, h.drafting.Limits)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("X-RateLimit-Limit", strconv.Itoa(dec.Limit))
	c.Header("X-RateLimit-Remaining", strconv.Itoa(dec.Remaining))
	c.Header("X-RateLimit-Reset", strconv.FormatInt(dec.Reset.Unix(), 10))
	c.Header("X-RateLimit-Scope", dec.Scope)
	if !dec.Allowed {
		retry := int(math.Ceil(dec.Reset.Sub(dec.Now).Seconds()))
		if retry < 1 {
			retry = 1
		}
		c.Header("Retry-After", strconv.Itoa(retry))
		h.fail(c, &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
			Message: "AI drafting limit reached (" + strconv.Itoa(dec.Limit) + " per " + dec.Scope + " window); retry after " + strconv.Itoa(retry) + " s",
			Details: map[string]any{"scope": dec.Scope, "limit": dec.Limit, "retry_after_seconds": retry}})
		return
	}

	wfID := workflows.DraftWorkflowID(requestID)
	res, werr := h.runDraft(ctx, wfID, workflows.DraftInput{
		RequestID: requestID, ClientID: clientID.String(), Draft: in, Models: h.drafting.Models,
		AttemptTimeout: h.drafting.AttemptTimeout, TotalTimeout: h.drafting.TotalTimeout,
		InputPricePerM: h.drafting.InputPricePerM, OutputPricePerM: h.drafting.OutputPricePerM,
	})
	if werr != nil {
		// The template path is never an error: answer with it and record it.
		Logger(c).Warn("draft workflow unavailable; answering with the template", zap.Error(werr))
		res = &workflows.DraftResult{Message: llm.Template(in), ModelUsed: workflows.TemplateModel, IsTemplate: true, Step: "template"}
		_ = h.store.CompleteGeneration(context.WithoutCancel(ctx), store.GenerationRecord{RequestID: requestID, ModelUsed: res.ModelUsed, IsTemplate: true})
	}
	an := llm.Analyze(res.Message, h.drafting.SMSCostPerSegment)
	c.JSON(http.StatusOK, generateResponse{
		Message: res.Message, ModelUsed: res.ModelUsed, IsTemplate: res.IsTemplate, Step: res.Step,
		Characters: an.Characters, Encoding: an.Encoding, Segments: an.Segments, EstimatedCost: an.EstimatedCostUSD,
		Warnings: nonNil(an.Warnings), Suggestions: nonNil(llm.Suggestions(res.Message, in)), Attempts: res.Attempts,
		RequestID: requestID, WorkflowID: wfID,
	})
}

// runDraft starts the DraftMessageWorkflow and waits for it, a little
// longer than the workflow's own bound.
func (h *handlers) runDraft(ctx context.Context, wfID string, in workflows.DraftInput) (*workflows.DraftResult, error) {
	if h.temporal == nil {
		return nil, errors.New("temporal client not configured")
	}
	wctx, cancel := context.WithTimeout(ctx, in.TotalTimeout+3*time.Second)
	defer cancel()
	run, err := h.temporal.ExecuteWorkflow(wctx, client.StartWorkflowOptions{
		ID: wfID, TaskQueue: h.taskQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: in.TotalTimeout + time.Minute,
	}, workflows.DraftMessage, in)
	if err != nil {
		return nil, err
	}
	var res workflows.DraftResult
	if err := run.Get(wctx, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (h *handlers) messageUsage(c *gin.Context) {
	q := c.Request.URL.Query()
	for k := range q {
		if k != "client_id" && k != "days" {
			h.fail(c, unknownParam(k))
			return
		}
	}
	clientID, err := writeScope(principal(c), q.Get("client_id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	days := 30
	if q.Has("days") {
		n, err := strconv.Atoi(q.Get("days"))
		if err != nil || n < 1 || n > 366 {
			h.fail(c, InvalidField("days", "days must be an integer from 1 to 366"))
			return
		}
		days = n
	}
	rows, err := h.store.Usage(c.Request.Context(), clientID, time.Now().AddDate(0, 0, -days))
	if err != nil {
		h.fail(c, err)
		return
	}
	total := store.UsageRow{Day: "total"}
	for _, r := range rows {
		total.Requests += r.Requests
		total.Templates += r.Templates
		total.PromptTokens += r.PromptTokens
		total.CompletionTokens += r.CompletionTokens
		total.CostUSD += r.CostUSD
	}
	c.JSON(http.StatusOK, gin.H{"client_id": clientID, "days": days, "data": rows, "total": total})
}
