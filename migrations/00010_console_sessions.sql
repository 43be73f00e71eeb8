-- +goose Up
-- Browser console sessions (issue 11): an API token is exchanged once for a
-- session; the browser holds only the random session id in an HttpOnly,
-- SameSite=Strict cookie. Only the SHA-256 of the id is stored; the CSRF
-- token is stored as is (worthless without the session id, and the console
-- needs it back after a reload). A session lives on its token: revoking the token (revoked_at)
-- or disabling its client ends the session at the next request (checked by
-- the lookup's join); deleting the token deletes its sessions.
-- token_id is NULL only for the deployment's bootstrap token (BOOTSTRAP_TOKEN).
CREATE TABLE console_sessions (
    id_hash     bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    token_id    uuid REFERENCES api_tokens (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('super_admin', 'client_admin', 'client_viewer')),
    client_id   uuid REFERENCES clients (id) ON DELETE CASCADE,
    csrf_token  text NOT NULL CHECK (length(csrf_token) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_token_idx ON console_sessions (token_id);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);

-- +goose Down
DROP TABLE console_sessions;
