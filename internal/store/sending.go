package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/campaign"
)

// Send ledger statuses (sms_sends.status). See docs/DESIGN.md, "Sending".
const (
	SendClaimed     = "claimed"     // written; nobody called the provider
	SendSending     = "sending"     // the call may have happened
	SendSent        = "sent"        // the provider accepted it
	SendDelivered   = "delivered"   // the carrier delivered it
	SendUndelivered = "undelivered" // the carrier could not deliver it
	SendFailed      = "failed"      // the provider refused it (not sent)
	SendUnknown     = "unknown"     // could not be settled: counted and alerted
	SendSkipped     = "skipped"     // not sent: the lead left the sequence before the call
)

// Enrollment statuses once sending exists.
const (
	EnrollActive    = "active"
	EnrollCompleted = "completed"
	EnrollStopped   = "stopped"   // opted out
	EnrollReplied   = "replied"   // answered; a human takes over
	EnrollConverted = "converted" // booked
	EnrollCancelled = "cancelled"
	EnrollFailed    = "failed" // the number cannot be messaged (invalid)
)

// SendPlan is what sending a campaign needs to know, read once per
// activity: the steps, the window, the cap and the numbers.
type SendPlan struct {
	CampaignID   uuid.UUID
	ClientID     uuid.UUID
	Status       string
	Steps        []campaign.Step
	BookingLink  string
	ClientName   string
	ClientTZ     string
	From         string // the client's number ('' = the deployment's)
	QuietStart   int
	QuietEnd     int
	SendDays     int
	MaxPerDay    int
	StopOnReply  bool
	ActivatedAt  *time.Time
	EnrollStatus string
}

// LoadSendPlan reads the campaign's plan (its window, or the client's).
func (s *Store) LoadSendPlan(ctx context.Context, campaignID uuid.UUID) (SendPlan, error) {
	p := SendPlan{CampaignID: campaignID}
	var raw []byte
	err := s.Pool.QueryRow(ctx, `SELECT c.client_id, c.status, c.messages, c.booking_link, cl.name, cl.timezone, cl.sms_from,
			COALESCE(c.quiet_start, cl.quiet_start), COALESCE(c.quiet_end, cl.quiet_end), COALESCE(c.send_days, cl.send_days),
			cl.max_per_day, c.stop_on_reply, c.activated_at, c.enrollment_status
		FROM campaigns c JOIN clients cl ON cl.id = c.client_id WHERE c.id = $1`, campaignID).
		Scan(&p.ClientID, &p.Status, &raw, &p.BookingLink, &p.ClientName, &p.ClientTZ, &p.From,
			&p.QuietStart, &p.QuietEnd, &p.SendDays, &p.MaxPerDay, &p.StopOnReply, &p.ActivatedAt, &p.EnrollStatus)
	if err != nil {
		return p, notFound(err)
	}
	if err := json.Unmarshal(raw, &p.Steps); err != nil {
		return p, fmt.Errorf("decode steps: %w", err)
	}
	return p, nil
}

// DueRow is an active enrollment whose next step is due.
type DueRow struct {
	LeadID    uuid.UUID `db:"lead_id"`
	Step      int       `db:"step"`
	DueAt     time.Time `db:"due_at"`
	FirstName string    `db:"first_name"`
	LastName  string    `db:"last_name"`
	Phone     string    `db:"phone"`
	Timezone  string    `db:"timezone"`
}

