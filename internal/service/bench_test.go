package service_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
	"roster/internal/store/sqlite"
	"roster/internal/store/sqlstore"
)

// benchService is a service over a fresh SQLite database with a tenant.
func benchService(b *testing.B) (*service.Service, *sqlstore.DB, string) {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	pool := password.NewPool(password.PoolConfig{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, Size: 2}, nil)
	svc := service.New(st, pool, nil, service.Config{}, nil)
	if _, err := svc.Bootstrap(context.Background(), ""); err != nil {
		b.Fatal(err)
	}
	t, err := svc.CreateTenant(context.Background(), core.System, service.TenantInput{Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	return svc, st, t.ID
}

// BenchmarkCreateUserInvite is the service's share of invite-create:
// validation, the invitation and its email, one transaction. Two at a
// time, each create waits for its own commit; 64 at a time, as under a
// server's load, the committer groups them.
func BenchmarkCreateUserInvite(b *testing.B) {
	for _, perCPU := range []int{1, 32} {
		b.Run(fmt.Sprintf("%d_per_cpu", perCPU), func(b *testing.B) {
			svc, _, tenant := benchService(b)
			// A request's context can be cancelled, as a server's always can.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ReportAllocs()
			b.SetParallelism(perCPU)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{
						Email: fmt.Sprintf("u%s@bench.example", core.NewID()), TenantID: tenant})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkListUsers reads pages of 100 from 100,000 users: keyset pages
// from the middle, and prefix searches.
func BenchmarkListUsers(b *testing.B) {
	svc, st, _ := benchService(b)
	ctx := context.Background()
	const users = 100_000
	if err := st.Exec(ctx, fmt.Sprintf(`WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %d)
		INSERT INTO users (number, id, email, email_norm, username, username_norm, name, name_norm, status, auth_types, created_at, updated_at)
		SELECT n + 10, printf('%%08x-0000-7000-8000-%%012x', n, n), 'user' || n || '@example.com', 'user' || n || '@example.com',
		'u' || n, 'u' || n, 'User ' || n, 'user ' || n, 'active', 'password', n, n FROM seq`, users)); err != nil {
		b.Fatal(err)
	}
	mid := fmt.Sprintf("%08x-0000-7000-8000-%012x", users/2, users/2)
	b.Run("keyset page", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			page, err := svc.ListUsers(ctx, core.System, service.UserQuery{Cursor: service.CursorAfter(mid), Limit: 100})
			if err != nil || len(page.Users) != 100 {
				b.Fatalf("%d users, %v", len(page.Users), err)
			}
		}
	})
	b.Run("prefix search", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			page, err := svc.ListUsers(ctx, core.System, service.UserQuery{Prefix: "user1", Limit: 100})
			if err != nil || len(page.Users) != 100 {
				b.Fatalf("%d users, %v", len(page.Users), err)
			}
		}
	})
}

// BenchmarkImportUsers writes batches of 500 users with password hashes
// and a tenant membership, as an import does; the figure is per user.
func BenchmarkImportUsers(b *testing.B) {
	svc, _, tenant := benchService(b)
	ctx := context.Background()
	hash, err := password.EncodeCheap(password.Formats[0], "imported")
	if err != nil {
		b.Fatal(err)
	}
	const batch = 500
	items := make([]service.ImportItem, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		for i := range items {
			items[i] = service.ImportItem{Line: i + 1, Email: fmt.Sprintf("u%d@bench.example", done+i),
				PasswordHash: hash, TenantID: tenant}
		}
		results, err := svc.ImportUsers(ctx, core.System, service.ImportCreate, items[:min(batch, b.N-done)])
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range results {
			if r.Status != "created" {
				b.Fatalf("line %d: %s %v", r.Line, r.Status, r.Error)
			}
		}
	}
}
