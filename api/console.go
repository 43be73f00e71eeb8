package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/sms"
	"github.com/nurture-sms/nurture/internal/store"
)

// What an integrator (and the console) needs besides the campaign, lead
// and sync routes: who the caller is, the clients' settings, the tokens,
// the audit log and the SMS analysis of a text.

// DefaultTemporalUIURL is where `make run`'s Temporal Web UI listens.
const DefaultTemporalUIURL = "http://localhost:8233"

// ---- GET /v1/me ----

type meResponse struct {
	TokenID           *uuid.UUID `json:"token_id"`
	TokenName         string     `json:"token_name"`
	Role              auth.Role  `json:"role"`
	ClientID          *uuid.UUID `json:"client_id"`
	ClientName        *string    `json:"client_name"`
	CanWrite          bool       `json:"can_write"`
	TemporalUIURL     string     `json:"temporal_ui_url"`
	TemporalNamespace string     `json:"temporal_namespace"`
	// DraftTimeoutSeconds is how long a console waits for POST
	// /v1/messages/generate: a little longer than the API itself waits for
	// the draft workflow (LLM_TOTAL_TIMEOUT + 3 s), after which it would
	// have answered with the template.
	DraftTimeoutSeconds int `json:"draft_timeout_seconds"`
}

func (h *handlers) me(c *gin.Context) {
	if err := noQuery(c); err != nil {
		h.fail(c, err)
		return
	}
	p := principal(c)
	out := meResponse{Role: p.Role, CanWrite: p.CanWrite(), TemporalUIURL: h.temporalUIURL, TemporalNamespace: h.temporalNamespace,
		DraftTimeoutSeconds: int(math.Ceil((h.drafting.TotalTimeout + 3*time.Second + 5*time.Second).Seconds()))}
	if p.TokenID == uuid.Nil {
		out.TokenName = "BOOTSTRAP_TOKEN" // the environment's token has no row
	} else {
		tok, err := h.store.GetToken(c.Request.Context(), nil, p.TokenID)
		if err != nil {
			h.fail(c, err)
			return
		}
		id := tok.ID
		out.TokenID, out.TokenName = &id, tok.Name
	}
	if !p.IsSuper() {
		cl, err := h.store.GetClient(c.Request.Context(), p.ClientID)
		if err != nil {
			h.fail(c, err)
			return
		}
		id, name := cl.ID, cl.Name
		out.ClientID, out.ClientName = &id, &name
	}
	c.JSON(http.StatusOK, out)
}

// noQuery refuses any query parameter (routes that take none).
func noQuery(c *gin.Context) error {
	for k := range c.Request.URL.Query() {
		return unknownParam(k)
	}
	return nil
}

// ---- paging ----

// pageQuery is limit (1..500, default 50) and cursor of a newest-first list.
type pageQuery struct {
	Limit  int
	After  *store.PageCursor
	Values url.Values
}

// parsePage reads limit and cursor (a (created_at, id) cursor when
// timeCursor; the caller decodes its own otherwise) and refuses every
// parameter not in extra.
func parsePage(c *gin.Context, timeCursor bool, extra ...string) (pageQuery, error) {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return pageQuery{}, InvalidField("query", "malformed query string")
	}
	allowed := map[string]bool{"limit": true, "cursor": true}
	for _, k := range extra {
		allowed[k] = true
	}
	for k, v := range q {
		if !allowed[k] {
			return pageQuery{}, unknownParam(k)
		}
		if len(v) > 1 {
			return pageQuery{}, InvalidField(k, k+" may be given once")
		}
	}
	pq := pageQuery{Limit: 50, Values: q}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > 500 {
			return pq, InvalidField("limit", "limit must be an integer from 1 to 500")
		}
		pq.Limit = n
	}
	if q.Has("cursor") && timeCursor {
		cur, err := store.DecodePageCursor(q.Get("cursor"))
		if err != nil {
			return pq, InvalidField("cursor", "cursor is malformed; pass next_cursor from the previous page")
		}
		pq.After = &cur
	}
	return pq, nil
}

