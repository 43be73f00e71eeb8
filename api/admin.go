package api

import (
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/tz"
)

// CreateClientRequest is the body of POST /v1/clients.
type CreateClientRequest struct {
	Name            string `json:"name"`
	Timezone        string `json:"timezone"`
	AirtableBaseID  string `json:"airtable_base_id"`
	AirtableTable   string `json:"airtable_table"`
	AlertWebhookURL string `json:"alert_webhook_url"`
	AlertEmail      string `json:"alert_email"`
}

var airtableBaseID = regexp.MustCompile(`^app[A-Za-z0-9]{14}$`)

// Validate checks the request and fills defaults.
func (r *CreateClientRequest) Validate() error {
	r.Name = strings.TrimSpace(r.Name)
	if n := utf8.RuneCountInString(r.Name); n < 1 || n > 200 {
		return InvalidField("name", "name must be 1..200 characters")
	}
	if hasControl(r.Name) {
		return InvalidField("name", "name must not contain control characters")
	}
	if r.Timezone == "" {
		r.Timezone = "UTC"
	}
	if !tz.Valid(r.Timezone) {
		return InvalidField("timezone", "timezone must be an IANA time zone such as America/New_York")
	}
	if r.AirtableBaseID != "" && !airtableBaseID.MatchString(r.AirtableBaseID) {
		return InvalidField("airtable_base_id", "airtable_base_id must look like app followed by 14 letters or digits")
	}
	if r.AirtableTable == "" {
		r.AirtableTable = "Leads"
	}
	if len(r.AirtableTable) > 100 || hasControl(r.AirtableTable) {
		return InvalidField("airtable_table", "airtable_table must be 1..100 printable characters")
	}
	if r.AlertWebhookURL != "" {
		u, err := url.Parse(r.AlertWebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(r.AlertWebhookURL) > 2048 {
			return InvalidField("alert_webhook_url", "alert_webhook_url must be an http(s) URL")
		}
	}
	if r.AlertEmail != "" {
		a, err := mail.ParseAddress(r.AlertEmail)
		if err != nil || a.Address != r.AlertEmail {
			return InvalidField("alert_email", "alert_email must be a plain e-mail address")
		}
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

func (h *handlers) createClient(c *gin.Context) {
	var req CreateClientRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	if err := req.Validate(); err != nil {
		h.fail(c, err)
		return
	}
	cl, err := h.store.CreateClient(c.Request.Context(), store.NewClient{
		Name: req.Name, Timezone: req.Timezone, AirtableBaseID: req.AirtableBaseID, AirtableTable: req.AirtableTable,
		AlertWebhookURL: req.AlertWebhookURL, AlertEmail: req.AlertEmail,
	}, principal(c).Actor())
	if errors.Is(err, store.ErrDuplicate) {
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeDuplicateName, Message: "a client with this name exists", Details: map[string]any{"field": "name"}})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, cl)
}

// CreateTokenRequest is the body of POST /v1/tokens.
type CreateTokenRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	ClientID string `json:"client_id"`
}

// Validate checks the request; client_id is required exactly for client roles.
func (r *CreateTokenRequest) Validate() (store.NewToken, error) {
	out := store.NewToken{Name: strings.TrimSpace(r.Name), Role: auth.Role(r.Role)}
	if utf8.RuneCountInString(out.Name) > 100 || hasControl(out.Name) {
		return out, InvalidField("name", "name must be at most 100 printable characters")
	}
	if !out.Role.Valid() {
		return out, InvalidField("role", "role must be one of: super_admin, client_admin, client_viewer")
	}
	if out.Role == auth.RoleSuperAdmin {
		if r.ClientID != "" {
			return out, InvalidField("client_id", "a super_admin token has no client_id")
		}
		return out, nil
	}
	if r.ClientID == "" {
		return out, InvalidField("client_id", "client_id is required for client roles")
	}
	id, err := ParseUUID("client_id", r.ClientID)
	if err != nil {
		return out, err
	}
	out.ClientID = &id
	return out, nil
}

type tokenResponse struct {
	store.Token
	Secret string `json:"token"` // shown once, never stored

}

func (h *handlers) createToken(c *gin.Context) {
	var req CreateTokenRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	nt, err := req.Validate()
	if err != nil {
		h.fail(c, err)
		return
	}
	tok, secret, err := h.store.CreateToken(c.Request.Context(), nt, principal(c).Actor())
	if errors.Is(err, store.ErrNotFound) {
		h.fail(c, InvalidField("client_id", "client_id names no client"))
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, tokenResponse{Token: tok, Secret: secret})
}

// notFoundAs renames a store.ErrNotFound for the envelope.
func notFoundAs(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound(what)
	}
	return err
}
