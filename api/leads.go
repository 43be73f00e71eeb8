package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/lead"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/text"
)

const (
	defaultLeadLimit = 50
	maxLeadLimit     = 500
)

var leadQueryParams = map[string]bool{"status": true, "campaign_id": true, "tag": true, "created_after": true,
	"created_before": true, "limit": true, "cursor": true, "client_id": true}

// ParseLeadQuery validates the GET /v1/leads query string for principal p.
func ParseLeadQuery(q url.Values, p auth.Principal) (store.LeadFilter, error) {
	f := store.LeadFilter{Limit: defaultLeadLimit}
	for k, v := range q {
		if !leadQueryParams[k] {
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
	if s := q.Get("status"); q.Has("status") {
		if !lead.ValidStatus(s) {
			return f, InvalidField("status", "status must be one of: "+lead.StatusList())
		}
		f.Status = s
	}
	if q.Has("campaign_id") {
		id, err := ParseUUID("campaign_id", q.Get("campaign_id"))
		if err != nil {
			return f, err
		}
		f.CampaignID = &id
	}
	if q.Has("tag") {
		tag, err := text.Name(q.Get("tag"), campaign.MaxTagLen)
		if err != nil {
			return f, InvalidField("tag", "tag "+err.Error())
		}
		f.Tag = strings.ToLower(tag)
	}
	if q.Has("created_after") {
		t, err := ParseTime("created_after", q.Get("created_after"))
		if err != nil {
			return f, err
		}
		f.CreatedAfter = &t
	}
	if q.Has("created_before") {
		t, err := ParseTime("created_before", q.Get("created_before"))
		if err != nil {
			return f, err
		}
		f.CreatedBefore = &t
	}
	if f.CreatedAfter != nil && f.CreatedBefore != nil && f.CreatedAfter.After(*f.CreatedBefore) {
		return f, InvalidField("created_after", "created_after must be <= created_before")
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

// resolveClientScope decides which client a request reads or writes. A
// client-scoped token is pinned to its client: naming another is refused.
// A super_admin may name one (or none, for reads across clients).
func resolveClientScope(p auth.Principal, raw string, given bool) (*uuid.UUID, error) {
	if !given {
		if p.IsSuper() {
			return nil, nil
		}
		id := p.ClientID
		return &id, nil
	}
	id, err := ParseUUID("client_id", raw)
	if err != nil {
		return nil, err
	}
	if !p.IsSuper() && id != p.ClientID {
		return nil, errForbidden("client_id names a client this token cannot access")
	}
	return &id, nil
}

type leadPage struct {
	Data       []store.Lead `json:"data"`
	NextCursor *string      `json:"next_cursor"`
}

func (h *handlers) listLeads(c *gin.Context) {
	p := principal(c)
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		h.fail(c, InvalidField("query", "malformed query string"))
		return
	}
	f, err := ParseLeadQuery(q, p)
	if err != nil {
		h.fail(c, err)
		return
	}
	if f.CampaignID != nil {
		if _, err := h.store.GetCampaign(c.Request.Context(), f.ClientID, *f.CampaignID); err != nil {
			h.fail(c, notFoundAs(err, "campaign"))
			return
		}
	}
	leads, next, err := h.store.ListLeads(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return
	}
	page := leadPage{Data: leads}
	if next != "" {
		page.NextCursor = &next
	}
	c.JSON(http.StatusOK, page)
}

func (h *handlers) getLead(c *gin.Context) {
	id, err := ParseUUID("id", c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	l, err := h.store.GetLead(c.Request.Context(), scopeOf(principal(c)), id)
	if err != nil {
		h.fail(c, notFoundAs(err, "lead"))
		return
	}
	es, err := h.store.LeadEnrollments(c.Request.Context(), l.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, leadDetail{Lead: l, Enrollments: es})
}

// leadDetail is a lead with the campaigns it is or was enrolled in.
type leadDetail struct {
	store.Lead
	Enrollments []store.LeadEnrollment `json:"enrollments"`
}

// scopeOf is the client a principal is pinned to (nil for super_admin).
func scopeOf(p auth.Principal) *uuid.UUID {
	if p.IsSuper() {
		return nil
	}
	id := p.ClientID
	return &id
}

// unknownParam is the 400 for a query parameter the route does not take.
func unknownParam(k string) error {
	field := k
	if field == "" {
		field = "query"
	}
	return InvalidField(field, "unknown query parameter "+strconv.Quote(k))
}
