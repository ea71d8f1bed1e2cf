// Package sqlstore implements store.Store over database/sql. The SQL it
// speaks is common to SQLite and PostgreSQL; what differs between them
// (placeholders, time columns, error codes) is a Dialect, supplied by the
// sqlite and postgres packages that open the database and migrate it.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"roster/internal/core"
	"roster/internal/store"
)

// Dialect is what one database does differently.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2 …) instead of ?; queries here are
	// written with ? and rebound once per query text.
	Numbered bool
	// UniqueViolation returns the index (or "table.column") named by a
	// uniqueness violation.
	UniqueViolation func(error) (string, bool)
	// Unavailable reports errors that mean the database cannot be reached
	// now but may come back.
	Unavailable func(error) bool
	// ForeignKeyViolation reports a write that names a row that is not
	// there (removed by another transaction since it was read).
	ForeignKeyViolation func(error) bool
	// Aborted reports a transaction the database ended to break a deadlock
	// or a serialization conflict with another: running it again will
	// likely succeed.
	Aborted func(error) bool
	// EncodeTime turns a time into a query parameter for a time column.
	EncodeTime func(time.Time) any
	// SkipLocked ends a locking subquery so that concurrent claimers skip
	// each other's rows (" FOR UPDATE SKIP LOCKED"); empty where the
	// database has a single writer.
	SkipLocked string
	// ForUpdate ends a SELECT that locks the rows it reads against
	// changes until the transaction ends (" FOR NO KEY UPDATE"); empty
	// where the database has a single writer, whose write transactions
	// hold everything.
	ForUpdate string
	// Explain is the statement prefix that asks for a query plan.
	Explain string
	// SyncSequence, when set, returns the statement that moves a table's
	// number sequence past a number that was inserted explicitly.
	SyncSequence func(table string) string
	// AbortsOnError says that a failed statement ends the transaction
	// (PostgreSQL), so what may fail is checked before it is tried; SQLite
	// lets the transaction go on, and is asked only after a failure.
	AbortsOnError bool
	// NumberIsRowID says that a table's number column is its row id, so an
	// insert learns it from the driver without a RETURNING clause.
	NumberIsRowID bool
	// CacheStatements keeps prepared statements (for drivers that do not
	// cache them themselves; pgx does).
	CacheStatements bool
	// GroupCommit runs write transactions on one goroutine and commits
	// those that wait together as one: one WAL flush and one round of
	// locking for many small writes, instead of as many connections
	// contending for the database's CPU.
	GroupCommit bool

	rebound sync.Map // query text → rebound text
}

func (d *Dialect) rebind(query string) string {
	if !d.Numbered {
		return query
	}
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	d.rebound.Store(query, out)
	return out
}

// DB is a store.Store. Writes go through write, which the SQLite backend
// limits to one connection (SQLite has one writer); reads outside a
// transaction go through read.
type DB struct {
	queries
	write      *sql.DB
	read       *sql.DB
	writeStmts *stmtCache
	txq        *txQueue      // nil: each transaction commits alone
	committed  chan struct{} // closed when the committer has stopped
	closeOnce  sync.Once
	onClose    []func()
}

// OnClose registers fn to run when the store closes, before its handles
// do (a backend's background work).
func (db *DB) OnClose(fn func()) { db.onClose = append(db.onClose, fn) }

// New wraps open database handles; read may be the same handle as write.
func New(write, read *sql.DB, d *Dialect) *DB {
	db := &DB{write: write, read: read}
	var readStmts *stmtCache
	if d.CacheStatements {
		db.writeStmts = newStmtCache(write)
		readStmts = db.writeStmts
		if read != write {
			readStmts = newStmtCache(read)
		}
	}
	db.queries = queries{db: read, d: d, stmts: readStmts}
	if d.GroupCommit {
		db.txq = newTxQueue()
		db.committed = make(chan struct{})
		go db.committer()
	}
	return db
}

