package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/store"
	"roster/internal/store/postgres"
	"roster/internal/store/storetest"
	"roster/internal/testsupport"
)

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store { return testsupport.OpenPostgres(t) })
}

// Two nodes on one database, each with its own pool and group committer.
func TestNodes(t *testing.T) {
	url := testsupport.PostgresSchemaURL(t)
	open := func() store.Store {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.RunNodeTests(t, open(), open(), false)
}

func TestMigrateIsIdempotent(t *testing.T) {
	url := testsupport.PostgresSchemaURL(t)
	applied, err := postgres.Migrate(context.Background(), url)
	if err != nil || len(applied) == 0 {
		t.Fatalf("first migrate applied %v, %v", applied, err)
	}
	applied, err = postgres.Migrate(context.Background(), url)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
	}
}

func TestIndexesAtSize(t *testing.T) {
	s, err := postgres.Open(context.Background(), testsupport.PostgresSchemaURL(t))
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
			`INSERT INTO tenants (id, name, name_norm, status, created_at, updated_at) VALUES ('` + tenant + `', 'Big', 'big', 'active', now(), now())`,
			fmt.Sprintf(`INSERT INTO users (number, id, email, email_norm, username, username_norm, name, name_norm, status, created_at, updated_at)
				SELECT n, (lpad(to_hex(n), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
				'user' || n || '@example.com', 'user' || n || '@example.com', 'u' || n, 'u' || n, 'Name ' || n, 'name ' || n,
				'active', now(), now() FROM generate_series(1, %d) AS n`, users),
			`INSERT INTO memberships (tenant_id, user_id, created_at) SELECT '` + tenant + `', id, now() FROM users WHERE number % 10 = 0`,
			`ANALYZE`,
		},
		FullScan: func(plan string) bool {
			return strings.Contains(plan, "Seq Scan on users") || strings.Contains(plan, "Seq Scan on memberships")
		},
	})
}

// A user written with its own number moves the number sequence past it,
// never back: numbers other transactions have drawn but not committed
// (which MAX(number) does not see) stay ahead of the next one drawn.
func TestExplicitNumberNeverMovesTheSequenceBack(t *testing.T) {
	ctx := context.Background()
	url := testsupport.PostgresSchemaURL(t)
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	user := func(n int64) *core.User {
		now := time.Now().UTC()
		return &core.User{ID: core.NewID(), Number: n, Email: fmt.Sprintf("n%d-%s@example.com", n, core.NewID()[24:]), Status: core.UserActive,
			Type: core.UserTypeCommon, SecurityRealm: "native", AuthTypes: []string{"password"}, CreatedAt: now, UpdatedAt: now}
	}
	create := func(u *core.User) {
		t.Helper()
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUsers(ctx, []store.NewUser{{User: u}}) }); err != nil {
			t.Fatal(err)
		}
	}
	create(user(0))
	// Another node draws numbers 2 to 10 for users it has not committed yet.
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for range 9 {
		if _, err := raw.ExecContext(ctx, `SELECT nextval(pg_get_serial_sequence('users', 'number'))`); err != nil {
			t.Fatal(err)
		}
	}
	create(user(5))
	next := user(0)
	create(next)
	if next.Number != 11 {
		t.Fatalf("the next user drew number %d, want 11: the sequence went back below numbers already drawn", next.Number)
	}
}

// writeOldUser writes a user as releases before migration 6 did, straight
// into the table, with its compared forms lower-cased only.
func writeOldUser(t *testing.T, db *sql.DB, email, username, name string) {
	t.Helper()
	_, err := db.Exec(`INSERT INTO users (id, email, email_norm, username, username_norm, name, name_norm, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', now(), now())`,
		core.NewID(), email, strings.ToLower(email), username, strings.ToLower(username), name, strings.ToLower(name))
	if err != nil {
		t.Fatal(err)
	}
}

// openMigrated closes db, which an earlier release's migrations made, and
// opens the store on the same database, which runs the rest.
func openMigrated(t *testing.T, db *sql.DB, url string) store.Store {
	t.Helper()
	db.Close()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A database where one string was already one user's email and another's
// username when the login-string check came (version 5).
func TestLoginClashFromBefore(t *testing.T) {
	url := testsupport.PostgresSchemaURL(t)
	db := postgres.MigrateTo(t, url, 4)
	l := storetest.LegacyLoginClash
	writeOldUser(t, db, l.Login, l.HolderUsername, "")
	writeOldUser(t, db, l.OtherEmail, l.Login, "")
	storetest.RunLegacyLoginClash(t, openMigrated(t, db, url))
}

// A database written before compared forms were Unicode-normalized.
func TestRefoldMigration(t *testing.T) {
	url := testsupport.PostgresSchemaURL(t)
	db := postgres.MigrateTo(t, url, 5)
	for _, u := range storetest.Unfolded.Users {
		writeOldUser(t, db, u[0], u[1], u[2])
	}
	name := storetest.Unfolded.Tenant
	if _, err := db.Exec(`INSERT INTO tenants (id, name, name_norm, status, created_at, updated_at) VALUES ($1, $2, $3, 'active', now(), now())`,
		core.NewID(), name, strings.ToLower(name)); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	s := openMigrated(t, db, url)
	storetest.RunRefolded(t, s, logged.String())
}

// A database from before attributes were kept as written (version 6, in
// jsonb) keeps its users' attributes through the change of type, and
// takes numbers as written from then on.
func TestAttributesMigration(t *testing.T) {
	url := testsupport.PostgresSchemaURL(t)
	db := postgres.MigrateTo(t, url, 5)
	writeOldUser(t, db, "attrs@example.com", "", "")
	if _, err := db.Exec(`UPDATE users SET attributes = '{"team": "red", "n": 1E2}'`); err != nil {
		t.Fatal(err)
	}
	s := openMigrated(t, db, url)
	ctx := context.Background()
	u, err := s.GetUser(ctx, core.UserRef{Email: "attrs@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Attributes["team"] != "red" || u.Attributes["n"] != json.Number("100") {
		t.Fatalf("attributes after the migration: %v", u.Attributes)
	}
	u.Attributes["n"] = json.Number("1E2")
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	if u, err = s.GetUser(ctx, core.UserRef{ID: u.ID}); err != nil || u.Attributes["n"] != json.Number("1E2") {
		t.Fatalf("a number written after the migration: %v, %v", u.Attributes, err)
	}
}