// DueEnrollments returns up to limit active enrollments of the campaign
// whose next step is due (due_at <= now) and not yet in the ledger, oldest
// due first, and the database's clock.
//
// The NOT EXISTS is fenced (OFFSET 0): a subplan probing the ledger once
// per enrollment by its key. Unfenced, a campaign that began sending after
// the last ANALYZE is estimated at one row and the anti-join rescanned the
// campaign's whole ledger for every enrollment (10.8 s for 1,000 rows after
// a 100,000-message campaign; fenced 0.3 s on the same data, bench "send").
func (s *Store) DueEnrollments(ctx context.Context, campaignID uuid.UUID, limit int) ([]DueRow, time.Time, error) {
	var now time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
		return nil, now, err
	}
	rows, err := all[DueRow](ctx, s.Pool, `SELECT e.lead_id, e.step, e.due_at, l.first_name, l.last_name, l.phone, l.timezone
		FROM campaign_enrollments e JOIN leads l ON l.id = e.lead_id
		WHERE e.campaign_id = $1 AND e.status = 'active' AND e.due_at <= $2
		  AND NOT EXISTS (SELECT 1 FROM sms_sends s WHERE s.campaign_id = e.campaign_id AND s.lead_id = e.lead_id AND s.step = e.step OFFSET 0)
		ORDER BY e.due_at LIMIT $3`, campaignID, now, limit)
	if err != nil {
		return nil, now, fmt.Errorf("due enrollments: %w", err)
	}
	return rows, now, nil
}

// NextDue is how long until the campaign next has work (0: now): the
// earliest due step not yet in the ledger, or the moment a row left open
// (claimed, sending) becomes stale and is reconciled; and how many
// enrollments are still active (none: the sequence is done).
func (s *Store) NextDue(ctx context.Context, campaignID uuid.UUID, staleAfter time.Duration) (time.Duration, int, error) {
	var wait *float64
	var active int
	err := s.Pool.QueryRow(ctx, `SELECT extract(epoch FROM LEAST(
			(SELECT min(e.due_at) FROM campaign_enrollments e WHERE e.campaign_id = $1 AND e.status = 'active'
			   AND NOT EXISTS (SELECT 1 FROM sms_sends s WHERE s.campaign_id = e.campaign_id AND s.lead_id = e.lead_id AND s.step = e.step OFFSET 0)),
			(SELECT min(COALESCE(sending_at, claimed_at)) + $2::interval FROM sms_sends WHERE campaign_id = $1 AND status IN ('claimed', 'sending'))
		) - clock_timestamp()),
		(SELECT count(*) FROM campaign_enrollments WHERE campaign_id = $1 AND status = 'active')`, campaignID, staleAfter).Scan(&wait, &active)
	if err != nil {
		return 0, active, err
	}
	if wait == nil {
		// Active enrollments, but no step due and no row open: nothing
		// can change without an outside event (a staged lead's decision);
		// look again in a while rather than at once.
		return IdlePoll, active, nil
	}
	return max(0, time.Duration(*wait*float64(time.Second))), active, nil
}

// IdlePoll is how long NextDue waits when active enrollments have nothing
// due and nothing open.
const IdlePoll = time.Minute

// Recent is how many messages a lead got in the cap's period, and when the
// oldest of them went.
type Recent struct {
	LeadID uuid.UUID `db:"lead_id"`
	Count  int       `db:"count"`
	Oldest time.Time `db:"oldest"`
}

// RecentSends counts, per lead, the messages that may have reached the
// phone since since (every campaign; tests excluded).
func (s *Store) RecentSends(ctx context.Context, leadIDs []uuid.UUID, since time.Time) (map[uuid.UUID]Recent, error) {
	rows, err := all[Recent](ctx, s.Pool, `SELECT lead_id, count(*) AS count, min(sending_at) AS oldest FROM sms_sends
		WHERE lead_id = ANY($1) AND sending_at > $2 AND status IN ('sending', 'sent', 'delivered', 'undelivered', 'unknown')
		GROUP BY lead_id`, leadIDs, since)
	if err != nil {
		return nil, fmt.Errorf("recent sends: %w", err)
	}
	out := make(map[uuid.UUID]Recent, len(rows))
	for _, r := range rows {
		out[r.LeadID] = r
	}
	return out, nil
}

// Deferral moves an enrollment's due time (outside the window, over the cap).
type Deferral struct {
	LeadID uuid.UUID
	DueAt  time.Time
}

