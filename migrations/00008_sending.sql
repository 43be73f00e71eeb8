-- +goose Up
-- Sending a campaign's SMS sequence (issue 10).

-- Per client: the sending number, the sending window (minutes after local
-- midnight, days as a bitmask Sunday=1 .. Saturday=64), the frequency cap,
-- and what HELP answers.
ALTER TABLE clients
    ADD COLUMN sms_from     text NOT NULL DEFAULT '',
    ADD COLUMN quiet_start  smallint NOT NULL DEFAULT 540 CHECK (quiet_start >= 480),
    ADD COLUMN quiet_end    smallint NOT NULL DEFAULT 1200 CHECK (quiet_end <= 1260 AND quiet_end > quiet_start),
    ADD COLUMN send_days    smallint NOT NULL DEFAULT 127 CHECK (send_days BETWEEN 1 AND 127),
    ADD COLUMN max_per_day  smallint NOT NULL DEFAULT 3 CHECK (max_per_day BETWEEN 1 AND 50),
    ADD COLUMN program_name text NOT NULL DEFAULT '',
    ADD COLUMN help_text    text NOT NULL DEFAULT '',
    ADD COLUMN contact      text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX clients_sms_from_uq ON clients (sms_from) WHERE sms_from <> '';

-- Per campaign: the booking link ({{booking_link}}), whether a reply stops
-- the sequence, and an optional narrower window (NULL: the client's).
ALTER TABLE campaigns
    ADD COLUMN booking_link  text NOT NULL DEFAULT '',
    ADD COLUMN stop_on_reply boolean NOT NULL DEFAULT true,
    ADD COLUMN quiet_start   smallint CHECK (quiet_start >= 480),
    ADD COLUMN quiet_end     smallint CHECK (quiet_end <= 1260),
    ADD COLUMN send_days     smallint CHECK (send_days BETWEEN 1 AND 127),
    ADD COLUMN completed_at  timestamptz;

-- An enrollment's next step (step, 0-based) may go at due_at (before the
-- window and the cap are applied); ended_at when it left the sequence.
ALTER TABLE campaign_enrollments
    ADD COLUMN due_at       timestamptz,
    ADD COLUMN last_sent_at timestamptz,
    ADD COLUMN ended_at     timestamptz;
CREATE INDEX campaign_enrollments_due_idx ON campaign_enrollments (campaign_id, due_at) WHERE status = 'active';

-- The send ledger: one row per (campaign, lead, step), written before the
-- provider is called. claimed: nobody called the provider; sending: the
-- call may have happened; then sent < delivered | undelivered | failed;
-- unknown: could not be settled; skipped: not sent (the lead stopped, the
-- campaign paused or cancelled before the call). See docs/DESIGN.md.
CREATE TABLE sms_sends (
    id            uuid PRIMARY KEY,
    campaign_id   uuid NOT NULL,
    lead_id       uuid NOT NULL,
    client_id     uuid NOT NULL,
    step          integer NOT NULL,
    to_phone      text NOT NULL,
    from_phone    text NOT NULL,
    body          text NOT NULL,
    status        text NOT NULL,
    provider_sid  text NOT NULL DEFAULT '',
    error_code    integer,
    error         text NOT NULL DEFAULT '',
    due_at        timestamptz NOT NULL,
    claimed_at    timestamptz NOT NULL DEFAULT now(),
    sending_at    timestamptz,
    sent_at       timestamptz,
    status_at     timestamptz,
    UNIQUE (campaign_id, lead_id, step)
);
CREATE INDEX sms_sends_lead_idx ON sms_sends (lead_id, sending_at);
CREATE INDEX sms_sends_open_idx ON sms_sends (campaign_id, claimed_at) WHERE status IN ('claimed', 'sending');
CREATE INDEX sms_sends_sid_idx ON sms_sends (provider_sid) WHERE provider_sid <> '';

-- Every inbound message, idempotent on the provider's id.
CREATE TABLE sms_inbound (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id     uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    lead_id       uuid,
    provider_sid  text NOT NULL UNIQUE,
    from_phone    text NOT NULL,
    to_phone      text NOT NULL,
    body          text NOT NULL,
    kind          text NOT NULL, -- opt_out, opt_in, help, reply
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_inbound_lead_idx ON sms_inbound (lead_id, received_at);
CREATE INDEX sms_inbound_from_idx ON sms_inbound (client_id, from_phone, received_at);

-- The messages-per-second schedule shared by every worker: one row per
-- sending number and per provider account (like airtable_rate).
CREATE TABLE sms_rate (
    key      text PRIMARY KEY,
    next_at  timestamptz NOT NULL
);

-- Test sends: never in stats, never enrolling anyone; also the per-user
-- rate limiter's ledger.
CREATE TABLE sms_tests (
    id            uuid PRIMARY KEY,
    campaign_id   uuid NOT NULL,
    client_id     uuid NOT NULL,
    token_id      uuid,
    step          integer NOT NULL,
    to_phone      text NOT NULL,
    body          text NOT NULL,
    status        text NOT NULL,
    provider_sid  text NOT NULL DEFAULT '',
    error         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_tests_token_idx ON sms_tests (token_id, created_at);

-- +goose Down
DROP TABLE sms_tests;
DROP TABLE sms_rate;
DROP TABLE sms_inbound;
DROP TABLE sms_sends;
DROP INDEX campaign_enrollments_due_idx;
ALTER TABLE campaign_enrollments DROP COLUMN due_at, DROP COLUMN last_sent_at, DROP COLUMN ended_at;
ALTER TABLE campaigns DROP COLUMN booking_link, DROP COLUMN stop_on_reply, DROP COLUMN quiet_start, DROP COLUMN quiet_end,
    DROP COLUMN send_days, DROP COLUMN completed_at;
DROP INDEX clients_sms_from_uq;
ALTER TABLE clients DROP COLUMN sms_from, DROP COLUMN quiet_start, DROP COLUMN quiet_end, DROP COLUMN send_days,
    DROP COLUMN max_per_day, DROP COLUMN program_name, DROP COLUMN help_text, DROP COLUMN contact;
