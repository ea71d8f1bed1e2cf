package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/store"
	"roster/internal/store/sqlite"
	"roster/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Two processes on one database file: SQLite's write lock is what keeps
// them apart.
func TestNodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roster.db")
	open := func() store.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.RunNodeTests(t, open(), open(), true)
}

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roster.db")
	applied, err := sqlite.Migrate(context.Background(), path)
	if err != nil || len(applied) == 0 {
		t.Fatalf("first migrate applied %v, %v", applied, err)
	}
	applied, err = sqlite.Migrate(context.Background(), path)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
	}
}

func TestIndexesAtSize(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const users = 50000
	id := func(n int) string { return fmt.Sprintf("%08x-0000-7000-8000-%012x", n, n) }
	tenant := id(0)
	storetest.RunIndexTests(t, s, storetest.IndexCase{
		Users: users, TenantID: tenant, IDOf: id,
		Fill: []string{
			`INSERT INTO tenants (id, name, name_norm, status, created_at, updated_at) VALUES ('` + tenant + `', 'Big', 'big', 'active', 0, 0)`,
			fmt.Sprintf(`WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %d)
				INSERT INTO users (number, id, email, email_norm, username, username_norm, name, name_norm, status, created_at, updated_at)
				SELECT n, printf('%%08x-0000-7000-8000-%%012x', n, n), 'user' || n || '@example.com', 'user' || n || '@example.com',
				'u' || n, 'u' || n, 'Name ' || n, 'name ' || n, 'active', n, n FROM seq`, users),
			`INSERT INTO memberships (tenant_id, user_id, created_at) SELECT '` + tenant + `', id, 0 FROM users WHERE number % 10 = 0`,
			`ANALYZE`,
		},
		// "SCAN u" alone reads the table; "SCAN u USING INDEX" walks an index
		// in order and stops at the LIMIT.
		FullScan: func(plan string) bool {
			for _, line := range strings.Split(plan, "\n") {
				if i := strings.Index(line, "SCAN "); i >= 0 && !strings.Contains(line[i:], "USING") {
					return true
				}
			}
			return false
		},
	})
}

// openCheckpointing opens a database whose checkpoints run every 10 ms and
// reset the WAL past frames (waiting 200 ms for readers), and gives its
// path for looking at the WAL file.
func openCheckpointing(t *testing.T, frames int) (store.Store, string) {
	t.Helper()
	t.Cleanup(sqlite.SetCheckpointing(10*time.Millisecond, frames, 200))
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// createPadded writes one user of over 1 KB in a transaction of its own,
// so that a few thousand of them fill many WAL frames.
func createPadded(ctx context.Context, s store.Store, email string) error {
	now := time.Now()
	u := core.User{ID: core.NewID(), Email: email, Status: core.UserActive,
		Attributes: map[string]any{"pad": strings.Repeat("x", 1000)}, CreatedAt: now, UpdatedAt: now}
	return s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) })
}

