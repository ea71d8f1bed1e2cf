package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// stmtCache keeps prepared statements by query text, so that SQLite parses
// each statement once per connection rather than on every call (parsing
// was a fifth of the CPU of a create). It is bounded: past the limit,
// queries run unprepared.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
	// wanted are queries met inside a transaction: preparing them then
	// would need a second connection, which a single-writer database does
	// not have, so they are prepared between transactions.
	wanted map[string]bool
}

const maxCachedStmts = 2000

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// lookup returns the statement if it is prepared, and otherwise notes the
// query for prepareWanted.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	st, ok := c.m[query]
	c.mu.RUnlock()
	if !ok {
		c.mu.Lock()
		if len(c.m)+len(c.wanted) < maxCachedStmts {
			c.wanted[query] = true
		}
		c.mu.Unlock()
	}
	return st
}

// prepareWanted prepares the queries noted by lookup; it must run while no
// transaction holds the connection.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for query := range c.wanted {
		delete(c.wanted, query)
		if st, err := c.db.PrepareContext(ctx, query); err == nil {
			c.m[query] = st
		}
	}
}

// get returns the prepared statement for query, or nil when it cannot or
// should not be cached.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	st, ok := c.m[query]
	full := len(c.m) >= maxCachedStmts
	c.mu.RUnlock()
	if ok || full {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the direct call reports the error
	}
	c.m[query] = st
	return st
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// txRequest is one InTx call waiting for the group committer.
type txRequest struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan txOutcome
	// state is pending until the committer claims the request to run it,
	// or its caller, giving up first, abandons it.
	state *atomic.Int32
	// patientUntil, when set, is how long the request may wait for
	// others to share its commit (store.WithCommitPatience).
	patientUntil time.Time
}

const (
	txPending int32 = iota
	txClaimed
	txAbandoned
)

// claim reports whether the committer may run r: its caller has not
// given up. A claimed request may run again alone after its group was
// rolled back; a caller who gives up after the claim waits for the
// outcome, which is then its context's error if fn did not commit.
func (r txRequest) claim() bool {
	if r.ctx.Err() != nil {
		return false
	}
	return r.state.CompareAndSwap(txPending, txClaimed) || r.state.Load() == txClaimed
}

// abandon reports whether r's caller may leave without its outcome: the
// committer has not claimed it, and now never will.
func (r txRequest) abandon() bool { return r.state.CompareAndSwap(txPending, txAbandoned) }

type txOutcome struct {
	err   error
	panic any
}

// maxGroup bounds how many transactions share one commit.
const maxGroup = 64

// errClosed answers a transaction asked of a closed store.
var errClosed = core.Errorf(core.CodeUnavailable, "the store is closed")

// txQueue holds the transactions waiting for the committer. It is a slice
// under a mutex rather than a channel: a sender on an unbuffered channel
// is woken when the committer takes its request, only to wait again for
// the outcome, one needless trip through the scheduler per transaction;
// and a buffered channel could not be closed safely under its senders.
type txQueue struct {
	mu      sync.Mutex
	pending []txRequest
	closed  bool
	wake    chan struct{} // holds one token when pending may be non-empty
}

func newTxQueue() *txQueue { return &txQueue{wake: make(chan struct{}, 1)} }

