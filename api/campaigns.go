package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/quiet"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/workflows"
)

// CreateCampaignRequest is the body of POST /v1/campaigns (and, without
// name/messages/start_at/max_leads, of the preview).
type CreateCampaignRequest struct {
	ClientID         string          `json:"client_id"`
	Name             string          `json:"name"`
	TargetTags       []string        `json:"target_tags"`
	ICPMin           *int            `json:"icp_min"`
	ICPMax           *int            `json:"icp_max"`
	CreatedAfter     *string         `json:"created_after"`
	CreatedBefore    *string         `json:"created_before"`
	EngagementLevels []string        `json:"engagement_levels"`
	Messages         []campaign.Step `json:"messages"`
	StartAt          *string         `json:"start_at"`
	MaxLeads         *int            `json:"max_leads"`
	// Sending: {{booking_link}}, whether a reply stops the sequence
	// (default true), and a window narrower than the client's.
	BookingLink *string           `json:"booking_link"`
	StopOnReply *bool             `json:"stop_on_reply"`
	QuietHours  *QuietHoursFields `json:"quiet_hours"`
}

// QuietHoursFields is a sending window in the recipient's local time:
// "HH:MM" start and end within 08:00-21:00 (TCPA), and the days it is
// open (mon..sun; empty: every day).
type QuietHoursFields struct {
	Start string   `json:"start"`
	End   string   `json:"end"`
	Days  []string `json:"days"`
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Window validates the fields as a window (field names the JSON path).
func (q *QuietHoursFields) Window(field string) (quiet.Window, error) {
	var w quiet.Window
	var err error
	if w.Start, err = quiet.ParseClock(q.Start); err != nil {
		return w, InvalidField(field+".start", field+".start: "+err.Error())
	}
	if w.End, err = quiet.ParseClock(q.End); err != nil {
		return w, InvalidField(field+".end", field+".end: "+err.Error())
	}
	if len(q.Days) == 0 {
		w.Days = quiet.EveryDay
	}
	for _, d := range q.Days {
		wd, ok := dayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return w, InvalidField(field+".days", field+".days must name days as sun, mon, tue, wed, thu, fri, sat")
		}
		w.Days |= 1 << uint(wd)
	}
	if err := w.Validate(); err != nil {
		return w, InvalidField(field, err.Error())
	}
	return w, nil
}

// audience validates and normalizes the audience part.
func (r *CreateCampaignRequest) audience() (campaign.Audience, error) {
	a := campaign.Audience{TargetTags: r.TargetTags, ICPMin: r.ICPMin, ICPMax: r.ICPMax, EngagementLevels: r.EngagementLevels}
	for _, f := range []struct {
		name string
		raw  *string
		dst  **time.Time
	}{{"created_after", r.CreatedAfter, &a.CreatedAfter}, {"created_before", r.CreatedBefore, &a.CreatedBefore}} {
		if f.raw == nil {
			continue
		}
		t, err := ParseTime(f.name, *f.raw)
		if err != nil {
			return a, err
		}
		*f.dst = &t
	}
	if err := a.Normalize(); err != nil {
		return a, fieldErr(err)
	}
	return a, nil
}

// Validate checks a create request against now; a booking link must be on
// bookingHosts (default calendly.com).
func (r *CreateCampaignRequest) Validate(now time.Time, bookingHosts ...string) (store.NewCampaign, error) {
	var nc store.NewCampaign
	name, err := campaign.ValidateName(r.Name)
	if err != nil {
		return nc, fieldErr(err)
	}
	aud, err := r.audience()
	if err != nil {
		return nc, err
	}
	if r.BookingLink != nil && strings.TrimSpace(*r.BookingLink) != "" {
		link, err := llm.NormalizeBookingLink(*r.BookingLink, bookingHosts)
		if err != nil {
			return nc, InvalidField("booking_link", "booking_link "+strings.TrimPrefix(err.Error(), "booking_link: "))
		}
		nc.BookingLink = link
	}
	if err := campaign.ValidateSequence(r.Messages, nc.BookingLink); err != nil {
		return nc, fieldErr(err)
	}
	nc.StopOnReply = r.StopOnReply == nil || *r.StopOnReply
	if r.QuietHours != nil {
		w, err := r.QuietHours.Window("quiet_hours")
		if err != nil {
			return nc, err
		}
		days := int(w.Days)
		nc.QuietStart, nc.QuietEnd, nc.SendDays = &w.Start, &w.End, &days
	}
	if r.StartAt != nil {
		t, err := ParseTime("start_at", *r.StartAt)
		if err != nil {
			return nc, err
		}
		if err := campaign.ValidateStartAt(&t, now); err != nil {
			return nc, fieldErr(err)
		}
		t = t.UTC()
		nc.StartAt = &t
	}
	if r.MaxLeads != nil && (*r.MaxLeads < 1 || *r.MaxLeads > campaign.MaxLeadsCap) {
		return nc, InvalidField("max_leads", fmt.Sprintf("max_leads must be an integer from 1 to %d", campaign.MaxLeadsCap))
	}
	nc.Name, nc.Audience, nc.Messages, nc.MaxLeads = name, aud, r.Messages, r.MaxLeads
	nc.Status = campaign.StatusActivating
	if nc.StartAt != nil {
		nc.Status = campaign.StatusScheduled
	}
	return nc, nil
}

