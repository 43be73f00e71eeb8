package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/lead"
)

// sqlArgs accumulates positional arguments.
type sqlArgs []any

func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// audienceConds are the conditions (on alias l) that make a lead of the
// client match the audience.
func audienceConds(clientID uuid.UUID, a campaign.Audience, args *sqlArgs) []string {
	c := []string{"l.client_id = " + args.add(clientID), "l.deleted_at IS NULL"}
	if len(a.TargetTags) > 0 {
		c = append(c, "l.tags && "+args.add(a.TargetTags)+"::text[]")
	}
	if a.ICPMin != nil {
		c = append(c, "l.icp_score >= "+args.add(*a.ICPMin))
	}
	if a.ICPMax != nil {
		c = append(c, "l.icp_score <= "+args.add(*a.ICPMax))
	}
	if a.CreatedAfter != nil {
		c = append(c, "l.created_at >= "+args.add(*a.CreatedAfter))
	}
	if a.CreatedBefore != nil {
		c = append(c, "l.created_at <= "+args.add(*a.CreatedBefore))
	}
	if len(a.EngagementLevels) > 0 {
		c = append(c, "l.engagement_level = ANY("+args.add(a.EngagementLevels)+"::text[])")
	}
	return c
}

// eligibleConds adds what makes a matching lead enrollable now.
func eligibleConds(args *sqlArgs) []string {
	return []string{
		"NOT l.sms_stop", "NOT l.booked",
		"l.status = ANY(" + args.add(lead.EligibleStatuses) + "::text[])",
		"NOT EXISTS (SELECT 1 FROM campaign_enrollments e WHERE e.lead_id = l.id AND e.status = 'active')",
	}
}

// AudienceCounts is what a preview reports.
type AudienceCounts struct {
	Matching int `json:"matching"`
	Eligible int `json:"eligible"`
}

// CountAudience counts matching and eligible leads, writing nothing.
func (s *Store) CountAudience(ctx context.Context, clientID uuid.UUID, a campaign.Audience) (AudienceCounts, error) {
	var args sqlArgs
	match := strings.Join(audienceConds(clientID, a, &args), " AND ")
	elig := strings.Join(eligibleConds(&args), " AND ")
	var out AudienceCounts
	err := s.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE `+elig+`) FROM leads l WHERE `+match, args...).
		Scan(&out.Matching, &out.Eligible)
	if err != nil {
		return out, fmt.Errorf("count audience: %w", err)
	}
	return out, nil
}

// EnrollBatchResult is what one claim statement did.
type EnrollBatchResult struct {
	Limit    int       // how many candidates the batch asked for
	Scanned  int       // candidates locked and considered
	Enrolled int       // enrollment rows inserted
	Total    int       // the campaign's enrolled_count after the batch
	Cursor   uuid.UUID // highest lead id considered
	Capped   bool      // max_leads reached
	Stopped  bool      // the campaign is no longer enrolling
}

// MaxUUID is the upper bound of the whole keyset space.
var MaxUUID = uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// EnrollBatch claims up to batch eligible leads with after < id <= upTo for
// the campaign, in one transaction. The claim is one statement: it walks the
// covering index in id order, skips leads with an active enrollment, and
// inserts enrollment rows with ON CONFLICT DO NOTHING, so the partial unique
// index on active enrollments decides every race: two campaigns can never
// hold the same lead, and a lead lost to another campaign is simply not
// inserted (and not counted). The counter is bumped by what was inserted,
// in the same transaction.
//
// A capped campaign's row is locked for the whole batch (FOR UPDATE) so the
// cap is exact; without a cap, batches over disjoint id ranges run in
// parallel and only serialize on the final counter update.
func (s *Store) EnrollBatch(ctx context.Context, campaignID uuid.UUID, after, upTo uuid.UUID, batch int) (EnrollBatchResult, error) {
	var res EnrollBatchResult
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		// Shared with the campaign's other batches, exclusive with its
		// cancel: taken before the status is read, so a batch that waited
		// for a cancel sees it.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(`+campaignLockKey+`)`, campaignID); err != nil {
			return err
		}
		var clientID uuid.UUID
		var status string
		var maxLeads *int
		var enrolled int
		var audRaw []byte
		var firstDue time.Time
		// Step 1 is due at activation plus its delay.
		err := tx.QueryRow(ctx, `SELECT client_id, status, max_leads, enrolled_count, audience,
				COALESCE(activated_at, now()) + make_interval(mins => COALESCE((messages->0->>'delay_minutes')::int, 0))
			FROM campaigns WHERE id = $1`, campaignID).
			Scan(&clientID, &status, &maxLeads, &enrolled, &audRaw, &firstDue)
		if err != nil {
			return notFound(err)
		}
		// Shared with the other batches, exclusive with StageMissing: a lead
		// being staged is never claimed by a snapshot taken just before.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(`+stagingLockKey+`)`, clientID); err != nil {
			return err
		}
		if maxLeads != nil {
			// Re-read under the row lock: the cap needs the exact count.
			if err := tx.QueryRow(ctx, `SELECT status, enrolled_count FROM campaigns WHERE id = $1 FOR UPDATE`, campaignID).Scan(&status, &enrolled); err != nil {
				return err
			}
		}
		res.Total = enrolled
		if status != campaign.StatusEnrolling {
			res.Stopped = true
			return nil
		}
		limit := batch
		if maxLeads != nil {
			if left := *maxLeads - enrolled; left < limit {
				limit = left
			}
		}
		res.Limit = limit
		if limit <= 0 {
			res.Capped = true
			return nil
		}
		var aud campaign.Audience
		if err := json.Unmarshal(audRaw, &aud); err != nil {
			return fmt.Errorf("decode audience: %w", err)
		}
		if err := preferIndexProbes(ctx, tx); err != nil {
			return err
		}
		var args sqlArgs
		conds := append(audienceConds(clientID, aud, &args), eligibleConds(&args)...)
		conds = append(conds, "l.id > "+args.add(after), "l.id <= "+args.add(upTo))
		q := `WITH cand AS (
				SELECT l.id FROM leads l WHERE ` + strings.Join(conds, " AND ") + `
				ORDER BY l.id LIMIT ` + args.add(limit) + `
			), ins AS (
				INSERT INTO campaign_enrollments (campaign_id, lead_id, client_id, next_send_at, due_at)
				SELECT ` + args.add(campaignID) + `, id, ` + args.add(clientID) + `, now(), ` + args.add(firstDue) + `::timestamptz FROM cand
				ON CONFLICT DO NOTHING
				RETURNING 1
			)
			SELECT (SELECT count(*) FROM cand), (SELECT count(*) FROM ins),
			       COALESCE((SELECT id FROM cand ORDER BY id DESC LIMIT 1), ` + args.add(after) + `::uuid)`
		if err := tx.QueryRow(ctx, q, args...).Scan(&res.Scanned, &res.Enrolled, &res.Cursor); err != nil {
			return fmt.Errorf("claim leads: %w", err)
		}
		if res.Enrolled > 0 {
			if err := tx.QueryRow(ctx, `UPDATE campaigns SET enrolled_count = enrolled_count + $2, updated_at = now() WHERE id = $1 RETURNING enrolled_count`,
				campaignID, res.Enrolled).Scan(&res.Total); err != nil {
				return fmt.Errorf("count enrollments: %w", err)
			}
		}
		res.Capped = maxLeads != nil && res.Total >= *maxLeads
		return nil
	})
	return res, err
}