// Defer moves due times of active enrollments of the campaign.
func (s *Store) Defer(ctx context.Context, campaignID uuid.UUID, ds []Deferral) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ds))
	dues := make([]time.Time, len(ds))
	for i, d := range ds {
		ids[i], dues[i] = d.LeadID, d.DueAt
	}
	_, err := s.Pool.Exec(ctx, `UPDATE campaign_enrollments e SET due_at = d.due
		FROM unnest($2::uuid[], $3::timestamptz[]) AS d(lead_id, due)
		WHERE e.campaign_id = $1 AND e.lead_id = d.lead_id AND e.status = 'active'`, campaignID, ids, dues)
	return err
}

// NewSend is a step about to be claimed.
type NewSend struct {
	ID     uuid.UUID
	LeadID uuid.UUID
	Step   int
	To     string
	From   string
	Body   string
	DueAt  time.Time
}

// ClaimSends writes the ledger rows (claimed) in one statement that
// re-checks everything a send needs: the enrollment is active at that
// step, the lead is not stopped, not booked, not soft-deleted, and the
// campaign is active (not paused, not cancelled). It answers the rows it
// wrote; a (campaign, lead, step) that already has a row is never written
// twice.
func (s *Store) ClaimSends(ctx context.Context, campaignID uuid.UUID, in []NewSend) ([]uuid.UUID, error) {
	if len(in) == 0 {
		return nil, nil
	}
	n := len(in)
	ids, leads, steps := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]int32, n)
	tos, froms, bodies, dues := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, x := range in {
		ids[i], leads[i], steps[i], tos[i], froms[i], bodies[i], dues[i] = x.ID, x.LeadID, int32(x.Step), x.To, x.From, x.Body, x.DueAt
	}
	rows, err := s.Pool.Query(ctx, `
		INSERT INTO sms_sends (id, campaign_id, lead_id, client_id, step, to_phone, from_phone, body, status, due_at)
		SELECT i.id, e.campaign_id, e.lead_id, e.client_id, i.step, i.to_phone, i.from_phone, i.body, 'claimed', i.due_at
		FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
		     AS i(id, lead_id, step, to_phone, from_phone, body, due_at)
		JOIN campaign_enrollments e ON e.campaign_id = $1 AND e.lead_id = i.lead_id AND e.status = 'active' AND e.step = i.step
		JOIN leads l ON l.id = i.lead_id AND NOT l.sms_stop AND NOT l.booked AND l.deleted_at IS NULL
		JOIN campaigns c ON c.id = $1 AND c.status = 'active'
		ORDER BY i.lead_id
		ON CONFLICT (campaign_id, lead_id, step) DO NOTHING
		RETURNING id`, campaignID, ids, leads, steps, tos, froms, bodies, dues)
	if err != nil {
		return nil, fmt.Errorf("claim sends: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// MarkSending moves claimed rows to sending just before the provider is
// called, re-checking the lead, the enrollment and the campaign once more:
// a STOP, a reply, a pause or a cancel committed since the claim keeps the
// row from going out. It answers the rows that may be sent now.
func (s *Store) MarkSending(ctx context.Context, campaignID uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error) {
	// The rows are found by primary key; the campaign check is a constant
	// (an InitPlan), so no plan walks the campaign's ledger.
	rows, err := s.Pool.Query(ctx, `
		UPDATE sms_sends s SET status = 'sending', sending_at = clock_timestamp()
		WHERE s.id = ANY($2) AND s.status = 'claimed'
		  AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = $1 AND c.status = 'active')
		  AND EXISTS (SELECT 1 FROM campaign_enrollments e WHERE e.campaign_id = $1 AND e.lead_id = s.lead_id AND e.status = 'active' AND e.step = s.step)
		  AND EXISTS (SELECT 1 FROM leads l WHERE l.id = s.lead_id AND NOT l.sms_stop AND NOT l.booked AND l.deleted_at IS NULL)
		RETURNING s.id`, campaignID, ids)
	if err != nil {
		return nil, fmt.Errorf("mark sending: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// RefreshStats analyzes the ledger and the enrollments when they changed
// a lot since their last analysis: a campaign adds (and then moves) many
// thousands of rows in seconds, faster than autovacuum looks, and plans on
// stale statistics were 100x slower (measured). It answers the tables it
// analyzed.
func (s *Store) RefreshStats(ctx context.Context) ([]string, error) {
	tables, err := all[struct {
		Name string `db:"relname"`
	}](ctx, s.Pool, `SELECT relname FROM pg_stat_user_tables
		WHERE relname IN ('sms_sends', 'campaign_enrollments') AND n_mod_since_analyze > 1000 + 0.2 * n_live_tup`)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range tables {
		if _, err := s.Pool.Exec(ctx, `ANALYZE `+pgx.Identifier{t.Name}.Sanitize()); err != nil {
			return out, fmt.Errorf("analyze %s: %w", t.Name, err)
		}
		out = append(out, t.Name)
	}
	return out, nil
}

// SettleUnsent deals with claimed rows that will not be sent now. A row
// whose enrollment left the sequence (STOP, a reply, a booking) while the
// campaign is active is skipped for good; every other row is released
// (deleted: nobody called the provider), so its step is claimed again,
// with every check, by a later round or after a resume. A row is never
// skipped while its enrollment still waits for that step: that would
// leave the enrollment active with nothing to send.
func (s *Store) SettleUnsent(ctx context.Context, ids []uuid.UUID) (released, skipped int, err error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	err = s.Pool.QueryRow(ctx, `
		WITH x AS (
			SELECT s.id, c.status = 'active' AND NOT EXISTS (SELECT 1 FROM campaign_enrollments e
				WHERE e.campaign_id = s.campaign_id AND e.lead_id = s.lead_id AND e.step = s.step AND e.status = 'active') AS left_sequence
			FROM sms_sends s JOIN campaigns c ON c.id = s.campaign_id
			WHERE s.id = ANY($1) AND s.status = 'claimed'
		), del AS (
			DELETE FROM sms_sends WHERE id IN (SELECT id FROM x WHERE NOT left_sequence) AND status = 'claimed' RETURNING 1
		), skip AS (
			UPDATE sms_sends SET status = 'skipped', status_at = clock_timestamp(), error = 'the lead left the sequence before the call'
			WHERE id IN (SELECT id FROM x WHERE left_sequence) AND status = 'claimed' RETURNING 1
		)
		SELECT (SELECT count(*) FROM del), (SELECT count(*) FROM skip)`, ids).Scan(&released, &skipped)
	return released, skipped, err
}

// SendResult is what the provider answered for a row in sending.
type SendResult struct {
	ID        uuid.UUID
	Status    string // sent or failed
	SID       string
	ErrorCode int
	Error     string
}

// RecordResults writes the provider's answers and moves each enrollment on
// in the same transaction: after a sent step the next one is due at the
// actual send plus its delay, and after the last the enrollment is
// completed (the lead is free for other campaigns); a refused number ends
// it as failed. A status callback that settled the row first is kept (it
// only moves forward); the enrollment still moves on exactly once.
func (s *Store) RecordResults(ctx context.Context, campaignID uuid.UUID, steps []campaign.Step, rs []SendResult) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	ids, statuses, sids, codes, errs := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]int32, n), make([]string, n)
	for i, r := range rs {
		ids[i], statuses[i], sids[i], codes[i], errs[i] = r.ID, r.Status, r.SID, int32(r.ErrorCode), r.Error
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE sms_sends s SET
				status = CASE WHEN s.status = 'sending' THEN r.status ELSE s.status END,
				provider_sid = CASE WHEN s.provider_sid = '' THEN r.sid ELSE s.provider_sid END,
				error_code = NULLIF(r.code, 0), error = r.err,
				sent_at = CASE WHEN r.status = 'sent' THEN COALESCE(s.sent_at, clock_timestamp()) ELSE s.sent_at END,
				status_at = clock_timestamp()
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[]) AS r(id, status, sid, code, err)
			WHERE s.id = r.id AND s.status IN ('sending', 'sent', 'delivered', 'undelivered')`, ids, statuses, sids, codes, errs); err != nil {
			return fmt.Errorf("record results: %w", err)
		}
		return advanceRows(ctx, tx, steps, ids)
	})
}

// advanceRows is advance for the rows the sender just recorded, driven by
// their ids. The rows are read in a fenced subquery (OFFSET 0) and the
// enrollments are found from them by lead (the one active enrollment per
// lead), with no constant on the campaign anywhere: a campaign that began
// sending after the last ANALYZE is estimated at one row, and a plan that
// walked the campaign's enrollments against its ledger took 5-23 s per
// batch of 100 after a 100,000-message campaign (measured, bench "send").
func advanceRows(ctx context.Context, tx pgx.Tx, steps []campaign.Step, ids []uuid.UUID) error {
	_, err := tx.Exec(ctx, `
		UPDATE campaign_enrollments e SET `+advanceSet+`
		FROM (SELECT campaign_id, lead_id, step, status, sent_at, sending_at FROM sms_sends
		      WHERE id = ANY($2) AND status IN ('sent', 'delivered', 'undelivered', 'failed') OFFSET 0) s
		WHERE e.lead_id = s.lead_id AND e.status = 'active' AND e.campaign_id = s.campaign_id AND e.step = s.step`, stepDelays(steps), ids)
	if err != nil {
		return fmt.Errorf("advance enrollments: %w", err)
	}
	return nil
}

// advanceSet moves an enrollment on from its settled row s ($1: the
// steps' delays): a sent step schedules the next (or completes), a failed
// one ends the enrollment; an unknown step counts as sent.
const advanceSet = `
			step = CASE WHEN s.status = 'failed' THEN e.step ELSE e.step + 1 END,
			last_sent_at = CASE WHEN s.status = 'failed' THEN e.last_sent_at ELSE COALESCE(s.sent_at, s.sending_at) END,
			status = CASE WHEN s.status = 'failed' THEN 'failed'
			              WHEN e.step + 1 >= cardinality($1::int[]) THEN 'completed' ELSE 'active' END,
			ended_at = CASE WHEN s.status = 'failed' OR e.step + 1 >= cardinality($1::int[]) THEN clock_timestamp() END,
			due_at = CASE WHEN s.status <> 'failed' AND e.step + 1 < cardinality($1::int[])
			              THEN COALESCE(s.sent_at, s.sending_at, clock_timestamp()) + make_interval(mins => ($1::int[])[e.step + 2]) ELSE e.due_at END,
			writeback = 'pending'`

func stepDelays(steps []campaign.Step) []int32 {
	delays := make([]int32, len(steps))
	for i, st := range steps {
		delays[i] = int32(st.DelayMinutes)
	}
	return delays
}

// AdvanceSettled moves on every enrollment of the campaign whose current
// step's row was settled without the sender recording it (a status
// callback or the reconciliation after a crash).
func (s *Store) AdvanceSettled(ctx context.Context, campaignID uuid.UUID, steps []campaign.Step) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		return advance(ctx, tx, campaignID, steps, `s.status IN ('sent', 'delivered', 'undelivered', 'failed', 'unknown')`)
	})
}

// advance moves on every active enrollment of the campaign ($2) whose
// current step has a settled row cond selects (on s.status). An unknown
// step (the provider could not be asked) counts as sent, from the moment
// it went to the provider: it is never sent again, and the lead neither
// waits forever nor gets it twice. Used campaign-wide (AdvanceSettled): it
// walks the campaign's active enrollments and probes each one's row by its
// key in a fenced lateral subquery. Unfenced, a campaign that began
// sending after the last ANALYZE is estimated at one row and the join
// rescanned the campaign's ledger per enrollment: minutes for 10,000
// enrollments after a 100,000-message campaign (the sender's activity
// timed out on it, bench "send"); fenced 0.14 s on the same data.
func advance(ctx context.Context, tx pgx.Tx, campaignID uuid.UUID, steps []campaign.Step, cond string) error {
	_, err := tx.Exec(ctx, `
		UPDATE campaign_enrollments e SET `+advanceSet+`
		FROM (SELECT a.campaign_id, a.lead_id, a.step, s.status, s.sent_at, s.sending_at
		      FROM campaign_enrollments a
		      CROSS JOIN LATERAL (SELECT s.status, s.sent_at, s.sending_at FROM sms_sends s
		          WHERE s.campaign_id = a.campaign_id AND s.lead_id = a.lead_id AND s.step = a.step AND `+cond+` OFFSET 0) s
		      WHERE a.campaign_id = $2 AND a.status = 'active' OFFSET 0) s
		WHERE e.lead_id = s.lead_id AND e.status = 'active' AND e.campaign_id = s.campaign_id AND e.step = s.step`,
		stepDelays(steps), campaignID)
	if err != nil {
		return fmt.Errorf("advance enrollments: %w", err)
	}
	return nil
}

// OpenSend is a ledger row a crashed or cut-off sender left behind.
type OpenSend struct {
	ID        uuid.UUID  `db:"id"`
	LeadID    uuid.UUID  `db:"lead_id"`
	Step      int        `db:"step"`
	Status    string     `db:"status"`
	To        string     `db:"to_phone"`
	From      string     `db:"from_phone"`
	Body      string     `db:"body"`
	ClaimedAt time.Time  `db:"claimed_at"`
	SendingAt *time.Time `db:"sending_at"`
	SID       string     `db:"provider_sid"`
}

// StaleOpen lists the campaign's rows still claimed or sending whose last
// move is older than olderThan: no sender can still be working on them
// (a call in flight ends within the HTTP timeout).
func (s *Store) StaleOpen(ctx context.Context, campaignID uuid.UUID, olderThan time.Duration, limit int) ([]OpenSend, error) {
	return all[OpenSend](ctx, s.Pool, `SELECT id, lead_id, step, status, to_phone, from_phone, body, claimed_at, sending_at, provider_sid
		FROM sms_sends WHERE campaign_id = $1 AND status IN ('claimed', 'sending')
		  AND COALESCE(sending_at, claimed_at) < clock_timestamp() - $2::interval
		ORDER BY claimed_at LIMIT $3`, campaignID, olderThan, limit)
}

// ReleaseOpen deletes ledger rows that never reached the provider (a
// claimed row, or a sending row the provider is proven not to have), so
// the step is claimed again.
func (s *Store) ReleaseOpen(ctx context.Context, ids []uuid.UUID) (int, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM sms_sends WHERE id = ANY($1) AND status IN ('claimed', 'sending')`, ids)
	return int(tag.RowsAffected()), err
}

// MarkUnknown settles rows that could not be reconciled: counted in the
// stats, alerted, never re-sent.
func (s *Store) MarkUnknown(ctx context.Context, ids []uuid.UUID, why string) (int, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE sms_sends SET status = 'unknown', error = $2, status_at = clock_timestamp()
		WHERE id = ANY($1) AND status = 'sending'`, ids, why)
	return int(tag.RowsAffected()), err
}

// callbackRank orders delivery statuses: a callback only moves a row
// forward (they arrive out of order and twice).
var callbackRank = map[string]int{SendSending: 1, SendSent: 2, SendUnknown: 2, SendDelivered: 3, SendUndelivered: 3, SendFailed: 3}

// ErrNoSend: no ledger row has that id (a forged or stale callback).
var ErrNoSend = errors.New("no such send")

// ApplyStatusCallback moves a row forward to status (sent, delivered,
// undelivered, failed) with the provider's id and error code; a callback
// that would move it back, or repeats one, changes nothing (callbacks
// arrive out of order and twice). It answers whether the row changed.
func (s *Store) ApplyStatusCallback(ctx context.Context, id uuid.UUID, sid, status string, code int) (bool, error) {
	rank, ok := callbackRank[status]
	if !ok {
		return false, fmt.Errorf("unknown status %q", status)
	}
	for attempt := 0; attempt < 3; attempt++ {
		var cur, curSID string
		if err := s.Pool.QueryRow(ctx, `SELECT status, provider_sid FROM sms_sends WHERE id = $1`, id).Scan(&cur, &curSID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return false, ErrNoSend
			}
			return false, err
		}
		if curSID != "" && sid != "" && curSID != sid {
			return false, fmt.Errorf("callback for message %s names send %s, which is message %s", sid, id, curSID)
		}
		if rank <= callbackRank[cur] || cur == SendClaimed || cur == SendSkipped {
			return false, nil
		}
		tag, err := s.Pool.Exec(ctx, `UPDATE sms_sends SET status = $2,
				provider_sid = CASE WHEN provider_sid = '' THEN $3 ELSE provider_sid END,
				error_code = COALESCE(NULLIF($4, 0), error_code),
				sent_at = COALESCE(sent_at, clock_timestamp()), status_at = clock_timestamp()
			WHERE id = $1 AND status = $5`, id, status, sid, code, cur)
		if err != nil {
			return false, err
		}
		if tag.RowsAffected() > 0 {
			return true, nil
		}
		// Another callback moved it meanwhile: look again.
	}
	return false, nil
}

// ReserveSMSSlots reserves n consecutive send slots, interval apart, on
// the shared schedule of key (a sending number, a provider account) for
// every worker, and answers how long to wait for the first one. A schedule
// that fell behind by less than SMSBurst keeps its place (the gaps between
// a sender's batches do not cost it throughput); the rate over any window
// longer than that is the configured one.
func (s *Store) ReserveSMSSlots(ctx context.Context, key string, n int, interval time.Duration) (time.Duration, error) {
	var waitMicros int64
	span := time.Duration(n) * interval
	err := s.Pool.QueryRow(ctx, `
		INSERT INTO sms_rate AS r (key, next_at) VALUES ($1, clock_timestamp() + $2::interval)
		ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(r.next_at, clock_timestamp() - $3::interval) + $2::interval
		RETURNING (extract(epoch FROM (r.next_at - $2::interval - clock_timestamp())) * 1e6)::bigint`, key, span, SMSBurst).Scan(&waitMicros)
	if err != nil {
		return 0, fmt.Errorf("reserve sms slots: %w", err)
	}
	return max(0, time.Duration(waitMicros)*time.Microsecond), nil
}

// SMSBurst is how far behind a send schedule may fall and still catch up.
const SMSBurst = 100 * time.Millisecond

// PenalizeSMS pushes key's schedule to now+d: after a provider 429 every
// worker backs off, not only the one that was refused.
func (s *Store) PenalizeSMS(ctx context.Context, key string, d time.Duration) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO sms_rate AS r (key, next_at) VALUES ($1, clock_timestamp() + $2::interval)
		ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(r.next_at, clock_timestamp() + $2::interval)`, key, d)
	return err
}