func fieldErr(err error) error {
	var fe *campaign.FieldError
	if errors.As(err, &fe) {
		return InvalidField(fe.Field, fe.Message)
	}
	return err
}

// writeScope is the client a write acts on: a client token's own; a
// super_admin must name one.
func writeScope(p auth.Principal, raw string) (uuid.UUID, error) {
	if raw == "" && p.IsSuper() {
		return uuid.Nil, InvalidField("client_id", "client_id is required for a super_admin")
	}
	scope, err := resolveClientScope(p, raw, raw != "")
	if err != nil {
		return uuid.Nil, err
	}
	return *scope, nil
}

// readBody keeps the raw body (for the idempotency hash) and decodes it.
func readBody(c *gin.Context, dst any) ([]byte, error) {
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, err
	}
	return raw, DecodeJSON(bytes.NewReader(raw), dst)
}

func (h *handlers) createCampaign(c *gin.Context) {
	ctx := c.Request.Context()
	p := principal(c)
	var req CreateCampaignRequest
	raw, err := readBody(c, &req)
	if err != nil {
		h.fail(c, err)
		return
	}
	clientID, err := writeScope(p, req.ClientID)
	if err != nil {
		h.fail(c, err)
		return
	}
	nc, err := req.Validate(time.Now(), h.drafting.BookingHosts...)
	if err != nil {
		h.fail(c, err)
		return
	}
	idemKey := c.GetHeader("Idempotency-Key")
	if utf8.RuneCountInString(idemKey) > 200 {
		h.fail(c, InvalidField("Idempotency-Key", "Idempotency-Key must be at most 200 characters"))
		return
	}
	var canon bytes.Buffer
	_ = json.Compact(&canon, raw)
	hash := sha256.Sum256(canon.Bytes())

	nc.ID = uuid.New()
	nc.ClientID = clientID
	nc.WorkflowID = workflows.CampaignWorkflowID(nc.ID.String())

	var status int
	var body any
	err = h.store.InTx(ctx, func(tx pgx.Tx) error {
		if idemKey != "" {
			prev, err := store.ClaimIdempotencyKey(ctx, tx, clientID, idemKey, hash[:])
			if err != nil {
				return err
			}
			if prev != nil {
				if !bytes.Equal(prev.Hash, hash[:]) {
					return &Error{Status: http.StatusConflict, Code: CodeIdempotencyConflict, Message: "Idempotency-Key was used with a different request body"}
				}
				status, body = prev.StatusCode, prev.Body
				return nil
			}
		}
		camp, err := store.InsertCampaign(ctx, tx, nc)
		if errors.Is(err, store.ErrDuplicate) {
			return &Error{Status: http.StatusConflict, Code: CodeDuplicateName, Message: "a campaign with this name exists for the client", Details: map[string]any{"field": "name"}}
		}
		if errors.Is(err, store.ErrNotFound) {
			return InvalidField("client_id", "client_id names no client")
		}
		if err != nil {
			return err
		}
		if err := store.LogActivity(ctx, tx, store.Activity{ClientID: &clientID, Actor: p.Actor(), Action: "campaign.create",
			Entity: "campaign", EntityID: camp.ID.String(), Details: map[string]any{"name": camp.Name, "request_id": requestID(c)}}); err != nil {
			return err
		}
		// Start the workflow before committing: if the start fails the row
		// is rolled back; if the commit fails the workflow finds no row and
		// ends without side effects (status orphaned).
		if err := h.startCampaign(ctx, camp); err != nil {
			return err
		}
		status, body = http.StatusCreated, camp
		if idemKey != "" {
			return store.StoreIdempotentResponse(ctx, tx, clientID, idemKey, status, camp)
		}
		return nil
	})
	if err != nil {
		h.fail(c, err)
		return
	}
	if raw, ok := body.(json.RawMessage); ok {
		c.Header("Idempotent-Replayed", "true")
		c.Data(status, "application/json; charset=utf-8", raw)
		return
	}
	Logger(c).Info("campaign created", zap.String("campaign_id", nc.ID.String()), zap.String("client_id", clientID.String()))
	c.JSON(status, body)
}

