-- +goose Up
-- Enrollment walks a client's eligible leads in id order (keyset batches).
CREATE INDEX leads_eligible_idx ON leads (client_id, id)
    WHERE deleted_at IS NULL AND NOT sms_stop AND NOT booked;
CREATE INDEX campaign_enrollments_campaign_idx ON campaign_enrollments (campaign_id, status);

-- +goose Down
DROP INDEX campaign_enrollments_campaign_idx;
DROP INDEX leads_eligible_idx;
