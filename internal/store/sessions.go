package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/auth"
)

// CreateSession stores a console session for principal p: the hash of the
// session id and its CSRF token. The bootstrap token (no token
// row) is stored with a NULL token_id. Expired sessions are swept here.
func (s *Store) CreateSession(ctx context.Context, p auth.Principal, idHash []byte, csrf string, ttl time.Duration, requestID string) (time.Time, error) {
	var tokenID, clientID *uuid.UUID
	if p.TokenID != uuid.Nil {
		tokenID = &p.TokenID
	}
	if p.ClientID != uuid.Nil {
		clientID = &p.ClientID
	}
	var expires time.Time
	err := s.InTx(ctx, func(tx pgxTx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE expires_at < now()`); err != nil {
			return fmt.Errorf("sweep sessions: %w", err)
		}
		err := tx.QueryRow(ctx, `INSERT INTO console_sessions (id_hash, token_id, role, client_id, csrf_token, expires_at)
			VALUES ($1, $2, $3, $4, $5, now() + $6::interval) RETURNING expires_at`,
			idHash, tokenID, string(p.Role), clientID, csrf, fmt.Sprintf("%d seconds", int(ttl.Seconds()))).Scan(&expires)
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return LogActivity(ctx, tx, Activity{ClientID: clientID, Actor: p.Actor(), Action: "session.create", Entity: "token",
			EntityID: p.TokenID.String(), Details: map[string]any{"request_id": requestID}})
	})
	return expires, err
}

// LookupSession resolves a live session: not expired, its token not
// revoked, its client not disabled (ErrClientDisabled, like LookupToken).
// bootstrap reports a session of the bootstrap token (valid only while the
// deployment still has one).
func (s *Store) LookupSession(ctx context.Context, idHash []byte) (p auth.Principal, csrf string, bootstrap bool, err error) {
	var role string
	var tokenID, clientID *uuid.UUID
	var disabled bool
	err = s.Pool.QueryRow(ctx, `
		SELECT s.token_id, s.role, s.client_id, s.csrf_token, COALESCE(c.disabled, false)
		FROM console_sessions s
		LEFT JOIN api_tokens t ON t.id = s.token_id
		LEFT JOIN clients c ON c.id = s.client_id
		WHERE s.id_hash = $1 AND s.expires_at > now()
		  AND (s.token_id IS NULL OR (t.id IS NOT NULL AND t.revoked_at IS NULL))`, idHash).
		Scan(&tokenID, &role, &clientID, &csrf, &disabled)
	if err != nil {
		return p, "", false, notFound(err)
	}
	p.Role = auth.Role(role)
	if tokenID != nil {
		p.TokenID = *tokenID
	}
	if clientID != nil {
		p.ClientID = *clientID
	}
	if disabled {
		return p, csrf, tokenID == nil, ErrClientDisabled
	}
	return p, csrf, tokenID == nil, nil
}

// DeleteSession ends a session (sign out); deleting an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte, actor, requestID string) error {
	return s.InTx(ctx, func(tx pgxTx) error {
		var clientID *uuid.UUID
		var tokenID *uuid.UUID
		err := tx.QueryRow(ctx, `DELETE FROM console_sessions WHERE id_hash = $1 RETURNING client_id, token_id`, idHash).Scan(&clientID, &tokenID)
		if err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return fmt.Errorf("delete session: %w", err)
		}
		id := ""
		if tokenID != nil {
			id = tokenID.String()
		}
		return LogActivity(ctx, tx, Activity{ClientID: clientID, Actor: actor, Action: "session.delete", Entity: "token", EntityID: id,
			Details: map[string]any{"request_id": requestID}})
	})
}
