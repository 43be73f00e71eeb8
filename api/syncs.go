package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/workflows"
)

// StartSyncRequest is the body of POST /v1/syncs.
type StartSyncRequest struct {
	ClientID string `json:"client_id"`
}

func (h *handlers) startSync(c *gin.Context) {
	var req StartSyncRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	clientID, err := writeScope(principal(c), req.ClientID)
	if err != nil {
		h.fail(c, err)
		return
	}
	run, status, err := h.startSyncFor(c.Request.Context(), clientID, principal(c).Actor(), requestID(c))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(status, run)
}

// startSyncFor starts the client's sync; when one is already running it
// answers 409 CONFLICT naming the running sync (details.sync_id).
func (h *handlers) startSyncFor(ctx context.Context, clientID uuid.UUID, actor, reqID string) (store.SyncRun, int, error) {
	run, err := syncstart.Start(ctx, h.store, h.temporal, h.taskQueue, clientID, actor, reqID)
	var running *syncstart.RunningError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return run, 0, InvalidField("client_id", "client_id names no client")
	case errors.Is(err, syncstart.ErrNoBase):
		return run, 0, InvalidField("client_id", "the client has no Airtable base configured")
	case errors.As(err, &running):
		return run, 0, &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "a sync is already running for this client",
			Details: map[string]any{"sync_id": running.SyncID, "workflow_id": running.WorkflowID}}
	case err != nil:
		return run, 0, unavailable("could not start the sync", err)
	}
	return run, http.StatusAccepted, nil
}

var syncPhases = map[string]bool{store.SyncListing: true, store.SyncStaging: true, store.SyncAwaitingDecision: true, store.SyncDeleting: true,
	store.SyncRestoring: true, store.SyncCompleted: true, store.SyncFailed: true}

// listSyncs lists sync runs, newest first (a client's syncs, or with
// phase=awaiting_decision the ones waiting for an admin).
func (h *handlers) listSyncs(c *gin.Context) {
	lq, err := parseListQuery(c, "phase", syncPhases)
	if err != nil {
		h.fail(c, err)
		return
	}
	list, err := h.store.ListSyncRuns(c.Request.Context(), lq.Scope, lq.State, lq.Limit)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": list})
}

type syncView struct {
	store.SyncRun
	Status *workflows.SyncStatus `json:"status,omitempty"`
}

func (h *handlers) loadSync(c *gin.Context) (store.SyncRun, bool) {
	return loadScoped(h, c, "sync", h.store.GetSyncRun)
}

func (h *handlers) getSync(c *gin.Context) {
	run, ok := h.loadSync(c)
	if !ok {
		return
	}
	view := syncView{SyncRun: run}
	var st workflows.SyncStatus
	if run.FinishedAt == nil && h.queryLive(c.Request.Context(), run.WorkflowID, workflows.QuerySyncStatus, &st) && st.SyncID == run.ID.String() {
		view.Status = &st
	}
	c.JSON(http.StatusOK, view)
}

func (h *handlers) stagedDeletions(c *gin.Context) {
	run, ok := h.loadSync(c)
	if !ok {
		return
	}
	q := c.Request.URL.Query()
	for k := range q {
		if k != "limit" && k != "cursor" {
			h.fail(c, unknownParam(k))
			return
		}
	}
	limit := 100
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > 1000 {
			h.fail(c, InvalidField("limit", "limit must be an integer from 1 to 1000"))
			return
		}
		limit = n
	}
	after := uuid.Nil
	if q.Has("cursor") {
		id, err := ParseUUID("cursor", q.Get("cursor"))
		if err != nil {
			h.fail(c, err)
			return
		}
		after = id
	}
	rows, err := h.store.ListStaged(c.Request.Context(), run.ID, after, limit+1)
	if err != nil {
		h.fail(c, err)
		return
	}
	var next *string
	if len(rows) > limit {
		rows = rows[:limit]
		s := rows[len(rows)-1].ID.String()
		next = &s
	}
	// The share of the client's leads the staged ones are (staged leads are
	// soft-deleted, so they are not among the live ones) and the alert
	// threshold: the console asks the admin to type the count above it.
	live, err := h.store.LiveLeadCount(c.Request.Context(), run.ClientID)
	if err != nil {
		h.fail(c, err)
		return
	}
	share := 0.0
	if total := live + run.Staged; total > 0 {
		share = float64(run.Staged) / float64(total)
	}
	threshold := syncstart.Default.AlertShare
	if threshold <= 0 {
		threshold = workflows.DefaultThreshold
	}
	c.JSON(http.StatusOK, gin.H{"data": rows, "next_cursor": next, "staged": run.Staged, "phase": run.Phase,
		"live_leads": live, "share": share, "threshold": threshold})
}

func (h *handlers) approveDeletions(c *gin.Context) {
	h.decide(c, workflows.UpdateApproveDeletions)
}
func (h *handlers) rejectDeletions(c *gin.Context) {
	h.decide(c, workflows.UpdateRejectDeletions)
}

// decide sends the admin's decision to the workflow that holds it and
// answers with its verdict: 200 with the decision it took, 409 CONFLICT
// with its reason when it refused (another decision came first, the window
// ended, nothing awaits one).
func (h *handlers) decide(c *gin.Context, update string) {
	id, err := ParseUUID("id", c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	run, res, err := syncstart.Decide(c.Request.Context(), h.store, h.temporal, scopeOf(principal(c)), id, update, principal(c).Actor(), requestID(c))
	var notAwaiting *syncstart.NotAwaitingError
	switch {
	case errors.As(err, &notAwaiting):
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error(), Details: map[string]any{"phase": notAwaiting.Phase}})
	case errors.Is(err, store.ErrNotFound):
		h.fail(c, errNotFound("sync"))
	case err != nil:
		h.fail(c, updateError(err, "body"))
	default:
		c.JSON(http.StatusOK, gin.H{"sync_id": run.ID, "workflow_id": run.DecisionWorkflow(), "decision": res.Decision, "staged": res.Staged})
	}
}
