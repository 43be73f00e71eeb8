-- +goose Up
-- Every AI draft request: the rate limiter's ledger (a row is reserved
-- before any model is called, so limits hold across API instances) and the
-- usage report's source.
CREATE TABLE ai_generations (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id         text NOT NULL UNIQUE,
    client_id          uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    token_id           uuid,
    status             text NOT NULL DEFAULT 'reserved',
    model_used         text NOT NULL DEFAULT '',
    is_template        boolean NOT NULL DEFAULT false,
    prompt_tokens      integer NOT NULL DEFAULT 0,
    completion_tokens  integer NOT NULL DEFAULT 0,
    cost_usd           numeric(12, 6) NOT NULL DEFAULT 0,
    attempts           jsonb NOT NULL DEFAULT '[]',
    created_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz
);
CREATE INDEX ai_generations_token_idx ON ai_generations (token_id, created_at);
CREATE INDEX ai_generations_client_idx ON ai_generations (client_id, created_at);

-- +goose Down
DROP TABLE ai_generations;
