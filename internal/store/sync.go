package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Sync phases (sync_runs.phase).
const (
	SyncListing          = "listing"
	SyncStaging          = "staging" // deletions staged, their review starting
	SyncAwaitingDecision = "awaiting_decision"
	SyncDeleting         = "deleting"
	SyncRestoring        = "restoring"
	SyncCompleted        = "completed"
	SyncFailed           = "failed"
)

// SyncRun is one AirtableSyncWorkflow run.
type SyncRun struct {
	ID         uuid.UUID `json:"id" db:"id"`
	ClientID   uuid.UUID `json:"client_id" db:"client_id"`
	WorkflowID string    `json:"workflow_id" db:"workflow_id"`
	Phase      string    `json:"phase" db:"phase"`
	Pages      int       `json:"pages" db:"pages"`
	Listed     int       `json:"listed" db:"listed"`
	Created    int       `json:"created" db:"created_count"`
	Updated    int       `json:"updated" db:"updated_count"`
	Unchanged  int       `json:"unchanged" db:"unchanged_count"`
	Invalid    int       `json:"invalid" db:"invalid_count"`
	Staged     int       `json:"staged" db:"staged_count"`
	Deleted    int       `json:"deleted" db:"deleted_count"`
	Restored   int       `json:"restored" db:"restored_count"`
	// Pending campaign write-backs this run wrote to Airtable, and why the
	// write-back stopped if it failed (the sync itself does not fail).
	WrittenBack    int    `json:"written_back" db:"written_back"`
	WriteBackError string `json:"writeback_error" db:"writeback_error"`
	// ReviewWorkflowID is the DeletionReview that holds the decision on the
	// staged deletions ("" for a v0 run, whose own workflow held it).
	ReviewWorkflowID string     `json:"review_workflow_id" db:"review_workflow_id"`
	Decision         string     `json:"decision" db:"decision"` // approved, rejected, expired
	DecidedBy        string     `json:"decided_by" db:"decided_by"`
	DecidedAt        *time.Time `json:"decided_at" db:"decided_at"`
	Error            string     `json:"error" db:"error"`
	StartedAt        time.Time  `json:"started_at" db:"started_at"`
	FinishedAt       *time.Time `json:"finished_at" db:"finished_at"`
	// Mode: full (a listing) or incremental (webhook payloads, issue 12).
	Mode string `json:"mode" db:"mode"`
	// Payloads an incremental run applied; FallbackReason why it listed
	// the whole table instead.
	Payloads       int    `json:"payloads" db:"payloads"`
	FallbackReason string `json:"fallback_reason" db:"fallback_reason"`
	// MissedChanges: for a full listing, the leads whose values it changed
	// (changes the incremental path had not brought; should be 0).
	MissedChanges *int `json:"missed_changes" db:"missed_changes"`
}

// DecisionWorkflow is the workflow that takes the run's decision.
func (r SyncRun) DecisionWorkflow() string {
	if r.ReviewWorkflowID != "" {
		return r.ReviewWorkflowID
	}
	return r.WorkflowID
}

const syncCols = `id, client_id, workflow_id, phase, pages, listed, created_count, updated_count, unchanged_count, invalid_count,
	staged_count, deleted_count, restored_count, written_back, writeback_error, review_workflow_id, decision, decided_by, decided_at,
	error, started_at, finished_at, mode, payloads, fallback_reason, missed_changes`

