-- +goose Up
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE clients (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone           text NOT NULL DEFAULT 'UTC',
    airtable_base_id   text NOT NULL DEFAULT '',
    airtable_table     text NOT NULL DEFAULT 'Leads',
    webhook_secret     text NOT NULL DEFAULT encode(gen_random_bytes(32), 'hex'),
    alert_webhook_url  text NOT NULL DEFAULT '',
    alert_email        text NOT NULL DEFAULT '',
    disabled           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX clients_name_uq ON clients (lower(name));

CREATE TABLE api_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    name        text NOT NULL DEFAULT '',
    role        text NOT NULL CHECK (role IN ('super_admin', 'client_admin', 'client_viewer')),
    client_id   uuid REFERENCES clients (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK ((role = 'super_admin') = (client_id IS NULL))
);

CREATE TABLE leads (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id           uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    airtable_record_id  text NOT NULL,
    first_name          text NOT NULL DEFAULT '',
    last_name           text NOT NULL DEFAULT '',
    phone               text NOT NULL DEFAULT '',
    email               text NOT NULL DEFAULT '',
    timezone            text NOT NULL DEFAULT 'UTC',
    tags                text[] NOT NULL DEFAULT '{}',
    icp_score           integer CHECK (icp_score BETWEEN 0 AND 100),
    engagement_level    text NOT NULL DEFAULT 'unknown',
    status              text NOT NULL DEFAULT 'new',
    booked              boolean NOT NULL DEFAULT false,
    sms_stop            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    deletion_sync_id    uuid,
    UNIQUE (client_id, airtable_record_id)
);
-- Keyset pagination, newest first, live leads only.
CREATE INDEX leads_page_idx ON leads (client_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX leads_page_all_idx ON leads (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX leads_status_page_idx ON leads (client_id, status, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX leads_tags_idx ON leads USING gin (tags) WHERE deleted_at IS NULL;
CREATE INDEX leads_deletion_sync_idx ON leads (deletion_sync_id) WHERE deletion_sync_id IS NOT NULL;

CREATE TABLE campaigns (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id          uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    audience           jsonb NOT NULL DEFAULT '{}',
    messages           jsonb NOT NULL DEFAULT '[]',
    start_at           timestamptz,
    max_leads          integer CHECK (max_leads IS NULL OR max_leads >= 1),
    status             text NOT NULL DEFAULT 'pending',
    enrollment_status  text NOT NULL DEFAULT 'not_started',
    enrolled_count     integer NOT NULL DEFAULT 0,
    matched_count      integer NOT NULL DEFAULT 0,
    activation_attempts integer NOT NULL DEFAULT 0,
    last_error         text NOT NULL DEFAULT '',
    workflow_id        text NOT NULL,
    created_by         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    activated_at       timestamptz
);
CREATE UNIQUE INDEX campaigns_client_name_uq ON campaigns (client_id, lower(name));
CREATE INDEX campaigns_page_idx ON campaigns (client_id, created_at DESC, id DESC);

-- No foreign keys here, on purpose: enrollment inserts 100,000 rows a
-- minute in one statement and per-row FK triggers doubled its cost. Rows are
-- only ever created by the claim statement (from existing leads, under the
-- campaign's row lock) and removed together with their lead (the deletion
-- path deletes both in one transaction). See docs/DESIGN.md.
CREATE TABLE campaign_enrollments (
    campaign_id   uuid NOT NULL,
    lead_id       uuid NOT NULL,
    client_id     uuid NOT NULL,
    step          integer NOT NULL DEFAULT 0,
    next_send_at  timestamptz,
    status        text NOT NULL DEFAULT 'active',
    enrolled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, lead_id)
);
-- The guarantee that a lead is in at most one running campaign, whatever races.
CREATE UNIQUE INDEX campaign_enrollments_one_active ON campaign_enrollments (lead_id) WHERE status = 'active';

CREATE TABLE activity_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   uuid,
    actor       text NOT NULL DEFAULT '',
    action      text NOT NULL,
    entity      text NOT NULL DEFAULT '',
    entity_id   text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_log_entity_idx ON activity_log (entity, entity_id);

CREATE TABLE idempotency_keys (
    client_id     uuid NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE activity_log;
DROP TABLE campaign_enrollments;
DROP TABLE campaigns;
DROP TABLE leads;
DROP TABLE api_tokens;
DROP TABLE clients;
