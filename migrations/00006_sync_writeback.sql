-- +goose Up
-- A sync also retries the client's pending campaign write-backs; the run
-- row keeps how many it wrote and why it stopped, if it failed.
ALTER TABLE sync_runs ADD COLUMN written_back integer NOT NULL DEFAULT 0,
                      ADD COLUMN writeback_error text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN written_back, DROP COLUMN writeback_error;
