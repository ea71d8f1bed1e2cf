package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

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
