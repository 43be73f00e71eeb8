package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/task"
	"github.com/nurture-sms/nurture/internal/tasksync"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/internal/text"
	"github.com/nurture-sms/nurture/workflows"
)

// Tasks API (issue 12, HIGH-6): a client's project tasks, kept in sync
// with its Airtable Tasks table by the TaskSync workflow.

var taskQueryParams = map[string]bool{"sync_state": true, "status": true, "assignee": true, "limit": true, "cursor": true, "client_id": true}

// ParseTaskQuery validates the GET /v1/tasks query string for principal p.
func ParseTaskQuery(q url.Values, p auth.Principal) (store.TaskFilter, error) {
	f := store.TaskFilter{Limit: defaultLeadLimit}
	for k, v := range q {
		if !taskQueryParams[k] {
			return f, unknownParam(k)
		}
		if len(v) > 1 {
			return f, InvalidField(k, k+" may be given once")
		}
	}
	scope, err := resolveClientScope(p, q.Get("client_id"), q.Has("client_id"))
	if err != nil {
		return f, err
	}
	f.ClientID = scope
	if q.Has("sync_state") {
		switch s := q.Get("sync_state"); s {
		case store.TaskPending, store.TaskSynced, store.TaskConflict:
			f.SyncState = s
		default:
			return f, InvalidField("sync_state", "sync_state must be one of: pending, synced, conflict")
		}
	}
	if q.Has("status") {
		if !task.ValidStatus(q.Get("status")) {
			return f, InvalidField("status", "status must be one of: todo, in_progress, blocked, done")
		}
		f.Status = q.Get("status")
	}
	if q.Has("assignee") {
		a, err := text.Name(q.Get("assignee"), task.MaxAssignee)
		if err != nil {
			return f, InvalidField("assignee", "assignee "+err.Error())
		}
		f.Assignee = a
	}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxLeadLimit {
			return f, InvalidField("limit", "limit must be an integer from 1 to 500")
		}
		f.Limit = n
	}
	if q.Has("cursor") {
		cur, err := store.DecodeLeadCursor(q.Get("cursor"))
		if err != nil {
			return f, InvalidField("cursor", "cursor is malformed; pass next_cursor from the previous page")
		}
		f.After = &cur
	}
	return f, nil
}

// CreateTaskRequest is the body of POST /v1/tasks.
type CreateTaskRequest struct {
	ClientID string  `json:"client_id"`
	Title    string  `json:"title"`
	Status   string  `json:"status"` // default todo
	Assignee string  `json:"assignee"`
	DueDate  *string `json:"due_date"` // YYYY-MM-DD; null or "": none
	Notes    string  `json:"notes"`
}

// Values validates the request's task fields.
func (r CreateTaskRequest) Values() (task.Values, error) {
	v := task.Values{Title: r.Title, Status: r.Status, Assignee: r.Assignee, Notes: r.Notes}
	if v.Status == "" {
		v.Status = "todo"
	}
	if r.DueDate != nil {
		v.DueDate = *r.DueDate
	}
	out, err := v.Check()
	return out, taskFieldErr(err)
}

func taskFieldErr(err error) error {
	var fe *task.FieldError
	if errors.As(err, &fe) {
		return InvalidField(fe.Field, fe.Message)
	}
	return err
}

// DecodeUpdateTask decodes and validates a PATCH /v1/tasks/{id} body: the
// fields given (at least one; null only for due_date, which clears it),
// and resolve_conflict (true clears the task's conflict record).
func DecodeUpdateTask(raw []byte) (store.TaskPatch, error) {
	var shape struct {
		Title           *string `json:"title"`
		Status          *string `json:"status"`
		Assignee        *string `json:"assignee"`
		DueDate         *string `json:"due_date"`
		Notes           *string `json:"notes"`
		ResolveConflict *bool   `json:"resolve_conflict"`
	}
	if err := DecodeJSON(bytes.NewReader(raw), &shape); err != nil {
		return store.TaskPatch{}, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return store.TaskPatch{}, InvalidField("body", "request body must be a JSON object")
	}
	if len(members) == 0 {
		return store.TaskPatch{}, InvalidField("body", "name at least one field to change")
	}
	p := store.TaskPatch{Values: map[string]string{}}
	for k, v := range members {
		if string(v) == "null" && k != "due_date" {
			return store.TaskPatch{}, InvalidField(k, k+" must not be null")
		}
	}
	set := func(f string, s *string) error {
		if s == nil {
			if _, given := members[f]; given { // due_date: null
				p.Values[f] = ""
			}
			return nil
		}
		v, err := task.CheckField(f, *s)
		if err != nil {
			return taskFieldErr(err)
		}
		p.Values[f] = v
		return nil
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"title", shape.Title}, {"status", shape.Status}, {"assignee", shape.Assignee}, {"due_date", shape.DueDate}, {"notes", shape.Notes}} {
		if err := set(f.name, f.v); err != nil {
			return store.TaskPatch{}, err
		}
	}
	if shape.ResolveConflict != nil {
		p.ResolveConflict = *shape.ResolveConflict
	}
	return p, nil
}

type taskPage struct {
	Data       []store.Task `json:"data"`
	NextCursor *string      `json:"next_cursor"`
}

func (h *handlers) listTasks(c *gin.Context) {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		h.fail(c, InvalidField("query", "malformed query string"))
		return
	}
	f, err := ParseTaskQuery(q, principal(c))
	if err != nil {
		h.fail(c, err)
		return
	}
	tasks, next, err := h.store.ListTasks(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return
	}
	page := taskPage{Data: tasks}
	if next != "" {
		page.NextCursor = &next
	}
	c.JSON(http.StatusOK, page)
}

