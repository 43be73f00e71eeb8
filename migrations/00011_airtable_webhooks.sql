-- +goose Up
-- Incremental lead sync (issue 12): each client's Airtable webhook on its
-- leads table. cursor is the number of the next payload to read; it only
-- moves in the transaction that commits the payloads' changes.
CREATE TABLE airtable_webhooks (
    client_id        uuid PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    base_id          text NOT NULL,
    table_id         text NOT NULL,
    webhook_id       text NOT NULL,
    mac_secret       text NOT NULL, -- macSecretBase64, as Airtable returned it
    notification_url text NOT NULL,
    expires_at       timestamptz NOT NULL,
    cursor           bigint NOT NULL DEFAULT 1 CHECK (cursor >= 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    refreshed_at     timestamptz NOT NULL DEFAULT now()
);

-- A run is a full listing or an incremental apply; an incremental run that
-- fell back to a full listing says why. missed_changes: for a full listing,
-- the leads whose values it changed (what the webhooks had not brought).
ALTER TABLE sync_runs
    ADD COLUMN mode text NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'incremental')),
    ADD COLUMN payloads int NOT NULL DEFAULT 0,
    ADD COLUMN fallback_reason text NOT NULL DEFAULT '',
    ADD COLUMN missed_changes int;

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN missed_changes, DROP COLUMN fallback_reason, DROP COLUMN payloads, DROP COLUMN mode;
DROP TABLE airtable_webhooks;
