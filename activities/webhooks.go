package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mehanizm/airtable"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/airtablefields"
	"github.com/nurture-sms/nurture/internal/store"
)

// Incremental sync (issue 12): the client's Airtable webhook on its leads
// table and the payloads it records. The mehanizm/airtable client has no
// webhook support, so these requests are plain net/http, paced through the
// same per-base schedule as every other request.

// ErrTypeWebhookGone: Airtable no longer has the client's webhook.
const ErrTypeWebhookGone = "WebhookGone"

// NotificationPath is the route Airtable posts a client's notifications to.
func NotificationPath(clientID string) string {
	return "/v1/webhooks/airtable/" + clientID + "/notifications"
}

// WebhookLifetimeLeft: a webhook expiring sooner than this is refreshed.
const refreshBefore = 7 * 24 * time.Hour

type airtableAPIError struct {
	Status int
	Type   string
	Msg    string
}

func (e *airtableAPIError) Error() string {
	return fmt.Sprintf("airtable answered %d %s %s", e.Status, e.Type, e.Msg)
}

// call sends one paced request to the Airtable Web API (path after /v0)
// and decodes the answer into out. A 429 waits out the penalty and tries
// again; an answer of 4xx is an *airtableAPIError.
func (a *Sync) call(ctx context.Context, base, method, path string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		if err := a.pace(ctx, base); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.BaseURL, "/")+path, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+a.APIKey)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := webhookHTTP.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests && attempt < 5:
			if err := a.penalize(ctx, base, func() { activity.RecordHeartbeat(ctx) }); err != nil {
				return err
			}
			continue
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return fmt.Errorf("%s %s: airtable answered %d", method, path, resp.StatusCode) // retried
		case resp.StatusCode >= 400:
			ae := &airtableAPIError{Status: resp.StatusCode}
			var eb struct {
				Error json.RawMessage `json:"error"`
			}
			if json.Unmarshal(b, &eb) == nil {
				var typed struct{ Type, Message string }
				if json.Unmarshal(eb.Error, &typed) == nil {
					ae.Type, ae.Msg = typed.Type, typed.Message
				} else {
					_ = json.Unmarshal(eb.Error, &ae.Type)
				}
			}
			return ae
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(b, out)
	}
}

var webhookHTTP = &http.Client{Timeout: 30 * time.Second}

