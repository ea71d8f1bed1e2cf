package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

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