// SetReviewWorkflow records the DeletionReview that holds the run's
// decision; from then on the run awaits it.
func (s *Store) SetReviewWorkflow(ctx context.Context, syncID uuid.UUID, workflowID string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE sync_runs SET review_workflow_id = $2, phase = 'awaiting_decision' WHERE id = $1 AND finished_at IS NULL`,
		syncID, workflowID)
	return err
}

// RecordDecision writes the admin's decision on the run and its audit row
// in one transaction. Only the first decision is recorded (a repeat, say a
// retried local activity, changes nothing).
func (s *Store) RecordDecision(ctx context.Context, syncID uuid.UUID, decision, actor, requestID string, staged int) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		var clientID uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE sync_runs SET decision = $2, decided_by = $3, decided_at = now()
			WHERE id = $1 AND decision = '' RETURNING client_id`, syncID, decision, actor).Scan(&clientID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		action := map[string]string{"approved": "sync.approve_deletions", "rejected": "sync.reject_deletions"}[decision]
		return LogActivity(ctx, tx, Activity{ClientID: &clientID, Actor: actor, Action: action, Entity: "sync", EntityID: syncID.String(),
			Details: map[string]any{"staged": staged, "request_id": requestID}})
	})
}

// CloseAbandonedRun closes a run whose decision workflow is gone (an
// operator terminated it): its staged leads become orphans that the
// client's next complete sync takes over and asks about again.
func (s *Store) CloseAbandonedRun(ctx context.Context, syncID uuid.UUID) error {
	_, err := s.Pool.Exec(ctx, `UPDATE sync_runs SET phase = 'failed', finished_at = now(),
		error = 'its workflow ended without a decision; the next sync takes over its staged leads' WHERE id = $1 AND finished_at IS NULL`, syncID)
	return err
}

// CreateSyncRun inserts the run row (idempotent on id).
func (s *Store) CreateSyncRun(ctx context.Context, id, clientID uuid.UUID, workflowID string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO sync_runs (id, client_id, workflow_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, id, clientID, workflowID)
	if isFKViolation(err) {
		return ErrNotFound
	}
	return err
}

// DiscardSyncRun removes a run row (and its start audit row) whose workflow
// never started.
func (s *Store) DiscardSyncRun(ctx context.Context, id uuid.UUID) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM activity_log WHERE entity = 'sync' AND entity_id = $1 AND action = 'sync.start'`, id.String()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sync_runs WHERE id = $1`, id)
		return err
	})
}

// RunningSyncID is the client's newest unfinished run.
func (s *Store) RunningSyncID(ctx context.Context, clientID uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.Pool.QueryRow(ctx, `SELECT id FROM sync_runs WHERE client_id = $1 AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1`, clientID).Scan(&id)
	return id, notFound(err)
}

// GetSyncRun loads a run in scope (nil scope: any client).
func (s *Store) GetSyncRun(ctx context.Context, scope *uuid.UUID, id uuid.UUID) (SyncRun, error) {
	return one[SyncRun](ctx, s.Pool, `SELECT `+syncCols+` FROM sync_runs WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2)`, id, scope)
}

// ListSyncRuns lists runs in scope (nil: every client), newest first,
// optionally in one phase.
func (s *Store) ListSyncRuns(ctx context.Context, scope *uuid.UUID, phase string, limit int) ([]SyncRun, error) {
	runs, err := all[SyncRun](ctx, s.Pool, `SELECT `+syncCols+` FROM sync_runs
		WHERE ($1::uuid IS NULL OR client_id = $1) AND ($2 = '' OR phase = $2)
		ORDER BY started_at DESC, id DESC LIMIT $3`, scope, phase, limit)
	if err != nil {
		return nil, fmt.Errorf("list syncs: %w", err)
	}
	return runs, nil
}

// LeadRecord is one Airtable record mapped to lead fields.
type LeadRecord struct {
	RecordID        string    `json:"record_id"`
	FirstName       string    `json:"first_name"`
	LastName        string    `json:"last_name"`
	Phone           string    `json:"phone"`
	Email           string    `json:"email"`
	Timezone        string    `json:"timezone"`
	Tags            []string  `json:"tags"`
	ICPScore        *int      `json:"icp_score"`
	EngagementLevel string    `json:"engagement_level"`
	Status          string    `json:"status"`
	Booked          bool      `json:"booked"`
	SMSStop         bool      `json:"sms_stop"`
	CreatedAt       time.Time `json:"created_at"`
}

