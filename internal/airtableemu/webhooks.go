package airtableemu

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Webhook defaults, as Airtable documents them.
const (
	WebhookLifetime    = 7 * 24 * time.Hour
	MaxPayloadsPerPage = 50
	// NotifyDelay coalesces a burst of changes into one notification.
	NotifyDelay = 20 * time.Millisecond
)

// webhook is one registered webhook of a base. Payloads are numbered from 1;
// the cursor of a reader is the number of the next payload it wants.
type webhook struct {
	id         string
	secret     []byte
	url        string
	scope      string // table id ("" = every table)
	includeAll bool   // includes.includeCellValuesInFieldIds = "all"
	enabled    bool
	expires    time.Time
	created    time.Time
	payloads   []Payload
	first      int  // number of payloads[0]
	dropNext   int  // notifications to drop
	notifyOff  bool // areNotificationsEnabled false: payloads are kept, nothing is sent
	failRead   int  // countdown: the payloads read that brings it to 0 answers 500
	pending    bool
	last       *NotificationResult
	notified   int64
	dropped    int64
}

// Payload is one webhook payload (one base transaction).
type Payload struct {
	Timestamp             string                   `json:"timestamp"`
	BaseTransactionNumber int                      `json:"baseTransactionNumber"`
	PayloadFormat         string                   `json:"payloadFormat"`
	ActionMetadata        map[string]any           `json:"actionMetadata,omitempty"`
	ChangedTablesByID     map[string]*TableChanges `json:"changedTablesById"`
}

// TableChanges are one table's changes in a payload.
type TableChanges struct {
	CreatedRecordsByID map[string]CreatedRecord `json:"createdRecordsById,omitempty"`
	ChangedRecordsByID map[string]ChangedRecord `json:"changedRecordsById,omitempty"`
	DestroyedRecordIDs []string                 `json:"destroyedRecordIds,omitempty"`
}

// CreatedRecord is a created record in a payload.
type CreatedRecord struct {
	CreatedTime         string         `json:"createdTime"`
	CellValuesByFieldID map[string]any `json:"cellValuesByFieldId"`
}

// CellValues wraps cellValuesByFieldId.
type CellValues struct {
	CellValuesByFieldID map[string]any `json:"cellValuesByFieldId"`
}

// ChangedRecord is a changed record: the changed cells now and before, and
// (with includeCellValuesInFieldIds) the cells that did not change.
type ChangedRecord struct {
	Current   CellValues  `json:"current"`
	Previous  *CellValues `json:"previous,omitempty"`
	Unchanged *CellValues `json:"unchanged,omitempty"`
}

// NotificationResult is lastNotificationResult of a webhook.
type NotificationResult struct {
	Success             bool   `json:"success"`
	Error               string `json:"error,omitempty"`
	CompletionTimestamp string `json:"completionTimestamp"`
	DurationMs          int64  `json:"durationMs"`
	RetryNumber         int    `json:"retryNumber"`
}

// WebhookInfo is a webhook as the list endpoint (and the Go API) shows it.
type WebhookInfo struct {
	ID                     string              `json:"id"`
	Type                   string              `json:"type"`
	IsHookEnabled          bool                `json:"isHookEnabled"`
	NotificationURL        string              `json:"notificationUrl"`
	CursorForNextPayload   int                 `json:"cursorForNextPayload"`
	AreNotificationsOn     bool                `json:"areNotificationsEnabled"`
	ExpirationTime         string              `json:"expirationTime"`
	LastNotificationResult *NotificationResult `json:"lastNotificationResult"`
	Specification          map[string]any      `json:"specification"`
	// Emulator extras (not in Airtable's answer shape, harmless to clients).
	NotificationsSent    int64 `json:"notificationsSent"`
	NotificationsDropped int64 `json:"notificationsDropped"`
}

func (h *webhook) next() int { return h.first + len(h.payloads) }

func (h *webhook) live(now time.Time) bool { return h.enabled && now.Before(h.expires) }

func (h *webhook) info() WebhookInfo {
	spec := map[string]any{"options": map[string]any{"filters": map[string]any{"dataTypes": []string{"tableData"}}}}
	if h.scope != "" {
		spec["options"].(map[string]any)["filters"].(map[string]any)["recordChangeScope"] = h.scope
	}
	var last *NotificationResult
	if h.last != nil {
		l := *h.last
		last = &l
	}
	return WebhookInfo{ID: h.id, Type: "client", IsHookEnabled: h.enabled && time.Now().Before(h.expires), NotificationURL: h.url,
		CursorForNextPayload: h.next(), AreNotificationsOn: h.enabled && !h.notifyOff, ExpirationTime: formatTime(h.expires),
		LastNotificationResult: last, Specification: spec, NotificationsSent: h.notified, NotificationsDropped: h.dropped}
}