// CampaignHasCap reports whether the campaign has max_leads.
func (s *Store) CampaignHasCap(ctx context.Context, campaignID uuid.UUID) (bool, error) {
	var capped bool
	err := s.Pool.QueryRow(ctx, `SELECT max_leads IS NOT NULL FROM campaigns WHERE id = $1`, campaignID).Scan(&capped)
	return capped, notFound(err)
}

// FinalizeResult is a campaign's end state after enrollment.
type FinalizeResult struct {
	Status           string `json:"status"`
	EnrollmentStatus string `json:"enrollment_status"`
	Enrolled         int    `json:"enrolled"`
	Remaining        int    `json:"remaining"` // eligible leads left out by the cap
}

// FinalizeEnrollment sets the final status from what the database holds:
// no enrollments is no_eligible_leads (never "active with 0 leads"); a cap
// that left eligible leads behind is active + partial_capped.
func (s *Store) FinalizeEnrollment(ctx context.Context, campaignID uuid.UUID) (FinalizeResult, error) {
	var out FinalizeResult
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var clientID uuid.UUID
		var status string
		var maxLeads *int
		var audRaw []byte
		if err := tx.QueryRow(ctx, `SELECT client_id, status, max_leads, audience FROM campaigns WHERE id = $1 FOR UPDATE`, campaignID).
			Scan(&clientID, &status, &maxLeads, &audRaw); err != nil {
			return notFound(err)
		}
		// Verified from the enrollment rows, not from a loop counter.
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM campaign_enrollments WHERE campaign_id = $1`, campaignID).Scan(&out.Enrolled); err != nil {
			return err
		}
		if status != campaign.StatusEnrolling {
			out.Status = status
			return nil
		}
		var aud campaign.Audience
		if err := json.Unmarshal(audRaw, &aud); err != nil {
			return err
		}
		switch {
		case out.Enrolled == 0:
			out.Status, out.EnrollmentStatus = campaign.StatusNoEligibleLeads, campaign.EnrollmentNone
		case maxLeads != nil && out.Enrolled >= *maxLeads:
			var args sqlArgs
			conds := append(audienceConds(clientID, aud, &args), eligibleConds(&args)...)
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM leads l WHERE `+strings.Join(conds, " AND "), args...).Scan(&out.Remaining); err != nil {
				return err
			}
			out.Status, out.EnrollmentStatus = campaign.StatusActive, campaign.EnrollmentComplete
			if out.Remaining > 0 {
				out.EnrollmentStatus = campaign.EnrollmentPartialCapped
			}
		default:
			out.Status, out.EnrollmentStatus = campaign.StatusActive, campaign.EnrollmentComplete
		}
		_, err := tx.Exec(ctx, `UPDATE campaigns SET status = $2, enrollment_status = $3, enrolled_count = $4, updated_at = now() WHERE id = $1`,
			campaignID, out.Status, out.EnrollmentStatus, out.Enrolled)
		return err
	})
	return out, err
}

