-- +goose Up
-- An email and a username are typed at the same login prompt, so a string
-- that is one live user's email must not be another live user's username
-- (a username may hold an '@', an email always does). The unique indexes
-- each see one column; these triggers look across the two. A user's own
-- email and username may be the same string. Rows written before this
-- migration are left as they are, and a string is checked only when it
-- is new to its user: on insert, when it changes, when a deleted user
-- comes back. An import's upsert is an INSERT that turns into an update
-- (ON CONFLICT), which fires the insert triggers first: their last term
-- lets a user keep what it holds, and names the clashing row so that it
-- is read only after a clash was found. The conditions are in WHEN clauses, which cost nothing when
-- false; each body is one index probe.
-- +goose StatementBegin
CREATE TRIGGER users_email_login_insert BEFORE INSERT ON users
WHEN NEW.email_norm <> '' AND NEW.status <> 'deleted'
BEGIN
    SELECT RAISE(ABORT, 'login taken: users_email_login') FROM users
    WHERE username_norm = NEW.email_norm AND username_norm <> '' AND status <> 'deleted' AND id <> NEW.id
        AND NOT EXISTS (SELECT 1 FROM users AS self WHERE self.id = NEW.id AND self.email_norm = users.username_norm
            AND self.status <> 'deleted');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_username_login_insert BEFORE INSERT ON users
WHEN instr(NEW.username_norm, '@') > 0 AND NEW.status <> 'deleted'
BEGIN
    SELECT RAISE(ABORT, 'login taken: users_username_login') FROM users
    WHERE email_norm = NEW.username_norm AND email_norm <> '' AND status <> 'deleted' AND id <> NEW.id
        AND NOT EXISTS (SELECT 1 FROM users AS self WHERE self.id = NEW.id AND self.username_norm = users.email_norm
            AND self.status <> 'deleted');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_email_login_update BEFORE UPDATE OF email_norm, status ON users
WHEN NEW.email_norm <> '' AND NEW.status <> 'deleted' AND (NEW.email_norm <> OLD.email_norm OR OLD.status = 'deleted')
BEGIN
    SELECT RAISE(ABORT, 'login taken: users_email_login') FROM users
    WHERE username_norm = NEW.email_norm AND username_norm <> '' AND status <> 'deleted' AND id <> NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_username_login_update BEFORE UPDATE OF username_norm, status ON users
WHEN instr(NEW.username_norm, '@') > 0 AND NEW.status <> 'deleted'
    AND (NEW.username_norm <> OLD.username_norm OR OLD.status = 'deleted')
BEGIN
    SELECT RAISE(ABORT, 'login taken: users_username_login') FROM users
    WHERE email_norm = NEW.username_norm AND email_norm <> '' AND status <> 'deleted' AND id <> NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_username_login_update;
DROP TRIGGER users_email_login_update;
DROP TRIGGER users_username_login_insert;
DROP TRIGGER users_email_login_insert;
