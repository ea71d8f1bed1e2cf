-- +goose Up
-- An email and a username are typed at the same login prompt, so a string
-- that is one live user's email must not be another live user's username
-- (a username may hold an '@', an email always does). The unique indexes
-- each see one column; user_logins holds both kinds of string in one
-- primary key, kept by a trigger: every live user's email, and its
-- username where that holds an '@' and is not its own email. Its key
-- decides between concurrent writers as any unique index does, without
-- the lock-table entries an advisory lock per string would take (an
-- import's batch would need hundreds). Strings already clashing when this
-- migration runs are left to both holders, as on SQLite, until one of
-- them changes.
CREATE TABLE user_logins (
    login   TEXT COLLATE "C" PRIMARY KEY,
    user_id UUID NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION users_logins_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- A string is checked when it is new to the user: on insert, when it
    -- changes, and when a deleted user comes back (as on SQLite).
    restored     boolean := TG_OP = 'INSERT' OR OLD.status = 'deleted';
    email_new    boolean := restored OR NEW.email_norm <> OLD.email_norm;
    username_new boolean := restored OR NEW.username_norm <> OLD.username_norm;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM user_logins WHERE login IN (OLD.email_norm, OLD.username_norm) AND user_id = OLD.id;
        IF TG_OP = 'DELETE' THEN
            RETURN NULL;
        END IF;
    END IF;
    IF NEW.status = 'deleted' THEN
        RETURN NULL;
    END IF;
    -- The insert waits for a concurrent writer of the same string to end;
    -- the look at the other column then sees its row, and rows from
    -- before this migration that user_logins does not hold. COLLATE "C",
    -- the columns' own, lets the unique indexes serve.
    IF NEW.email_norm <> '' THEN
        INSERT INTO user_logins (login, user_id) VALUES (NEW.email_norm, NEW.id) ON CONFLICT DO NOTHING;
        IF email_new AND (NOT FOUND OR EXISTS (SELECT 1 FROM users WHERE username_norm = NEW.email_norm COLLATE "C"
                AND username_norm <> '' AND status <> 'deleted' AND id <> NEW.id)) THEN
            RAISE EXCEPTION 'email is already taken' USING ERRCODE = 'unique_violation', CONSTRAINT = 'users_email_login';
        END IF;
    END IF;
    IF strpos(NEW.username_norm, '@') > 0 AND NEW.username_norm <> NEW.email_norm THEN
        INSERT INTO user_logins (login, user_id) VALUES (NEW.username_norm, NEW.id) ON CONFLICT DO NOTHING;
        IF username_new AND (NOT FOUND OR EXISTS (SELECT 1 FROM users WHERE email_norm = NEW.username_norm COLLATE "C"
                AND email_norm <> '' AND status <> 'deleted' AND id <> NEW.id)) THEN
            RAISE EXCEPTION 'username is already taken' USING ERRCODE = 'unique_violation', CONSTRAINT = 'users_username_login';
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER users_logins_insert AFTER INSERT ON users FOR EACH ROW
    EXECUTE FUNCTION users_logins_sync();

CREATE TRIGGER users_logins_update AFTER UPDATE OF email_norm, username_norm, status ON users FOR EACH ROW
    WHEN (NEW.email_norm <> OLD.email_norm OR NEW.username_norm <> OLD.username_norm
        OR (NEW.status = 'deleted') <> (OLD.status = 'deleted'))
    EXECUTE FUNCTION users_logins_sync();

CREATE TRIGGER users_logins_delete AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION users_logins_sync();

-- Filled after the triggers exist: creating them holds off other nodes'
-- writes to users until this migration commits, so none is missed.
INSERT INTO user_logins (login, user_id)
SELECT email_norm, id FROM users WHERE email_norm <> '' AND status <> 'deleted'
ORDER BY number ON CONFLICT DO NOTHING;
INSERT INTO user_logins (login, user_id)
SELECT username_norm, id FROM users
WHERE strpos(username_norm, '@') > 0 AND username_norm <> email_norm AND status <> 'deleted'
ORDER BY number ON CONFLICT DO NOTHING;

-- +goose Down
DROP TRIGGER users_logins_delete ON users;
DROP TRIGGER users_logins_update ON users;
DROP TRIGGER users_logins_insert ON users;
DROP FUNCTION users_logins_sync();
DROP TABLE user_logins;