// InvalidRecord is a record that could not be imported.
type InvalidRecord struct {
	RecordID string
	Reason   string
}

// UpsertLeadPage writes one page in one transaction: every valid record is
// inserted or updated and marked as seen by this sync; invalid records are
// noted with their reason. Rows are written in record-id order so
// concurrent writers cannot deadlock. What the sync may not undo:
//   - an opt-out: sms_stop is never cleared by a sync (an Airtable row that
//     says false, or a column that went missing, changes nothing); an
//     opt-out seen in Airtable is also kept by phone in sms_opt_outs, and a
//     lead whose phone opted out is stopped whatever Airtable says;
//   - a booking: booked is never cleared by a sync.
//
// A lead that turns sms_stop or booked here leaves its active enrollments
// at once (stopped, converted). A staged lead whose record is back in
// Airtable is restored, with a lead.restore audit row.
func (s *Store) UpsertLeadPage(ctx context.Context, syncID, clientID uuid.UUID, recs []LeadRecord, invalid []InvalidRecord) error {
	sort.Slice(recs, func(i, j int) bool { return recs[i].RecordID < recs[j].RecordID })
	for i := range recs {
		if recs[i].Tags == nil {
			recs[i].Tags = []string{}
		}
	}
	payload, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx pgx.Tx) error { return upsertPageTx(ctx, tx, syncID, clientID, payload, len(recs), invalid) })
}

// upsertPageTx is UpsertLeadPage's work inside the caller's transaction.
func upsertPageTx(ctx context.Context, tx pgx.Tx, syncID, clientID uuid.UUID, payload []byte, n int, invalid []InvalidRecord) error {
	if n > 0 {
		_, err := tx.Exec(ctx, upsertLeadsSQL, clientID, syncID, payload)
		if err != nil {
			return fmt.Errorf("upsert leads: %w", err)
		}
	}
	for _, inv := range invalid {
		if _, err := tx.Exec(ctx, `INSERT INTO sync_invalid (sync_id, record_id, reason) VALUES ($1, $2, $3)
			ON CONFLICT (sync_id, record_id) DO UPDATE SET reason = EXCLUDED.reason`, syncID, inv.RecordID, inv.Reason); err != nil {
			return fmt.Errorf("note invalid record: %w", err)
		}
	}
	return nil
}

