package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/auth"
)

// PageCursor is the keyset position (created_at, id) after which a
// newest-first page continues; the same opaque form as the leads cursor.
type PageCursor = LeadCursor

// DecodePageCursor parses what PageCursor.Encode produced.
func DecodePageCursor(s string) (PageCursor, error) { return DecodeLeadCursor(s) }

// ListClients returns one page of clients, newest first (scope nil: every
// client; otherwise only that one), and the next page's cursor ("" at the end).
func (s *Store) ListClients(ctx context.Context, scope *uuid.UUID, limit int, after *PageCursor) ([]Client, string, error) {
	var at *time.Time
	var id *uuid.UUID
	if after != nil {
		at, id = &after.CreatedAt, &after.ID
	}
	out, err := all[Client](ctx, s.Pool, `SELECT `+clientCols+` FROM clients
		WHERE ($1::uuid IS NULL OR id = $1) AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $4`, scope, at, id, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list clients: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = PageCursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	return out, next, nil
}

// GetClientIn loads one client within scope (nil: any client): another
// client's id is ErrNotFound.
func (s *Store) GetClientIn(ctx context.Context, scope *uuid.UUID, id uuid.UUID) (Client, error) {
	return one[Client](ctx, s.Pool, `SELECT `+clientCols+` FROM clients WHERE id = $1 AND ($2::uuid IS NULL OR id = $2)`, id, scope)
}

// ClientPatch is a change to a client's settings: nil fields stay as they are.
type ClientPatch struct {
	Name            *string
	Timezone        *string
	AirtableBaseID  *string
	AirtableTable   *string
	AlertWebhookURL *string
	AlertEmail      *string
	SMSFrom         *string
	QuietStart      *int
	QuietEnd        *int
	SendDays        *int
	MaxPerDay       *int
	ProgramName     *string
	HelpText        *string
	Contact         *string
	Disabled        *bool
}

// changed lists the JSON names of the fields p changes on c, in a stable order.
func (p ClientPatch) changed(c Client) []string {
	var out []string
	str := func(name string, v *string, cur string) {
		if v != nil && *v != cur {
			out = append(out, name)
		}
	}
	str("name", p.Name, c.Name)
	str("timezone", p.Timezone, c.Timezone)
	str("airtable_base_id", p.AirtableBaseID, c.AirtableBaseID)
	str("airtable_table", p.AirtableTable, c.AirtableTable)
	str("alert_webhook_url", p.AlertWebhookURL, c.AlertWebhookURL)
	str("alert_email", p.AlertEmail, c.AlertEmail)
	str("sms_from", p.SMSFrom, c.SMSFrom)
	if (p.QuietStart != nil && *p.QuietStart != c.QuietStart) || (p.QuietEnd != nil && *p.QuietEnd != c.QuietEnd) ||
		(p.SendDays != nil && *p.SendDays != c.SendDays) {
		out = append(out, "quiet_hours")
	}
	if p.MaxPerDay != nil && *p.MaxPerDay != c.MaxPerDay {
		out = append(out, "max_per_day")
	}
	str("program_name", p.ProgramName, c.ProgramName)
	str("help_text", p.HelpText, c.HelpText)
	str("contact", p.Contact, c.Contact)
	if p.Disabled != nil && *p.Disabled != c.Disabled {
		out = append(out, "disabled")
	}
	return out
}

// UpdateClient applies p to the client id within scope (nil: any client)
// and writes one audit row (client.update) naming the changed fields, in
// one transaction with the row locked, so concurrent patches of different
// fields both hold. It returns the client after the change and the names
// of the fields that changed (none: nothing written, no audit row).
func (s *Store) UpdateClient(ctx context.Context, scope *uuid.UUID, id uuid.UUID, p ClientPatch, actor string, details map[string]any) (Client, []string, error) {
	var c Client
	var changed []string
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		cur, err := one[Client](ctx, tx, `SELECT `+clientCols+` FROM clients WHERE id = $1 AND ($2::uuid IS NULL OR id = $2) FOR UPDATE`, id, scope)
		if err != nil {
			return err
		}
		c = cur
		changed = p.changed(cur)
		if len(changed) == 0 {
			return nil
		}
		c, err = one[Client](ctx, tx, `UPDATE clients SET
				name = COALESCE($2, name), timezone = COALESCE($3, timezone), airtable_base_id = COALESCE($4, airtable_base_id),
				airtable_table = COALESCE($5, airtable_table), alert_webhook_url = COALESCE($6, alert_webhook_url),
				alert_email = COALESCE($7, alert_email), sms_from = COALESCE($8, sms_from), quiet_start = COALESCE($9, quiet_start),
				quiet_end = COALESCE($10, quiet_end), send_days = COALESCE($11, send_days), max_per_day = COALESCE($12, max_per_day),
				program_name = COALESCE($13, program_name), help_text = COALESCE($14, help_text), contact = COALESCE($15, contact),
				disabled = COALESCE($16, disabled), updated_at = now()
			WHERE id = $1 RETURNING `+clientCols,
			id, p.Name, p.Timezone, p.AirtableBaseID, p.AirtableTable, p.AlertWebhookURL, p.AlertEmail, p.SMSFrom,
			p.QuietStart, p.QuietEnd, p.SendDays, p.MaxPerDay, p.ProgramName, p.HelpText, p.Contact, p.Disabled)
		if isUniqueViolationOf(err, "clients_sms_from_uq") {
			return ErrNumberTaken
		}
		if isUniqueViolation(err) {
			return ErrDuplicate
		}
		if err != nil {
			return fmt.Errorf("update client: %w", err)
		}
		d := map[string]any{"fields": changed}
		for k, v := range details {
			d[k] = v
		}
		if p.Disabled != nil && *p.Disabled != cur.Disabled {
			d["disabled"] = *p.Disabled
		}
		return LogActivity(ctx, tx, Activity{ClientID: &id, Actor: actor, Action: "client.update", Entity: "client", EntityID: id.String(), Details: d})
	})
	return c, changed, err
}

