package api

import (
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/quiet"
	"github.com/nurture-sms/nurture/internal/sms"
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
	// Sending: the client's own number ("": the deployment's), its window
	// (default 09:00-20:00 every day), messages per lead per 24 h
	// (default 3), and what HELP answers.
	SMSFrom     string            `json:"sms_from"`
	QuietHours  *QuietHoursFields `json:"quiet_hours"`
	MaxPerDay   *int              `json:"max_per_day"`
	ProgramName string            `json:"program_name"`
	HelpText    string            `json:"help_text"`
	Contact     string            `json:"contact"`

	window quiet.Window
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
	if r.SMSFrom != "" && !sms.ValidE164(r.SMSFrom) {
		return InvalidField("sms_from", "sms_from must be an E.164 phone number such as +15551234567")
	}
	r.window = quiet.Default
	if r.QuietHours != nil {
		w, err := r.QuietHours.Window("quiet_hours")
		if err != nil {
			return err
		}
		r.window = w
	}
	if r.MaxPerDay != nil && (*r.MaxPerDay < 1 || *r.MaxPerDay > 50) {
		return InvalidField("max_per_day", "max_per_day must be an integer from 1 to 50")
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"program_name", &r.ProgramName, 60}, {"contact", &r.Contact, 120}, {"help_text", &r.HelpText, 320}} {
		if *f.v == "" {
			continue
		}
		v, err := text.Name(*f.v, f.max)
		if err != nil {
			return InvalidField(f.name, f.name+" "+err.Error())
		}
		*f.v = v
	}
	return nil
}

// newClient is the validated request for the store.
func (r *CreateClientRequest) newClient() store.NewClient {
	nc := store.NewClient{Name: r.Name, Timezone: r.Timezone, AirtableBaseID: r.AirtableBaseID, AirtableTable: r.AirtableTable,
		AlertWebhookURL: r.AlertWebhookURL, AlertEmail: r.AlertEmail, SMSFrom: r.SMSFrom,
		QuietStart: r.window.Start, QuietEnd: r.window.End, SendDays: int(r.window.Days),
		ProgramName: r.ProgramName, HelpText: r.HelpText, Contact: r.Contact}
	if r.MaxPerDay != nil {
		nc.MaxPerDay = *r.MaxPerDay
	}
	return nc
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
	cl, err := h.store.CreateClient(c.Request.Context(), req.newClient(), principal(c).Actor())
	if errors.Is(err, store.ErrNumberTaken) {
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "another client sends from this number", Details: map[string]any{"field": "sms_from"}})
		return
	}
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
