package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Inbound is one message a lead sent to a client.
type Inbound struct {
	ClientID    uuid.UUID
	LeadID      *uuid.UUID
	ProviderSID string
	From, To    string
	Body        string
	Kind        string // opt_out, opt_in, help, reply
}

// SMSClient is a client an inbound message is for, with what HELP answers.
type SMSClient struct {
	ID          uuid.UUID  `db:"id"`
	Name        string     `db:"name"`
	ProgramName string     `db:"program_name"`
	HelpText    string     `db:"help_text"`
	Contact     string     `db:"contact"`
	MaxPerDay   int        `db:"max_per_day"`
	LeadID      *uuid.UUID `db:"lead_id"`
}

// ClientsForInbound finds the clients a message from from to to is for: the
// client whose own number is to; for the deployment's shared number
// (defaultFrom), every client without its own number that has a lead with
// that phone. Each comes with that lead (if any).
func (s *Store) ClientsForInbound(ctx context.Context, to, defaultFrom, from string) ([]SMSClient, error) {
	return all[SMSClient](ctx, s.Pool, `
		SELECT c.id, c.name, c.program_name, c.help_text, c.contact, c.max_per_day,
		       (SELECT l.id FROM leads l WHERE l.client_id = c.id AND l.phone = $3 AND l.deleted_at IS NULL ORDER BY l.created_at DESC LIMIT 1) AS lead_id
		FROM clients c
		WHERE c.sms_from = $1
		   OR ($1 = $2 AND c.sms_from = '' AND EXISTS (SELECT 1 FROM leads l WHERE l.client_id = c.id AND l.phone = $3))
		ORDER BY c.created_at`, to, defaultFrom, from)
}

// RecordInbound stores an inbound message once (the provider's id is
// unique: a repeated webhook changes nothing) and answers whether it is new.
func (s *Store) RecordInbound(ctx context.Context, in Inbound) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO sms_inbound (client_id, lead_id, provider_sid, from_phone, to_phone, body, kind)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (provider_sid) DO NOTHING`,
		in.ClientID, in.LeadID, in.ProviderSID+":"+in.ClientID.String(), in.From, in.To, in.Body, in.Kind)
	if err != nil {
		return false, fmt.Errorf("record inbound: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// MarkReplied ends, as replied, the active enrollments of the client's
// leads with that phone in campaigns that stop on a reply: their remaining
// steps are not sent (a person takes over). It answers how many.
func (s *Store) MarkReplied(ctx context.Context, clientID uuid.UUID, phone string) (int, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE campaign_enrollments e SET status = 'replied', ended_at = clock_timestamp(), writeback = 'pending'
		FROM leads l, campaigns c
		WHERE e.client_id = $1 AND e.status = 'active' AND l.id = e.lead_id AND l.phone = $2 AND c.id = e.campaign_id AND c.stop_on_reply`,
		clientID, phone)
	return int(tag.RowsAffected()), err
}

