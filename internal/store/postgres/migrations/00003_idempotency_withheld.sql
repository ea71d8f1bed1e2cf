-- +goose Up
-- An answer that held a secret (a new API key, a token) is not kept for
-- replay: the record says only that it was given.
ALTER TABLE idempotency_keys ADD COLUMN withheld BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN withheld;
