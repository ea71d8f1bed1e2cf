package sqlstore

import (
	"context"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

const outboxColumns = `id, kind, message_id, recipient, subject, lang, data, created_at, next_attempt_at,
	attempts, last_error, sent_at, locked_until, locked_by`

func scanOutbox(row interface{ Scan(...any) error }) (core.OutboxMessage, error) {
	var (
		m                           core.OutboxMessage
		created, next, sent, locked dbTime
	)
	err := row.Scan(&m.ID, &m.Kind, &m.MessageID, &m.Recipient, &m.Subject, &m.Lang, &m.Data, &created,
		&next, &m.Attempts, &m.LastError, &sent, &locked, &m.LockedBy)
	m.CreatedAt, m.NextAttemptAt, m.SentAt, m.LockedUntil = created.t, next.t, sent.ptr(), locked.ptr()
	return m, err
}

func (q *queries) scanOutboxRows(ctx context.Context, query string, args ...any) ([]core.OutboxMessage, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []core.OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, q.wrap(err, "")
		}
		out = append(out, m)
	}
	return out, q.wrap(rows.Err(), "")
}

// outboxInsertColumns are the columns a new email is written with (the
// others start at their defaults); appendOutboxRow gives their values.
const (
	outboxInsertColumns = `id, kind, message_id, recipient, subject, lang, data, created_at, next_attempt_at`
	outboxInsertWidth   = 9
)

func (q *queries) appendOutboxRow(args []any, m core.OutboxMessage) []any {
	return append(args, m.ID, m.Kind, m.MessageID, m.Recipient, m.Subject, m.Lang, m.Data, q.t(m.CreatedAt),
		q.t(m.NextAttemptAt))
}

func (q *queries) EnqueueOutbox(ctx context.Context, m core.OutboxMessage) error {
	if w := q.pending; w != nil {
		w.outbox = q.appendOutboxRow(w.outbox, m)
		return nil
	}
	_, err := q.exec(ctx, `INSERT INTO outbox (`+outboxInsertColumns+`) VALUES (`+placeholders(outboxInsertWidth)+`)`,
		q.appendOutboxRow(make([]any, 0, outboxInsertWidth), m)...)
	return err
}