const tokenCols = `id, name, role, client_id, created_at, revoked_at`

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	var role string
	err := row.Scan(&t.ID, &t.Name, &role, &t.ClientID, &t.CreatedAt, &t.RevokedAt)
	t.Role = auth.Role(role)
	return t, notFound(err)
}

// ListTokens returns one page of tokens, newest first, revoked ones
// included (scope nil: every token; otherwise that client's), and the
// next page's cursor ("" at the end). Never the secret or its hash.
func (s *Store) ListTokens(ctx context.Context, scope *uuid.UUID, limit int, after *PageCursor) ([]Token, string, error) {
	var at *time.Time
	var id *uuid.UUID
	if after != nil {
		at, id = &after.CreatedAt, &after.ID
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens
		WHERE ($1::uuid IS NULL OR client_id = $1) AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $4`, scope, at, id, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = PageCursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	return out, next, nil
}

// GetToken loads one token within scope (nil: any token; otherwise only
// that client's, so a super_admin token is not found in a client's scope).
func (s *Store) GetToken(ctx context.Context, scope *uuid.UUID, id uuid.UUID) (Token, error) {
	return scanToken(s.Pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens
		WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2)`, id, scope))
}

// RevokeToken revokes the token id within scope and writes its audit row
// (token.revoke) in the same transaction. The authentication path reads
// revoked_at on every request, so the token is refused from its next
// request on. Revoking a revoked token changes nothing and returns it
// with revoked false.
func (s *Store) RevokeToken(ctx context.Context, scope *uuid.UUID, id uuid.UUID, actor string, details map[string]any) (Token, bool, error) {
	var t Token
	var revoked bool
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens
			WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2) FOR UPDATE`, id, scope))
		if err != nil || t.RevokedAt != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 RETURNING revoked_at`, id).Scan(&t.RevokedAt); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		revoked = true
		d := map[string]any{"role": t.Role, "name": t.Name}
		for k, v := range details {
			d[k] = v
		}
		return LogActivity(ctx, tx, Activity{ClientID: t.ClientID, Actor: actor, Action: "token.revoke", Entity: "token", EntityID: id.String(), Details: d})
	})
	return t, revoked, err
}