// cellValues maps a record's non-empty cells by field id.
func cellValues(t *table, vals []any, only func(i int) bool) map[string]any {
	out := map[string]any{}
	for i, v := range vals {
		if i >= len(t.cols) || (only != nil && !only(i)) {
			continue
		}
		if v != nil {
			out[t.cols[i].id] = payloadCell(t.cols[i], deepCopy(v))
		}
	}
	return out
}

// payloadCell is a cell as webhook payloads carry it, which differs from the
// REST listing for selects: a singleSelect is the choice object
// {id, name, color}, a multipleSelects an array of them.
func payloadCell(c *column, v any) any {
	choice := func(x any) any {
		n, ok := x.(string)
		if !ok {
			return x
		}
		return map[string]any{"id": choiceID(c, n), "name": n, "color": "blueLight2"}
	}
	switch c.typ {
	case TypeSingleSelect:
		return choice(v)
	case TypeMultipleSelects:
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(arr))
		for i, x := range arr {
			out[i] = choice(x)
		}
		return out
	}
	return v
}

// choiceID is a stable id for a select choice ("sel" and a hash of the
// field id and the choice's name).
func choiceID(c *column, name string) string {
	h := fnv.New64a()
	h.Write([]byte(c.id + "\x00" + name))
	return fmt.Sprintf("sel%014x", h.Sum64()>>8)
}

// recordChange is what a write did to one record, for the webhooks.
type recordChange struct {
	rec     *record
	old     []any // nil: created
	deleted bool
}

// emit appends one payload (one transaction) to every live webhook whose
// scope covers the table and schedules its notification. The caller holds b.mu.
func (e *Emulator) emit(b *base, t *table, changes []recordChange) {
	if len(changes) == 0 || len(b.hooks) == 0 {
		return
	}
	now := e.now()
	b.txn++
	for _, h := range b.hooks {
		if !h.live(now) || (h.scope != "" && h.scope != t.id) {
			continue
		}
		tc := &TableChanges{}
		for _, c := range changes {
			switch {
			case c.deleted:
				tc.DestroyedRecordIDs = append(tc.DestroyedRecordIDs, c.rec.id)
			case c.old == nil:
				if tc.CreatedRecordsByID == nil {
					tc.CreatedRecordsByID = map[string]CreatedRecord{}
				}
				tc.CreatedRecordsByID[c.rec.id] = CreatedRecord{CreatedTime: formatTime(c.rec.created), CellValuesByFieldID: cellValues(t, c.rec.vals, nil)}
			default:
				changed := func(i int) bool {
					var o, n any
					if i < len(c.old) {
						o = c.old[i]
					}
					if i < len(c.rec.vals) {
						n = c.rec.vals[i]
					}
					return formatValue(o) != formatValue(n) || (o == nil) != (n == nil)
				}
				cur := map[string]any{}
				for i := range t.cols {
					if changed(i) {
						var n any
						if i < len(c.rec.vals) {
							n = deepCopy(c.rec.vals[i])
						}
						if n != nil {
							n = payloadCell(t.cols[i], n)
						}
						cur[t.cols[i].id] = n // null: the cell was cleared
					}
				}
				if len(cur) == 0 {
					continue // nothing changed: Airtable sends no change
				}
				cr := ChangedRecord{Current: CellValues{cur}, Previous: &CellValues{cellValues(t, c.old, changed)}}
				if h.includeAll {
					cr.Unchanged = &CellValues{cellValues(t, c.rec.vals, func(i int) bool { return !changed(i) })}
				}
				if tc.ChangedRecordsByID == nil {
					tc.ChangedRecordsByID = map[string]ChangedRecord{}
				}
				tc.ChangedRecordsByID[c.rec.id] = cr
			}
		}
		if tc.CreatedRecordsByID == nil && tc.ChangedRecordsByID == nil && tc.DestroyedRecordIDs == nil {
			continue
		}
		h.payloads = append(h.payloads, Payload{Timestamp: formatTime(now), BaseTransactionNumber: b.txn, PayloadFormat: "v0",
			ActionMetadata:    map[string]any{"source": "client"},
			ChangedTablesByID: map[string]*TableChanges{t.id: tc}})
		if !h.pending {
			h.pending = true
			go e.notify(b, h)
		}
	}
}

