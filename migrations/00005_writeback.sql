-- +goose Up
-- Write-back of enrollments to Airtable: pending until the record carries
-- the campaign name and sequence status (or the record is gone: skipped).
ALTER TABLE campaign_enrollments ADD COLUMN writeback text NOT NULL DEFAULT 'pending';
CREATE INDEX campaign_enrollments_writeback_idx ON campaign_enrollments (client_id, campaign_id) WHERE writeback = 'pending';
ALTER TABLE campaigns ADD COLUMN writeback_error text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE campaigns DROP COLUMN writeback_error;
DROP INDEX campaign_enrollments_writeback_idx;
ALTER TABLE campaign_enrollments DROP COLUMN writeback;