// InTx implements store.Store.
func (db *DB) InTx(ctx context.Context, fn func(tx store.Tx) error) (err error) {
	if db.txq != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := txRequest{ctx: ctx, fn: fn, done: make(chan txOutcome, 1), state: new(atomic.Int32)}
		if d := store.CommitPatience(ctx); d > 0 {
			r.patientUntil = time.Now().Add(d)
		}
		if !db.txq.push(r) {
			return errClosed
		}
		var out txOutcome
		select {
		case out = <-r.done:
		case <-ctx.Done():
			// A caller may leave while its transaction still waits in the
			// queue; once the committer has claimed it, the caller waits
			// to be told how it ended.
			if r.abandon() {
				return ctx.Err()
			}
			out = <-r.done
		}
		if out.panic != nil {
			panic(out.panic)
		}
		return out.err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap(err, "")
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&queries{db: tx, tx: tx, d: db.d, stmts: db.writeStmts}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return db.wrap(err, "")
	}
	return nil
}

// Ping implements store.Store.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return db.wrap(err, "")
	}
	var one int
	if err := db.write.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return db.wrap(err, "")
	}
	return nil
}

// Close implements store.Store.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.txq != nil {
			// Transactions queued before this still run; any later one
			// gets errClosed.
			db.txq.close()
			<-db.committed
		}
		for _, fn := range db.onClose {
			fn()
		}
	})
	db.writeStmts.close()
	if db.stmts != db.writeStmts {
		db.stmts.close()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// ExplainUserLookup returns the database's plan for finding one user the
// way GetUser does; tests use it to prove that lookups use indexes.
func (db *DB) ExplainUserLookup(ctx context.Context, ref store.UserRef) (string, error) {
	query, arg, ok := userLookup(ref)
	if !ok {
		return "", fmt.Errorf("empty reference")
	}
	return db.explain(ctx, query, arg)
}

// ExplainUserList returns the plan of the listing query ListUsers runs, or
// of the three streams of a prefix search.
func (db *DB) ExplainUserList(ctx context.Context, f store.UserFilter) (string, error) {
	if searchOrder(f) {
		prefix := core.Fold(f.Prefix)
		var plans []string
		for _, col := range searchColumns {
			query, args := db.searchColumnQuery(f, col, prefix, f.AfterKey, f.After, max(f.Limit, 1))
			plan, err := db.explain(ctx, query, args...)
			if err != nil {
				return "", err
			}
			plans = append(plans, plan)
		}
		return strings.Join(plans, "\n"), nil
	}
	query, args, err := db.userList(f)
	if err != nil {
		return "", err
	}
	return db.explain(ctx, query, args...)
}

// ExplainMatchUsers returns the plan of the query MatchUsers runs (an
// import's lookup of a batch's users).
func (db *DB) ExplainMatchUsers(ctx context.Context, k store.UserKeys) (string, error) {
	query, args := matchUsersQuery(k)
	if query == "" {
		return "", fmt.Errorf("no keys")
	}
	return db.explain(ctx, query, args...)
}

func (db *DB) explain(ctx context.Context, query string, args ...any) (string, error) {
	rows, err := db.read.QueryContext(ctx, db.d.rebind(db.d.Explain+" "+query), args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			fmt.Fprintf(&b, "%v ", v)
		}
		b.WriteByte('\n')
	}
	return b.String(), rows.Err()
}

// Exec runs a statement outside the store's vocabulary; tests use it to
// fill a database fast.
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := db.write.ExecContext(ctx, query, args...)
	return err
}

