package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

type pgxTx = pgx.Tx

// Activity is one audit row: who did what to which entity.
type Activity struct {
	ClientID *uuid.UUID
	Actor    string
	Action   string
	Entity   string
	EntityID string
	Details  map[string]any
}

// LogActivity writes an audit row with q (usually the transaction that made
// the change, so the change and its audit row commit together).
func LogActivity(ctx context.Context, q Querier, a Activity) error {
	if a.Details == nil {
		a.Details = map[string]any{}
	}
	_, err := q.Exec(ctx, `INSERT INTO activity_log (client_id, actor, action, entity, entity_id, details) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.ClientID, a.Actor, a.Action, a.Entity, a.EntityID, a.Details)
	if err != nil {
		return fmt.Errorf("audit %s: %w", a.Action, err)
	}
	return nil
}

// Audited says whether the audit log holds the action on the entity done
// for the API request requestID.
func (s *Store) Audited(ctx context.Context, entity, entityID, action, requestID string) (bool, error) {
	if requestID == "" {
		return false, nil
	}
	var ok bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM activity_log WHERE entity = $1 AND entity_id = $2 AND action = $3
		AND details->>'request_id' = $4)`, entity, entityID, action, requestID).Scan(&ok)
	return ok, err
}

// ActivityRow is one audit row as GET /v1/activity shows it.
type ActivityRow struct {
	ID        int64           `json:"id" db:"id"`
	ClientID  *uuid.UUID      `json:"client_id" db:"client_id"`
	Actor     string          `json:"actor" db:"actor"`
	Action    string          `json:"action" db:"action"`
	Entity    string          `json:"entity" db:"entity"`
	EntityID  string          `json:"entity_id" db:"entity_id"`
	Details   json.RawMessage `json:"details" db:"details"`
	CreatedAt time.Time       `json:"created_at" db:"created_at"`
}

// ActivityFilter selects a page of the audit log, newest first.
type ActivityFilter struct {
	ClientID *uuid.UUID // nil: every row (super_admin only), system rows included
	Entity   string
	EntityID string
	Actor    string
	Action   string
	Limit    int
	Before   int64 // 0: from the newest; else rows with id < Before
}

// ActivityCursor renders the id a page ended at as an opaque cursor.
func ActivityCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a" + strconv.FormatInt(id, 10)))
}

// DecodeActivityCursor parses what ActivityCursor produced.
func DecodeActivityCursor(s string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 2 || raw[0] != 'a' {
		return 0, ErrBadCursor
	}
	id, err := strconv.ParseInt(string(raw[1:]), 10, 64)
	if err != nil || id < 1 {
		return 0, ErrBadCursor
	}
	return id, nil
}

// ListActivity returns one page of audit rows (id DESC: the order they
// were written) and the next page's cursor ("" at the end).
func (s *Store) ListActivity(ctx context.Context, f ActivityFilter) ([]ActivityRow, string, error) {
	out, err := all[ActivityRow](ctx, s.Pool, `SELECT id, client_id, actor, action, entity, entity_id, details, created_at FROM activity_log
		WHERE ($1::uuid IS NULL OR client_id = $1) AND ($2 = '' OR entity = $2) AND ($3 = '' OR entity_id = $3)
		  AND ($4 = '' OR actor = $4) AND ($5 = '' OR action = $5) AND ($6 = 0 OR id < $6)
		ORDER BY id DESC LIMIT $7`, f.ClientID, f.Entity, f.EntityID, f.Actor, f.Action, f.Before, f.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list activity: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = ActivityCursor(out[len(out)-1].ID)
	}
	return out, next, nil
}
