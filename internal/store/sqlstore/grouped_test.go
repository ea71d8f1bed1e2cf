package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster/internal/store"

	_ "modernc.org/sqlite"
)

// In a group commit a statement runs to the end even when its caller has
// given up: the group's transaction belongs to every caller in it. Outside
// one, the caller's cancellation still stops the statement.
func TestGroupedStatementsIgnoreCallerCancellation(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "grouped.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE notes (text TEXT)`); err != nil {
		t.Fatal(err)
	}
	d := &Dialect{Name: "sqlite", UniqueViolation: func(error) (string, bool) { return "", false }}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, grouped := range []bool{true, false} {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		q := &queries{db: tx, tx: tx, d: d, grouped: grouped}
		_, execErr := q.exec(cancelled, `INSERT INTO notes (text) VALUES (?)`, "kept")
		var n int
		queryErr := q.queryRow(cancelled, `SELECT count(*) FROM notes`).Scan(&n)
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if grouped && (execErr != nil || queryErr != nil || n != 1) {
			t.Fatalf("grouped: exec %v, query %v, %d rows", execErr, queryErr, n)
		}
		if !grouped && (!errors.Is(execErr, context.Canceled) || !errors.Is(queryErr, context.Canceled)) {
			t.Fatalf("alone: exec %v, query %v; want both cancelled", execErr, queryErr)
		}
	}
}

// The committer's queue hands transactions over oldest first, at most max
// at a time; closing it refuses new ones but keeps those already queued.
func TestTxQueue(t *testing.T) {
	q := newTxQueue()
	ctxs := make([]context.Context, 5)
	for i := range ctxs {
		ctxs[i] = context.WithValue(context.Background(), struct{}{}, i)
		if !q.push(txRequest{ctx: ctxs[i]}) {
			t.Fatalf("push %d refused by an open queue", i)
		}
	}
	group, ok := q.take(nil, 3)
	if !ok || len(group) != 3 || group[0].ctx != ctxs[0] || group[2].ctx != ctxs[2] {
		t.Fatalf("first take: %v, %d requests", ok, len(group))
	}
	q.close()
	if q.push(txRequest{ctx: context.Background()}) {
		t.Fatal("a closed queue took a transaction")
	}
	group, ok = q.take(group, 3)
	if !ok || len(group) != 2 || group[0].ctx != ctxs[3] || group[1].ctx != ctxs[4] {
		t.Fatalf("after close, the queued transactions: %v, %d requests", ok, len(group))
	}
	if _, ok := q.take(group, 3); ok {
		t.Fatal("take on a closed, empty queue did not report it")
	}

	// A taker waiting on an empty queue wakes for the next push.
	q = newTxQueue()
	got := make(chan int, 1)
	go func() {
		g, _ := q.take(nil, 8)
		got <- len(g)
	}()
	q.push(txRequest{ctx: context.Background()})
	if n := <-got; n != 1 {
		t.Fatalf("woken taker got %d requests, want 1", n)
	}
}