// push queues r; false means the store is closed.
func (q *txQueue) push(r txRequest) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.pending = append(q.pending, r)
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *txQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits for queued transactions and moves up to max of them, oldest
// first, into group; false means the queue is closed and empty.
func (q *txQueue) take(group []txRequest, max int) ([]txRequest, bool) {
	group = group[:0]
	for {
		q.mu.Lock()
		if len(q.pending) > 0 {
			group = q.moveLocked(group, max)
			q.mu.Unlock()
			return group, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		<-q.wake
	}
}

// moveLocked moves queued transactions, oldest first, onto group until it
// holds max; q.mu is held.
func (q *txQueue) moveLocked(group []txRequest, max int) []txRequest {
	n := min(len(q.pending), max-len(group))
	group = append(group, q.pending[:n]...)
	rest := copy(q.pending, q.pending[n:])
	clear(q.pending[rest:]) // let finished requests be collected
	q.pending = q.pending[:rest]
	return group
}

// gather holds back a group whose every transaction is patient, taking in
// those that queue meanwhile, until the first of them may wait no longer,
// an impatient one joins, the group is full or the queue closes. Each
// commit writes a page of every B-tree its transactions touched, so
// transactions that arrive one at a time (writes after a password hash,
// at the pool's pace) cost several commits where one would do.
func (q *txQueue) gather(group []txRequest, max int) []txRequest {
	var timer *time.Timer
	for expired := false; ; {
		// The queue is looked at before each wait: one token in wake may
		// stand for a push and a close together.
		q.mu.Lock()
		group = q.moveLocked(group, max)
		closed := q.closed
		q.mu.Unlock()
		deadline, ok := patientUntil(group)
		wait := time.Until(deadline)
		if expired || closed || !ok || wait <= 0 || len(group) >= max {
			return group
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-q.wake:
		case <-timer.C:
			expired = true
		}
	}
}

// patientUntil is when the group's most hurried transaction wants its
// commit; ok is false when one of them would not wait at all.
func patientUntil(group []txRequest) (deadline time.Time, ok bool) {
	for _, r := range group {
		if r.patientUntil.IsZero() {
			return time.Time{}, false
		}
		if deadline.IsZero() || r.patientUntil.Before(deadline) {
			deadline = r.patientUntil
		}
	}
	return deadline, len(group) > 0
}

// close stops new transactions; those already queued still run.
func (q *txQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// committer runs the transactions of a database with a single writer
// (SQLite) on one goroutine and commits those that queue up together as
// one database transaction. Under load this turns many small commits, each
// appending the same index pages to the WAL, into a few larger ones.
func (db *DB) committer() {
	defer close(db.committed)
	var group []txRequest
	for {
		var ok bool
		if group, ok = db.txq.take(group, maxGroup); !ok {
			return
		}
		group = db.txq.gather(group, maxGroup)
		db.runGroup(group)
		clear(group)
		db.writeStmts.prepareWanted(context.Background())
	}
}

func (db *DB) runGroup(group []txRequest) {
	// Optimistically, the group runs as one transaction. If one of its
	// functions fails, the group is rolled back and each runs again alone:
	// failures are rare (a taken email), and savepoints around every
	// function would make SQLite copy each page it touches.
	outcomes, ok := db.runTogether(group)
	if !ok {
		for i, r := range group {
			outcomes[i] = db.runAlone(r)
		}
	}
	for i, r := range group {
		r.done <- outcomes[i]
	}
}

// runTogether runs the group in one transaction; ok is false when it had
// to be rolled back because a function failed.
func (db *DB) runTogether(group []txRequest) ([]txOutcome, bool) {
	outcomes := make([]txOutcome, len(group))
	if len(group) == 1 {
		return outcomes, false
	}
	// The group's transaction is not bound to any one caller's context:
	// one caller giving up must not roll back the others.
	tx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		return outcomes, false
	}
	q := &queries{db: tx, tx: tx, d: db.d, stmts: db.writeStmts, grouped: true, pending: &writeBehind{}}
	for i, r := range group {
		if !r.claim() {
			outcomes[i].err = r.ctx.Err()
			continue
		}
		if outcomes[i] = runFn(r.fn, q); outcomes[i].err != nil || outcomes[i].panic != nil {
			_ = tx.Rollback()
			return outcomes, false
		}
	}
	// The buffered rows go in last; if they, or any write of them
	// between two functions, broke a rule, each function runs again
	// alone and meets it itself.
	if err := q.flushPending(context.Background()); err != nil {
		_ = tx.Rollback()
		return outcomes, false
	}
	if err := tx.Commit(); err != nil {
		err = db.wrap(err, "")
		for i := range outcomes {
			if outcomes[i].err == nil {
				outcomes[i].err = err
			}
		}
	}
	return outcomes, true
}

// runAlone runs one function in a transaction of its own.
func (db *DB) runAlone(r txRequest) txOutcome {
	if !r.claim() {
		return txOutcome{err: r.ctx.Err()}
	}
	tx, err := db.write.BeginTx(r.ctx, nil)
	if err != nil {
		return txOutcome{err: db.wrap(err, "")}
	}
	out := runFn(r.fn, &queries{db: tx, tx: tx, d: db.d, stmts: db.writeStmts})
	if out.err != nil || out.panic != nil {
		_ = tx.Rollback()
		return out
	}
	if err := tx.Commit(); err != nil {
		return txOutcome{err: db.wrap(err, "")}
	}
	return out
}

// runFn calls fn, turning a panic into an outcome that the caller's
// goroutine re-raises.
func runFn(fn func(store.Tx) error, q *queries) (out txOutcome) {
	defer func() {
		if p := recover(); p != nil {
			out = txOutcome{panic: p}
		}
	}()
	return txOutcome{err: fn(q)}
}