type schemaTable struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Fields []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"fields"`
}

// webhookCell converts a webhook payload's cell to the REST listing's
// shape, which mapRecords reads: a payload carries a singleSelect as an
// object {id, name, color} and a multipleSelects as an array of them, where
// the listing has the choice's name and an array of names.
func webhookCell(typ string, v any) any {
	name := func(x any) (string, bool) {
		switch c := x.(type) {
		case map[string]any:
			n, ok := c["name"].(string)
			return n, ok
		case string:
			return c, true
		}
		return "", false
	}
	switch typ {
	case "singleSelect":
		if n, ok := name(v); ok {
			return n
		}
	case "multipleSelects":
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, 0, len(arr))
		for _, x := range arr {
			if n, ok := name(x); ok {
				out = append(out, n)
			}
		}
		return out
	}
	return v
}

// baseTables reads the base schema (one request).
func (a *Sync) baseTables(ctx context.Context, base string) ([]schemaTable, error) {
	var schema struct {
		Tables []schemaTable `json:"tables"`
	}
	if err := a.call(ctx, base, http.MethodGet, "/meta/bases/"+url.PathEscape(base)+"/tables", nil, &schema); err != nil {
		return nil, rejected("read schema", err)
	}
	return schema.Tables, nil
}

// findTable finds a table of the schema by name or id.
func findTable(tables []schemaTable, table string) (schemaTable, bool) {
	for _, t := range tables {
		if t.Name == table || t.ID == table {
			return t, true
		}
	}
	return schemaTable{}, false
}

// leadsTable finds the client's table in the schema; it fails
// (non-retryable, like CheckSchema) when the table or a mapped column is missing.
func leadsTable(tables []schemaTable, base, table string, m airtablefields.Mapping) (schemaTable, error) {
	t, ok := findTable(tables, table)
	if !ok {
		return schemaTable{}, temporal.NewNonRetryableApplicationError("base "+base+" has no table "+strconv.Quote(table), ErrTypeSchema, nil)
	}
	cols := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		cols[i] = f.Name
	}
	if missing := m.Missing(cols); len(missing) > 0 {
		return t, temporal.NewNonRetryableApplicationError("table "+strconv.Quote(table)+" has no column for "+strings.Join(missing, ", "), ErrTypeSchema, nil)
	}
	return t, nil
}

// rejected makes a 4xx answer non-retryable.
func rejected(what string, err error) error {
	var ae *airtableAPIError
	if errors.As(err, &ae) {
		return temporal.NewNonRetryableApplicationError(what+": "+ae.Error(), ErrTypeAirtableRejected, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// EnsureWebhookInput names the client whose webhook must exist.
type EnsureWebhookInput struct {
	ClientID string
}

// EnsureWebhookResult says what EnsureWebhook did.
type EnsureWebhookResult struct {
	WebhookID string    `json:"webhook_id"`
	Created   bool      `json:"created"` // a new webhook: a full listing must cover the time without one
	Refreshed bool      `json:"refreshed"`
	Reason    string    `json:"reason,omitempty"` // why it was (re-)created
	ExpiresAt time.Time `json:"expires_at"`
}

// EnsureWebhook makes sure the client has a live webhook on its base
// (leads and tasks): it refreshes the stored one (another 7 days), or creates one
// (registered with includeCellValuesInFieldIds "all", so a changed record
// carries all its cells) when there is none, Airtable no longer has it, it
// is disabled, expired or its notifications are off, it watches only the
// leads table, or the client's base changed. The notification
// URL is PublicBaseURL + NotificationPath.
func (a *Sync) EnsureWebhook(ctx context.Context, in EnsureWebhookInput) (EnsureWebhookResult, error) {
	clientID, err := parseID("client id", in.ClientID)
	if err != nil {
		return EnsureWebhookResult{}, err
	}
	cl, err := a.Store.GetClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return EnsureWebhookResult{}, temporal.NewNonRetryableApplicationError("no client "+in.ClientID, "NotFound", err)
	}
	if err != nil {
		return EnsureWebhookResult{}, err
	}
	if cl.AirtableBaseID == "" {
		return EnsureWebhookResult{}, temporal.NewNonRetryableApplicationError("the client has no Airtable base configured", "InvalidInput", nil)
	}
	if a.PublicBaseURL == "" {
		return EnsureWebhookResult{}, temporal.NewNonRetryableApplicationError("PUBLIC_BASE_URL is not set: Airtable cannot reach Nurture", "InvalidInput", nil)
	}
	notifyURL := strings.TrimRight(a.PublicBaseURL, "/") + NotificationPath(in.ClientID)
	base := cl.AirtableBaseID
	old, err := a.Store.GetAirtableWebhook(ctx, clientID)
	reason := "no webhook yet"
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return EnsureWebhookResult{}, err
	case old.BaseID != base || old.NotificationURL != notifyURL:
		reason = "the client's base or Nurture's public URL changed"
		_ = a.call(ctx, old.BaseID, http.MethodDelete, "/bases/"+url.PathEscape(old.BaseID)+"/webhooks/"+url.PathEscape(old.WebhookID), nil, nil)
	case old.TableID != "":
		// Registered before the hook watched the whole base (stop 14): it
		// sees the leads table only, not the Tasks table.
		reason = "the webhook watched the leads table only; re-created for the whole base (leads and tasks)"
		_ = a.call(ctx, base, http.MethodDelete, "/bases/"+url.PathEscape(base)+"/webhooks/"+url.PathEscape(old.WebhookID), nil, nil)
	default:
		var list struct {
			Webhooks []struct {
				ID             string `json:"id"`
				IsHookEnabled  bool   `json:"isHookEnabled"`
				Notifications  bool   `json:"areNotificationsEnabled"`
				ExpirationTime string `json:"expirationTime"`
			} `json:"webhooks"`
		}
		if err := a.call(ctx, base, http.MethodGet, "/bases/"+url.PathEscape(base)+"/webhooks", nil, &list); err != nil {
			return EnsureWebhookResult{}, rejected("list webhooks", err)
		}
		reason = "Airtable no longer has the webhook"
		for _, h := range list.Webhooks {
			if h.ID != old.WebhookID {
				continue
			}
			if !h.IsHookEnabled || !h.Notifications {
				// Notifications off: payloads may be kept, but nothing tells
				// Nurture to read them; a new hook and the full listing it
				// starts cover the time without notifications.
				reason = "the webhook was disabled or expired"
				if h.IsHookEnabled {
					reason = "Airtable turned the webhook's notifications off"
				}
				_ = a.call(ctx, base, http.MethodDelete, "/bases/"+url.PathEscape(base)+"/webhooks/"+url.PathEscape(h.ID), nil, nil)
				break
			}
			var ref struct {
				ExpirationTime time.Time `json:"expirationTime"`
			}
			err := a.call(ctx, base, http.MethodPost, "/bases/"+url.PathEscape(base)+"/webhooks/"+url.PathEscape(h.ID)+"/refresh", nil, &ref)
			var ae *airtableAPIError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				break
			}
			if err != nil {
				return EnsureWebhookResult{}, rejected("refresh webhook", err)
			}
			if err := a.Store.RefreshedAirtableWebhook(ctx, clientID, h.ID, ref.ExpirationTime); err != nil {
				return EnsureWebhookResult{}, err
			}
			return EnsureWebhookResult{WebhookID: h.ID, Refreshed: true, ExpiresAt: ref.ExpirationTime}, nil
		}
	}
	m, err := a.fields(ctx, clientID)
	if err != nil {
		return EnsureWebhookResult{}, err
	}
	tables, err := a.baseTables(ctx, base)
	if err != nil {
		return EnsureWebhookResult{}, err
	}
	if _, err := leadsTable(tables, base, cl.AirtableTable, m); err != nil {
		return EnsureWebhookResult{}, err
	}
	var created struct {
		ID              string    `json:"id"`
		MacSecretBase64 string    `json:"macSecretBase64"`
		ExpirationTime  time.Time `json:"expirationTime"`
	}
	spec := map[string]any{"notificationUrl": notifyURL, "specification": map[string]any{"options": map[string]any{
		"filters":  map[string]any{"dataTypes": []string{"tableData"}}, // every table: leads and tasks
		"includes": map[string]any{"includeCellValuesInFieldIds": "all"},
	}}}
	if err := a.call(ctx, base, http.MethodPost, "/bases/"+url.PathEscape(base)+"/webhooks", spec, &created); err != nil {
		return EnsureWebhookResult{}, rejected("create webhook", err)
	}
	if err := a.Store.SaveAirtableWebhook(ctx, store.AirtableWebhook{ClientID: clientID, BaseID: base, TableID: "", WebhookID: created.ID,
		MACSecret: created.MacSecretBase64, NotificationURL: notifyURL, ExpiresAt: created.ExpirationTime, Cursor: 1}); err != nil {
		return EnsureWebhookResult{}, err
	}
	a.log().Info("airtable webhook created", zap.String("client_id", in.ClientID), zap.String("webhook_id", created.ID), zap.String("reason", reason))
	return EnsureWebhookResult{WebhookID: created.ID, Created: true, Reason: reason, ExpiresAt: created.ExpirationTime}, nil
}

func (a *Sync) log() *zap.Logger {
	if a.Log == nil {
		return zap.NewNop()
	}
	return a.Log
}

// IncrementalInput asks for the client's payloads after its stored cursor.
type IncrementalInput struct {
	SyncID, ClientID string
}

// IncrementalResult is what an incremental apply did, or why it could not.
type IncrementalResult struct {
	// Fallback is set when the payloads cannot tell the whole story (no
	// webhook, cursor expired, a gap, webhook gone): a full listing must run.
	Fallback string `json:"fallback,omitempty"`
	Payloads int    `json:"payloads"`
	Requests int    `json:"requests"`
	Records  int    `json:"records"` // created or changed lead records applied
	Staged   int    `json:"staged"`  // destroyed records whose leads were staged
	Cursor   int64  `json:"cursor"`
	// The Tasks table's changes in the same payloads (task two-way sync).
	TaskRecords int `json:"task_records,omitempty"` // created or changed task records read
	TasksPulled int `json:"tasks_pulled,omitempty"` // tasks created or changed from them
	TaskInvalid int `json:"task_invalid,omitempty"` // records that cannot be tasks (left alone)
	TasksGone   int `json:"tasks_gone,omitempty"`   // tasks whose record was destroyed in Airtable
}

type tableChanges struct {
	CreatedRecordsByID map[string]struct {
		CreatedTime         string         `json:"createdTime"`
		CellValuesByFieldID map[string]any `json:"cellValuesByFieldId"`
	} `json:"createdRecordsById"`
	ChangedRecordsByID map[string]struct {
		Current struct {
			CellValuesByFieldID map[string]any `json:"cellValuesByFieldId"`
		} `json:"current"`
		Unchanged *struct {
			CellValuesByFieldID map[string]any `json:"cellValuesByFieldId"`
		} `json:"unchanged"`
	} `json:"changedRecordsById"`
	DestroyedRecordIDs []string `json:"destroyedRecordIds"`
}

type payloadPage struct {
	Payloads []struct {
		ChangedTablesByID map[string]tableChanges `json:"changedTablesById"`
		Timestamp         string                  `json:"timestamp"`
	} `json:"payloads"`
	Cursor        int64 `json:"cursor"`
	MightHaveMore bool  `json:"mightHaveMore"`
}

// recState is a record's state after the payloads read so far.
type recState struct {
	fields    map[string]any // by field id
	created   string
	changedAt string // the timestamp of the last payload that touched it
	destroyed bool
	full      bool // every cell is known (created, or a change with its unchanged cells)
	partial   bool // a change seen without the record's other cells
}

// tableStates merges one table's changes, payload by payload: the last state wins.
type tableStates struct {
	states map[string]*recState
	order  []string
}

func (ts *tableStates) get(id string) *recState {
	if ts.states == nil {
		ts.states = map[string]*recState{}
	}
	s := ts.states[id]
	if s == nil {
		s = &recState{fields: map[string]any{}}
		ts.states[id] = s
		ts.order = append(ts.order, id)
	}
	return s
}

func (ts *tableStates) add(tc tableChanges, at string) {
	for id, c := range tc.CreatedRecordsByID {
		s := ts.get(id)
		s.fields, s.created, s.destroyed, s.partial, s.full, s.changedAt = c.CellValuesByFieldID, c.CreatedTime, false, false, true, at
		if s.fields == nil {
			s.fields = map[string]any{}
		}
	}
	for id, c := range tc.ChangedRecordsByID {
		s := ts.get(id)
		if s.destroyed {
			continue
		}
		s.changedAt = at
		if c.Unchanged != nil {
			s.fields, s.full = map[string]any{}, true
			for k, v := range c.Unchanged.CellValuesByFieldID {
				s.fields[k] = v
			}
		} else if !s.full {
			s.partial = true
		}
		for k, v := range c.Current.CellValuesByFieldID {
			if v == nil {
				delete(s.fields, k)
			} else {
				s.fields[k] = v
			}
		}
		if s.created == "" {
			s.created = at
		}
	}
	for _, id := range tc.DestroyedRecordIDs {
		s := ts.get(id)
		s.destroyed, s.fields = true, map[string]any{}
	}
}

// fieldsByName maps a record's cells from field ids to the table's column
// names, in the REST listing's shapes.
func fieldsByName(s *recState, t schemaTable) map[string]any {
	out := make(map[string]any, len(s.fields))
	for _, f := range t.Fields {
		if v, ok := s.fields[f.ID]; ok {
			out[f.Name] = webhookCell(f.Type, v)
		}
	}
	return out
}

// errPartial: a changed record came without its other cells.
const errPartial = "a changed record came without its other cells (webhook registered without includes)"

var errPartialRecord = errors.New(errPartial)

// ApplyPayloads reads the client's webhook payloads after the stored
// cursor (following mightHaveMore), maps field ids to the client's columns
// through the base schema (read once), and applies each page in one
// transaction with the cursor after it (store.ApplyIncremental): created
// and changed records are upserted as the full sync does, destroyed ones
// staged as soft deletes of this sync. The webhook watches the whole base:
// the Tasks table's changes in a page are merged into the client's tasks
// (the same field-by-field rule as the task sync's listing, older states
// never replacing newer ones) before the page's transaction moves the
// cursor, so a retry applies them again, to the same result. A cursor
// Airtable no longer has, a gap in the payloads or a webhook that is gone
// answers Fallback (the workflow then lists the whole table); for a lost
// cursor it first moves the stored cursor to Airtable's next payload, so
// the listing covers everything before it and the next notification what
// comes after.
func (a *Sync) ApplyPayloads(ctx context.Context, in IncrementalInput) (IncrementalResult, error) {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return IncrementalResult{}, err
	}
	var res IncrementalResult
	hook, err := a.Store.GetAirtableWebhook(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		res.Fallback = "the client has no Airtable webhook"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	m, err := a.fields(ctx, clientID)
	if err != nil {
		return res, err
	}
	cl, err := a.Store.GetClient(ctx, clientID)
	if err != nil {
		return res, err
	}
	if cl.AirtableBaseID != hook.BaseID {
		res.Fallback = "the client's base changed since the webhook was registered"
		return res, nil
	}
	base := hook.BaseID
	if hook.TableID == "" && a.TasksChanged != nil {
		defer func() {
			if res.Fallback != "" {
				// The fallback listing lists the leads only, and the cursor
				// skips the Tasks table's payloads too: the task sync lists them.
				if err := a.TasksChanged(ctx, clientID, cl.Name); err != nil {
					a.log().Warn("task sync not nudged", zap.String("client_id", in.ClientID), zap.Error(err))
				}
			}
		}()
	}
	var leads, tasks *schemaTable
	var taskCfg store.TaskSyncConfig
	cursor := hook.Cursor
	hookPath := "/bases/" + url.PathEscape(base) + "/webhooks/" + url.PathEscape(hook.WebhookID)
	for {
		var page payloadPage
		res.Requests++
		err := a.call(ctx, base, http.MethodGet, hookPath+"/payloads?cursor="+strconv.FormatInt(cursor, 10), nil, &page)
		var ae *airtableAPIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			res.Fallback = "Airtable no longer has the webhook"
			return res, nil
		case errors.As(err, &ae) && (ae.Type == "INVALID_CURSOR" || ae.Status == http.StatusUnprocessableEntity):
			res.Fallback = "the payload cursor expired (" + ae.Error() + ")"
			return res, a.resetCursor(ctx, clientID, hook, cursor, &res)
		case err != nil:
			return res, rejected("read payloads", err)
		}
		if page.Cursor != cursor+int64(len(page.Payloads)) {
			res.Fallback = fmt.Sprintf("payload gap: cursor %d plus %d payloads answered cursor %d", cursor, len(page.Payloads), page.Cursor)
			return res, a.resetCursor(ctx, clientID, hook, cursor, &res)
		}
		if len(page.Payloads) > 0 && leads == nil {
			tables, err := a.baseTables(ctx, base)
			res.Requests++
			if err != nil {
				return res, err
			}
			t, err := leadsTable(tables, base, cl.AirtableTable, m)
			if err != nil {
				return res, err
			}
			if hook.TableID != "" && hook.TableID != t.ID {
				res.Fallback = "the client's leads table changed since the webhook was registered"
				return res, nil
			}
			leads = &t
			if hook.TableID == "" {
				taskCfg, err = a.Store.GetTaskSyncConfig(ctx, clientID)
			}
			switch {
			case errors.Is(err, store.ErrTaskMapping):
				// A task mapping that does not parse must not stop the
				// leads: the task sync reports it on its own.
				a.log().Warn("task changes in the payloads not applied", zap.String("client_id", in.ClientID), zap.Error(err))
			case err != nil:
				return res, err
			case hook.TableID != "":
				// A leads-only webhook (re-created by the next EnsureWebhook).
			default:
				if t, ok := findTable(tables, taskCfg.Table); ok && t.ID != leads.ID {
					tasks = &t
				}
			}
		}
		var leadStates, taskStates tableStates
		for _, p := range page.Payloads {
			for tid, tc := range p.ChangedTablesByID {
				switch {
				case tid == leads.ID:
					leadStates.add(tc, p.Timestamp)
				case tasks != nil && tid == tasks.ID:
					taskStates.add(tc, p.Timestamp)
				}
				// Other tables of the base: nothing of Nurture's.
			}
		}
		if len(taskStates.order) > 0 {
			if err := a.applyTaskStates(ctx, taskCfg, *tasks, &taskStates, &res); err != nil {
				if errors.Is(err, errPartialRecord) {
					res.Fallback = errPartial
					return res, a.resetCursor(ctx, clientID, hook, cursor, &res)
				}
				return res, err
			}
		}
		apply := store.IncrementalApply{SyncID: syncID, ClientID: clientID, WebhookID: hook.WebhookID, From: cursor, To: page.Cursor}
		var recs []*airtable.Record
		for _, id := range leadStates.order {
			s := leadStates.states[id]
			if s.destroyed {
				apply.Destroyed = append(apply.Destroyed, id)
				continue
			}
			if s.partial {
				// Registered without includeCellValuesInFieldIds: the other
				// cells are unknown, and a missing checkbox would read false.
				res.Fallback = errPartial
				return res, a.resetCursor(ctx, clientID, hook, cursor, &res)
			}
			recs = append(recs, &airtable.Record{ID: id, CreatedTime: s.created, Fields: fieldsByName(s, *leads)})
		}
		apply.Records, apply.Invalid = mapRecords(recs, m)
		applied, staged, err := a.Store.ApplyIncremental(ctx, apply)
		if err != nil {
			return res, err
		}
		if !applied {
			// Another apply committed these payloads (or reset the cursor): nothing twice.
			a.log().Info("payloads already applied", zap.String("sync_id", in.SyncID), zap.Int64("cursor", cursor))
			break
		}
		res.Payloads += len(page.Payloads)
		res.Records += len(recs)
		res.Staged += staged
		cursor = page.Cursor
		res.Cursor = cursor
		activity.RecordHeartbeat(ctx, cursor)
		if !page.MightHaveMore {
			break
		}
	}
	if res.TasksGone > 0 && a.TasksChanged != nil {
		// The local tasks of destroyed records are created again by the
		// task sync's next push: make sure it runs.
		if err := a.TasksChanged(ctx, clientID, cl.Name); err != nil {
			a.log().Warn("task sync not nudged", zap.String("client_id", in.ClientID), zap.Error(err))
		}
	}
	// The run's staged leads, not this attempt's: an earlier attempt may
	// have committed a page that staged destroyed records (its cursor moved
	// with it) and then failed, and this attempt saw none of them.
	n, err := a.Store.StagedBy(ctx, syncID)
	if err != nil {
		return res, err
	}
	if n > 0 {
		if n, err = a.Store.FinishStaging(ctx, syncID, clientID, 0); err != nil {
			return res, err
		}
	}
	res.Staged = n
	return res, nil
}

// applyTaskStates merges a page's Tasks table changes into the client's
// tasks: created and changed records through applyTasks (a record's
// last-modified cell, or the payload's time when the mapping has no such
// column, orders it against what the task already has), destroyed ones
// through store.TaskRecordsDestroyed (the local task wins and is created
// again; the conflict record says so).
func (a *Sync) applyTaskStates(ctx context.Context, cfg store.TaskSyncConfig, t schemaTable, ts *tableStates, res *IncrementalResult) error {
	var recs []TaskRecord
	var destroyed []string
	for _, id := range ts.order {
		s := ts.states[id]
		if s.destroyed {
			destroyed = append(destroyed, id)
			continue
		}
		if s.partial {
			return errPartialRecord
		}
		r := TaskRecord{ID: id, Fields: fieldsByName(s, t)}
		if _, ok := r.Fields[cfg.Fields.LastModified]; !ok || cfg.Fields.LastModified == "" {
			r.Modified = s.changedAt
		}
		recs = append(recs, r)
	}
	if len(recs) > 0 {
		tr, err := a.applyTasks(ctx, cfg, recs)
		if err != nil {
			return err
		}
		res.TaskRecords += tr.Records
		res.TasksPulled += tr.Created + tr.Updated + tr.Conflicts
		res.TaskInvalid += tr.Invalid
		if tr.Invalid > 0 {
			a.log().Warn("task records not imported", zap.String("client_id", cfg.ClientID.String()), zap.Int("invalid", tr.Invalid),
				zap.Strings("why", tr.InvalidWhy))
		}
	}
	if len(destroyed) > 0 {
		n, err := a.Store.TaskRecordsDestroyed(ctx, cfg.ClientID, destroyed)
		if err != nil {
			return err
		}
		res.TasksGone += n
	}
	return nil
}

// resetCursor moves the stored cursor to Airtable's next payload, before a
// fallback listing.
func (a *Sync) resetCursor(ctx context.Context, clientID uuid.UUID, hook store.AirtableWebhook, from int64, res *IncrementalResult) error {
	var list struct {
		Webhooks []struct {
			ID                   string `json:"id"`
			CursorForNextPayload int64  `json:"cursorForNextPayload"`
		} `json:"webhooks"`
	}
	res.Requests++
	if err := a.call(ctx, hook.BaseID, http.MethodGet, "/bases/"+url.PathEscape(hook.BaseID)+"/webhooks", nil, &list); err != nil {
		return rejected("list webhooks", err)
	}
	for _, h := range list.Webhooks {
		if h.ID == hook.WebhookID {
			res.Cursor = h.CursorForNextPayload
			moved, err := a.Store.ResetWebhookCursor(ctx, clientID, hook.WebhookID, from, h.CursorForNextPayload)
			if err == nil && !moved {
				// Another attempt moved the cursor since: the listing still
				// runs (it covers everything), the cursor stays theirs.
				a.log().Info("webhook cursor moved by another apply; not reset", zap.Int64("from", from))
			}
			return err
		}
	}
	return nil
}
