// Package postgres opens roster's PostgreSQL database through pgx, migrates
// it (once, under an advisory lock, however many nodes start together), and
// serves it through the shared SQL store.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"roster/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

func dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:       "postgres",
		Numbered:   true,
		Explain:    "EXPLAIN",
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		// Not FOR UPDATE, which would also hold up every insert whose
		// foreign key names the user (a session, a credential): those
		// take FOR KEY SHARE, which this leaves alone, while changes to
		// the user's row (a login's record among them) take FOR NO KEY
		// UPDATE, which waits.
		ForUpdate:     " FOR NO KEY UPDATE",
		AbortsOnError: true,
		// Writes of a node share transactions: measured on 2 cores,
		// invite-create went from 430-830/s with p99 of 0.4-0.7 s (32
		// backends each committing) to 1,070-1,130/s with p99 under 0.2 s.
		// A transaction that waits on a lock held by another node's group
		// delays this node's writes until that group commits; a deadlock
		// between groups is broken by PostgreSQL, and each transaction of
		// the failed group then runs alone.
		GroupCommit:     true,
		UniqueViolation: uniqueViolation,
		Unavailable:     Unavailable,
		Aborted:         aborted,
		ForeignKeyViolation: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == "23503"
		},
		EncodeTime: func(t time.Time) any { return t.UTC() },
		// An explicit number (an import keeping ids) must move the identity
		// sequence past it, or the next generated number would clash; and
		// never back, past numbers other transactions have drawn and not
		// yet committed, which MAX does not see.
		SyncSequence: func(table string) string {
			return "SELECT setval(seq, GREATEST((SELECT MAX(number) FROM " + table + "), pg_sequence_last_value(seq::regclass), 1)) " +
				"FROM pg_get_serial_sequence('" + table + "', 'number') AS seq"
		},
	}
}

// aborted: deadlock_detected and serialization_failure.
func aborted(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

func uniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}

// Unavailable reports errors that mean the database cannot be reached now
// (down, restarting, refusing connections, connection lost mid-query): the
// request gets 503 and may be retried; roster reconnects by itself.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || // connection exception
			pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || // shutting down, starting up
			pe.Code == "53300" || pe.Code == "53400" // too many connections
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"conn closed", "connection refused", "broken pipe", "connection reset", "unexpected EOF",
		"the database system is", "server closed the connection", "failed to connect"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Open connects to the database at dsn (a postgres:// URL) and applies every
// pending migration.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	db, err := openDB(dsn)
	if err != nil {
		return nil, err
	}
	if _, err := runMigrations(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return sqlstore.New(db, db, dialect()), nil
}

func openDB(dsn string) (*sql.DB, error) {
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(32)
	// As many idle as open: with fewer, a burst closed the surplus and
	// the next one opened them again, and a PostgreSQL backend costs a
	// process start (under load, most of the machine's CPU went to that).
	db.SetMaxIdleConns(32)
	// Connections are replaced now and then, so that a node follows the
	// database through failovers and restarts.
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Migrate applies pending migrations to the database at dsn and reports
// what it did.
func Migrate(ctx context.Context, dsn string) ([]string, error) {
	db, err := openDB(dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return runMigrations(ctx, db)
}

func runMigrations(ctx context.Context, db *sql.DB) ([]string, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// Nodes that start together take turns: the advisory lock makes the
	// others wait until the first has migrated.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker),
		goose.WithGoMigrations(sqlstore.RefoldMigration(dialect())))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	var done []string
	for _, r := range results {
		done = append(done, sqlstore.MigrationName(r.Source))
	}
	return done, nil
}
