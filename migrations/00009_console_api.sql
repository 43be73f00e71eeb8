-- +goose Up
-- The audit log read by GET /v1/activity: a client's rows newest first
-- (keyset on id), and one actor's rows. The entity filter uses
-- activity_log_entity_idx.
CREATE INDEX activity_log_client_idx ON activity_log (client_id, id DESC);
CREATE INDEX activity_log_actor_idx ON activity_log (actor, id DESC);

-- GET /v1/tokens lists a client's tokens newest first.
CREATE INDEX api_tokens_client_idx ON api_tokens (client_id, created_at DESC, id DESC);

-- +goose Down
DROP INDEX api_tokens_client_idx;
DROP INDEX activity_log_actor_idx;
DROP INDEX activity_log_client_idx;