func (h *handlers) getTask(c *gin.Context) {
	id, err := ParseUUID("id", c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	t, err := h.store.GetTask(c.Request.Context(), scopeOf(principal(c)), id)
	if err != nil {
		h.fail(c, notFoundAs(err, "task"))
		return
	}
	c.JSON(http.StatusOK, t)
}

func (h *handlers) createTask(c *gin.Context) {
	p := principal(c)
	var req CreateTaskRequest
	if _, err := readBody(c, &req); err != nil {
		h.fail(c, err)
		return
	}
	clientID, err := writeScope(p, req.ClientID)
	if err != nil {
		h.fail(c, err)
		return
	}
	v, err := req.Values()
	if err != nil {
		h.fail(c, err)
		return
	}
	t, err := h.store.CreateTask(c.Request.Context(), clientID, v, p.Actor(), requestID(c))
	if err != nil {
		h.fail(c, notFoundAs(err, "client"))
		return
	}
	h.nudgeTaskSync(c, clientID)
	c.JSON(http.StatusCreated, t)
}

func (h *handlers) updateTask(c *gin.Context) {
	id, err := ParseUUID("id", c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	raw, err := readRaw(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	patch, err := DecodeUpdateTask(raw)
	if err != nil {
		h.fail(c, err)
		return
	}
	p := principal(c)
	t, changed, err := h.store.UpdateTask(c.Request.Context(), scopeOf(p), id, patch, p.Actor(), requestID(c))
	if err != nil {
		h.fail(c, notFoundAs(err, "task"))
		return
	}
	if changed && t.PushPending {
		h.nudgeTaskSync(c, t.ClientID)
	}
	c.JSON(http.StatusOK, t)
}

func readRaw(c *gin.Context) ([]byte, error) {
	var sink json.RawMessage
	raw, err := readBody(c, &sink)
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// nudgeTaskSync tells the client's TaskSync workflow a task changed. The
// edit is committed (pending) whatever happens here: if Temporal cannot be
// reached, the next edit, force sync or scheduled sync pushes it.
func (h *handlers) nudgeTaskSync(c *gin.Context, clientID uuid.UUID) {
	cfg, err := h.store.GetTaskSyncConfig(c.Request.Context(), clientID)
	if err != nil {
		h.log.Warn("task sync not signalled; the task stays pending", zap.String("client_id", clientID.String()), zap.Error(err),
			zap.String("request_id", requestID(c)))
		return
	}
	if cfg.BaseID == "" {
		return // no Airtable base: the task stays pending until one is configured (force sync says so)
	}
	name := cfg.ClientName
	if err := tasksync.Nudge(c.Request.Context(), h.temporal, h.taskQueue, clientID, name, workflows.SignalTaskEdited, h.taskSyncWindow); err != nil {
		h.log.Warn("task sync not signalled; the task stays pending", zap.String("client_id", clientID.String()), zap.Error(err),
			zap.String("request_id", requestID(c)))
	}
}

// ForceTaskSyncRequest is the body of POST /v1/tasks/sync.
type ForceTaskSyncRequest struct {
	ClientID string `json:"client_id"`
}

// forceTaskSync runs a sync cycle now: 200 with in_sync true once both
// sides agree; 202 with in_sync false, the pending tasks and the reasons
// otherwise (the workflow keeps trying); 409 when the client has no
// Airtable base.
func (h *handlers) forceTaskSync(c *gin.Context) {
	p := principal(c)
	var req ForceTaskSyncRequest
	if _, err := readBody(c, &req); err != nil {
		h.fail(c, err)
		return
	}
	clientID, err := writeScope(p, req.ClientID)
	if err != nil {
		h.fail(c, err)
		return
	}
	cfg, err := h.store.GetTaskSyncConfig(c.Request.Context(), clientID)
	if err != nil {
		h.fail(c, notFoundAs(err, "client"))
		return
	}
	if cfg.BaseID == "" {
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "the client has no Airtable base configured"})
		return
	}
	v, err := tasksync.Force(c.Request.Context(), h.temporal, h.taskQueue, clientID, cfg.ClientName, p.Actor(), requestID(c), h.taskSyncWindow, h.taskForceWait)
	var refused *temporalx.RefusedError
	out := forceVerdict{TaskSyncVerdict: v}
	switch {
	case errors.As(err, &refused):
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeConflict, Message: refused.Reason})
		return
	case errors.Is(err, tasksync.ErrStillRunning):
		// The cycle outlived the wait (Airtable slow, a long backlog): say
		// what is pending now, from the database; the cycle carries on.
		st, serr := h.store.GetTaskSyncStatus(c.Request.Context(), clientID)
		if serr != nil {
			h.fail(c, serr)
			return
		}
		out = forceVerdict{TaskSyncVerdict: workflows.TaskSyncVerdict{PendingCount: st.PendingN, Pending: st.Pending, ConflictCount: st.Conflicts},
			StillRunning: true, Message: "the sync cycle is still running; it carries on in the background"}
	case err != nil:
		h.fail(c, unavailable("the task sync did not answer", err))
		return
	}
	if out.Pending == nil {
		out.Pending = []store.TaskBacklog{}
	}
	status := http.StatusOK
	if !out.InSync {
		status = http.StatusAccepted
	}
	c.JSON(status, out)
}

// forceVerdict is a force sync's answer: the cycle's verdict, or (still
// running) what the database says is pending.
type forceVerdict struct {
	workflows.TaskSyncVerdict
	StillRunning bool   `json:"still_running,omitempty"`
	Message      string `json:"message,omitempty"`
}