// CampaignStatus is the campaign's status.
func (s *Store) CampaignStatus(ctx context.Context, campaignID uuid.UUID) (string, error) {
	var st string
	err := s.Pool.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1`, campaignID).Scan(&st)
	return st, notFound(err)
}

// EndIneligible ends the active enrollments of leads a claim refused: a
// stopped lead's as stopped, a booked one's as converted. Any other (a lead
// staged for deletion, which may come back) waits ten minutes. It answers
// how many it ended.
func (s *Store) EndIneligible(ctx context.Context, campaignID uuid.UUID, leadIDs []uuid.UUID) (int, error) {
	if len(leadIDs) == 0 {
		return 0, nil
	}
	var ended int
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE campaign_enrollments e SET status = CASE WHEN l.sms_stop THEN 'stopped' ELSE 'converted' END,
				ended_at = clock_timestamp(), writeback = 'pending'
			FROM leads l WHERE e.campaign_id = $1 AND e.lead_id = ANY($2) AND l.id = e.lead_id AND e.status = 'active' AND (l.sms_stop OR l.booked)`,
			campaignID, leadIDs)
		if err != nil {
			return err
		}
		ended = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `UPDATE campaign_enrollments SET due_at = clock_timestamp() + interval '10 minutes'
			WHERE campaign_id = $1 AND lead_id = ANY($2) AND status = 'active'`, campaignID, leadIDs)
		return err
	})
	return ended, err
}
