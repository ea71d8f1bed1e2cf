-- +goose Up
-- Attributes keep the text the client wrote: jsonb holds numbers as
-- numeric, so 1E2 came back as 100 and -0 as 0, and a number beyond
-- numeric's range (1e-20000) was refused with an internal error. json
-- keeps the text, as SQLite does, and still checks that it is JSON.
ALTER TABLE users ALTER COLUMN attributes DROP DEFAULT;
ALTER TABLE users ALTER COLUMN attributes TYPE JSON USING attributes::json;
ALTER TABLE users ALTER COLUMN attributes SET DEFAULT '{}';

-- +goose Down
ALTER TABLE users ALTER COLUMN attributes DROP DEFAULT;
ALTER TABLE users ALTER COLUMN attributes TYPE JSONB USING attributes::jsonb;
ALTER TABLE users ALTER COLUMN attributes SET DEFAULT '{}';
