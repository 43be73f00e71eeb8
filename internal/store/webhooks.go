package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// AirtableWebhook is a client's Airtable webhook (issue 12). TableID is
// the table it watches: "" for the whole base (leads and tasks, since stop
// 14); a table id marks an older leads-only hook, re-created by EnsureWebhook.
type AirtableWebhook struct {
	ClientID        uuid.UUID `db:"client_id"`
	BaseID          string    `db:"base_id"`
	TableID         string    `db:"table_id"`
	WebhookID       string    `db:"webhook_id"`
	MACSecret       string    `db:"mac_secret"` // base64, as Airtable returned it
	NotificationURL string    `db:"notification_url"`
	ExpiresAt       time.Time `db:"expires_at"`
	// Cursor is the number of the next payload to read.
	Cursor      int64     `db:"cursor"`
	CreatedAt   time.Time `db:"created_at"`
	RefreshedAt time.Time `db:"refreshed_at"`
}

const webhookCols = `client_id, base_id, table_id, webhook_id, mac_secret, notification_url, expires_at, cursor, created_at, refreshed_at`

// GetAirtableWebhook returns the client's webhook (ErrNotFound: none).
func (s *Store) GetAirtableWebhook(ctx context.Context, clientID uuid.UUID) (AirtableWebhook, error) {
	return one[AirtableWebhook](ctx, s.Pool, `SELECT `+webhookCols+` FROM airtable_webhooks WHERE client_id = $1`, clientID)
}

// SaveAirtableWebhook records a (new) webhook of the client, replacing
// the one before it, with its cursor.
func (s *Store) SaveAirtableWebhook(ctx context.Context, w AirtableWebhook) error {
	if w.Cursor < 1 {
		w.Cursor = 1
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO airtable_webhooks (client_id, base_id, table_id, webhook_id, mac_secret, notification_url, expires_at, cursor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (client_id) DO UPDATE SET base_id = EXCLUDED.base_id, table_id = EXCLUDED.table_id, webhook_id = EXCLUDED.webhook_id,
		    mac_secret = EXCLUDED.mac_secret, notification_url = EXCLUDED.notification_url, expires_at = EXCLUDED.expires_at,
		    cursor = EXCLUDED.cursor, created_at = now(), refreshed_at = now()`,
		w.ClientID, w.BaseID, w.TableID, w.WebhookID, w.MACSecret, w.NotificationURL, w.ExpiresAt, w.Cursor)
	return err
}

// RefreshedAirtableWebhook records a refreshed webhook's new expiry.
func (s *Store) RefreshedAirtableWebhook(ctx context.Context, clientID uuid.UUID, webhookID string, expires time.Time) error {
	_, err := s.Pool.Exec(ctx, `UPDATE airtable_webhooks SET expires_at = $3, refreshed_at = now() WHERE client_id = $1 AND webhook_id = $2`,
		clientID, webhookID, expires)
	return err
}

// ResetWebhookCursor moves the cursor to Airtable's next payload (after a
// lost cursor, before the full listing that covers the gap), only if it is
// still from, the cursor the caller read at: a zombie attempt cannot move
// back a cursor a later attempt already moved. It reports whether it did.
func (s *Store) ResetWebhookCursor(ctx context.Context, clientID uuid.UUID, webhookID string, from, cursor int64) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE airtable_webhooks SET cursor = GREATEST($4, 1) WHERE client_id = $1 AND webhook_id = $2 AND cursor = $3`,
		clientID, webhookID, from, cursor)
	return err == nil && tag.RowsAffected() == 1, err
}

// IncrementalApply is one page of webhook payloads, merged per record.
type IncrementalApply struct {
	SyncID, ClientID uuid.UUID
	WebhookID        string
	// From is the cursor the payloads were read at, To the one after them.
	From, To  int64
	Records   []LeadRecord
	Invalid   []InvalidRecord
	Destroyed []string // record ids
}

// ApplyIncremental commits a page of payloads in one transaction with the
// cursor that follows them: the created and changed records go through the
// full sync's upsert (same validation, opt-out and booking rules, restores,
// counts by sync id), the destroyed records' live leads are staged as soft
// deletes of this sync (under the client's staging lock). If the stored
// cursor is no longer From (another apply committed these payloads), it
// changes nothing and answers applied=false: a duplicate or late
// notification applies nothing twice.
func (s *Store) ApplyIncremental(ctx context.Context, in IncrementalApply) (applied bool, staged int, err error) {
	sort.Slice(in.Records, func(i, j int) bool { return in.Records[i].RecordID < in.Records[j].RecordID })
	for i := range in.Records {
		if in.Records[i].Tags == nil {
			in.Records[i].Tags = []string{}
		}
	}
	payload, err := json.Marshal(in.Records)
	if err != nil {
		return false, 0, err
	}
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		var cur int64
		err := tx.QueryRow(ctx, `SELECT cursor FROM airtable_webhooks WHERE client_id = $1 AND webhook_id = $2 FOR UPDATE`,
			in.ClientID, in.WebhookID).Scan(&cur)
		if err == pgx.ErrNoRows || (err == nil && cur != in.From) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(in.Destroyed) > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+stagingLockKey+`)`, in.ClientID); err != nil {
				return err
			}
		}
		if err := upsertPageTx(ctx, tx, in.SyncID, in.ClientID, payload, len(in.Records), in.Invalid); err != nil {
			return err
		}
		if len(in.Destroyed) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE leads SET deleted_at = now(), deletion_sync_id = $2
				WHERE client_id = $1 AND airtable_record_id = ANY($3) AND deleted_at IS NULL`, in.ClientID, in.SyncID, in.Destroyed)
			if err != nil {
				return fmt.Errorf("stage destroyed records: %w", err)
			}
			staged = int(tag.RowsAffected())
		}
		if _, err := tx.Exec(ctx, `UPDATE airtable_webhooks SET cursor = $3 WHERE client_id = $1 AND webhook_id = $2`,
			in.ClientID, in.WebhookID, in.To); err != nil {
			return err
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	return applied, staged, nil
}

// StagedBy counts the leads still staged by a sync.
func (s *Store) StagedBy(ctx context.Context, syncID uuid.UUID) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE deletion_sync_id = $1 AND deleted_at IS NOT NULL`, syncID).Scan(&n)
	return n, err
}

// WebhookCovered: the client's current webhook was created before the
// previous complete listing (another run than syncID, full or a fallback,
// past its listing and not failed) began, so every change since that
// listing should have come through the webhook.
func (s *Store) WebhookCovered(ctx context.Context, syncID, clientID uuid.UUID) (bool, error) {
	var ok bool
	err := s.Pool.QueryRow(ctx, `SELECT COALESCE((SELECT w.created_at <= (SELECT max(r.started_at) FROM sync_runs r
			WHERE r.client_id = $2 AND r.id <> $1 AND (r.mode = 'full' OR r.fallback_reason <> '') AND r.phase NOT IN ('listing', 'failed'))
		FROM airtable_webhooks w JOIN clients c ON c.id = w.client_id AND c.airtable_base_id = w.base_id WHERE w.client_id = $2), false)`, syncID, clientID).Scan(&ok)
	return ok, err
}