func (h *handlers) startCampaign(ctx context.Context, camp store.Campaign) error {
	if h.temporal == nil {
		return errors.New("temporal client not configured")
	}
	clientName := camp.ClientID.String()
	if cl, err := h.store.GetClient(ctx, camp.ClientID); err == nil {
		clientName = cl.Name
	}
	var steps []campaign.Step
	_ = json.Unmarshal(camp.Messages, &steps)
	start := "at once"
	if camp.StartAt != nil {
		start = "at " + camp.StartAt.UTC().Format(time.RFC3339)
	}
	_, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    camp.WorkflowID,
		TaskQueue:             h.taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         fmt.Sprintf("Campaign %q for %s", camp.Name, clientName),
		StaticDetails:         fmt.Sprintf("%d SMS steps, starts %s. Audience: %s", len(steps), start, camp.Audience),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.CampaignStatusKey.ValueSet(camp.Status),
			workflows.ClientIDKey.ValueSet(camp.ClientID.String()),
		),
	}, workflows.Campaign, workflows.CampaignInput{CampaignID: camp.ID.String(), ClientID: camp.ClientID.String(), StartAt: camp.StartAt})
	if err != nil {
		return unavailable("could not start the campaign workflow", err)
	}
	return nil
}

func unavailable(msg string, err error) error {
	return &withCause{api: &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: msg}, cause: err}
}

// withCause is an API error that keeps its cause for the log.
type withCause struct {
	api   *Error
	cause error
}

func (w *withCause) Error() string   { return w.api.Error() + ": " + w.cause.Error() }
func (w *withCause) Unwrap() []error { return []error{w.api, w.cause} }

type previewResponse struct {
	store.AudienceCounts
	Audience campaign.Audience `json:"audience"`
}

func (h *handlers) previewCampaign(c *gin.Context) {
	var req CreateCampaignRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	clientID, err := writeScope(principal(c), req.ClientID)
	if err != nil {
		h.fail(c, err)
		return
	}
	aud, err := req.audience()
	if err != nil {
		h.fail(c, err)
		return
	}
	counts, err := h.store.CountAudience(c.Request.Context(), clientID, aud)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, previewResponse{AudienceCounts: counts, Audience: aud})
}

var campaignStatuses = map[string]bool{campaign.StatusScheduled: true, campaign.StatusActivating: true, campaign.StatusFailedActivation: true,
	campaign.StatusEnrolling: true, campaign.StatusActive: true, campaign.StatusNoEligibleLeads: true, campaign.StatusCancelled: true, campaign.StatusOrphaned: true}

func (h *handlers) listCampaigns(c *gin.Context) {
	lq, err := parseListQuery(c, "status", campaignStatuses)
	if err != nil {
		h.fail(c, err)
		return
	}
	list, err := h.store.ListCampaigns(c.Request.Context(), lq.Scope, lq.State, lq.Limit)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": list})
}

// listQuery is what a newest-first list endpoint accepts: the client scope,
// one state filter and a limit (1..500, default 100).
type listQuery struct {
	Scope *uuid.UUID
	State string
	Limit int
}

// parseListQuery reads client_id, limit and the state filter named stateKey
// (one of states), refusing any other parameter.
func parseListQuery(c *gin.Context, stateKey string, states map[string]bool) (listQuery, error) {
	q := c.Request.URL.Query()
	for k := range q {
		if k != stateKey && k != "limit" && k != "client_id" {
			return listQuery{}, unknownParam(k)
		}
	}
	scope, err := resolveClientScope(principal(c), q.Get("client_id"), q.Has("client_id"))
	if err != nil {
		return listQuery{}, err
	}
	lq := listQuery{Scope: scope, State: q.Get(stateKey), Limit: 100}
	if lq.State != "" && !states[lq.State] {
		return listQuery{}, InvalidField(stateKey, fmt.Sprintf("%s is not one of %s", stateKey, strings.Join(slices.Sorted(maps.Keys(states)), ", ")))
	}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > 500 {
			return listQuery{}, InvalidField("limit", "limit must be an integer from 1 to 500")
		}
		lq.Limit = n
	}
	return lq, nil
}

type campaignView struct {
	store.Campaign
	store.WriteBackCounts
	Progress *workflows.CampaignProgress `json:"progress,omitempty"`
}