// dbtx is what *sql.DB and *sql.Tx have in common.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type queries struct {
	db dbtx
	// tx is set inside a transaction, to bind cached statements to it.
	tx    *sql.Tx
	d     *Dialect
	stmts *stmtCache
	// grouped is set in a group commit's transaction (see stmtContext).
	grouped bool
	// bound holds the cached statements already bound to tx: binding
	// allocates and locks, and a group of creates runs the same few
	// statements dozens of times.
	bound map[string]*sql.Stmt
	// created holds the users this transaction inserted, where rows are
	// locked (ForUpdate): it holds their rows already, and a create's
	// membership need not lock its new user again (a round trip each);
	// and in a group commit, whose new users' rows are buffered.
	created []string
	// pending buffers a group commit's inserts that nothing has read yet
	// (see writeBehind); nil outside a group commit.
	pending *writeBehind
}

// stmtContext is the context a statement runs with. In a group commit the
// statements ignore their caller's cancellation, as the group's
// transaction does: one caller giving up must not spoil the others' work
// (runTogether checks each caller's context before running its function).
// A context that cannot be cancelled also spares the driver a watcher
// goroutine per statement, a tenth of the cost of a statement in
// modernc.org/sqlite, on the committer that every write waits for.
func (q *queries) stmtContext(ctx context.Context) context.Context {
	if q.grouped {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// prepared returns the cached statement for query, bound to the
// transaction when there is one, or nil.
func (q *queries) prepared(ctx context.Context, query string) *sql.Stmt {
	if q.tx == nil {
		return q.stmts.get(ctx, query)
	}
	if st, ok := q.bound[query]; ok {
		return st
	}
	st := q.stmts.lookup(query)
	if st == nil {
		return nil
	}
	st = q.tx.StmtContext(ctx, st)
	if q.bound == nil {
		q.bound = map[string]*sql.Stmt{}
	}
	q.bound[query] = st
	return st
}

func (q *queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := q.flushPending(ctx); err != nil {
		return nil, err
	}
	ctx = q.stmtContext(ctx)
	query = q.d.rebind(query)
	var (
		res sql.Result
		err error
	)
	if st := q.prepared(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = q.db.ExecContext(ctx, query, args...)
	}
	return res, q.wrap(err, "")
}

func (q *queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := q.flushPending(ctx); err != nil {
		return nil, err
	}
	ctx = q.stmtContext(ctx)
	query = q.d.rebind(query)
	var (
		rows *sql.Rows
		err  error
	)
	if st := q.prepared(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = q.db.QueryContext(ctx, query, args...)
	}
	return rows, q.wrap(err, "")
}

func (q *queries) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	// A failed write of the buffered rows is kept for the group commit,
	// which will not commit; the query runs all the same, as *sql.Row
	// cannot carry the error.
	_ = q.flushPending(ctx)
	ctx = q.stmtContext(ctx)
	query = q.d.rebind(query)
	if st := q.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.db.QueryRowContext(ctx, query, args...)
}

// mustAffect turns "no row changed" into not found.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return core.Internal(err)
	}
	if n == 0 {
		return core.Errorf(core.CodeNotFound, "%s not found", what)
	}
	return nil
}

// uniqueFields maps the indexes that enforce uniqueness to the request field
// a client should fix. SQLite names the columns, PostgreSQL the index; both
// forms are listed, and the login triggers' names (users_*_login).
var uniqueFields = map[string][2]string{
	"users_email_norm":     {"email", "is already taken"},
	"users.email_norm":     {"email", "is already taken"},
	"users_username_norm":  {"username", "is already taken"},
	"users.username_norm":  {"username", "is already taken"},
	"users_email_login":    {"email", "is already taken"},
	"users_username_login": {"username", "is already taken"},
	"users_external_id":    {"external_id", "is already taken"},
	"users.external_id":    {"external_id", "is already taken"},
	"users.id":             {"id", "is already taken"},
	"users_pkey":           {"id", "is already taken"},
	"users.number":         {"number", "is already taken"},
	"users_number_key":     {"number", "is already taken"},
	"tenants.id":           {"id", "is already taken"},
	"tenants_pkey":         {"id", "is already taken"},
	"resource_groups_name": {"name", "is already used by another resource group of this tenant"},
	"resource_groups.tenant_id, resource_groups.name_norm": {"name", "is already used by another resource group of this tenant"},
}

