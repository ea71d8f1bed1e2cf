package sqlite

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// recoveredRows opens a copy with SQLite's default VFS, nothing of
// roster's, checks it and counts its rows.
func recoveredRows(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of %s: %q, %v", path, check, err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// walTestDSN opens path through walVFS with the given pragmas. It is
// written out rather than added to dsn's: the driver applies pragmas in
// sorted order, so a second synchronous() would not override the first.
func walTestDSN(path string, pragmas ...string) string {
	params := []string{"vfs=" + walVFSName, "_txlock=immediate", "_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)", "_pragma=wal_autocheckpoint(0)"}
	for _, p := range pragmas {
		params = append(params, "_pragma="+p)
	}
	return "file:" + path + "?" + strings.Join(params, "&")
}

func openWALTest(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	if err := registerWALVFS(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	return db
}

// Commits of a page or two each take one write a frame instead of two, at
// roster's synchronous level (FULL would sync the WAL at each commit, and
// a header after a sync is not held).
func TestWALVFSJoinsHeaderAndPage(t *testing.T) {
	db := openWALTest(t, walTestDSN(filepath.Join(t.TempDir(), "joins.db"), "synchronous(NORMAL)"))
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
	t.Logf("200 commits: %d WAL writes asked, %d issued", asked, issued)
	if asked < 400 || issued > asked*3/5 {
		t.Fatalf("200 commits asked for %d WAL writes and issued %d; want about half issued", asked, issued)
	}
}

// After every commit, a copy of the live database and WAL recovers with
// the plain VFS to every committed row: across page sizes, synchronous
// NORMAL and FULL (which pads and syncs the WAL mid-frame when overwrites
// are not power-safe), transactions that spill and then overwrite their
// own frames (whose headers SQLite rewrites at commit), spills rolled
// back, savepoints, WAL restarts and truncations from another connection.
func TestWALVFSRecoversEveryCommit(t *testing.T) {
	for _, pageSize := range []int{512, 4096, 65536} {
		for _, sync := range []string{"NORMAL", "FULL"} {
			for _, powersafe := range []string{"1", "0"} {
				t.Run(fmt.Sprintf("page%d-%s-psow%s", pageSize, sync, powersafe), func(t *testing.T) {
					recoverEveryCommit(t, pageSize, sync, powersafe)
				})
			}
		}
	}
}

func recoverEveryCommit(t *testing.T, pageSize int, sync, powersafe string) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	// The page size is set before the database is first written, and the
	// driver applies journal_mode before page_size: so a plain connection
	// makes the database first.
	plain, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize),
		"CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)", "PRAGMA journal_mode = WAL"} {
		if _, err := plain.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	plain.Close()
	// A cache of a few pages makes the bigger transactions spill.
	db := openWALTest(t, walTestDSN(path, "cache_size(4)", "synchronous("+sync+")", "journal_size_limit(20000)")+"&psow="+powersafe)
	var level, size int
	if err := db.QueryRow("PRAGMA synchronous").Scan(&level); err != nil || (sync == "FULL") != (level == 2) {
		t.Fatalf("PRAGMA synchronous = %d, %v; want %s", level, err, sync)
	}
	if err := db.QueryRow("PRAGMA page_size").Scan(&size); err != nil || size != pageSize {
		t.Fatalf("PRAGMA page_size = %d, %v; want %d", size, err, pageSize)
	}
	checkpointer := openWALTest(t, walTestDSN(path))

	committed, next := 0, 0
	for round := range 24 {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		first, rows := next, 1+round%5*7
		if round%4 == 0 {
			rows = 60
		}
		for range rows {
			if _, err := tx.Exec("INSERT INTO t (id, v) VALUES (?, ?)", next, bytes.Repeat([]byte{byte(next)}, 200+next%900)); err != nil {
				t.Fatal(err)
			}
			next++
		}
		switch round % 4 {
		case 0: // the same pages again, after they spilled: frames overwritten
			if _, err := tx.Exec("UPDATE t SET v = CAST(id AS TEXT) || zeroblob(300) WHERE id >= ?", first); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := tx.Exec("SAVEPOINT s; INSERT INTO t (id, v) VALUES (-1, 'gone'); ROLLBACK TO s; RELEASE s"); err != nil {
				t.Fatal(err)
			}
		}
		if round%6 == 5 {
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			committed += rows
		}

		copied := filepath.Join(dir, fmt.Sprintf("round%d.db", round))
		copyLive(t, path, copied)
		if got := recoveredRows(t, copied); got != committed {
			t.Fatalf("round %d: the copy recovered %d rows; %d were committed", round, got, committed)
		}

		switch round % 4 {
		case 1:
			_, err = checkpointer.Exec("PRAGMA wal_checkpoint(RESTART)")
		case 3:
			_, err = checkpointer.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
