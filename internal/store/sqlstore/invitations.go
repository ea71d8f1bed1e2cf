package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

const invitationColumns = `id, user_id, COALESCE(CAST(tenant_id AS TEXT), ''), email, invited_by, token_hash, state,
	failed_attempts, expires_at, created_at, accepted_at, revoked_at`

func scanInvitation(row interface{ Scan(...any) error }) (core.Invitation, error) {
	var (
		inv                                 core.Invitation
		expires, created, accepted, revoked dbTime
	)
	err := row.Scan(&inv.ID, &inv.UserID, &inv.TenantID, &inv.Email, &inv.InvitedBy, &inv.TokenHash, &inv.State,
		&inv.FailedAttempts, &expires, &created, &accepted, &revoked)
	inv.ExpiresAt, inv.CreatedAt, inv.AcceptedAt, inv.RevokedAt = expires.t, created.t, accepted.ptr(), revoked.ptr()
	return inv, err
}

func (q *queries) GetInvitation(ctx context.Context, id string) (core.Invitation, error) {
	inv, err := scanInvitation(q.queryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE id = ?`, id))
	return inv, q.wrap(err, "invitation")
}

func (q *queries) ListInvitations(ctx context.Context, f store.InvitationFilter) ([]core.Invitation, error) {
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
	if len(f.States) > 0 {
		var alts []string
		for _, s := range f.States {
			switch s {
			case core.InvitationPending:
				alts = append(alts, "(state = 'pending' AND expires_at > ?)")
				args = append(args, q.t(f.At))
			case core.InvitationExpired:
				alts = append(alts, "(state = 'pending' AND expires_at <= ?)")
				args = append(args, q.t(f.At))
			default:
				alts = append(alts, "state = ?")
				args = append(args, string(s))
			}
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	if f.After != "" {
		conds = append(conds, "id > ?")
		args = append(args, f.After)
	}
	query := `SELECT ` + invitationColumns + ` FROM invitations`
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query, args = limitOffset(query+" ORDER BY id", args, f.Limit, 0)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []core.Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, q.wrap(err, "")
		}
		out = append(out, inv)
	}
	return out, q.wrap(rows.Err(), "")
}

// invitationInsertColumns are the columns a new invitation is written
// with; appendInvitationRow gives their values.
const (
	invitationInsertColumns = `id, user_id, tenant_id, email, invited_by, token_hash, state, failed_attempts, expires_at,
		created_at, accepted_at, revoked_at`
	invitationInsertWidth = 12
)

func (q *queries) appendInvitationRow(args []any, inv core.Invitation) []any {
	return append(args, inv.ID, inv.UserID, nullString(inv.TenantID), inv.Email, inv.InvitedBy, inv.TokenHash, inv.State,
		inv.FailedAttempts, q.t(inv.ExpiresAt), q.t(inv.CreatedAt), q.timeOrNil(inv.AcceptedAt), q.timeOrNil(inv.RevokedAt))
}

func (q *queries) CreateInvitation(ctx context.Context, inv core.Invitation) error {
	// A user may have several invitations: each is buffered.
	if w := q.newUserBuffer(inv.UserID); w != nil {
		w.invitations = q.appendInvitationRow(w.invitations, inv)
		return nil
	}
	_, err := q.exec(ctx, `INSERT INTO invitations (`+invitationInsertColumns+`) VALUES (`+
		placeholders(invitationInsertWidth)+`)`, q.appendInvitationRow(make([]any, 0, invitationInsertWidth), inv)...)
	return err
}

func (q *queries) RevokeInvitation(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE invitations SET state = 'revoked', revoked_at = ? WHERE id = ? AND state = 'pending'`, q.t(at), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, q.wrap(err, "")
}

func (q *queries) AddInvitationFailure(ctx context.Context, id string) error {
	_, err := q.exec(ctx, `UPDATE invitations SET failed_attempts = failed_attempts + 1 WHERE id = ? AND state = 'pending'`, id)
	return err
}

func (q *queries) ConsumeInvitation(ctx context.Context, id string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE invitations SET state = 'accepted', accepted_at = ?
		WHERE id = ? AND state = 'pending' AND expires_at > ?`, q.t(at), id, q.t(at))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return core.Errorf(core.CodeConflict, "the invitation is no longer pending")
	}
	return nil
}

func (q *queries) GetIdempotency(ctx context.Context, scope, key string) (store.IdempotencyRecord, error) {
	var (
		r                store.IdempotencyRecord
		created, expires dbTime
		header           string
	)
	err := q.queryRow(ctx, `SELECT scope, idem_key, request_hash, done, status, content_type, body, headers, withheld, created_at,
		expires_at FROM idempotency_keys WHERE scope = ? AND idem_key = ?`, scope, key).
		Scan(&r.Scope, &r.Key, &r.RequestHash, &r.Done, &r.Status, &r.ContentType, &r.Body, &header, &r.Withheld, &created, &expires)
	if err != nil {
		return r, q.wrap(err, "idempotency record")
	}
	r.CreatedAt, r.ExpiresAt = created.t, expires.t
	if header != "" {
		if err := json.Unmarshal([]byte(header), &r.Header); err != nil {
			return r, fmt.Errorf("idempotency record %s: headers: %w", key, err)
		}
	}
	return r, nil
}

func (q *queries) CreateIdempotency(ctx context.Context, r store.IdempotencyRecord) error {
	_, err := q.exec(ctx, `INSERT INTO idempotency_keys (scope, idem_key, request_hash, done, status, content_type,
		body, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Scope, r.Key, r.RequestHash, r.Done,
		r.Status, r.ContentType, r.Body, q.t(r.CreatedAt), q.t(r.ExpiresAt))
	return err
}

func (q *queries) CompleteIdempotency(ctx context.Context, r store.IdempotencyRecord) error {
	header := ""
	if len(r.Header) > 0 {
		data, err := json.Marshal(r.Header)
		if err != nil {
			return err
		}
		header = string(data)
	}
	res, err := q.exec(ctx, `UPDATE idempotency_keys SET done = ?, status = ?, content_type = ?, body = ?, headers = ?, withheld = ?,
		expires_at = ? WHERE scope = ? AND idem_key = ?`, true, r.Status, r.ContentType, r.Body, header, r.Withheld, q.t(r.ExpiresAt),
		r.Scope, r.Key)
	if err != nil {
		return err
	}
	return mustAffect(res, "idempotency record")
}

func (q *queries) DeleteIdempotency(ctx context.Context, scope, key string) error {
	_, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?`, scope, key)
	return err
}

func (q *queries) DeleteExpiredIdempotency(ctx context.Context, t time.Time) (int, error) {
	res, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < ?`, q.t(t))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), q.wrap(err, "")
}
