package sqlstore

import (
	"context"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

const apiKeyColumns = `id, name, prefix, hash, COALESCE(CAST(user_id AS TEXT), ''), COALESCE(CAST(tenant_id AS TEXT), ''), roles, expires_at,
	last_used_at, revoked_at, elevated_until, created_at, created_by`

func scanAPIKey(row interface{ Scan(...any) error }) (core.APIKey, error) {
	var (
		k                                core.APIKey
		roles                            string
		expires, used, revoked, elevated dbTime
		created                          dbTime
	)
	err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.UserID, &k.TenantID, &roles, &expires, &used,
		&revoked, &elevated, &created, &k.CreatedBy)
	k.Roles = splitList(roles)
	k.ExpiresAt, k.LastUsedAt, k.RevokedAt, k.ElevatedUntil = expires.ptr(), used.ptr(), revoked.ptr(), elevated.ptr()
	k.CreatedAt = created.t
	return k, err
}

func (q *queries) GetAPIKey(ctx context.Context, id string) (core.APIKey, error) {
	k, err := scanAPIKey(q.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id))
	return k, q.wrap(err, "API key")
}

func (q *queries) GetAPIKeyByHash(ctx context.Context, hash string) (core.APIKey, error) {
	k, err := scanAPIKey(q.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash))
	return k, q.wrap(err, "API key")
}

func (q *queries) ListAPIKeys(ctx context.Context, f store.APIKeyFilter) ([]core.APIKey, error) {
	var (
		conds []string
		args  []any
	)
	if f.TenantIDs != nil {
		if len(f.TenantIDs) == 0 {
			return nil, nil
		}
		conds = append(conds, "tenant_id IN ("+placeholders(len(f.TenantIDs))+")")
		args = append(args, anySlice(f.TenantIDs)...)
	}
	if f.UserID != "" {
		conds = append(conds, "user_id = ?")
		args = append(args, f.UserID)
	}
	if !f.IncludeRevoked {
		conds = append(conds, "revoked_at IS NULL")
	}
	query := `SELECT ` + apiKeyColumns + ` FROM api_keys`
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := q.query(ctx, query+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []core.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, q.wrap(err, "")
		}
		out = append(out, k)
	}
	return out, q.wrap(rows.Err(), "")
}

func (q *queries) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n)
	return n, q.wrap(err, "")
}

func (q *queries) CreateAPIKey(ctx context.Context, k core.APIKey) error {
	_, err := q.exec(ctx, `INSERT INTO api_keys (id, name, prefix, hash, user_id, tenant_id, roles, expires_at,
		last_used_at, revoked_at, elevated_until, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Name, k.Prefix, k.Hash, nullString(k.UserID), nullString(k.TenantID), joinList(k.Roles),
		q.timeOrNil(k.ExpiresAt), q.timeOrNil(k.LastUsedAt), q.timeOrNil(k.RevokedAt), q.timeOrNil(k.ElevatedUntil),
		q.t(k.CreatedAt), k.CreatedBy)
	return err
}

func (q *queries) RecordAPIKeyUse(ctx context.Context, id string, at, since time.Time) error {
	_, err := q.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		q.t(at), id, q.t(since))
	return err
}

func (q *queries) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, q.t(at), id)
	if err != nil {
		return err
	}
	return mustAffect(res, "API key")
}

func (q *queries) SetAPIKeyElevation(ctx context.Context, id string, until *time.Time) error {
	res, err := q.exec(ctx, `UPDATE api_keys SET elevated_until = ? WHERE id = ? AND revoked_at IS NULL`, q.timeOrNil(until), id)
	if err != nil {
		return err
	}
	return mustAffect(res, "API key")
}

func (q *queries) GetSession(ctx context.Context, id string) (core.Session, error) {
	return q.session(ctx, "id", id)
}

func (q *queries) GetSessionByHash(ctx context.Context, hash string) (core.Session, error) {
	return q.session(ctx, "hash", hash)
}

func (q *queries) session(ctx context.Context, column, value string) (core.Session, error) {
	var (
		s                          core.Session
		created, expires, elevated dbTime
	)
	err := q.queryRow(ctx, `SELECT id, hash, user_id, created_at, expires_at, elevated_until FROM sessions
		WHERE `+column+` = ?`, value).Scan(&s.ID, &s.Hash, &s.UserID, &created, &expires, &elevated)
	s.CreatedAt, s.ExpiresAt, s.ElevatedUntil = created.t, expires.t, elevated.ptr()
	return s, q.wrap(err, "session")
}

func (q *queries) CreateSession(ctx context.Context, s core.Session) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (id, hash, user_id, created_at, expires_at, elevated_until)
		VALUES (?, ?, ?, ?, ?, ?)`, s.ID, s.Hash, s.UserID, q.t(s.CreatedAt), q.t(s.ExpiresAt), q.timeOrNil(s.ElevatedUntil))
	return err
}

func (q *queries) SetSessionElevation(ctx context.Context, id string, until *time.Time) error {
	res, err := q.exec(ctx, `UPDATE sessions SET elevated_until = ? WHERE id = ?`, q.timeOrNil(until), id)
	if err != nil {
		return err
	}
	return mustAffect(res, "session")
}

func (q *queries) ExtendSession(ctx context.Context, id string, expires time.Time) error {
	res, err := q.exec(ctx, `UPDATE sessions SET expires_at = ? WHERE id = ?`, q.t(expires), id)
	if err != nil {
		return err
	}
	return mustAffect(res, "session")
}

func (q *queries) DeleteSession(ctx context.Context, id string) error {
	res, err := q.exec(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	if err != nil {
		return err
	}
	return mustAffect(res, "session")
}

func (q *queries) RevokeSessionsAndResets(ctx context.Context, userIDs []string, at time.Time) error {
	ids := anySlice(userIDs)
	for _, n := range bulkSizes(len(ids)) {
		chunk := ids[:n]
		ids = ids[n:]
		in := "(" + placeholders(n) + ")"
		if _, err := q.exec(ctx, `DELETE FROM sessions WHERE user_id IN `+in, chunk...); err != nil {
			return err
		}
		args := append(append([]any{q.t(at)}, chunk...), q.t(at))
		if _, err := q.exec(ctx, `UPDATE password_resets SET expires_at = ? WHERE user_id IN `+in+` AND used_at IS NULL AND expires_at > ?`,
			args...); err != nil {
			return err
		}
	}
	return nil
}
