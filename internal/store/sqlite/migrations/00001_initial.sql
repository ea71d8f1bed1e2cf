-- +goose Up
-- Times are unix microseconds (UTC). Lists of simple names (roles, auth
-- types) are comma-separated. Ids are UUIDv7 text; number is the stable
-- integer id that Gcore and Everlytic clients see.

CREATE TABLE provider (
    singleton  INTEGER NOT NULL DEFAULT 1 UNIQUE CHECK (singleton = 1),
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE tenants (
    number             INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT    NOT NULL UNIQUE,
    name               TEXT    NOT NULL,
    name_norm          TEXT    NOT NULL,
    email              TEXT    NOT NULL DEFAULT '',
    phone              TEXT    NOT NULL DEFAULT '',
    country_code       TEXT    NOT NULL DEFAULT '',
    lang               TEXT    NOT NULL DEFAULT '',
    custom_id          TEXT    NOT NULL DEFAULT '',
    is_test            INTEGER NOT NULL DEFAULT 0,
    status             TEXT    NOT NULL,
    seller_id          INTEGER NOT NULL DEFAULT 0,
    password_policy    TEXT    NOT NULL DEFAULT '',
    invite_ttl_seconds INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    created_by         TEXT    NOT NULL DEFAULT '',
    updated_by         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX tenants_name_norm ON tenants (name_norm);

CREATE TABLE product_defaults (
    product   TEXT    NOT NULL PRIMARY KEY,
    available INTEGER NOT NULL
);

CREATE TABLE tenant_products (
    tenant_id TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    product   TEXT    NOT NULL,
    available INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, product)
) WITHOUT ROWID;

CREATE TABLE users (
    number          INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    external_id     TEXT    NOT NULL DEFAULT '',
    email           TEXT    NOT NULL DEFAULT '',
    email_norm      TEXT    NOT NULL DEFAULT '',
    username        TEXT    NOT NULL DEFAULT '',
    username_norm   TEXT    NOT NULL DEFAULT '',
    name            TEXT    NOT NULL DEFAULT '',
    name_norm       TEXT    NOT NULL DEFAULT '',
    first_name      TEXT    NOT NULL DEFAULT '',
    last_name       TEXT    NOT NULL DEFAULT '',
    phone           TEXT    NOT NULL DEFAULT '',
    lang            TEXT    NOT NULL DEFAULT '',
    type            TEXT    NOT NULL DEFAULT 'common',
    status          TEXT    NOT NULL,
    email_confirmed INTEGER NOT NULL DEFAULT 0,
    two_fa          INTEGER NOT NULL DEFAULT 0,
    auth_types      TEXT    NOT NULL DEFAULT '',
    security_realm  TEXT    NOT NULL DEFAULT 'native',
    builtin         INTEGER NOT NULL DEFAULT 0,
    attributes      TEXT    NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    created_by      TEXT    NOT NULL DEFAULT '',
    updated_by      TEXT    NOT NULL DEFAULT '',
    first_login_at  INTEGER,
    last_login_at   INTEGER,
    deleted_at      INTEGER
);
-- Emails and usernames are unique among users that are not deleted; the
-- same indexes serve lookups and prefix search.
CREATE UNIQUE INDEX users_email_norm ON users (email_norm) WHERE email_norm <> '' AND status <> 'deleted';
CREATE UNIQUE INDEX users_username_norm ON users (username_norm) WHERE username_norm <> '' AND status <> 'deleted';
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id <> '';
CREATE INDEX users_name_norm ON users (name_norm);

CREATE TABLE user_provider_roles (
    user_id TEXT NOT NULL REFERENCES users (id),
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;
CREATE INDEX user_provider_roles_role ON user_provider_roles (role, user_id);

CREATE TABLE memberships (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    user_id    TEXT    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE membership_roles (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    role      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id)
) WITHOUT ROWID;
CREATE INDEX membership_roles_user ON membership_roles (user_id);
CREATE INDEX membership_roles_role ON membership_roles (role, user_id);

CREATE TABLE credentials (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES users (id),
    hash       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE resource_groups (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL,
    name_norm   TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX resource_groups_name ON resource_groups (tenant_id, name_norm);

CREATE TABLE resource_group_members (
    group_id   TEXT    NOT NULL REFERENCES resource_groups (id),
    user_id    TEXT    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX resource_group_members_user ON resource_group_members (user_id);

CREATE TABLE api_keys (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    prefix         TEXT    NOT NULL,
    hash           TEXT    NOT NULL UNIQUE,
    user_id        TEXT    REFERENCES users (id),
    tenant_id      TEXT    REFERENCES tenants (id),
    roles          TEXT    NOT NULL DEFAULT '',
    expires_at     INTEGER,
    last_used_at   INTEGER,
    revoked_at     INTEGER,
    elevated_until INTEGER,
    created_at     INTEGER NOT NULL,
    created_by     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE sessions (
    id             TEXT    NOT NULL PRIMARY KEY,
    hash           TEXT    NOT NULL UNIQUE,
    user_id        TEXT    NOT NULL REFERENCES users (id),
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    elevated_until INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

-- An invitation's token is "<id>.<secret>": found by id, checked against
-- token_hash, so no index of random hashes slows every create.
CREATE TABLE invitations (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id),
    tenant_id       TEXT    REFERENCES tenants (id),
    email           TEXT    NOT NULL,
    invited_by      TEXT    NOT NULL DEFAULT '',
    token_hash      TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    accepted_at     INTEGER,
    revoked_at      INTEGER
);
CREATE INDEX invitations_user ON invitations (user_id, created_at);
CREATE INDEX invitations_tenant ON invitations (tenant_id);

CREATE TABLE idempotency_keys (
    scope        TEXT    NOT NULL,
    idem_key     TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT    NOT NULL DEFAULT '',
    body         BLOB,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE invitations;
DROP TABLE sessions;
DROP TABLE api_keys;
DROP TABLE resource_group_members;
DROP TABLE resource_groups;
DROP TABLE credentials;
DROP TABLE membership_roles;
DROP TABLE memberships;
DROP TABLE user_provider_roles;
DROP TABLE users;
DROP TABLE tenant_products;
DROP TABLE product_defaults;
DROP TABLE tenants;
DROP TABLE provider;