var notifyClient = &http.Client{Timeout: 10 * time.Second}

// notify sends a webhook's (coalesced) notification, signed with its secret.
func (e *Emulator) notify(b *base, h *webhook) {
	time.Sleep(NotifyDelay)
	b.mu.Lock()
	h.pending = false
	if h.dropNext > 0 || h.notifyOff {
		if h.dropNext > 0 {
			h.dropNext--
		}
		h.dropped++
		b.mu.Unlock()
		return
	}
	url, secret, id := h.url, h.secret, h.id
	b.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"base": map[string]string{"id": b.id}, "webhook": map[string]string{"id": id},
		"timestamp": formatTime(e.now())})
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	start := time.Now()
	res := &NotificationResult{Success: true}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Airtable-Content-MAC", "hmac-sha256="+hex.EncodeToString(m.Sum(nil)))
		var resp *http.Response
		if resp, err = notifyClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode >= 300 {
				err = fmt.Errorf("notification URL answered %d", resp.StatusCode)
			}
		}
	}
	if err != nil {
		res.Success, res.Error = false, err.Error()
	}
	res.CompletionTimestamp, res.DurationMs = formatTime(time.Now()), time.Since(start).Milliseconds()
	b.mu.Lock()
	h.last = res
	h.notified++
	b.mu.Unlock()
}

func (b *base) hook(id string) *webhook {
	for _, h := range b.hooks {
		if h.id == id {
			return h
		}
	}
	return nil
}