// upsertLeadsSQL: $1 client, $2 sync, $3 the page as JSON. See UpsertLeadPage.
const upsertLeadsSQL = `
WITH r AS (
	SELECT r.*, r.sms_stop OR EXISTS (SELECT 1 FROM sms_opt_outs o WHERE o.client_id = $1 AND o.phone = r.phone) AS stop
	FROM jsonb_to_recordset($3::jsonb) AS r(record_id text, first_name text, last_name text, phone text, email text, timezone text,
	     tags text[], icp_score int, engagement_level text, status text, booked bool, sms_stop bool, created_at timestamptz)
), prev AS (
	SELECT l.id, l.airtable_record_id, l.deleted_at, l.deletion_sync_id, l.sms_stop, l.booked
	FROM leads l WHERE l.client_id = $1 AND l.airtable_record_id IN (SELECT record_id FROM r)
), opt AS (
	INSERT INTO sms_opt_outs (client_id, phone, source) SELECT DISTINCT $1::uuid, r.phone, 'airtable' FROM r WHERE r.sms_stop
	ON CONFLICT DO NOTHING RETURNING 1
), up AS (
	INSERT INTO leads AS l (client_id, airtable_record_id, first_name, last_name, phone, email, timezone, tags, icp_score,
	                        engagement_level, status, booked, sms_stop, created_at, last_seen_sync_id, created_sync_id, changed_sync_id)
	SELECT $1, r.record_id, r.first_name, r.last_name, r.phone, r.email, r.timezone, r.tags, r.icp_score,
	       r.engagement_level, r.status, r.booked, r.stop, r.created_at, $2, $2, $2
	FROM r ORDER BY r.record_id
	ON CONFLICT (client_id, airtable_record_id) DO UPDATE SET
	    first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, phone = EXCLUDED.phone, email = EXCLUDED.email,
	    timezone = EXCLUDED.timezone, tags = EXCLUDED.tags, icp_score = EXCLUDED.icp_score,
	    engagement_level = EXCLUDED.engagement_level, status = EXCLUDED.status,
	    booked = l.booked OR EXCLUDED.booked, sms_stop = l.sms_stop OR EXCLUDED.sms_stop,
	    last_seen_sync_id = EXCLUDED.last_seen_sync_id,
	    deleted_at = NULL, deletion_sync_id = NULL,
	    changed_sync_id = CASE WHEN l.changed_sync_id = EXCLUDED.changed_sync_id OR l.deleted_at IS NOT NULL OR
	        (l.first_name, l.last_name, l.phone, l.email, l.timezone, l.tags, l.icp_score, l.engagement_level, l.status, l.booked, l.sms_stop)
	        IS DISTINCT FROM
	        (EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.phone, EXCLUDED.email, EXCLUDED.timezone, EXCLUDED.tags,
	         EXCLUDED.icp_score, EXCLUDED.engagement_level, EXCLUDED.status, l.booked OR EXCLUDED.booked, l.sms_stop OR EXCLUDED.sms_stop)
	        THEN EXCLUDED.changed_sync_id ELSE l.changed_sync_id END,
	    updated_at = CASE WHEN l.deleted_at IS NOT NULL OR
	        (l.first_name, l.last_name, l.phone, l.email, l.timezone, l.tags, l.icp_score, l.engagement_level, l.status, l.booked, l.sms_stop)
	        IS DISTINCT FROM
	        (EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.phone, EXCLUDED.email, EXCLUDED.timezone, EXCLUDED.tags,
	         EXCLUDED.icp_score, EXCLUDED.engagement_level, EXCLUDED.status, l.booked OR EXCLUDED.booked, l.sms_stop OR EXCLUDED.sms_stop)
	        THEN now() ELSE l.updated_at END
	RETURNING l.id, l.sms_stop, l.booked
), restored AS (
	INSERT INTO activity_log (client_id, actor, action, entity, entity_id, details)
	SELECT $1, 'system:sync', 'lead.restore', 'lead', p.id::text, jsonb_build_object('sync_id', $2::text,
	       'staged_by_sync', p.deletion_sync_id, 'airtable_record_id', p.airtable_record_id, 'reason', 'back in Airtable')
	FROM prev p WHERE p.deleted_at IS NOT NULL
	RETURNING 1
), restored_runs AS (
	UPDATE sync_runs s SET restored_count = s.restored_count + k.n
	FROM (SELECT deletion_sync_id, count(*) AS n FROM prev WHERE deleted_at IS NOT NULL AND deletion_sync_id IS NOT NULL GROUP BY 1) k
	WHERE s.id = k.deletion_sync_id
	RETURNING 1
), ended AS (
	UPDATE campaign_enrollments e SET status = CASE WHEN u.sms_stop AND NOT p.sms_stop THEN 'stopped' ELSE 'converted' END,
		ended_at = clock_timestamp(), writeback = 'pending'
	FROM up u JOIN prev p ON p.id = u.id
	WHERE e.lead_id = u.id AND e.status = 'active' AND ((u.sms_stop AND NOT p.sms_stop) OR (u.booked AND NOT p.booked))
	RETURNING 1
)
SELECT (SELECT count(*) FROM opt), (SELECT count(*) FROM restored), (SELECT count(*) FROM restored_runs), (SELECT count(*) FROM ended)`

// SyncCounts are exact per-record counts of a sync, from the lead rows.
type SyncCounts struct {
	Listed, Created, Updated, Unchanged, Invalid int
}