// ErrClientDisabled is why activation fails for a disabled client.
var ErrClientDisabled = errors.New("client is disabled")

// ActivateCampaign moves a scheduled or failed campaign to enrolling,
// counting the attempt and the audience matches. A disabled client or a
// cancelled campaign refuses.
func (s *Store) ActivateCampaign(ctx context.Context, campaignID uuid.UUID) (int, error) {
	var matched int
	// Counted outside the transaction so failed attempts are counted too.
	if _, err := s.Pool.Exec(ctx, `UPDATE campaigns SET activation_attempts = activation_attempts + 1 WHERE id = $1`, campaignID); err != nil {
		return 0, fmt.Errorf("count activation attempt: %w", err)
	}
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var clientID uuid.UUID
		var status string
		var disabled bool
		var audRaw []byte
		if err := tx.QueryRow(ctx, `SELECT c.client_id, c.status, cl.disabled, c.audience FROM campaigns c JOIN clients cl ON cl.id = c.client_id
			WHERE c.id = $1 FOR UPDATE OF c`, campaignID).Scan(&clientID, &status, &disabled, &audRaw); err != nil {
			return notFound(err)
		}
		switch status {
		case campaign.StatusEnrolling:
			return nil // a retried activity: already done
		case campaign.StatusCancelled:
			return ErrCancelled
		}
		if disabled {
			return ErrClientDisabled
		}
		var aud campaign.Audience
		if err := json.Unmarshal(audRaw, &aud); err != nil {
			return err
		}
		var args sqlArgs
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM leads l WHERE `+strings.Join(audienceConds(clientID, aud, &args), " AND "), args...).Scan(&matched); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'enrolling', enrollment_status = 'running', matched_count = $2,
			activated_at = now(), last_error = '', updated_at = now() WHERE id = $1`, campaignID, matched)
		return err
	})
	return matched, err
}

// SetCampaignStatus records a status (and optionally last_error / start_at)
// and, when audit is set, its audit row in the same transaction (the
// row's client is the campaign's).
func (s *Store) SetCampaignStatus(ctx context.Context, campaignID uuid.UUID, status, lastError string, startAt *time.Time, audit *Activity) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		var clientID uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE campaigns SET status = $2, last_error = $3, start_at = COALESCE($4, start_at), updated_at = now()
			WHERE id = $1 RETURNING client_id`, campaignID, status, lastError, startAt).Scan(&clientID)
		if err != nil {
			return fmt.Errorf("set campaign status: %w", notFound(err))
		}
		return logFor(ctx, tx, clientID, audit)
	})
}

// logFor writes audit (if any) as a row of client.
func logFor(ctx context.Context, tx pgx.Tx, clientID uuid.UUID, audit *Activity) error {
	if audit == nil {
		return nil
	}
	a := *audit
	a.ClientID = &clientID
	return LogActivity(ctx, tx, a)
}

// ErrCancelled: the campaign was cancelled.
var ErrCancelled = errors.New("campaign is cancelled")

// campaignLockKey is the campaign's advisory lock ($1 = campaign id):
// enrollment batches hold it shared, CancelCampaign exclusively, so no
// batch commits an enrollment after a cancel (a batch that waited reads
// the cancelled status and stops).
const campaignLockKey = `2, hashtext($1::text)`

// CancelCampaign marks a campaign cancelled and ends its active
// enrollments, freeing the leads for other campaigns, with the audit row
// (if any) in the same transaction. It waits for enrollment batches in
// flight; none commits after it. Cancelling twice changes nothing.
func (s *Store) CancelCampaign(ctx context.Context, campaignID uuid.UUID, audit *Activity) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+campaignLockKey+`)`, campaignID); err != nil {
			return err
		}
		var clientID uuid.UUID
		if err := tx.QueryRow(ctx, `UPDATE campaigns SET status = 'cancelled', updated_at = now() WHERE id = $1 RETURNING client_id`,
			campaignID).Scan(&clientID); err != nil {
			return fmt.Errorf("cancel campaign: %w", notFound(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE campaign_enrollments SET status = 'cancelled', ended_at = clock_timestamp(), writeback = 'pending' WHERE campaign_id = $1 AND status = 'active'`, campaignID); err != nil {
			return err
		}
		return logFor(ctx, tx, clientID, audit)
	})
}

// preferIndexProbes keeps the NOT EXISTS probe on the active-enrollment
// index even when the planner's statistics still think campaign_enrollments
// is empty (a fresh table, or rows added since the last ANALYZE): a nested
// loop with a sequential scan there is quadratic in the batch size. The
// leads side is an ordered index walk anyway.
func preferIndexProbes(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`)
	return err
}
