-- +goose Up
-- Enrollment walks a client's eligible leads in id order (keyset batches).
-- The INCLUDE columns are every audience criterion, so the walk is an
-- index-only scan: no heap page is read for a lead the audience rejects or
-- enrolls.
CREATE INDEX leads_eligible_idx ON leads (client_id, id)
    INCLUDE (status, icp_score, engagement_level, created_at, tags)
    WHERE deleted_at IS NULL AND NOT sms_stop AND NOT booked;

-- +goose Down
DROP INDEX leads_eligible_idx;