// SetBooked records a booking (or un-books a lead, which only an admin
// can do); a lead that becomes booked leaves its active enrollments as
// converted, in the same transaction. It answers the enrollments ended.
func (s *Store) SetBooked(ctx context.Context, scope *uuid.UUID, leadID uuid.UUID, booked bool, actor, requestID string) (int, error) {
	var ended int
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var clientID uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE leads SET booked = $2, updated_at = now()
			WHERE id = $1 AND deleted_at IS NULL AND ($3::uuid IS NULL OR client_id = $3) RETURNING client_id`, leadID, booked, scope).Scan(&clientID)
		if err != nil {
			return notFound(err)
		}
		if booked {
			tag, err := tx.Exec(ctx, `UPDATE campaign_enrollments SET status = 'converted', ended_at = clock_timestamp(), writeback = 'pending'
				WHERE lead_id = $1 AND status = 'active'`, leadID)
			if err != nil {
				return err
			}
			ended = int(tag.RowsAffected())
		}
		return LogActivity(ctx, tx, Activity{ClientID: &clientID, Actor: actor, Action: "lead.update", Entity: "lead", EntityID: leadID.String(),
			Details: map[string]any{"booked": booked, "enrollments_converted": ended, "request_id": requestID}})
	})
	return ended, err
}

// Message is one outbound or inbound SMS of a lead.
type Message struct {
	Direction   string     `json:"direction" db:"direction"` // outbound, inbound
	At          time.Time  `json:"at" db:"at"`
	Body        string     `json:"body" db:"body"`
	Status      string     `json:"status" db:"status"` // the ledger status; inbound: opt_out, opt_in, help, reply
	CampaignID  *uuid.UUID `json:"campaign_id,omitempty" db:"campaign_id"`
	Step        *int       `json:"step,omitempty" db:"step"` // 1-based
	ProviderSID string     `json:"provider_sid,omitempty" db:"provider_sid"`
	ErrorCode   *int       `json:"error_code,omitempty" db:"error_code"`
}

// LeadMessages lists a lead's messages, newest first.
func (s *Store) LeadMessages(ctx context.Context, leadID uuid.UUID, limit int) ([]Message, error) {
	return all[Message](ctx, s.Pool, `
		SELECT * FROM (
			SELECT 'outbound' AS direction, COALESCE(sending_at, claimed_at) AS at, body, status, campaign_id, step + 1 AS step,
			       provider_sid, error_code
			FROM sms_sends WHERE lead_id = $1
			UNION ALL
			SELECT 'inbound', received_at, body, kind, NULL, NULL, split_part(provider_sid, ':', 1), NULL
			FROM sms_inbound WHERE lead_id = $1
		) m ORDER BY at DESC LIMIT $2`, leadID, limit)
}

// StepStats are one step's figures.
type StepStats struct {
	Step        int `json:"step" db:"step"` // 1-based
	Waiting     int `json:"waiting" db:"waiting"`
	Sending     int `json:"sending" db:"sending"`
	Sent        int `json:"sent" db:"sent"`
	Delivered   int `json:"delivered" db:"delivered"`
	Undelivered int `json:"undelivered" db:"undelivered"`
	Failed      int `json:"failed" db:"failed"`
	Unknown     int `json:"unknown" db:"unknown"`
	Skipped     int `json:"skipped" db:"skipped"`
	Stopped     int `json:"stopped" db:"stopped"`
	Replied     int `json:"replied" db:"replied"`
	Converted   int `json:"converted" db:"converted"`
}

// CampaignStats are a campaign's figures per step (sent counts what
// reached the provider: sent, delivered and undelivered), from the ledger
// and the enrollments; test sends are never in them.
func (s *Store) CampaignStats(ctx context.Context, campaignID uuid.UUID, steps int) ([]StepStats, error) {
	return all[StepStats](ctx, s.Pool, `
		WITH k AS (SELECT generate_series(0, $2 - 1) AS step),
		sends AS (
			SELECT step,
			       count(*) FILTER (WHERE status IN ('claimed', 'sending')) AS sending,
			       count(*) FILTER (WHERE status IN ('sent', 'delivered', 'undelivered')) AS sent,
			       count(*) FILTER (WHERE status = 'delivered') AS delivered,
			       count(*) FILTER (WHERE status = 'undelivered') AS undelivered,
			       count(*) FILTER (WHERE status = 'failed') AS failed,
			       count(*) FILTER (WHERE status = 'unknown') AS unknown,
			       count(*) FILTER (WHERE status = 'skipped') AS skipped
			FROM sms_sends WHERE campaign_id = $1 GROUP BY step
		), enr AS (
			SELECT step,
			       count(*) FILTER (WHERE status = 'active') AS waiting,
			       count(*) FILTER (WHERE status = 'stopped') AS stopped,
			       count(*) FILTER (WHERE status = 'replied') AS replied,
			       count(*) FILTER (WHERE status = 'converted') AS converted
			FROM campaign_enrollments WHERE campaign_id = $1 GROUP BY step
		)
		SELECT k.step + 1 AS step, COALESCE(e.waiting, 0) - COALESCE(s.sending, 0) AS waiting, COALESCE(s.sending, 0) AS sending,
		       COALESCE(s.sent, 0) AS sent, COALESCE(s.delivered, 0) AS delivered, COALESCE(s.undelivered, 0) AS undelivered,
		       COALESCE(s.failed, 0) AS failed, COALESCE(s.unknown, 0) AS unknown, COALESCE(s.skipped, 0) AS skipped,
		       COALESCE(e.stopped, 0) AS stopped, COALESCE(e.replied, 0) AS replied, COALESCE(e.converted, 0) AS converted
		FROM k LEFT JOIN sends s ON s.step = k.step LEFT JOIN enr e ON e.step = k.step ORDER BY k.step`, campaignID, steps)
}

// EnrollmentCounts are a campaign's enrollments by status.
type EnrollmentCounts struct {
	Active    int `json:"active" db:"active"`
	Completed int `json:"completed" db:"completed"`
	Stopped   int `json:"stopped" db:"stopped"`
	Replied   int `json:"replied" db:"replied"`
	Converted int `json:"converted" db:"converted"`
	Cancelled int `json:"cancelled" db:"cancelled"`
	Failed    int `json:"failed" db:"failed"`
}

// CampaignEnrollmentCounts counts the campaign's enrollments by status.
func (s *Store) CampaignEnrollmentCounts(ctx context.Context, campaignID uuid.UUID) (EnrollmentCounts, error) {
	return one[EnrollmentCounts](ctx, s.Pool, `SELECT
			count(*) FILTER (WHERE status = 'active') AS active, count(*) FILTER (WHERE status = 'completed') AS completed,
			count(*) FILTER (WHERE status = 'stopped') AS stopped, count(*) FILTER (WHERE status = 'replied') AS replied,
			count(*) FILTER (WHERE status = 'converted') AS converted, count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
			count(*) FILTER (WHERE status = 'failed') AS failed
		FROM campaign_enrollments WHERE campaign_id = $1`, campaignID)
}

// TestSendDecision is the per-user test-send limit's verdict.
type TestSendDecision struct {
	Allowed bool
	// OptedOut: the number opted out of the client's messages (a STOP, or
	// a lead with SMS Stop): nothing is sent, nothing counted.
	OptedOut bool
	Limit    int
	Reset    time.Time
	Now      time.Time
}

// ReserveTestSend counts the user's test sends in the last hour (the
// database's clock, under the user's advisory lock) and, below limit,
// writes the row, status sending.
func (s *Store) ReserveTestSend(ctx context.Context, id, campaignID, clientID, tokenID uuid.UUID, step int, to, body string, limit int) (TestSendDecision, error) {
	d := TestSendDecision{Limit: limit}
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('sms-test:' || $1::text))`, tokenID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sms_opt_outs WHERE client_id = $1 AND phone = $2)
			OR EXISTS (SELECT 1 FROM leads WHERE client_id = $1 AND phone = $2 AND sms_stop AND deleted_at IS NULL)`, clientID, to).Scan(&d.OptedOut); err != nil {
			return err
		}
		if d.OptedOut {
			return nil
		}
		var n int
		var oldest *time.Time
		if err := tx.QueryRow(ctx, `SELECT now(), count(*), min(created_at) FROM sms_tests WHERE token_id = $1 AND created_at > now() - interval '1 hour'`,
			tokenID).Scan(&d.Now, &n, &oldest); err != nil {
			return err
		}
		d.Reset = d.Now.Add(time.Hour)
		if oldest != nil {
			d.Reset = oldest.Add(time.Hour)
		}
		if n >= limit {
			return nil
		}
		d.Allowed = true
		_, err := tx.Exec(ctx, `INSERT INTO sms_tests (id, campaign_id, client_id, token_id, step, to_phone, body, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending')`,
			id, campaignID, clientID, tokenID, step, to, body)
		return err
	})
	return d, err
}

// FinishTestSend records the provider's answer for a test send.
func (s *Store) FinishTestSend(ctx context.Context, id uuid.UUID, status, sid, errText string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE sms_tests SET status = $2, provider_sid = $3, error = $4 WHERE id = $1`, id, status, sid, errText)
	return err
}

// CampaignBookingLink is the campaign's {{booking_link}}.
func (s *Store) CampaignBookingLink(ctx context.Context, campaignID uuid.UUID) (string, error) {
	var l string
	err := s.Pool.QueryRow(ctx, `SELECT booking_link FROM campaigns WHERE id = $1`, campaignID).Scan(&l)
	return l, notFound(err)
}

// OptOutBySend records an opt-out of the recipient of a send (the
// provider said 21610: the recipient unsubscribed from this sender).
func (s *Store) OptOutBySend(ctx context.Context, sendID uuid.UUID, source string) error {
	var clientID uuid.UUID
	var phone string
	if err := s.Pool.QueryRow(ctx, `SELECT client_id, to_phone FROM sms_sends WHERE id = $1`, sendID).Scan(&clientID, &phone); err != nil {
		return notFound(err)
	}
	_, _, err := s.OptOut(ctx, clientID, phone, source)
	return err
}