// CountSync derives the counts from what the sync marked.
func (s *Store) CountSync(ctx context.Context, syncID, clientID uuid.UUID) (SyncCounts, error) {
	var c SyncCounts
	err := s.Pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE last_seen_sync_id = $1),
			count(*) FILTER (WHERE created_sync_id = $1),
			count(*) FILTER (WHERE changed_sync_id = $1 AND created_sync_id IS DISTINCT FROM $1),
			(SELECT count(*) FROM sync_invalid WHERE sync_id = $1)
		FROM leads WHERE client_id = $2 AND (last_seen_sync_id = $1 OR created_sync_id = $1 OR changed_sync_id = $1)`, syncID, clientID).
		Scan(&c.Listed, &c.Created, &c.Updated, &c.Invalid)
	c.Unchanged = c.Listed - c.Created - c.Updated
	c.Listed += c.Invalid
	return c, err
}

// missingLeads is the predicate, over leads l with $1 = client and $2 =
// sync, of the leads a complete listing did not return: live leads it did
// not see, and leads an earlier sync staged whose decision never came (its
// workflow ended without one; only one sync per client runs, so any other
// staged lead is orphaned) - these move to this sync's decision. A record
// the listing did return but could not import (sync_invalid) still exists
// in Airtable and is never missing. Leads staged by a run whose decision is
// pending (its review still runs) are frozen for that review: not missing
// again, not taken over.
const missingLeads = `l.client_id = $1 AND l.last_seen_sync_id IS DISTINCT FROM $2
	AND (l.deleted_at IS NULL OR (l.deletion_sync_id IS DISTINCT FROM $2 AND NOT EXISTS (
		SELECT 1 FROM sync_runs r WHERE r.id = l.deletion_sync_id AND r.finished_at IS NULL AND r.phase IN ` + reviewPhases + `)))
	AND NOT EXISTS (SELECT 1 FROM sync_invalid i WHERE i.sync_id = $2 AND i.record_id = l.airtable_record_id)`

// reviewPhases are the phases of a run whose staged set is under review
// (or being carried out): frozen, never taken over by a later sync.
const reviewPhases = `('staging', 'awaiting_decision', 'deleting', 'restoring')`

// MissingSample returns up to n record ids of the leads the sync did not
// see (and how many there are), to check by id that they are really gone;
// live leads come first (orphans were checked by their own sync).
func (s *Store) MissingSample(ctx context.Context, syncID, clientID uuid.UUID, n int) ([]string, int, error) {
	var total int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM leads l WHERE `+missingLeads, clientID, syncID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT airtable_record_id FROM leads l WHERE `+missingLeads+`
		ORDER BY l.deleted_at IS NOT NULL, random() LIMIT $3`, clientID, syncID, n)
	if err != nil {
		return nil, 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, total, err
}

// LiveLeadCount is how many live leads a client has.
func (s *Store) LiveLeadCount(ctx context.Context, clientID uuid.UUID) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE client_id = $1 AND deleted_at IS NULL`, clientID).Scan(&n)
	return n, err
}

// StageMissing soft-deletes the leads this (complete) sync did not see,
// all of them at once (the v0 path; StageMissingBatch is the batched one).
func (s *Store) StageMissing(ctx context.Context, syncID, clientID uuid.UUID) (int, error) {
	orphans, err := s.CountOrphanedStaged(ctx, syncID, clientID)
	if err != nil {
		return 0, err
	}
	for {
		n, err := s.StageMissingBatch(ctx, syncID, clientID, 10000)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return s.FinishStaging(ctx, syncID, clientID, orphans)
		}
	}
}