// loadScoped resolves the :id path parameter with get in the principal's
// scope; a malformed id is 400, one outside the scope 404 (what).
func loadScoped[T any](h *handlers, c *gin.Context, what string, get func(context.Context, *uuid.UUID, uuid.UUID) (T, error)) (T, bool) {
	var zero T
	id, err := ParseUUID("id", c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return zero, false
	}
	v, err := get(c.Request.Context(), scopeOf(principal(c)), id)
	if err != nil {
		h.fail(c, notFoundAs(err, what))
		return zero, false
	}
	return v, true
}

func (h *handlers) loadCampaign(c *gin.Context) (store.Campaign, bool) {
	return loadScoped(h, c, "campaign", h.store.GetCampaign)
}

// queryLive asks a running workflow for its live state (bounded to 2 s);
// false when it does not answer in time (the row is the truth then).
func (h *handlers) queryLive(ctx context.Context, workflowID, query string, dst any) bool {
	if h.temporal == nil {
		return false
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := h.temporal.QueryWorkflow(qctx, workflowID, "", query)
	return err == nil && v.Get(dst) == nil
}

func (h *handlers) getCampaign(c *gin.Context) {
	camp, ok := h.loadCampaign(c)
	if !ok {
		return
	}
	view := campaignView{Campaign: camp}
	wb, err := h.store.CampaignWriteBack(c.Request.Context(), camp.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	view.WriteBackCounts = wb
	var p workflows.CampaignProgress
	if !terminal(camp.Status) && h.queryLive(c.Request.Context(), camp.WorkflowID, workflows.QueryProgress, &p) {
		view.Progress = &p
	}
	c.JSON(http.StatusOK, view)
}

// RescheduleRequest is the body of POST /v1/campaigns/{id}/reschedule.
type RescheduleRequest struct {
	StartAt string `json:"start_at"`
}

func (h *handlers) rescheduleCampaign(c *gin.Context) {
	var req RescheduleRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	t, err := ParseTime("start_at", req.StartAt)
	if err != nil {
		h.fail(c, err)
		return
	}
	t = t.UTC()
	h.steer(c, workflows.UpdateReschedule, http.StatusOK, workflows.SteerRequest{StartAt: &t})
}

func (h *handlers) cancelCampaign(c *gin.Context) {
	h.steer(c, workflows.UpdateCancel, http.StatusOK, workflows.SteerRequest{})
}

// retryActivation answers 202: the workflow took the retry and is
// activating again; the outcome shows on the campaign.
func (h *handlers) retryActivation(c *gin.Context) {
	h.steer(c, workflows.UpdateRetryActivation, http.StatusAccepted, workflows.SteerRequest{})
}

// steer sends the campaign's workflow an Update and answers with the
// workflow's verdict: the result when it carried the action out, 409
// CONFLICT with its reason when it refused. The workflow writes the audit
// row (naming the caller) with the change itself, so nothing is audited
// that did not happen.
func (h *handlers) steer(c *gin.Context, update string, okStatus int, req workflows.SteerRequest) {
	camp, ok := h.loadCampaign(c)
	if !ok {
		return
	}
	req.Actor, req.RequestID = principal(c).Actor(), requestID(c)
	var res workflows.SteerResult
	err := h.updateWorkflow(c.Request.Context(), camp.WorkflowID, update, "start_at", req, &res)
	if errors.Is(err, temporalx.ErrWorkflowGone) {
		// The workflow is done with this campaign: its row says how it
		// ended, and its audit log whether this very request did it (the
		// workflow can carry an Update out in a task that then fails
		// because the workflow was completing: the action stands, the
		// Update's answer is lost, and the workflow is closed by the time
		// it is asked again).
		ctx := c.Request.Context()
		if cur, gerr := h.store.GetCampaign(ctx, nil, camp.ID); gerr == nil {
			camp = cur
		}
		action := "campaign." + strings.ReplaceAll(update, "-", "_")
		if done, aerr := h.store.Audited(ctx, "campaign", camp.ID.String(), action, req.RequestID); aerr == nil && done {
			c.JSON(okStatus, workflows.SteerResult{CampaignID: camp.ID.String(), Action: update, Status: camp.Status, StartAt: camp.StartAt})
			return
		}
		err = &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "campaign is " + camp.Status + "; " + update + " is not possible now",
			Details: map[string]any{"status": camp.Status}}
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	Logger(c).Info("campaign steered", zap.String("campaign_id", camp.ID.String()), zap.String("update", update), zap.String("status", res.Status))
	c.JSON(okStatus, res)
}

// terminal statuses: the workflow has ended (or will not change by itself),
// so the row says everything and no query (a history replay) is needed.
// An active or paused campaign is still sending (v2): its progress is live.
func terminal(status string) bool {
	switch status {
	case campaign.StatusCompleted, campaign.StatusNoEligibleLeads, campaign.StatusCancelled, campaign.StatusOrphaned:
		return true
	}
	return false
}
