// Package sqlite opens roster's embedded SQLite database (pure Go, no cgo),
// migrates it, and serves it through the shared SQL store.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"roster/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialect describes SQLite to the shared store.
func dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:            "sqlite",
		Explain:         "EXPLAIN QUERY PLAN",
		CacheStatements: true,
		NumberIsRowID:   true,
		GroupCommit:     true,
		UniqueViolation: uniqueViolation,
		Unavailable:     unavailable,
		ForeignKeyViolation: func(err error) bool {
			var se *sqlite.Error
			return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
		},
		// Times are stored as unix microseconds: compact, and they sort.
		EncodeTime: func(t time.Time) any { return t.UnixMicro() },
	}
}

// uniqueViolation reads the columns out of SQLite's message, e.g.
// "UNIQUE constraint failed: users.email_norm (2067)".
func uniqueViolation(err error) (string, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return "", false
	}
	msg := se.Error()
	if se.Code() == sqlite3.SQLITE_CONSTRAINT_TRIGGER {
		// The login triggers raise "login taken: <name>".
		const marker = "login taken: "
		i := strings.Index(msg, marker)
		if i < 0 {
			return "", false
		}
		name, _, _ := strings.Cut(msg[i+len(marker):], " ")
		return name, true
	}
	if se.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return "", false
	}
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return "", true
	}
	cols := msg[i+len(marker):]
	if j := strings.LastIndex(cols, " ("); j >= 0 {
		cols = cols[:j]
	}
	return cols, true
}

// unavailable reports errors after which a retry may succeed: the file is
// locked past the busy timeout, or the disk is full or failing.
func unavailable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}

// createPrivate makes a new database file readable by its owner alone
// (SQLite gives its WAL and shared-memory files the same mode): it holds
// password hashes and, in the outbox, live invitation and reset links.
// An existing file keeps its mode, which the operator may have chosen.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the database file %s: %w", path, err)
	}
	return f.Close()
}

func dsn(path string, readOnly bool) string {
	params := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeoutMillis),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(ON)",
		"_pragma=cache_size(-32000)",
		// Savepoints (one per transaction of a group commit) journal the
		// pages they change; in memory, not in a temporary file.
		"_pragma=temp_store(MEMORY)",
		"vfs=" + walVFSName,
	}
	if readOnly {
		params = append(params, "_pragma=query_only(1)")
	} else {
		// Take the write lock at BEGIN, so that a transaction never fails
		// half-way when it tries to upgrade a read lock. Checkpoints run
		// on a connection of their own (see checkpointer), not inside the
		// writer's commits; the WAL file shrinks back after each reset.
		params = append(params, "_txlock=immediate", "_pragma=wal_autocheckpoint(0)",
			"_pragma=journal_size_limit(67108864)")
	}
	return "file:" + path + "?" + strings.Join(params, "&")
}

// openDB opens a pool of connections to the database at path, through
// walVFS.
func openDB(path string, readOnly bool) (*sql.DB, error) {
	if err := registerWALVFS(); err != nil {
		return nil, err
	}
	return sql.Open("sqlite", dsn(path, readOnly))
}

// Open opens (creating if needed) the database at path and applies every
// pending migration.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	write, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	// SQLite has a single writer: one connection serialises writes in Go
	// instead of making them fight over the file lock.
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	read, err := openDB(path, true)
	if err != nil {
		write.Close()
		return nil, err
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	cp, err := openDB(path, false)
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	cp.SetMaxOpenConns(1)
	db := sqlstore.New(write, read, dialect())
	stop := startCheckpointer(cp, write)
	db.OnClose(func() {
		stop()
		// Leave a database file that needs no WAL to be read.
		_, _ = cp.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		cp.Close()
	})
	return db, nil
}

// Checkpointing: a passive checkpoint every checkpointEvery copies the WAL
// into the database file without blocking writers. Under a steady stream
// of commits it never finds the WAL wholly copied at the moment a writer
// starts, so the WAL is never reset and grows without end (1 GB in a
// 15-second invite-create run). Past walRestartFrames frames (64 MiB of
// 4 KiB pages) a RESTART checkpoint therefore runs on the writer's own
// connection, queued between two group commits: it waits for readers of
// old frames, and the next commit starts the WAL again from its beginning
// (journal_size_limit then trims the file).
var (
	checkpointEvery   = 200 * time.Millisecond
	walRestartFrames  = 16384
	restartWaitMillis = 200
)

const busyTimeoutMillis = 10000

// startCheckpointer runs checkpoints from a connection of its own, in
// parallel with the writer, so that commits no longer pay for them (they
// did: 7% of the CPU of a create); only a WAL past walRestartFrames makes
// the writer wait for one.
func startCheckpointer(cp, write *sql.DB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		resetAt := walRestartFrames
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			frames, _, err := checkpoint(ctx, cp, "PASSIVE")
			if err != nil || frames < resetAt {
				continue
			}
			// A reset a reader kept from finishing is tried again only
			// after as many frames more, so a long read costs the writer
			// one short wait per walRestartFrames, not one per tick.
			resetAt = walRestartFrames
			if !restartWAL(ctx, write) {
				resetAt = frames + walRestartFrames
			}
		}
	}()
	return func() { cancel(); <-done }
}

// restartWAL resets the WAL from the writer's connection and reports
// whether it did. The reset waits for readers of frames it would
// overwrite; it gives up after restartWaitMillis, so that a long read
// stalls writes for that long and not for the whole busy timeout.
func restartWAL(ctx context.Context, write *sql.DB) bool {
	conn, err := write.Conn(ctx)
	if err != nil {
		return false
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout(%d)", restartWaitMillis)); err != nil {
		return false
	}
	_, finished, err := checkpoint(ctx, conn, "RESTART")
	// The writer's own timeout, as dsn sets it; a connection that cannot
	// be given it back is dropped, and the pool opens a new one.
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout(%d)", busyTimeoutMillis)); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err == nil && finished
}

// checkpoint runs a checkpoint of the given mode and reports how many
// frames the WAL holds and whether the checkpoint finished (a RESTART one
// does not while readers of old frames remain past the busy timeout).
func checkpoint(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, mode string) (frames int, finished bool, err error) {
	var busy, copied int
	err = q.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	return frames, busy == 0, err
}

// Migrate applies pending migrations to the database at path and reports
// what it did.
func Migrate(ctx context.Context, path string) ([]string, error) {
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	db, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	return runMigrations(ctx, db)
}

func migrate(ctx context.Context, db *sql.DB) error {
	_, err := runMigrations(ctx, db)
	return err
}

func runMigrations(ctx context.Context, db *sql.DB) ([]string, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithGoMigrations(sqlstore.RefoldMigration(dialect())))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	// Two processes opening a new database at once both read that a
	// migration is missing and both run it; the second fails (a table
	// that exists already) once the first commits, and only that
	// migration's transaction is undone. Running Up again reads the
	// versions anew and goes on from where the other process got.
	var results []*goose.MigrationResult
	for attempt := 1; ; attempt++ {
		if results, err = provider.Up(ctx); err == nil {
			break
		}
		if attempt == 5 || ctx.Err() != nil {
			return nil, fmt.Errorf("migrate sqlite: %w", err)
		}
		select {
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	var done []string
	for _, r := range results {
		done = append(done, sqlstore.MigrationName(r.Source))
	}
	return done, nil
}