// A caller whose context ends while its transaction still waits behind
// another leaves at once, and its function never runs; one whose
// function runs is told how it ended.
func TestQueuedTransactionCanBeAbandoned(t *testing.T) {
	s := groupCommitStore(t)
	defer s.Close()

	running, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	releaseFirst := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseFirst() // before Close, which waits for the committer
	first := make(chan error, 1)
	go func() {
		first <- s.InTx(context.Background(), func(store.Tx) error {
			close(running)
			<-release
			return nil
		})
	}()
	<-running
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	second := make(chan error, 1)
	go func() {
		second <- s.InTx(ctx, func(store.Tx) error { ran.Store(true); return nil })
	}()
	time.Sleep(20 * time.Millisecond) // let the second queue up
	cancel()
	select {
	case err := <-second:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("abandoned transaction: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a caller that gave up waited for the transaction ahead of it")
	}
	releaseFirst()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The committer has passed the abandoned request by the time a later
	// one is done.
	if err := s.InTx(context.Background(), func(store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Fatal("an abandoned transaction's function ran")
	}
}

// A group whose every transaction is patient waits for company until the
// first of them may wait no longer; an impatient arrival, a full group or
// a closing queue ends the wait at once.
func TestTxQueueGathersPatientTransactions(t *testing.T) {
	patient := func(d time.Duration) txRequest {
		return txRequest{ctx: context.Background(), patientUntil: time.Now().Add(d)}
	}
	impatient := txRequest{ctx: context.Background()}
	gather := func(q *txQueue, max int, later ...txRequest) ([]txRequest, time.Duration) {
		t.Helper()
		group, ok := q.take(nil, max)
		if !ok {
			t.Fatal("take on an open queue failed")
		}
		go func() {
			for _, r := range later {
				time.Sleep(20 * time.Millisecond)
				q.push(r)
			}
		}()
		start := time.Now()
		group = q.gather(group, max)
		return group, time.Since(start)
	}

	t.Run("until the first deadline", func(t *testing.T) {
		q := newTxQueue()
		q.push(patient(150 * time.Millisecond))
		group, took := gather(q, 8, patient(time.Hour))
		if len(group) != 2 || took < 100*time.Millisecond || took > 5*time.Second {
			t.Fatalf("%d transactions after %v; want both, after about 150ms", len(group), took)
		}
	})
	t.Run("alone", func(t *testing.T) {
		q := newTxQueue()
		q.push(patient(50 * time.Millisecond))
		group, took := gather(q, 8)
		if len(group) != 1 || took < 40*time.Millisecond || took > 5*time.Second {
			t.Fatalf("%d transactions after %v; want one, after about 50ms", len(group), took)
		}
	})
	t.Run("impatient arrival", func(t *testing.T) {
		q := newTxQueue()
		q.push(patient(time.Hour))
		group, took := gather(q, 8, patient(time.Hour), impatient, patient(time.Hour))
		if len(group) != 3 || took > 5*time.Second {
			t.Fatalf("%d transactions after %v; want three, as the impatient one came", len(group), took)
		}
	})
	t.Run("impatient first", func(t *testing.T) {
		q := newTxQueue()
		q.push(impatient)
		q.push(patient(time.Hour))
		group, took := gather(q, 8, patient(time.Hour))
		if len(group) != 2 || took > time.Second {
			t.Fatalf("%d transactions after %v; want the two queued, at once", len(group), took)
		}
	})
	t.Run("full", func(t *testing.T) {
		q := newTxQueue()
		q.push(patient(time.Hour))
		group, took := gather(q, 2, patient(time.Hour), patient(time.Hour))
		if len(group) != 2 || took > 5*time.Second {
			t.Fatalf("%d transactions after %v; want a full group of two", len(group), took)
		}
		if rest, _ := q.take(nil, 8); len(rest) != 1 {
			t.Fatalf("the transaction beyond the full group: %d queued, want 1", len(rest))
		}
	})
	t.Run("closing", func(t *testing.T) {
		q := newTxQueue()
		q.push(patient(time.Hour))
		go func() { time.Sleep(20 * time.Millisecond); q.close() }()
		group, took := gather(q, 8)
		if len(group) != 1 || took > 5*time.Second {
			t.Fatalf("%d transactions after %v; want one, as the queue closed", len(group), took)
		}
	})
}

// Patient transactions that arrive apart share one commit; without
// patience each commits alone.
func TestPatientTransactionsShareACommit(t *testing.T) {
	s := groupCommitStore(t)
	defer s.Close()

	for _, patience := range []time.Duration{0, time.Second} {
		ctx := store.WithCommitPatience(context.Background(), patience)
		var wg sync.WaitGroup
		grouped := make([]bool, 3)
		for i := range grouped {
			time.Sleep(20 * time.Millisecond)
			wg.Go(func() {
				if err := s.InTx(ctx, func(tx store.Tx) error {
					grouped[i] = tx.(*queries).grouped
					return nil
				}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i, g := range grouped {
			if g != (patience > 0) {
				t.Errorf("patience %v: transaction %d ran in a group: %v", patience, i, g)
			}
		}
	}
}

// One token in the queue's wake channel may stand for a push and a close
// together: the committer, taking the pushed patient transaction with it,
// must still see the close and not wait out the patience.
func TestGatherSeesACloseThatCameWithAPush(t *testing.T) {
	q := newTxQueue()
	q.push(txRequest{ctx: context.Background(), patientUntil: time.Now().Add(time.Hour)})
	q.close() // its signal is lost: wake already holds the push's token
	<-q.wake  // as a take that found the queue empty just before would
	group, ok := q.take(nil, maxGroup)
	if !ok || len(group) != 1 {
		t.Fatalf("take: %d requests, %v", len(group), ok)
	}
	done := make(chan struct{})
	go func() { q.gather(group, maxGroup); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("gather waits on for a closed queue")
	}
}

// groupCommitStore is a store over a SQLite file of its own, one
// connection, whose transactions go through the group committer.
func groupCommitStore(t *testing.T) *DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "grouped.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return New(db, db, &Dialect{Name: "sqlite", GroupCommit: true, UniqueViolation: func(error) (string, bool) { return "", false }})
}
