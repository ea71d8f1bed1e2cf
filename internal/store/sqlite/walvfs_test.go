package sqlite

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// copyLive copies a database and its WAL as a crash would leave them: the
// connections are still open, nothing has been checkpointed, and the
// shared-memory index is left behind, so that whoever opens the copy
// recovers the WAL by reading every frame's header and checksum.
func copyLive(t *testing.T, from, to string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(from + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// openPlain opens a database with SQLite's default VFS, nothing of roster's.
func openPlain(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of %s: %q, %v", path, check, err)
	}
	return db
}

// A WAL written through walVFS is one SQLite recovers whole on its own,
// including a transaction that spilled pages into the WAL and then wrote
// them again (whose frame headers SQLite rewrites at commit), and it took
// about one write a frame instead of two.
func TestWALVFSJoinsFramesAndRecoversWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	if err := registerWALVFS(); err != nil {
		t.Fatal(err)
	}
	// A cache of a few pages makes the big transaction below spill.
	db, err := sql.Open("sqlite", dsn(path, false)+"&_pragma=cache_size(4)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"); err != nil {
		t.Fatal(err)
	}

	asked, issued := walWritesAsked.Load(), walWritesIssued.Load()
	for i := range 200 {
		if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", i, bytes.Repeat([]byte{byte(i)}, 300)); err != nil {
			t.Fatal(err)
		}
	}
	asked, issued = walWritesAsked.Load()-asked, walWritesIssued.Load()-issued
	// Each commit writes a page or two: a header and a page each, joined
	// but for a transaction's first frame.
	t.Logf("asked %d issued %d", asked, issued)
	if asked < 400 || issued > asked*3/4 {
		t.Fatalf("200 commits asked for %d WAL writes and issued %d; want about half issued", asked, issued)
	}

	spilled, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 200; i < 400; i++ {
		if _, err := spilled.Exec("INSERT INTO t (id, v) VALUES (?, ?)", i, bytes.Repeat([]byte{1}, 3000)); err != nil {
			t.Fatal(err)
		}
	}
	// The same pages again, in the same transaction, after they spilled.
	if _, err := spilled.Exec("UPDATE t SET v = CAST(id AS TEXT) || '-' || length(v) WHERE id >= 200"); err != nil {
		t.Fatal(err)
	}
	if err := spilled.Commit(); err != nil {
		t.Fatal(err)
	}
	afterSpill := filepath.Join(dir, "after-spill.db")
	copyLive(t, path, afterSpill)
	// And one small commit after it.
	if _, err := db.Exec("INSERT INTO t (id, v) VALUES (1000, 'last')"); err != nil {
		t.Fatal(err)
	}
	atEnd := filepath.Join(dir, "at-end.db")
	copyLive(t, path, atEnd)

	for copied, want := range map[string]int{afterSpill: 400, atEnd: 401} {
		plain := openPlain(t, copied)
		var n int
		var middle string
		if err := plain.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := plain.QueryRow("SELECT v FROM t WHERE id = 300").Scan(&middle); err != nil {
			t.Fatalf("%s: the spilled transaction is missing: %v", filepath.Base(copied), err)
		}
		if n != want || middle != "300-3000" {
			t.Fatalf("%s: recovered %d rows, id 300 = %q; want %d and 300-3000", filepath.Base(copied), n, middle, want)
		}
	}
}
