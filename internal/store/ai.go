package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// RateLimits are the AI drafting quotas.
type RateLimits struct {
	PerUser      int           // per token, across every client
	UserWindow   time.Duration // e.g. 1h
	PerClient    int
	ClientWindow time.Duration // e.g. 24h
}

// RateDecision is the outcome of a reservation.
type RateDecision struct {
	Allowed bool
	// The binding limit (the one with the least room, or the one exceeded).
	Limit     int
	Remaining int
	Reset     time.Time // when the oldest counted request leaves the window
	Scope     string    // "user" or "client"
	Now       time.Time // the database's clock when the decision was taken
}

// ReserveGeneration counts the caller's recent requests and, when both the
// user's quota (a user is a token, counted across every client it drafts
// for) and the client's quota have room, reserves one by inserting the
// ledger row. It holds the user's and then the client's advisory lock to
// commit, and every time is the database's clock, so any number of API
// instances on any hosts see one exact count.
func (s *Store) ReserveGeneration(ctx context.Context, requestID string, clientID uuid.UUID, tokenID uuid.UUID, l RateLimits) (RateDecision, error) {
	var d RateDecision
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		// Always user first, then client: two requests never wait on each other crosswise.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('ai-rate-user:' || $1::text)),
				pg_advisory_xact_lock(hashtext('ai-rate:' || $2::text))`, tokenID, clientID); err != nil {
			return err
		}
		var userN, clientN int
		var userOldest, clientOldest *time.Time
		err := tx.QueryRow(ctx, `SELECT now(),
				(SELECT count(*) FROM ai_generations WHERE token_id = $2 AND created_at > now() - $3::interval),
				(SELECT min(created_at) FROM ai_generations WHERE token_id = $2 AND created_at > now() - $3::interval),
				(SELECT count(*) FROM ai_generations WHERE client_id = $1 AND created_at > now() - $4::interval),
				(SELECT min(created_at) FROM ai_generations WHERE client_id = $1 AND created_at > now() - $4::interval)`,
			clientID, tokenID, l.UserWindow, l.ClientWindow).Scan(&d.Now, &userN, &userOldest, &clientN, &clientOldest)
		if err != nil {
			return fmt.Errorf("count generations: %w", err)
		}
		userLeft, clientLeft := l.PerUser-userN, l.PerClient-clientN
		d.Scope, d.Limit, d.Remaining = "user", l.PerUser, userLeft
		d.Reset = resetAt(userOldest, l.UserWindow, d.Now)
		if clientLeft < userLeft {
			d.Scope, d.Limit, d.Remaining = "client", l.PerClient, clientLeft
			d.Reset = resetAt(clientOldest, l.ClientWindow, d.Now)
		}
		if d.Remaining <= 0 {
			d.Remaining = 0
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO ai_generations (request_id, client_id, token_id) VALUES ($1, $2, $3)`, requestID, clientID, tokenID)
		if isFKViolation(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("reserve generation: %w", err)
		}
		d.Allowed = true
		d.Remaining--
		return nil
	})
	return d, err
}

func resetAt(oldest *time.Time, window time.Duration, now time.Time) time.Time {
	if oldest == nil {
		return now.Add(window)
	}
	return oldest.Add(window)
}

// GenerationRecord is what a finished draft cost.
type GenerationRecord struct {
	RequestID        string
	ModelUsed        string
	IsTemplate       bool
	PromptTokens     int
	CompletionTokens int
	CostUSD          float64
	Attempts         []map[string]any
}

// CompleteGeneration records the outcome on the reserved row.
func (s *Store) CompleteGeneration(ctx context.Context, r GenerationRecord) error {
	if r.Attempts == nil {
		r.Attempts = []map[string]any{}
	}
	_, err := s.Pool.Exec(ctx, `UPDATE ai_generations SET status = 'completed', model_used = $2, is_template = $3,
		prompt_tokens = $4, completion_tokens = $5, cost_usd = $6, attempts = $7, completed_at = now() WHERE request_id = $1`,
		r.RequestID, r.ModelUsed, r.IsTemplate, r.PromptTokens, r.CompletionTokens, r.CostUSD, r.Attempts)
	return err
}

// UsageRow is one line of a client's usage report.
type UsageRow struct {
	Day              string  `json:"day" db:"day"`
	ModelUsed        string  `json:"model_used" db:"model_used"`
	Requests         int     `json:"requests" db:"requests"`
	Templates        int     `json:"templates" db:"templates"`
	PromptTokens     int     `json:"prompt_tokens" db:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens" db:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd" db:"cost_usd"`
}

// Usage reports a client's generations per day and model since from.
func (s *Store) Usage(ctx context.Context, clientID uuid.UUID, from time.Time) ([]UsageRow, error) {
	rows, err := all[UsageRow](ctx, s.Pool, `SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, model_used,
			count(*) AS requests, count(*) FILTER (WHERE is_template) AS templates, sum(prompt_tokens) AS prompt_tokens,
			sum(completion_tokens) AS completion_tokens, sum(cost_usd)::float8 AS cost_usd
		FROM ai_generations WHERE client_id = $1 AND created_at >= $2
		GROUP BY 1, 2 ORDER BY 1 DESC, 2`, clientID, from)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	return rows, nil
}
