-- +goose Up
-- A replayed answer carries the first one's Location and Vary headers,
-- kept as a JSON object of header name to values ('' when none).
ALTER TABLE idempotency_keys ADD COLUMN headers TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN headers;