// CountOrphanedStaged counts the leads staged by earlier syncs whose
// decision never came, which this sync takes over.
func (s *Store) CountOrphanedStaged(ctx context.Context, syncID, clientID uuid.UUID) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM leads l WHERE `+missingLeads+` AND l.deleted_at IS NOT NULL`, clientID, syncID).Scan(&n)
	return n, err
}

// StageMissingBatch soft-deletes up to limit of the leads this (complete)
// sync did not see, tagging them with the sync; they vanish from reads and
// from enrollment until an admin decides. It holds the client's staging
// lock (enrollment batches hold it shared), so no batch can claim a lead as
// it is staged. It answers how many it staged (0: none is left).
func (s *Store) StageMissingBatch(ctx context.Context, syncID, clientID uuid.UUID, limit int) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+stagingLockKey+`)`, clientID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE leads SET deleted_at = now(), deletion_sync_id = $2
			WHERE id IN (SELECT l.id FROM leads l WHERE `+missingLeads+` ORDER BY l.id LIMIT $3)`, clientID, syncID, limit)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// FinishStaging closes the staging of a sync: the run's staged count, the
// runs of the client left unfinished by a workflow that ended without
// finishing (closed as failed: their staged leads are this sync's now),
// and one audit row. It is idempotent: a repeat answers the same total and
// writes no second audit row.
func (s *Store) FinishStaging(ctx context.Context, syncID, clientID uuid.UUID, orphans int) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+stagingLockKey+`)`, clientID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM leads WHERE deletion_sync_id = $1 AND deleted_at IS NOT NULL`, syncID).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sync_runs SET staged_count = $2 WHERE id = $1`, syncID, n); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sync_runs SET phase = 'failed', finished_at = now(),
				error = 'its workflow ended without finishing; sync ' || $2::text || ' took over its staged leads'
			WHERE client_id = $1 AND id <> $2 AND finished_at IS NULL AND phase NOT IN `+reviewPhases, clientID, syncID); err != nil {
			return err
		}
		var audited bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM activity_log WHERE entity = 'sync' AND entity_id = $1 AND action = 'sync.stage_deletions')`,
			syncID.String()).Scan(&audited); err != nil {
			return err
		}
		if audited || n == 0 {
			return nil
		}
		return LogActivity(ctx, tx, Activity{ClientID: &clientID, Actor: "system", Action: "sync.stage_deletions", Entity: "sync",
			EntityID: syncID.String(), Details: map[string]any{"staged": n, "from_earlier_syncs": orphans}})
	})
	return n, err
}

// stagingLockKey is the client's staging advisory lock ($1 = client id):
// StageMissing takes it exclusively, enrollment batches shared.
const stagingLockKey = `1, hashtext($1::text)`

// StagedRef is a staged lead and its Airtable record.
type StagedRef struct {
	LeadID   uuid.UUID `db:"id"`
	RecordID string    `db:"airtable_record_id"`
}

// NextStaged returns up to limit leads still staged by the sync, by id.
func (s *Store) NextStaged(ctx context.Context, syncID uuid.UUID, limit int) ([]StagedRef, error) {
	refs, err := all[StagedRef](ctx, s.Pool, `SELECT id, airtable_record_id FROM leads WHERE deletion_sync_id = $1 AND deleted_at IS NOT NULL
		ORDER BY id LIMIT $2`, syncID, limit)
	if err != nil {
		return nil, fmt.Errorf("next staged: %w", err)
	}
	return refs, nil
}

