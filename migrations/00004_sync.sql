-- +goose Up
-- One row per AirtableSyncWorkflow run.
CREATE TABLE sync_runs (
    id               uuid PRIMARY KEY,
    client_id        uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    workflow_id      text NOT NULL,
    phase            text NOT NULL DEFAULT 'listing',
    pages            integer NOT NULL DEFAULT 0,
    listed           integer NOT NULL DEFAULT 0,
    created_count    integer NOT NULL DEFAULT 0,
    updated_count    integer NOT NULL DEFAULT 0,
    unchanged_count  integer NOT NULL DEFAULT 0,
    invalid_count    integer NOT NULL DEFAULT 0,
    staged_count     integer NOT NULL DEFAULT 0,
    deleted_count    integer NOT NULL DEFAULT 0,
    restored_count   integer NOT NULL DEFAULT 0,
    error            text NOT NULL DEFAULT '',
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX sync_runs_client_idx ON sync_runs (client_id, started_at DESC);

-- Records a sync could not import, with the reason (one row per record).
CREATE TABLE sync_invalid (
    sync_id    uuid NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    record_id  text NOT NULL,
    reason     text NOT NULL,
    PRIMARY KEY (sync_id, record_id)
);

-- Which sync last saw, created or changed a lead: counts are derived from
-- these, so they stay exact when a page is retried or the listing restarts,
-- and "missing from Airtable" is a query, not a set held in memory.
ALTER TABLE leads ADD COLUMN last_seen_sync_id uuid, ADD COLUMN created_sync_id uuid, ADD COLUMN changed_sync_id uuid;

-- The per-base request schedule shared by every worker: each request
-- reserves the next free slot, spaced 1/rate apart (Airtable allows 5/s).
CREATE TABLE airtable_rate (
    base_id  text PRIMARY KEY,
    next_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE airtable_rate;
ALTER TABLE leads DROP COLUMN last_seen_sync_id, DROP COLUMN created_sync_id, DROP COLUMN changed_sync_id;
DROP TABLE sync_invalid;
DROP TABLE sync_runs;
