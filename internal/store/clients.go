package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/airtablefields"
	"github.com/nurture-sms/nurture/internal/auth"
)

// Client is a tenant.
type Client struct {
	ID              uuid.UUID `json:"id" db:"id"`
	Name            string    `json:"name" db:"name"`
	Timezone        string    `json:"timezone" db:"timezone"`
	AirtableBaseID  string    `json:"airtable_base_id" db:"airtable_base_id"`
	AirtableTable   string    `json:"airtable_table" db:"airtable_table"`
	AlertWebhookURL string    `json:"alert_webhook_url" db:"alert_webhook_url"`
	AlertEmail      string    `json:"alert_email" db:"alert_email"`
	Disabled        bool      `json:"disabled" db:"disabled"`
	CreatedAt       time.Time `json:"created_at" db:"created_at"`
	// AirtableFields is the client's column mapping (see package airtablefields).
	AirtableFields json.RawMessage `json:"airtable_fields" db:"airtable_fields"`
	// WebhookSecret signs Airtable webhooks and outgoing alerts; shown only on create.
	WebhookSecret string `json:"webhook_secret,omitempty" db:"webhook_secret"`
	// Sending: the client's own number ("": the deployment's), its window
	// (minutes after local midnight; days Sunday=1 .. Saturday=64), the
	// frequency cap, and what HELP answers.
	SMSFrom     string `json:"sms_from" db:"sms_from"`
	QuietStart  int    `json:"quiet_start_minutes" db:"quiet_start"`
	QuietEnd    int    `json:"quiet_end_minutes" db:"quiet_end"`
	SendDays    int    `json:"send_days" db:"send_days"`
	MaxPerDay   int    `json:"max_per_day" db:"max_per_day"`
	ProgramName string `json:"program_name" db:"program_name"`
	HelpText    string `json:"help_text" db:"help_text"`
	Contact     string `json:"contact" db:"contact"`
}

// NewClient is what creating a client takes.
type NewClient struct {
	Name            string
	Timezone        string
	AirtableBaseID  string
	AirtableTable   string
	AlertWebhookURL string
	AlertEmail      string
	// Sending (zero values: the defaults 09:00-20:00 every day, 3 a day).
	SMSFrom     string
	QuietStart  int
	QuietEnd    int
	SendDays    int
	MaxPerDay   int
	ProgramName string
	HelpText    string
	Contact     string
}

const clientCols = `id, name, timezone, airtable_base_id, airtable_table, alert_webhook_url, alert_email, disabled, created_at, webhook_secret, airtable_fields,
	sms_from, quiet_start, quiet_end, send_days, max_per_day, program_name, help_text, contact`

// CreateClient inserts a client and its audit row in one transaction.
func (s *Store) CreateClient(ctx context.Context, in NewClient, actor string) (Client, error) {
	var c Client
	err := s.InTx(ctx, func(tx pgxTx) error {
		var err error
		c, err = one[Client](ctx, tx, `
			INSERT INTO clients (name, timezone, airtable_base_id, airtable_table, alert_webhook_url, alert_email,
				sms_from, quiet_start, quiet_end, send_days, max_per_day, program_name, help_text, contact)
			VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE(NULLIF($8, 0), 540), COALESCE(NULLIF($9, 0), 1200), COALESCE(NULLIF($10, 0), 127),
				COALESCE(NULLIF($11, 0), 3), $12, $13, $14) RETURNING `+clientCols,
			in.Name, in.Timezone, in.AirtableBaseID, in.AirtableTable, in.AlertWebhookURL, in.AlertEmail,
			in.SMSFrom, in.QuietStart, in.QuietEnd, in.SendDays, in.MaxPerDay, in.ProgramName, in.HelpText, in.Contact)
		if isUniqueViolationOf(err, "clients_sms_from_uq") {
			return ErrNumberTaken
		}
		if isUniqueViolation(err) {
			return ErrDuplicate
		}
		if err != nil {
			return fmt.Errorf("insert client: %w", err)
		}
		return LogActivity(ctx, tx, Activity{ClientID: &c.ID, Actor: actor, Action: "client.create", Entity: "client", EntityID: c.ID.String()})
	})
	return c, err
}

// Fields is the client's Airtable column mapping, defaults filled in.
func (c Client) Fields() (airtablefields.Mapping, error) {
	return airtablefields.Parse(c.AirtableFields)
}

// GetClient loads one client.
func (s *Store) GetClient(ctx context.Context, id uuid.UUID) (Client, error) {
	return one[Client](ctx, s.Pool, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id)
}

// NewToken is what creating a token takes.
type NewToken struct {
	Name     string
	Role     auth.Role
	ClientID *uuid.UUID
}

// Token is a stored token (never the secret itself, nor its hash).
type Token struct {
	ID        uuid.UUID  `json:"id"`
	Name      string     `json:"name"`
	Role      auth.Role  `json:"role"`
	ClientID  *uuid.UUID `json:"client_id"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// CreateToken stores the hash of a fresh token and returns the token once.
func (s *Store) CreateToken(ctx context.Context, in NewToken, actor string) (Token, string, error) {
	secret, hash := auth.NewToken()
	t := Token{Name: in.Name, Role: in.Role, ClientID: in.ClientID}
	err := s.InTx(ctx, func(tx pgxTx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_tokens (token_hash, name, role, client_id) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at`, hash, in.Name, string(in.Role), in.ClientID).Scan(&t.ID, &t.CreatedAt)
		if isFKViolation(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		return LogActivity(ctx, tx, Activity{ClientID: in.ClientID, Actor: actor, Action: "token.create", Entity: "token", EntityID: t.ID.String(),
			Details: map[string]any{"role": in.Role, "name": in.Name}})
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// LookupToken finds the live token whose hash matches. The database finds
// the row by its hash index; the caller's token never leaves this process.
// A client-scoped token of a disabled client returns its row with
// ErrClientDisabled: it authenticates nothing until the client is enabled
// again (super_admin tokens have no client).
func (s *Store) LookupToken(ctx context.Context, hash []byte) (auth.Principal, []byte, error) {
	var p auth.Principal
	var role string
	var clientID *uuid.UUID
	var stored []byte
	var disabled bool
	err := s.Pool.QueryRow(ctx, `
		SELECT t.id, t.role, t.client_id, t.token_hash, COALESCE(c.disabled, false) FROM api_tokens t
		LEFT JOIN clients c ON c.id = t.client_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, hash).Scan(&p.TokenID, &role, &clientID, &stored, &disabled)
	if err != nil {
		return p, nil, notFound(err)
	}
	p.Role = auth.Role(role)
	if clientID != nil {
		p.ClientID = *clientID
	}
	if disabled {
		return p, stored, ErrClientDisabled
	}
	return p, stored, nil
}

// SetClientDisabled disables (or re-enables) a client; a disabled client's
// campaigns fail activation until it is enabled again.
func (s *Store) SetClientDisabled(ctx context.Context, id uuid.UUID, disabled bool, actor string) error {
	return s.InTx(ctx, func(tx pgxTx) error {
		tag, err := tx.Exec(ctx, `UPDATE clients SET disabled = $2, updated_at = now() WHERE id = $1`, id, disabled)
		if err != nil {
			return fmt.Errorf("update client: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		action := "client.enable"
		if disabled {
			action = "client.disable"
		}
		return LogActivity(ctx, tx, Activity{ClientID: &id, Actor: actor, Action: action, Entity: "client", EntityID: id.String()})
	})
}
