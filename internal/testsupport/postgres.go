package testsupport

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"roster/internal/store"
	"roster/internal/store/postgres"
)

// DefaultPostgresURL is where tests look for PostgreSQL unless
// ROSTER_TEST_POSTGRES says otherwise: the server this machine runs.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	pgOnce sync.Once
	pgURL  string
	pgErr  error
)

// PostgresURL returns the URL of a reachable PostgreSQL server for tests.
// Without one, the test is skipped — except under CI=true, where it fails:
// CI must never pass by skipping the PostgreSQL half of the suite.
// .ci/run installs and starts a throwaway server where none runs.
func PostgresURL(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		pgURL = os.Getenv("ROSTER_TEST_POSTGRES")
		if pgURL == "" {
			pgURL = DefaultPostgresURL
		}
		db, err := sql.Open("pgx", pgURL)
		if err != nil {
			pgErr = err
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pgErr = db.PingContext(ctx)
	})
	if pgErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is not reachable at %s (CI=true: failing, not skipping): %v", redact(pgURL), pgErr)
		}
		t.Skipf("PostgreSQL is not reachable at %s (set ROSTER_TEST_POSTGRES, or run .ci/run): %v", redact(pgURL), pgErr)
	}
	return pgURL
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the configured URL"
	}
	return p.Redacted()
}

// PostgresSchemaURL creates an empty schema for one test and returns a URL
// whose connections use it; the schema is dropped when the test ends.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "roster_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres opens a fresh store in its own schema.
func OpenPostgres(t testing.TB) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), PostgresSchemaURL(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	return s
}

// Backend names a storage backend for tests that run on each.
type Backend struct {
	Name string
	Open func(t testing.TB) store.Store
}

// Backends are every storage backend; end-to-end suites run once per
// backend with EachBackend.
var Backends = []Backend{{"sqlite", OpenSQLite}, {"postgres", OpenPostgres}}

// EachBackend runs fn as a subtest per backend.
func EachBackend(t *testing.T, fn func(t *testing.T, b Backend)) {
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}
