package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
)

// seedCommand fills a database quickly for benchmarks: tenants, and users
// user<n>@seed.example (username u<n>, name "Seed User <n>") spread over
// them, all with one password. It writes through the service's import, so
// the rows are exactly what roster makes; running it again adds only the
// users that are missing.
// seedTenantPage is how many seed tenants one look-up reads (a test makes
// it small to page through few).
var seedTenantPage = service.MaxPageSize

func seedCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roster seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", envOr(getenv, "ROSTER_DB", "roster.db"), "SQLite file path, or a postgres:// URL (env ROSTER_DB)")
	users := fs.Int("users", 10000, "how many users")
	tenants := fs.Int("tenants", 100, "how many tenants to spread them over")
	pw := fs.String("password", "seed password 1234", "every seeded user's password")
	memory := fs.Uint("password-memory", 19456, "argon2id memory of the stored hash, KiB (match the server's to avoid a rehash at first login)")
	ptime := fs.Uint("password-time", 2, "argon2id passes of the stored hash")
	out := fs.String("out", "", "write the users as an NDJSON file for roster import (POST /v1/users/import) instead")
	tenantID := fs.String("tenant-id", "", "with --out: the tenant the users join (default: none, provider-level users)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Checked before anything is written, as serve checks its own.
	params := password.Params{Memory: uint32(*memory), Time: uint32(*ptime), Threads: 1}
	if uint64(*memory) > math.MaxUint32 || uint64(*ptime) > math.MaxUint32 {
		return errors.New("--password-memory, --password-time: out of range")
	}
	if err := password.ValidateParams(params); err != nil {
		return fmt.Errorf("--password-memory, --password-time: %w", err)
	}
	if *users < 0 {
		return errors.New("--users must not be negative")
	}
	if *out != "" {
		hash := password.HashArgon2id(*pw, params)
		return writeSeedFile(*out, *users, *tenantID, hash, stdout)
	}
	if *tenants < 1 {
		return errors.New("--tenants must be at least 1")
	}
	dsn, err := checkDB(*db)
	if err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	st, err := openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	pool := password.NewPool(password.PoolConfig{Size: runtime.GOMAXPROCS(0)}, prometheus.NewRegistry())
	svc := service.New(st, pool, core.SystemClock{}, service.Config{}, slog.New(slog.DiscardHandler))
	// On an empty database this makes the admin's key, as serve would:
	// the operator's choice, or a new one shown once (else the seeded
	// database would have no key anyone knows).
	boot, err := svc.Bootstrap(ctx, getenv("ROSTER_BOOTSTRAP_API_KEY"))
	if err != nil {
		return err
	}
	if boot.GeneratedKey != "" {
		fmt.Fprintf(stderr, "roster: created the provider and the built-in user \"admin\" with this API key "+
			"(shown only now):\n\n    %s\n\n", boot.GeneratedKey)
	}
	// The tenants: reuse those named "Seed Tenant …", make the rest.
	var tenantIDs []string
	for cursor := ""; len(tenantIDs) < *tenants; {
		page, err := svc.ListTenants(ctx, core.System, service.TenantQuery{Prefix: "Seed Tenant ", Cursor: cursor, Limit: seedTenantPage})
		if err != nil {
			return err
		}
		for _, t := range page.Tenants {
			tenantIDs = append(tenantIDs, t.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	tenantIDs = tenantIDs[:min(len(tenantIDs), *tenants)]
	for i := len(tenantIDs); i < *tenants; i++ {
		t, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: fmt.Sprintf("Seed Tenant %d", i+1)})
		if err != nil {
			return err
		}
		tenantIDs = append(tenantIDs, t.ID)
	}
	hash := password.HashArgon2id(*pw, params)
	start := time.Now()
	counts := map[string]int{}
	const batch = service.MaxImportBatch
	items := make([]service.ImportItem, 0, batch)
	for n := 1; n <= *users; n++ {
		items = append(items, service.ImportItem{Line: n, Email: fmt.Sprintf("user%d@seed.example", n),
			Username: fmt.Sprintf("u%d", n), Name: fmt.Sprintf("Seed User %d", n), PasswordHash: hash,
			EmailConfirmed: true, TenantID: tenantIDs[n%len(tenantIDs)]})
		if len(items) == batch || n == *users {
			results, err := svc.ImportUsers(ctx, core.System, service.ImportCreate, items)
			if err != nil {
				return err
			}
			for _, r := range results {
				counts[r.Status]++
				if r.Status == "error" {
					return fmt.Errorf("line %d: %v", r.Line, r.Error)
				}
			}
			items = items[:0]
			if n%(batch*50) == 0 || n == *users {
				el := time.Since(start)
				fmt.Fprintf(stderr, "%d/%d users (%d created, %d existed) in %s, %.0f/s\n", n, *users, counts["created"],
					counts["skipped"], el.Round(time.Second), float64(n)/el.Seconds())
			}
		}
	}
	fmt.Fprintf(stdout, "seeded %s: %d tenants, %d users created, %d already there, in %s; password %q\n",
		describeDB(dsn), len(tenantIDs), counts["created"], counts["skipped"], time.Since(start).Round(time.Millisecond), *pw)
	return nil
}

// writeSeedFile writes n users as import lines, all with one password hash
// (an import stores hashes as they are; logins verify them later).
func writeSeedFile(path string, n int, tenantID, hash string, stdout io.Writer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	type line struct {
		Email          string `json:"email"`
		Username       string `json:"username"`
		Name           string `json:"name"`
		PasswordHash   string `json:"password_hash"`
		EmailConfirmed bool   `json:"email_confirmed"`
		TenantID       string `json:"tenant_id,omitempty"`
	}
	enc := json.NewEncoder(w)
	for i := 1; i <= n; i++ {
		if err := enc.Encode(line{Email: fmt.Sprintf("user%d@seed.example", i), Username: fmt.Sprintf("u%d", i),
			Name: fmt.Sprintf("Seed User %d", i), PasswordHash: hash, EmailConfirmed: true, TenantID: tenantID}); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d users to %s\n", n, path)
	return nil
}
