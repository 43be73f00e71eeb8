package store

import (
	"context"
	"fmt"

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
