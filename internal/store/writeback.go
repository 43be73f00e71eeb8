package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// WriteBackItem is one enrollment to write to its Airtable record.
type WriteBackItem struct {
	CampaignID       uuid.UUID `db:"campaign_id"`
	LeadID           uuid.UUID `db:"lead_id"`
	AirtableRecordID string    `db:"airtable_record_id"`
	CampaignName     string    `db:"campaign_name"`
	Status           string    `db:"status"`
}

// PendingWriteBacks returns up to n enrollments of the client not yet
// written to Airtable (any campaign: a later run retries what an earlier
// one could not write).
func (s *Store) PendingWriteBacks(ctx context.Context, clientID uuid.UUID, n int) ([]WriteBackItem, error) {
	items, err := all[WriteBackItem](ctx, s.Pool, `SELECT e.campaign_id, e.lead_id, l.airtable_record_id, c.name AS campaign_name,
			`+sequenceStatus+` AS status
		FROM campaign_enrollments e JOIN leads l ON l.id = e.lead_id JOIN campaigns c ON c.id = e.campaign_id
		WHERE e.client_id = $1 AND e.writeback = 'pending' ORDER BY e.campaign_id, e.lead_id LIMIT $2`, clientID, n)
	if err != nil {
		return nil, fmt.Errorf("pending write-backs: %w", err)
	}
	return items, nil
}

// MarkWrittenBack records the outcome ("written" or "skipped") of items.
func (s *Store) MarkWrittenBack(ctx context.Context, items []WriteBackItem, outcome string) error {
	if len(items) == 0 {
		return nil
	}
	camps := make([]uuid.UUID, len(items))
	leads := make([]uuid.UUID, len(items))
	statuses := make([]string, len(items))
	for i, it := range items {
		camps[i], leads[i], statuses[i] = it.CampaignID, it.LeadID, it.Status
	}
	// A campaign whose last pending record is now written loses its stale
	// write-back error in the same statement.
	_, err := s.Pool.Exec(ctx, `WITH marked AS (
			UPDATE campaign_enrollments e SET writeback = $3
			FROM unnest($1::uuid[], $2::uuid[], $4::text[]) AS k(campaign_id, lead_id, status)
			WHERE e.campaign_id = k.campaign_id AND e.lead_id = k.lead_id
			  -- only if the sequence did not move on meanwhile (then it stays pending, to write the new status)
			  AND `+sequenceStatus+` = k.status
			RETURNING e.campaign_id, e.lead_id)
		UPDATE campaigns c SET writeback_error = ''
		WHERE c.id IN (SELECT DISTINCT campaign_id FROM marked) AND c.writeback_error <> ''
		  AND NOT EXISTS (SELECT 1 FROM campaign_enrollments p WHERE p.client_id = c.client_id AND p.campaign_id = c.id AND p.writeback = 'pending'
		                  AND NOT EXISTS (SELECT 1 FROM marked m WHERE m.campaign_id = p.campaign_id AND m.lead_id = p.lead_id))`,
		camps, leads, outcome, statuses)
	return err
}

// sequenceStatus is what the write-back puts in Airtable's "Sequence
// Status" for an enrollment e: enrolled, step k sent, completed, stopped,
// replied, converted, cancelled or failed.
const sequenceStatus = `(CASE WHEN e.status <> 'active' THEN e.status WHEN e.step = 0 THEN 'enrolled' ELSE 'step ' || e.step || ' sent' END)`

// WriteBackCounts is a campaign's write-back progress.
type WriteBackCounts struct {
	Written int `json:"written_back"`
	Pending int `json:"writeback_pending"`
	Skipped int `json:"writeback_skipped"`
}

// CampaignWriteBack counts a campaign's write-back states.
func (s *Store) CampaignWriteBack(ctx context.Context, campaignID uuid.UUID) (WriteBackCounts, error) {
	var c WriteBackCounts
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE writeback = 'written'), count(*) FILTER (WHERE writeback = 'pending'),
		count(*) FILTER (WHERE writeback = 'skipped') FROM campaign_enrollments WHERE campaign_id = $1`, campaignID).Scan(&c.Written, &c.Pending, &c.Skipped)
	return c, err
}

// SetWriteBackError records the last write-back failure on the campaign.
func (s *Store) SetWriteBackError(ctx context.Context, campaignID uuid.UUID, msg string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE campaigns SET writeback_error = $2 WHERE id = $1`, campaignID, msg)
	return err
}