// SettleStagedBatch carries out an approval for one batch, in one
// transaction: the leads in del are hard-deleted with their enrollments
// (the campaigns' counters follow) and one lead.delete audit row each; the
// leads in back (found in Airtable again since they were staged) are
// restored with one lead.restore audit row each. Only leads still staged by
// this sync are touched, so a repeated batch (after a crash) does nothing
// twice.
func (s *Store) SettleStagedBatch(ctx context.Context, syncID uuid.UUID, actor string, del, back []uuid.UUID) (deleted, restored int, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			WITH victims AS (
				SELECT id FROM leads WHERE id = ANY($3) AND deletion_sync_id = $1 AND deleted_at IS NOT NULL ORDER BY id FOR UPDATE
			), del AS (
				DELETE FROM leads l USING victims v WHERE l.id = v.id RETURNING l.id, l.client_id, l.airtable_record_id
			), enr AS (
				DELETE FROM campaign_enrollments e USING del WHERE e.lead_id = del.id RETURNING e.campaign_id
			), counted AS (
				-- the campaigns' counters keep matching their enrollment rows
				UPDATE campaigns c SET enrolled_count = c.enrolled_count - k.n, updated_at = now()
				FROM (SELECT campaign_id, count(*) AS n FROM enr GROUP BY campaign_id) k WHERE c.id = k.campaign_id RETURNING 1
			), audit AS (
				INSERT INTO activity_log (client_id, actor, action, entity, entity_id, details)
				SELECT client_id, $2, 'lead.delete', 'lead', id::text, jsonb_build_object('sync_id', $1::text, 'airtable_record_id', airtable_record_id)
				FROM del RETURNING 1
			)
			SELECT (SELECT count(*) FROM del), (SELECT count(*) FROM audit), (SELECT count(*) FROM counted)`, syncID, actor, del).Scan(&deleted, new(int), new(int))
		if err != nil {
			return fmt.Errorf("delete staged: %w", err)
		}
		err = tx.QueryRow(ctx, `
			WITH back AS (
				UPDATE leads SET deleted_at = NULL, deletion_sync_id = NULL
				WHERE id = ANY($3) AND deletion_sync_id = $1 AND deleted_at IS NOT NULL RETURNING id, client_id, airtable_record_id
			), audit AS (
				INSERT INTO activity_log (client_id, actor, action, entity, entity_id, details)
				SELECT client_id, $2, 'lead.restore', 'lead', id::text, jsonb_build_object('sync_id', $1::text, 'airtable_record_id', airtable_record_id,
				       'reason', 'back in Airtable when the deletion was carried out')
				FROM back RETURNING 1
			)
			SELECT (SELECT count(*) FROM back), (SELECT count(*) FROM audit)`, syncID, actor, back).Scan(&restored, new(int))
		if err != nil {
			return fmt.Errorf("restore staged: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE sync_runs SET deleted_count = deleted_count + $2, restored_count = restored_count + $3 WHERE id = $1`,
			syncID, deleted, restored)
		return err
	})
	return deleted, restored, err
}

