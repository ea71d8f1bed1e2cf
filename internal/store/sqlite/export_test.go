package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// SetCheckpointing changes how often checkpoints run, how large the WAL may
// grow before it is reset and how long a reset waits for readers, for one
// test; the returned func restores them.
func SetCheckpointing(every time.Duration, restartFrames, waitMillis int) (restore func()) {
	oldEvery, oldFrames, oldWait := checkpointEvery, walRestartFrames, restartWaitMillis
	checkpointEvery, walRestartFrames, restartWaitMillis = every, restartFrames, waitMillis
	return func() { checkpointEvery, walRestartFrames, restartWaitMillis = oldEvery, oldFrames, oldWait }
}

// MigrateTo applies the migrations up to version and no further, and
// returns the database open with them: a database as an earlier release
// left it.
func MigrateTo(t *testing.T, path string, version int64) *sql.DB {
	t.Helper()
	db, err := openDB(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db
}
