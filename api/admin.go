package api

import (
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/text"
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

// Name limits, in characters (the rule is internal/text.Name).
const (
	MaxClientNameLen    = 200
	MaxTokenNameLen     = 100
	MaxAirtableTableLen = 100
)

// Validate checks the request and fills defaults.
func (r *CreateClientRequest) Validate() error {
	name, err := text.Name(r.Name, MaxClientNameLen)
	if err != nil {
		return InvalidField("name", "name "+err.Error())
	}
	r.Name = name
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
	table, err := text.Name(r.AirtableTable, MaxAirtableTableLen)
	if err != nil {
		return InvalidField("airtable_table", "airtable_table "+err.Error())
	}
	r.AirtableTable = table
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
	out := store.NewToken{Role: auth.Role(r.Role)}
	// A token's name is optional; when given it follows the name rule.
	if r.Name != "" {
		name, err := text.Name(r.Name, MaxTokenNameLen)
		if err != nil {
			return out, InvalidField("name", "name "+err.Error())
		}
		out.Name = name
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
