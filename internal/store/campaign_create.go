package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/campaign"
)

// NewCampaign is a validated campaign definition.
type NewCampaign struct {
	ID       uuid.UUID
	ClientID uuid.UUID
	Name     string
	Audience campaign.Audience
	Messages []campaign.Step
	StartAt  *time.Time
	MaxLeads *int
	Status   string
	// WorkflowID is stored with the row: every row has its workflow.
	WorkflowID string
	// Sending: {{booking_link}}, whether a reply stops the sequence, and a
	// window narrower than the client's (nil: the client's).
	BookingLink string
	StopOnReply bool
	QuietStart  *int
	QuietEnd    *int
	SendDays    *int
}

// Replay is a stored response for an Idempotency-Key.
type Replay struct {
	Hash       []byte
	StatusCode int
	Body       json.RawMessage
}

// ClaimIdempotencyKey reserves key for this request inside tx. It returns
// nil when the key is new; otherwise the earlier request's record (a
// concurrent duplicate waits on the unique index until the first commits).
func ClaimIdempotencyKey(ctx context.Context, tx pgx.Tx, clientID uuid.UUID, key string, hash []byte) (*Replay, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (client_id, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, clientID, key, hash)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil, nil
	}
	var r Replay
	var code *int
	if err := tx.QueryRow(ctx, `SELECT request_hash, status_code, response FROM idempotency_keys WHERE client_id = $1 AND key = $2`, clientID, key).
		Scan(&r.Hash, &code, &r.Body); err != nil {
		return nil, fmt.Errorf("load idempotency key: %w", err)
	}
	if code != nil {
		r.StatusCode = *code
	}
	return &r, nil
}

// StoreIdempotentResponse records the response to replay for key.
func StoreIdempotentResponse(ctx context.Context, tx pgx.Tx, clientID uuid.UUID, key string, status int, body any) error {
	_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE client_id = $1 AND key = $2`, clientID, key, status, body)
	return err
}

// InsertCampaign inserts the row inside tx; a name taken by the client
// (case-insensitively) is ErrDuplicate, even when two requests race.
func InsertCampaign(ctx context.Context, tx pgx.Tx, in NewCampaign) (Campaign, error) {
	c, err := one[Campaign](ctx, tx, `
		INSERT INTO campaigns (id, client_id, name, audience, messages, start_at, max_leads, status, workflow_id,
			booking_link, stop_on_reply, quiet_start, quiet_end, send_days)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING `+campaignCols,
		in.ID, in.ClientID, in.Name, in.Audience, in.Messages, in.StartAt, in.MaxLeads, in.Status, in.WorkflowID,
		in.BookingLink, in.StopOnReply, in.QuietStart, in.QuietEnd, in.SendDays)
	if isUniqueViolation(err) {
		return c, ErrDuplicate
	}
	if isFKViolation(err) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("insert campaign: %w", err)
	}
	return c, nil
}

// ListCampaigns returns a client's campaigns newest first (nil scope: all).
func (s *Store) ListCampaigns(ctx context.Context, scope *uuid.UUID, status string, limit int) ([]Campaign, error) {
	return all[Campaign](ctx, s.Pool, `SELECT `+campaignCols+` FROM campaigns
		WHERE ($1::uuid IS NULL OR client_id = $1) AND ($2 = '' OR status = $2)
		ORDER BY created_at DESC, id DESC LIMIT $3`, scope, status, limit)
}