func (q *queries) GetOutbox(ctx context.Context, id string) (core.OutboxMessage, error) {
	m, err := scanOutbox(q.queryRow(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	return m, q.wrap(err, "outbox message")
}

func (q *queries) ListOutbox(ctx context.Context, f store.OutboxFilter) ([]core.OutboxMessage, error) {
	var (
		conds []string
		args  []any
	)
	if f.Pending {
		conds = append(conds, "sent_at IS NULL")
	}
	if f.Sent {
		conds = append(conds, "sent_at IS NOT NULL")
	}
	if f.After != "" {
		conds = append(conds, "id > ?")
		args = append(args, f.After)
	}
	query := `SELECT ` + outboxColumns + ` FROM outbox`
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query, args = limitOffset(query+" ORDER BY id", args, f.Limit, 0)
	return q.scanOutboxRows(ctx, query, args...)
}

func (q *queries) ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, worker string, limit int) ([]core.OutboxMessage, error) {
	// The subquery picks due, unleased messages; on PostgreSQL it skips
	// rows another worker is claiming at this instant, so two nodes never
	// take the same message. SQLite has one writer and needs no lock.
	return q.scanOutboxRows(ctx, `UPDATE outbox SET locked_until = ?, locked_by = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= ?
			AND (locked_until IS NULL OR locked_until < ?) ORDER BY next_attempt_at, id LIMIT ?`+q.d.SkipLocked+`)
		RETURNING `+outboxColumns, q.t(leaseUntil), worker, q.t(now), q.t(now), limit)
}

func (q *queries) MarkOutboxSent(ctx context.Context, id string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE outbox SET sent_at = ?, data = '', last_error = '',
		locked_until = NULL, locked_by = '' WHERE id = ?`, q.t(at), id)
	if err != nil {
		return err
	}
	return mustAffect(res, "outbox message")
}

func (q *queries) MarkOutboxFailed(ctx context.Context, id, worker, lastError string, next time.Time, giveUp bool) error {
	if len(lastError) > 1000 {
		lastError = lastError[:1000]
	}
	erase := ""
	if giveUp {
		erase = ", data = ''"
	}
	_, err := q.exec(ctx, `UPDATE outbox SET last_error = ?, next_attempt_at = ?, locked_until = NULL, locked_by = ''`+erase+`
		WHERE id = ? AND locked_by = ? AND sent_at IS NULL`, lastError, q.t(next), id, worker)
	return err
}

func (q *queries) WithdrawOutbox(ctx context.Context, recipient string, at time.Time) error {
	// Addresses compare as the service compares emails (Unicode case and
	// form folded), which SQL's lower() does not: the unsent messages,
	// few but for an outage, are compared here.
	rows, err := q.query(ctx, `SELECT id, recipient FROM outbox WHERE sent_at IS NULL`)
	if err != nil {
		return err
	}
	var ids []any
	want := core.NormalizeEmail(recipient)
	for rows.Next() {
		var id, to string
		if err := rows.Scan(&id, &to); err != nil {
			rows.Close()
			return q.wrap(err, "")
		}
		if core.NormalizeEmail(to) == want {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return q.wrap(err, "")
	}
	_, err = q.exec(ctx, `UPDATE outbox SET last_error = ?, next_attempt_at = ?, data = ''
		WHERE sent_at IS NULL AND id IN (`+placeholders(len(ids))+`)`,
		append([]any{"withdrawn: the address is no longer its user's", q.t(at.Add(store.ParkFor))}, ids...)...)
	return err
}

func (q *queries) RenewOutboxLease(ctx context.Context, id, worker string, until time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE outbox SET locked_until = ? WHERE id = ? AND locked_by = ? AND sent_at IS NULL`,
		q.t(until), id, worker)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) LoginThrottles(ctx context.Context, keys []string) ([]core.LoginThrottle, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := q.query(ctx, `SELECT throttle_key, failures, last_failure, blocked_until FROM login_throttle
		WHERE throttle_key IN (`+placeholders(len(keys))+`) ORDER BY throttle_key`, anySlice(keys)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []core.LoginThrottle
	for rows.Next() {
		var (
			lt            core.LoginThrottle
			last, blocked dbTime
		)
		if err := rows.Scan(&lt.Key, &lt.Failures, &last, &blocked); err != nil {
			return nil, q.wrap(err, "")
		}
		lt.FirstFailure, lt.BlockedUntil = last.t, blocked.ptr()
		out = append(out, lt)
	}
	return out, q.wrap(rows.Err(), "")
}

func (q *queries) AddLoginFailure(ctx context.Context, key string, at, windowStart time.Time) (int, error) {
	// One statement, so that failures counted at once on two nodes both count.
	// The column last_failure holds the first failure of the count (its
	// name is older than that use): a count whose first failure is before
	// windowStart starts again, so failures coming less than a window apart
	// cannot keep it growing forever.
	var n int
	err := q.queryRow(ctx, `INSERT INTO login_throttle (throttle_key, failures, last_failure) VALUES (?, 1, ?)
		ON CONFLICT (throttle_key) DO UPDATE SET
			failures = CASE WHEN login_throttle.last_failure < ? THEN 1 ELSE login_throttle.failures + 1 END,
			last_failure = CASE WHEN login_throttle.last_failure < ? THEN excluded.last_failure ELSE login_throttle.last_failure END
		RETURNING failures`, key, q.t(at), q.t(windowStart), q.t(windowStart)).Scan(&n)
	return n, q.wrap(err, "")
}

func (q *queries) ForgiveLoginFailure(ctx context.Context, key string) error {
	_, err := q.exec(ctx, `UPDATE login_throttle SET failures = failures - 1 WHERE throttle_key = ? AND failures > 0`, key)
	return err
}

func (q *queries) SetLoginBlock(ctx context.Context, key string, until time.Time) error {
	_, err := q.exec(ctx, `UPDATE login_throttle SET blocked_until = ? WHERE throttle_key = ?`, q.t(until), key)
	return err
}

func (q *queries) ClearLoginThrottle(ctx context.Context, key string) error {
	_, err := q.exec(ctx, `DELETE FROM login_throttle WHERE throttle_key = ?`, key)
	return err
}

func (q *queries) CreatePasswordReset(ctx context.Context, r core.PasswordReset) error {
	_, err := q.exec(ctx, `INSERT INTO password_resets (id, user_id, token_hash, expires_at, created_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?)`, r.ID, r.UserID, r.TokenHash, q.t(r.ExpiresAt), q.t(r.CreatedAt), q.timeOrNil(r.UsedAt))
	return err
}

func (q *queries) GetPasswordReset(ctx context.Context, id string) (core.PasswordReset, error) {
	var (
		r                      core.PasswordReset
		expires, created, used dbTime
	)
	err := q.queryRow(ctx, `SELECT id, user_id, token_hash, expires_at, created_at, used_at FROM password_resets
		WHERE id = ?`, id).Scan(&r.ID, &r.UserID, &r.TokenHash, &expires, &created, &used)
	r.ExpiresAt, r.CreatedAt, r.UsedAt = expires.t, created.t, used.ptr()
	return r, q.wrap(err, "password reset")
}

func (q *queries) UpdatePasswordReset(ctx context.Context, r core.PasswordReset) error {
	res, err := q.exec(ctx, `UPDATE password_resets SET used_at = ?, expires_at = ? WHERE id = ?`,
		q.timeOrNil(r.UsedAt), q.t(r.ExpiresAt), r.ID)
	if err != nil {
		return err
	}
	return mustAffect(res, "password reset")
}

func (q *queries) ConsumePasswordReset(ctx context.Context, id string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE password_resets SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?`,
		q.t(at), id, q.t(at))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return core.Errorf(core.CodeConflict, "the link was already used or has expired")
	}
	return nil
}