func nextCursor(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ---- clients ----

// clientView is a client as the read routes show it: the webhook secret
// is shown only when the client is created.
func clientView(cl store.Client) store.Client {
	cl.WebhookSecret = ""
	return cl
}

func (h *handlers) listClients(c *gin.Context) {
	pq, err := parsePage(c, true)
	if err != nil {
		h.fail(c, err)
		return
	}
	list, next, err := h.store.ListClients(c.Request.Context(), scopeOf(principal(c)), pq.Limit, pq.After)
	if err != nil {
		h.fail(c, err)
		return
	}
	data := make([]store.Client, len(list))
	for i, cl := range list {
		data[i] = clientView(cl)
	}
	c.JSON(http.StatusOK, gin.H{"data": data, "next_cursor": nextCursor(next)})
}

func (h *handlers) getClient(c *gin.Context) {
	if err := noQuery(c); err != nil {
		h.fail(c, err)
		return
	}
	cl, ok := loadScoped(h, c, "client", h.store.GetClientIn)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, clientView(cl))
}

// UpdateClientRequest is the body of PATCH /v1/clients/{id}: each field
// given is changed (validated as POST /v1/clients validates it), the
// others stay. name, sms_from and disabled are a super_admin's to change.
type UpdateClientRequest struct {
	Name            *string           `json:"name"`
	Timezone        *string           `json:"timezone"`
	AirtableBaseID  *string           `json:"airtable_base_id"`
	AirtableTable   *string           `json:"airtable_table"`
	AlertWebhookURL *string           `json:"alert_webhook_url"`
	AlertEmail      *string           `json:"alert_email"`
	SMSFrom         *string           `json:"sms_from"`
	QuietHours      *QuietHoursFields `json:"quiet_hours"`
	MaxPerDay       *int              `json:"max_per_day"`
	ProgramName     *string           `json:"program_name"`
	HelpText        *string           `json:"help_text"`
	Contact         *string           `json:"contact"`
	Disabled        *bool             `json:"disabled"`
}

// superOnlyClientFields are the settings a client_admin may not change:
// the client's name, its sending number (provisioned by the operator) and
// whether it is disabled (which would lock its own tokens out).
var superOnlyClientFields = []string{"name", "sms_from", "disabled"}

// DecodeUpdateClient decodes and validates a PATCH /v1/clients/{id} body
// for principal p into the store's patch.
func DecodeUpdateClient(raw []byte, p auth.Principal) (store.ClientPatch, error) {
	var r UpdateClientRequest
	if err := DecodeJSON(bytes.NewReader(raw), &r); err != nil {
		return store.ClientPatch{}, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return store.ClientPatch{}, InvalidField("body", "request body must be a JSON object")
	}
	if len(members) == 0 {
		return store.ClientPatch{}, InvalidField("body", "name at least one field to change")
	}
	for k, v := range members {
		if string(v) == "null" {
			return store.ClientPatch{}, InvalidField(k, k+" must not be null")
		}
	}
	if !p.IsSuper() {
		for _, f := range superOnlyClientFields {
			if _, ok := members[f]; ok {
				return store.ClientPatch{}, &Error{Status: http.StatusForbidden, Code: CodeForbidden,
					Message: f + " may only be changed by a super_admin", Details: map[string]any{"field": f}}
			}
		}
	}
	return r.patch()
}