// wrap turns a driver error into a core error. what names the missing thing
// for sql.ErrNoRows.
func (q *queries) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var ce *core.Error
	switch {
	case errors.As(err, &ce):
		return err
	case errors.Is(err, sql.ErrNoRows):
		if what == "" {
			what = "record"
		}
		return core.Errorf(core.CodeNotFound, "%s not found", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	if index, ok := q.d.UniqueViolation(err); ok {
		if f, ok := uniqueFields[index]; ok {
			return &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf("%s %s", f[0], f[1]),
				Fields: []core.FieldError{{Field: f[0], Code: "taken", Message: f[1]}}, Cause: err}
		}
		return &core.Error{Code: core.CodeConflict, Message: "conflicts with an existing record", Cause: err}
	}
	if q.d.Unavailable != nil && q.d.Unavailable(err) {
		return &core.Error{Code: core.CodeUnavailable, Message: "the database is not available", RetryAfter: 1, Cause: err}
	}
	if q.d.ForeignKeyViolation != nil && q.d.ForeignKeyViolation(err) {
		return &core.Error{Code: core.CodeNotFound, Message: "something this request refers to was removed meanwhile", Cause: err}
	}
	if q.d.Aborted != nil && q.d.Aborted(err) {
		return &core.Error{Code: core.CodeUnavailable, Message: "the database ended this request's transaction to break a conflict with another; retry it",
			RetryAfter: 1, Cause: err}
	}
	return core.Internal(err)
}

// timeOrNil encodes an optional time.
func (q *queries) timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return q.d.EncodeTime(*t)
}

func (q *queries) t(t time.Time) any { return q.d.EncodeTime(t) }

// nullString stores "" as NULL, for optional foreign keys.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dbTime scans a time column whatever the driver hands back: SQLite stores
// unix microseconds, PostgreSQL a timestamptz.
type dbTime struct {
	t     time.Time
	valid bool
}

func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		d.valid = false
	case int64:
		d.t, d.valid = time.UnixMicro(v).UTC(), true
	case time.Time:
		d.t, d.valid = v.UTC(), true
	case []byte:
		return d.Scan(string(v))
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return fmt.Errorf("time column: %w", err)
		}
		d.t, d.valid = t.UTC(), true
	default:
		return fmt.Errorf("time column: unexpected %T", src)
	}
	return nil
}

func (d dbTime) ptr() *time.Time {
	if !d.valid {
		return nil
	}
	t := d.t
	return &t
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func anySlice[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// prefixRange is the condition that col starts with prefix, as the index
// range from prefix to prefixEnd's bound, and its arguments; the range is
// open above when there is no bound.
func prefixRange(col, prefix string) (string, []any) {
	if end, ok := prefixEnd(prefix); ok {
		return col + " >= ? AND " + col + " < ?", []any{prefix, end}
	}
	return col + " >= ?", []any{prefix}
}

// prefixEnd is the smallest string greater than every string that starts
// with prefix, in byte order; with prefix it bounds an index range scan.
// prefix is valid UTF-8 (the service refuses other searches), and so is
// the bound: its last character is the next one, since UTF-8's byte order
// is its characters' order. PostgreSQL refuses a text parameter that is
// not UTF-8, which a bound made by adding one to the last byte may not be.
// A prefix of U+10FFFF alone (or empty) has none: ok is false.
func prefixEnd(prefix string) (end string, ok bool) {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		switch {
		case r == utf8.MaxRune:
			continue // nothing follows it: the bound ends before it
		case r == 0xD7FF:
			r = 0xE000 // past the surrogates, which UTF-8 does not encode
		default:
			r++
		}
		return prefix + string(r), true
	}
	return "", false
}

// joinList stores a list of simple names (roles, auth types) in one column.
func joinList(xs []string) string { return strings.Join(xs, ",") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
