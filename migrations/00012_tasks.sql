-- +goose Up
-- Two-way task sync with Airtable (issue 12, HIGH-6). A task lives both in
-- the portal and in the client's Airtable Tasks table.
--
-- title/status/assignee/due_date/notes are the local values. synced holds
-- the values both sides last agreed on (per field, JSON keyed by field
-- name): a field whose local value differs from it was edited locally, one
-- whose Airtable value differs from it was edited in Airtable; both: a
-- conflict (the newer edit wins, see docs/DESIGN.md "Task sync").
-- updated_at is the time of the last local edit, remote_modified_at
-- Airtable's last-modified time of the record as last pulled.
-- sync_state: pending (a local edit Airtable has not accepted yet), synced,
-- conflict (both sides changed a field; conflict holds both values; cleared
-- by a PATCH with resolve_conflict).
ALTER TABLE clients
    ADD COLUMN airtable_tasks_table text NOT NULL DEFAULT 'Tasks',
    ADD COLUMN airtable_task_fields jsonb NOT NULL DEFAULT '{}';

CREATE TABLE tasks (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id          uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    airtable_record_id text,
    title              text NOT NULL,
    status             text NOT NULL,
    assignee           text NOT NULL DEFAULT '',
    due_date           date,
    notes              text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    remote_modified_at timestamptz,
    synced_at          timestamptz,
    synced             jsonb,
    sync_state         text NOT NULL DEFAULT 'pending' CHECK (sync_state IN ('pending', 'synced', 'conflict')),
    -- true while a local edit waits for Airtable (also in state conflict).
    push_pending       boolean NOT NULL DEFAULT true,
    conflict           jsonb,
    last_error         text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX tasks_record_idx ON tasks (client_id, airtable_record_id) WHERE airtable_record_id IS NOT NULL;
CREATE INDEX tasks_page_idx ON tasks (client_id, created_at DESC, id DESC);
CREATE INDEX tasks_state_idx ON tasks (client_id, sync_state, created_at DESC, id DESC);
CREATE INDEX tasks_push_idx ON tasks (client_id, id) WHERE push_pending;

-- +goose Down
DROP TABLE tasks;
ALTER TABLE clients DROP COLUMN airtable_tasks_table, DROP COLUMN airtable_task_fields;