// Under a steady stream of commits a passive checkpoint never finds the WAL
// wholly copied when a writer starts, so without a reset the WAL file grows
// as long as the writes go on.
func TestWALIsResetUnderSteadyWrites(t *testing.T) {
	s, path := openCheckpointing(t, 256)

	// A count, not a time: a slow machine writes them more slowly, and
	// the deadline only stops a hang.
	const users = 20000
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		wg      sync.WaitGroup
		written atomic.Int64
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && written.Load() < users {
				n := written.Add(1)
				if err := createPadded(context.Background(), s, fmt.Sprintf("wal%d@example.com", n)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var largest int64
	for ctx.Err() == nil && written.Load() < users && !t.Failed() {
		if fi, err := os.Stat(path + "-wal"); err == nil {
			largest = max(largest, fi.Size())
		}
		time.Sleep(5 * time.Millisecond)
	}
	deadline := ctx.Err()
	cancel()
	wg.Wait()
	if deadline != nil && !t.Failed() {
		t.Fatalf("only %d of %d users written in a minute", written.Load(), users)
	}
	// Without resets these writes grow the WAL past 200 MiB; a reset at
	// 256 frames (1 MiB) keeps it to 5-7 MiB here. The bound leaves room
	// for a loaded machine, where more is written between two ticks.
	t.Logf("%d users written, largest WAL %d KiB", written.Load(), largest>>10)
	if largest > 32<<20 {
		t.Fatalf("the WAL grew to %d MiB under steady writes; it should be reset past 1 MiB", largest>>20)
	}
}

// A read that holds an old snapshot keeps the WAL from being reset; the
// writer must not wait for it longer than a reset's own short wait.
func TestLongReadDoesNotStallWritesBehindAWALReset(t *testing.T) {
	s, path := openCheckpointing(t, 64)
	ctx := context.Background()
	create := func(n int) time.Duration {
		start := time.Now()
		if err := createPadded(ctx, s, fmt.Sprintf("long%d@example.com", n)); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	for n := 0; n < 200; n++ {
		create(n)
	}

	// The long read: a transaction on a connection of its own that has read
	// from the WAL and stays open.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reader, err := other.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var count int
	if err := reader.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&count); err != nil || count != 200 {
		t.Fatalf("reader saw %d users, %v", count, err)
	}

	// 1,000 writes of over 1 KB: the WAL passes 64 frames many times, and
	// every reset the checkpointer tries waits for the reader in vain.
	var slowest time.Duration
	for n := 200; n < 1200; n++ {
		slowest = max(slowest, create(n))
	}
	t.Logf("slowest write behind the open read: %v", slowest)
	// A reset gives up after 200 ms; the busy timeout (10 s) is what a
	// writer waited before resets had their own.
	if slowest > 5*time.Second {
		t.Fatalf("a write waited %v behind a reset held up by a reader", slowest)
	}
}

// Processes that open a new database at once all start: each migrates it,
// or finds it migrated by another.
func TestConcurrentMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			_, err := sqlite.Migrate(context.Background(), path)
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if applied, err := sqlite.Migrate(context.Background(), path); err != nil || len(applied) != 0 {
		t.Fatalf("after the concurrent runs: applied %v, %v", applied, err)
	}
}

// writeOldUser writes a user as releases before migration 6 did, straight
// into the table, with its compared forms lower-cased only.
func writeOldUser(t *testing.T, db *sql.DB, email, username, name string) {
	t.Helper()
	_, err := db.Exec(`INSERT INTO users (id, email, email_norm, username, username_norm, name, name_norm, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'active', 0, 0)`,
		core.NewID(), email, strings.ToLower(email), username, strings.ToLower(username), name, strings.ToLower(name))
	if err != nil {
		t.Fatal(err)
	}
}

// openMigrated closes db, which an earlier release's migrations made, and
// opens the store on the same database, which runs the rest.
func openMigrated(t *testing.T, db *sql.DB, path string) store.Store {
	t.Helper()
	db.Close()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A database where one string was already one user's email and another's
// username when the login-string check came (version 5).
func TestLoginClashFromBefore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roster.db")
	db := sqlite.MigrateTo(t, path, 4)
	l := storetest.LegacyLoginClash
	writeOldUser(t, db, l.Login, l.HolderUsername, "")
	writeOldUser(t, db, l.OtherEmail, l.Login, "")
	storetest.RunLegacyLoginClash(t, openMigrated(t, db, path))
}

// A database written before compared forms were Unicode-normalized.
func TestRefoldMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roster.db")
	db := sqlite.MigrateTo(t, path, 5)
	for _, u := range storetest.Unfolded.Users {
		writeOldUser(t, db, u[0], u[1], u[2])
	}
	name := storetest.Unfolded.Tenant
	if _, err := db.Exec(`INSERT INTO tenants (id, name, name_norm, status, created_at, updated_at) VALUES (?, ?, ?, 'active', 0, 0)`,
		core.NewID(), name, strings.ToLower(name)); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	s := openMigrated(t, db, path)
	storetest.RunRefolded(t, s, logged.String())
}

// A new database, its WAL and its shared memory are readable by their
// owner alone: they hold password hashes and live invitation links.
func TestNewDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := core.User{ID: core.NewID(), Email: "private@example.com", Status: core.UserActive}
	if err := s.InTx(context.Background(), func(tx store.Tx) error { return tx.CreateUser(context.Background(), &u) }); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %v", filepath.Base(name), mode)
		}
	}
}
