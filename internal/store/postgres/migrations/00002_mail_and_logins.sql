-- +goose Up
-- The mail outbox, login throttling and password resets: all shared through
-- the database so that several nodes agree on them.

-- message_id is the row's id and a domain: unique without an index.
CREATE TABLE outbox (
    id              UUID        PRIMARY KEY,
    kind            TEXT        NOT NULL,
    message_id      TEXT        NOT NULL,
    recipient       TEXT        NOT NULL,
    subject         TEXT        NOT NULL,
    lang            TEXT        NOT NULL,
    data            TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT        NOT NULL DEFAULT '',
    sent_at         TIMESTAMPTZ,
    locked_until    TIMESTAMPTZ,
    locked_by       TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL;

CREATE TABLE login_throttle (
    throttle_key  TEXT        PRIMARY KEY,
    failures      INTEGER     NOT NULL,
    last_failure  TIMESTAMPTZ NOT NULL,
    blocked_until TIMESTAMPTZ
);

CREATE TABLE password_resets (
    id         UUID        PRIMARY KEY,
    user_id    UUID        NOT NULL REFERENCES users (id),
    token_hash TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- +goose Down
DROP TABLE password_resets;
DROP TABLE login_throttle;
DROP TABLE outbox;