// RestoreStaged brings back every lead the sync staged.
func (s *Store) RestoreStaged(ctx context.Context, syncID, clientID uuid.UUID, actor, reason string) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE leads SET deleted_at = NULL, deletion_sync_id = NULL WHERE deletion_sync_id = $1 AND deleted_at IS NOT NULL`, syncID)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		// An expired window is a decision too: the run says so.
		if _, err := tx.Exec(ctx, `UPDATE sync_runs SET restored_count = restored_count + $2,
				decision = CASE WHEN decision = '' AND $3 = 'expired' THEN 'expired' ELSE decision END,
				decided_by = CASE WHEN decision = '' AND $3 = 'expired' THEN $4 ELSE decided_by END,
				decided_at = CASE WHEN decision = '' AND $3 = 'expired' THEN now() ELSE decided_at END
			WHERE id = $1`, syncID, n, reason, actor); err != nil {
			return err
		}
		return LogActivity(ctx, tx, Activity{ClientID: &clientID, Actor: actor, Action: "sync.restore_staged", Entity: "sync",
			EntityID: syncID.String(), Details: map[string]any{"restored": n, "reason": reason}})
	})
	return n, err
}

// SyncUpdate records progress on the run row.
type SyncUpdate struct {
	Phase    string
	Pages    int
	Counts   *SyncCounts
	Error    string
	Finished bool
	// WrittenBack and WriteBackError: see SyncRun.
	WrittenBack    int
	WriteBackError string
	// Mode ("" keeps it), Payloads, FallbackReason ("" keeps it), Missed (nil keeps it): see SyncRun.
	Mode           string
	Payloads       int
	FallbackReason string
	Missed         *int
}

// UpdateSyncRun writes phase, pages, counts and error.
func (s *Store) UpdateSyncRun(ctx context.Context, syncID uuid.UUID, u SyncUpdate) error {
	var c SyncCounts
	hasCounts := u.Counts != nil
	if hasCounts {
		c = *u.Counts
	}
	_, err := s.Pool.Exec(ctx, `UPDATE sync_runs SET phase = $2, pages = GREATEST(pages, $3), error = $4,
		listed = CASE WHEN $5 THEN $6 ELSE listed END, created_count = CASE WHEN $5 THEN $7 ELSE created_count END,
		updated_count = CASE WHEN $5 THEN $8 ELSE updated_count END, unchanged_count = CASE WHEN $5 THEN $9 ELSE unchanged_count END,
		invalid_count = CASE WHEN $5 THEN $10 ELSE invalid_count END,
		finished_at = CASE WHEN $11 THEN now() ELSE finished_at END,
		written_back = GREATEST(written_back, $12), writeback_error = $13,
		mode = COALESCE(NULLIF($14, ''), mode), payloads = GREATEST(payloads, $15),
		fallback_reason = COALESCE(NULLIF($16, ''), fallback_reason), missed_changes = COALESCE($17, missed_changes) WHERE id = $1`,
		syncID, u.Phase, u.Pages, u.Error, hasCounts, c.Listed, c.Created, c.Updated, c.Unchanged, c.Invalid, u.Finished,
		u.WrittenBack, u.WriteBackError, u.Mode, u.Payloads, u.FallbackReason, u.Missed)
	return err
}

// StagedLead is a lead awaiting the admin's decision.
type StagedLead struct {
	ID               uuid.UUID `json:"id" db:"id"`
	AirtableRecordID string    `json:"airtable_record_id" db:"airtable_record_id"`
	FirstName        string    `json:"first_name" db:"first_name"`
	LastName         string    `json:"last_name" db:"last_name"`
	StagedAt         time.Time `json:"staged_at" db:"staged_at"`
}

// ListStaged pages through a sync's staged leads by id.
func (s *Store) ListStaged(ctx context.Context, syncID uuid.UUID, after uuid.UUID, limit int) ([]StagedLead, error) {
	return all[StagedLead](ctx, s.Pool, `SELECT id, airtable_record_id, first_name, last_name, deleted_at AS staged_at FROM leads
		WHERE deletion_sync_id = $1 AND deleted_at IS NOT NULL AND id > $2 ORDER BY id LIMIT $3`, syncID, after, limit)
}

// PenalizeAirtableBase pushes the base's next request slot to now+penalty
// (a 429 makes Airtable refuse the whole base for 30 s, whichever worker
// sent the request).
func (s *Store) PenalizeAirtableBase(ctx context.Context, base string, penalty time.Duration) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO airtable_rate AS r (base_id, next_at) VALUES ($1, clock_timestamp() + $2::interval)
		ON CONFLICT (base_id) DO UPDATE SET next_at = GREATEST(r.next_at, clock_timestamp() + $2::interval)`, base, penalty)
	return err
}

// ReserveAirtableSlot reserves the next request slot for base, spaced
// interval apart across every worker, and returns how long to wait for it.
func (s *Store) ReserveAirtableSlot(ctx context.Context, base string, interval time.Duration) (time.Duration, error) {
	var waitMicros int64
	err := s.Pool.QueryRow(ctx, `
		INSERT INTO airtable_rate AS r (base_id, next_at) VALUES ($1, clock_timestamp() + $2::interval)
		ON CONFLICT (base_id) DO UPDATE SET next_at = GREATEST(r.next_at, clock_timestamp()) + $2::interval
		RETURNING (extract(epoch FROM (r.next_at - $2::interval - clock_timestamp())) * 1e6)::bigint`, base, interval).Scan(&waitMicros)
	if err != nil {
		return 0, fmt.Errorf("reserve airtable slot: %w", err)
	}
	return max(0, time.Duration(waitMicros)*time.Microsecond), nil
}