// CreateWebhook registers a webhook as POST /v0/bases/{base}/webhooks does;
// it answers the id and the base64 MAC secret.
func (e *Emulator) CreateWebhook(baseID, notificationURL, tableID string, includeAll bool) (WebhookInfo, string, error) {
	b := e.base(baseID)
	if b == nil {
		return WebhookInfo{}, "", ErrNotFound
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	now := e.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if tableID != "" && b.table(tableID) == nil {
		return WebhookInfo{}, "", ErrNotFound
	}
	if tableID != "" {
		tableID = b.table(tableID).id
	}
	h := &webhook{id: e.newID("ach"), secret: secret, url: notificationURL, scope: tableID, includeAll: includeAll,
		enabled: true, expires: now.Add(WebhookLifetime).UTC().Truncate(time.Millisecond), created: now, first: 1}
	b.hooks = append(b.hooks, h)
	return h.info(), base64.StdEncoding.EncodeToString(secret), nil
}

// Webhooks lists a base's webhooks.
func (e *Emulator) Webhooks(baseID string) ([]WebhookInfo, error) {
	b := e.base(baseID)
	if b == nil {
		return nil, ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []WebhookInfo{}
	for _, h := range b.hooks {
		out = append(out, h.info())
	}
	return out, nil
}

func (e *Emulator) withHook(baseID, id string, fn func(b *base, h *webhook)) error {
	b := e.base(baseID)
	if b == nil {
		return ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.hook(id)
	if h == nil {
		return ErrNotFound
	}
	fn(b, h)
	return nil
}

// Payloads returns (a JSON round trip of) the payloads a webhook still holds.
func (e *Emulator) Payloads(baseID, id string) ([]Payload, error) {
	var raw []byte
	err := e.withHook(baseID, id, func(_ *base, h *webhook) {
		raw, _ = json.Marshal(h.payloads)
	})
	if err != nil {
		return nil, err
	}
	var out []Payload
	return out, json.Unmarshal(raw, &out)
}

// FailPayloadsRead makes the n-th payloads read of the webhook from now
// (n >= 1) answer 500, once.
func (e *Emulator) FailPayloadsRead(baseID, id string, n int) error {
	return e.withHook(baseID, id, func(_ *base, h *webhook) { h.failRead = max(n, 0) })
}

// RefreshWebhook extends a webhook's life by 7 days from now.
func (e *Emulator) RefreshWebhook(baseID, id string) (time.Time, error) {
	var exp time.Time
	err := e.withHook(baseID, id, func(_ *base, h *webhook) {
		h.expires = e.now().Add(WebhookLifetime).UTC().Truncate(time.Millisecond)
		exp = h.expires
	})
	return exp, err
}

// DeleteWebhook removes a webhook.
func (e *Emulator) DeleteWebhook(baseID, id string) error {
	return e.withHook(baseID, id, func(b *base, h *webhook) {
		b.hooks = slices.DeleteFunc(b.hooks, func(x *webhook) bool { return x == h })
	})
}

// DropNotifications makes the next n notifications of a webhook vanish
// (the payloads are still there).
func (e *Emulator) DropNotifications(baseID, id string, n int) error {
	return e.withHook(baseID, id, func(_ *base, h *webhook) { h.dropNext += max(n, 1) })
}

// ExpireWebhookCursor forgets every payload so far: a reader whose cursor
// points before the next payload gets 422 INVALID_CURSOR (as Airtable does
// for payloads past their 7-day retention).
func (e *Emulator) ExpireWebhookCursor(baseID, id string) error {
	return e.withHook(baseID, id, func(_ *base, h *webhook) {
		h.first += len(h.payloads)
		h.payloads = nil
	})
}

// DisableNotifications turns a webhook's notifications off
// (areNotificationsEnabled false, as Airtable does after notifications kept
// failing): payloads are still recorded, no notification is sent.
func (e *Emulator) DisableNotifications(baseID, id string) error {
	return e.withHook(baseID, id, func(_ *base, h *webhook) { h.notifyOff = true })
}

// DisableWebhook turns a webhook off (isHookEnabled=false): no payloads, no
// notifications, as after Airtable gave up on a failing notification URL.
func (e *Emulator) DisableWebhook(baseID, id string) error {
	return e.withHook(baseID, id, func(_ *base, h *webhook) { h.enabled = false })
}

// ExpireWebhook makes a webhook reach its expiration time now.
func (e *Emulator) ExpireWebhook(baseID, id string) error {
	return e.withHook(baseID, id, func(_ *base, h *webhook) { h.expires = e.now() })
}

// UpdateRecords changes records (PATCH semantics, typecast), bypassing the
// API's rate limit and 10-record cap, as one transaction: webhooks see one payload.
func (e *Emulator) UpdateRecords(baseID, tableName string, recs []Record) error {
	b := e.base(baseID)
	if b == nil {
		return ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.table(tableName)
	if t == nil {
		return ErrNotFound
	}
	changes := make([]recordChange, 0, len(recs))
	for _, in := range recs {
		r := t.index[in.ID]
		if r == nil {
			return fmt.Errorf("airtableemu: record %s: %w", in.ID, ErrNotFound)
		}
		vals, added, aerr := t.buildVals(r.vals, in.Fields, true, false)
		if aerr != nil {
			return fmt.Errorf("airtableemu: record %s: %w", in.ID, aerr)
		}
		t.addOptions(added)
		changes = append(changes, recordChange{rec: r, old: r.vals})
		r.vals = vals
	}
	e.emit(b, t, changes)
	return nil
}

// --- HTTP ---

func (e *Emulator) registerWebhookAPI(mux *http.ServeMux) {
	mux.HandleFunc("POST /v0/bases/{base}/webhooks", e.handleCreateWebhook)
	mux.HandleFunc("GET /v0/bases/{base}/webhooks", e.handleListWebhooks)
	mux.HandleFunc("POST /v0/bases/{base}/webhooks/{hook}/refresh", e.handleRefreshWebhook)
	mux.HandleFunc("DELETE /v0/bases/{base}/webhooks/{hook}", e.handleDeleteWebhook)
	mux.HandleFunc("GET /v0/bases/{base}/webhooks/{hook}/payloads", e.handlePayloads)
}

func errHookNotFound() *apiError {
	return typedErr(404, "NOT_FOUND", "Could not find webhook")
}

func (e *Emulator) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	var body struct {
		NotificationURL string `json:"notificationUrl"`
		Specification   struct {
			Options struct {
				Filters struct {
					DataTypes         []string `json:"dataTypes"`
					RecordChangeScope string   `json:"recordChangeScope"`
				} `json:"filters"`
				Includes struct {
					IncludeCellValuesInFieldIDs any `json:"includeCellValuesInFieldIds"`
				} `json:"includes"`
			} `json:"options"`
		} `json:"specification"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	f := body.Specification.Options.Filters
	if !slices.Contains(f.DataTypes, "tableData") {
		writeError(w, typedErr(422, "INVALID_WEBHOOK_SPECIFICATION", "specification.options.filters.dataTypes must include tableData"))
		return
	}
	if body.NotificationURL == "" {
		writeError(w, typedErr(422, "INVALID_REQUEST_UNKNOWN", "notificationUrl is required"))
		return
	}
	all := body.Specification.Options.Includes.IncludeCellValuesInFieldIDs == "all"
	info, secret, err := e.CreateWebhook(b.id, body.NotificationURL, f.RecordChangeScope, all)
	if err != nil {
		writeError(w, typedErr(422, "INVALID_WEBHOOK_SPECIFICATION", "recordChangeScope names no table of this base"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": info.ID, "macSecretBase64": secret, "expirationTime": info.ExpirationTime})
}

func (e *Emulator) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	hooks, _ := e.Webhooks(b.id)
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": hooks})
}

func (e *Emulator) handleRefreshWebhook(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	exp, err := e.RefreshWebhook(b.id, r.PathValue("hook"))
	if err != nil {
		writeError(w, errHookNotFound())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"expirationTime": formatTime(exp)})
}

func (e *Emulator) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	if err := e.DeleteWebhook(b.id, r.PathValue("hook")); err != nil {
		writeError(w, errHookNotFound())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// handlePayloads serves GET …/webhooks/{id}/payloads?cursor=N&limit=L:
// payloads numbered N… (at most L, 50 by default and at most), the cursor
// after them and mightHaveMore. A cursor before the oldest retained payload
// is 422 INVALID_CURSOR; a cursor past the next payload is clamped.
func (e *Emulator) handlePayloads(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	limit := MaxPayloadsPerPage
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, typedErr(422, "INVALID_REQUEST_UNKNOWN", "limit must be a positive integer"))
			return
		}
		limit = min(n, MaxPayloadsPerPage)
	}
	b.mu.Lock()
	h := b.hook(r.PathValue("hook"))
	if h == nil {
		b.mu.Unlock()
		writeError(w, errHookNotFound())
		return
	}
	cursor := h.first
	if s := r.URL.Query().Get("cursor"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.mu.Unlock()
			writeError(w, typedErr(422, "INVALID_REQUEST_UNKNOWN", "cursor must be a positive integer"))
			return
		}
		cursor = n
	}
	if cursor < h.first {
		b.mu.Unlock()
		writeError(w, typedErr(422, "INVALID_CURSOR", fmt.Sprintf("The cursor %d is no longer available", cursor)))
		return
	}
	if h.failRead > 0 {
		if h.failRead--; h.failRead == 0 {
			b.mu.Unlock()
			writeError(w, typedErr(500, "SERVER_ERROR", "injected payloads read failure"))
			return
		}
	}
	cursor = min(cursor, h.next())
	from := cursor - h.first
	to := min(from+limit, len(h.payloads))
	out := slices.Clone(h.payloads[from:to])
	more := to < len(h.payloads)
	next := h.first + to
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"payloads": out, "cursor": next, "mightHaveMore": more, "payloadFormat": "v0"})
}

// registerWebhookAdmin adds the webhook faults and record changes to the admin API.
func (e *Emulator) registerWebhookAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_emulator/bases/{base}/webhooks", func(w http.ResponseWriter, r *http.Request) {
		hooks, err := e.Webhooks(r.PathValue("base"))
		if err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"webhooks": hooks})
	})
	fault := func(fn func(base, hook string, r *http.Request) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := fn(r.PathValue("base"), r.PathValue("hook"), r); err != nil {
				adminError(w, statusFor(err), err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		}
	}
	mux.HandleFunc("POST /_emulator/bases/{base}/webhooks/{hook}/drop-notifications", fault(func(base, hook string, r *http.Request) error {
		var body struct {
			Count int `json:"count"`
		}
		if r.ContentLength > 0 {
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				return err
			}
		}
		return e.DropNotifications(base, hook, body.Count)
	}))
	mux.HandleFunc("POST /_emulator/bases/{base}/webhooks/{hook}/expire-cursor", fault(func(base, hook string, _ *http.Request) error {
		return e.ExpireWebhookCursor(base, hook)
	}))
	mux.HandleFunc("POST /_emulator/bases/{base}/webhooks/{hook}/disable-notifications", fault(func(base, hook string, _ *http.Request) error {
		return e.DisableNotifications(base, hook)
	}))
	mux.HandleFunc("POST /_emulator/bases/{base}/webhooks/{hook}/disable", fault(func(base, hook string, _ *http.Request) error {
		return e.DisableWebhook(base, hook)
	}))
	mux.HandleFunc("POST /_emulator/bases/{base}/webhooks/{hook}/expire", fault(func(base, hook string, _ *http.Request) error {
		return e.ExpireWebhook(base, hook)
	}))
	mux.HandleFunc("PATCH /_emulator/bases/{base}/tables/{table}/records", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Records []Record `json:"records"`
		}
		if !adminDecode(w, r, &body) {
			return
		}
		if err := e.UpdateRecords(r.PathValue("base"), r.PathValue("table"), body.Records); err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"updated": len(body.Records)})
	})
}
