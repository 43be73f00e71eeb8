-- +goose Up
-- Each client's Airtable column names ({} = the defaults, see internal/airtablefields).
ALTER TABLE clients ADD COLUMN airtable_fields jsonb NOT NULL DEFAULT '{}';

-- Opt-outs by phone, per client: never cleared by a sync (only by an
-- opt-in from that phone), so a lead re-created with the same phone, or an
-- Airtable column that reads false, cannot bring a STOP back to life.
CREATE TABLE sms_opt_outs (
    client_id     uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    phone         text NOT NULL,
    source        text NOT NULL,
    opted_out_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, phone)
);

-- The decision on a sync's staged deletions waits in its own workflow
-- (DeletionReview); who decided what is kept on the run.
ALTER TABLE sync_runs ADD COLUMN review_workflow_id text NOT NULL DEFAULT '',
                      ADD COLUMN decision text NOT NULL DEFAULT '',
                      ADD COLUMN decided_by text NOT NULL DEFAULT '',
                      ADD COLUMN decided_at timestamptz;

-- Deleting a lead deletes its enrollments, finished ones included.
CREATE INDEX campaign_enrollments_lead_idx ON campaign_enrollments (lead_id);

-- +goose Down
DROP INDEX campaign_enrollments_lead_idx;
ALTER TABLE sync_runs DROP COLUMN review_workflow_id, DROP COLUMN decision, DROP COLUMN decided_by, DROP COLUMN decided_at;
DROP TABLE sms_opt_outs;
ALTER TABLE clients DROP COLUMN airtable_fields;