// patch runs CreateClientRequest's validation over the given fields (the
// absent ones are left out of the result).
func (r UpdateClientRequest) patch() (store.ClientPatch, error) {
	cr := CreateClientRequest{Name: "unchanged", QuietHours: r.QuietHours, MaxPerDay: r.MaxPerDay}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&cr.Name, r.Name)
	set(&cr.Timezone, r.Timezone)
	set(&cr.AirtableBaseID, r.AirtableBaseID)
	set(&cr.AirtableTable, r.AirtableTable)
	set(&cr.AlertWebhookURL, r.AlertWebhookURL)
	set(&cr.AlertEmail, r.AlertEmail)
	set(&cr.SMSFrom, r.SMSFrom)
	set(&cr.ProgramName, r.ProgramName)
	set(&cr.HelpText, r.HelpText)
	set(&cr.Contact, r.Contact)
	if err := cr.Validate(); err != nil {
		return store.ClientPatch{}, err
	}
	pick := func(given *string, v string) *string {
		if given == nil {
			return nil
		}
		return &v
	}
	out := store.ClientPatch{
		Name: pick(r.Name, cr.Name), Timezone: pick(r.Timezone, cr.Timezone), AirtableBaseID: pick(r.AirtableBaseID, cr.AirtableBaseID),
		AirtableTable: pick(r.AirtableTable, cr.AirtableTable), AlertWebhookURL: pick(r.AlertWebhookURL, cr.AlertWebhookURL),
		AlertEmail: pick(r.AlertEmail, cr.AlertEmail), SMSFrom: pick(r.SMSFrom, cr.SMSFrom), ProgramName: pick(r.ProgramName, cr.ProgramName),
		HelpText: pick(r.HelpText, cr.HelpText), Contact: pick(r.Contact, cr.Contact), MaxPerDay: r.MaxPerDay, Disabled: r.Disabled,
	}
	if r.QuietHours != nil {
		start, end, days := cr.window.Start, cr.window.End, int(cr.window.Days)
		out.QuietStart, out.QuietEnd, out.SendDays = &start, &end, &days
	}
	return out, nil
}

type updateClientResponse struct {
	Client  store.Client `json:"client"`
	Changed []string     `json:"changed"`
}

func (h *handlers) updateClient(c *gin.Context) {
	id, err := ParseUUID("id", c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := noQuery(c); err != nil {
		h.fail(c, err)
		return
	}
	p := principal(c)
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		h.fail(c, err)
		return
	}
	// Another client's id is 404 before its body is looked at.
	if _, err := h.store.GetClientIn(c.Request.Context(), scopeOf(p), id); err != nil {
		h.fail(c, notFoundAs(err, "client"))
		return
	}
	patch, err := DecodeUpdateClient(raw, p)
	if err != nil {
		h.fail(c, err)
		return
	}
	cl, changed, err := h.store.UpdateClient(c.Request.Context(), scopeOf(p), id, patch, p.Actor(), map[string]any{"request_id": requestID(c)})
	switch {
	case errors.Is(err, store.ErrNumberTaken):
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "another client sends from this number", Details: map[string]any{"field": "sms_from"}})
	case errors.Is(err, store.ErrDuplicate):
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeDuplicateName, Message: "a client with this name exists", Details: map[string]any{"field": "name"}})
	case err != nil:
		h.fail(c, notFoundAs(err, "client"))
	default:
		if changed == nil {
			changed = []string{}
		}
		c.JSON(http.StatusOK, updateClientResponse{Client: clientView(cl), Changed: changed})
	}
}

// ---- tokens ----

// Tokens: a super_admin lists and revokes every token; a client_admin its
// own client's (never a super_admin's, never another client's: 404); a
// client_viewer neither (403, requireWrite).

func (h *handlers) listTokens(c *gin.Context) {
	pq, err := parsePage(c, true, "client_id")
	if err != nil {
		h.fail(c, err)
		return
	}
	scope, err := resolveClientScope(principal(c), pq.Values.Get("client_id"), pq.Values.Has("client_id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	list, next, err := h.store.ListTokens(c.Request.Context(), scope, pq.Limit, pq.After)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": list, "next_cursor": nextCursor(next)})
}

type revokeResponse struct {
	store.Token
	// Revoked is false when the token had been revoked before.
	Revoked bool `json:"revoked"`
}

func (h *handlers) revokeToken(c *gin.Context) {
	id, err := ParseUUID("id", c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := noQuery(c); err != nil {
		h.fail(c, err)
		return
	}
	p := principal(c)
	tok, revoked, err := h.store.RevokeToken(c.Request.Context(), scopeOf(p), id, p.Actor(), map[string]any{"request_id": requestID(c)})
	if err != nil {
		h.fail(c, notFoundAs(err, "token"))
		return
	}
	c.JSON(http.StatusOK, revokeResponse{Token: tok, Revoked: revoked})
}

// ---- GET /v1/activity ----

// MaxActivityFilterLen bounds the entity, entity_id, actor and action filters.
const MaxActivityFilterLen = 200

func (h *handlers) listActivity(c *gin.Context) {
	filters := []string{"entity", "entity_id", "actor", "action"}
	pq, err := parsePage(c, false, append(filters, "client_id")...)
	if err != nil {
		h.fail(c, err)
		return
	}
	q := pq.Values
	scope, err := resolveClientScope(principal(c), q.Get("client_id"), q.Has("client_id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	f := store.ActivityFilter{ClientID: scope, Limit: pq.Limit}
	for _, k := range filters {
		v := q.Get(k)
		if q.Has(k) && (v == "" || utf8.RuneCountInString(v) > MaxActivityFilterLen) {
			h.fail(c, InvalidField(k, k+" must be 1 to 200 characters"))
			return
		}
		switch k {
		case "entity":
			f.Entity = v
		case "entity_id":
			f.EntityID = v
		case "actor":
			f.Actor = v
		case "action":
			f.Action = v
		}
	}
	if q.Has("cursor") {
		before, err := store.DecodeActivityCursor(q.Get("cursor"))
		if err != nil {
			h.fail(c, InvalidField("cursor", "cursor is malformed; pass next_cursor from the previous page"))
			return
		}
		f.Before = before
	}
	rows, next, err := h.store.ListActivity(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return
	}
	if rows == nil {
		rows = []store.ActivityRow{}
	}
	c.JSON(http.StatusOK, gin.H{"data": rows, "next_cursor": nextCursor(next)})
}

// ---- POST /v1/messages/analyze ----

// AnalyzeRequest is the body of POST /v1/messages/analyze.
type AnalyzeRequest struct {
	Text *string `json:"text"`
}

type analyzeResponse struct {
	Characters     int      `json:"characters"`
	Encoding       string   `json:"encoding"`
	Units          int      `json:"units"`
	Segments       int      `json:"segments"`
	PerSegment     int      `json:"per_segment"`
	NonGSM         []string `json:"non_gsm"`
	CostPerSegment float64  `json:"cost_per_segment"`
	EstimatedCost  float64  `json:"estimated_cost"`
	Warnings       []string `json:"warnings"`
}

// Validate checks the text: present, at most a campaign step's length.
func (r AnalyzeRequest) Validate() (string, error) {
	if r.Text == nil {
		return "", InvalidField("text", "text is required")
	}
	if n := utf8.RuneCountInString(*r.Text); n > campaign.MaxBodyLen {
		return "", InvalidField("text", "text must be at most "+strconv.Itoa(campaign.MaxBodyLen)+" characters (a campaign step's limit)")
	}
	return *r.Text, nil
}

// analyzeMessage measures a text exactly as the drafting answer and the
// campaign steps are measured (internal/sms through llm.Analyze); no model
// is called and nothing is written.
func (h *handlers) analyzeMessage(c *gin.Context) {
	var req AnalyzeRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	msg, err := req.Validate()
	if err != nil {
		h.fail(c, err)
		return
	}
	an := llm.Analyze(msg, h.drafting.SMSCostPerSegment)
	a := sms.Analyze(msg)
	c.JSON(http.StatusOK, analyzeResponse{
		Characters: an.Characters, Encoding: an.Encoding, Units: a.Units, Segments: an.Segments, PerSegment: a.PerSegment,
		NonGSM: nonNil(a.NonGSM), CostPerSegment: h.drafting.SMSCostPerSegment, EstimatedCost: an.EstimatedCostUSD, Warnings: nonNil(an.Warnings),
	})
}
