package service_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
	"roster/internal/store"
	"roster/internal/store/sqlite"
)

const operatorKey = "rk_operator_0123456789abcdefghijklmnopqrstuvwxyz"

// countingStore counts key lookups: the cache's whole point is to skip them.
type countingStore struct {
	store.Store
	keyLookups    atomic.Int64
	tenantLookups atomic.Int64
}

func (c *countingStore) GetTenant(ctx context.Context, ref store.TenantRef) (core.Tenant, error) {
	c.tenantLookups.Add(1)
	return c.Store.GetTenant(ctx, ref)
}

func (c *countingStore) GetAPIKeyByHash(ctx context.Context, hash string) (core.APIKey, error) {
	c.keyLookups.Add(1)
	return c.Store.GetAPIKeyByHash(ctx, hash)
}

type cacheFixture struct {
	st    *countingStore
	clock *core.ManualClock
	pool  *password.Pool
	admin *core.Principal
}

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &cacheFixture{st: &countingStore{Store: st}, clock: core.NewManualClock(time.Now()),
		pool: password.NewPool(password.PoolConfig{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, Size: 2}, nil)}
}

// node is one roster process over the fixture's database.
func (f *cacheFixture) node(t *testing.T, ttl time.Duration) *service.Service {
	t.Helper()
	svc := service.New(f.st, f.pool, f.clock, service.Config{AuthCacheTTL: ttl}, nil)
	t.Cleanup(svc.Drain)
	if _, err := svc.Bootstrap(context.Background(), operatorKey); err != nil {
		t.Fatal(err)
	}
	if f.admin == nil {
		admin, err := svc.Authenticate(context.Background(), operatorKey)
		if err != nil {
			t.Fatal(err)
		}
		f.admin = admin
	}
	return svc
}

func mustAuth(t *testing.T, svc *service.Service, secret string) *core.Principal {
	t.Helper()
	p, err := svc.Authenticate(context.Background(), secret)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

func mustRefuse(t *testing.T, svc *service.Service, secret, why string) {
	t.Helper()
	if p, err := svc.Authenticate(context.Background(), secret); core.ErrorCode(err) != core.CodeUnauthenticated {
		t.Fatalf("%s: authenticate gave %+v, %v; want unauthenticated", why, p, err)
	}
}

func TestAuthCacheServesRepeatsFromMemory(t *testing.T) {
	f := newCacheFixture(t)
	svc := f.node(t, time.Hour)
	// The key's first use is written in the background; that write
	// changes no one's principal and must leave the cache alone.
	svc.Drain()
	before := f.st.keyLookups.Load()
	for range 5 {
		mustAuth(t, svc, operatorKey)
	}
	if n := f.st.keyLookups.Load() - before; n != 0 {
		t.Fatalf("a cached key was looked up %d times", n)
	}

	off := f.node(t, -1)
	before = f.st.keyLookups.Load()
	for range 3 {
		mustAuth(t, off, operatorKey)
	}
	if n := f.st.keyLookups.Load() - before; n != 3 {
		t.Fatalf("with the cache off, 3 authentications looked the key up %d times", n)
	}
}

// Every change that alters what a credential may do takes effect on the
// node that made it at once, however long the cache would keep it.
func TestAuthCacheClearedByChangesOnThisNode(t *testing.T) {
	ctx := context.Background()
	f := newCacheFixture(t)
	svc := f.node(t, time.Hour)
	tenant, err := svc.CreateTenant(ctx, f.admin, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	register := func(email string) (core.User, string) {
		t.Helper()
		res, err := svc.CreateUser(ctx, f.admin, service.CreateUserInput{Action: service.ActionRegister, Email: email,
			Password: "correct horse battery staple", TenantID: tenant.ID, Roles: []string{"tenant-admin"}})
		if err != nil {
			t.Fatal(err)
		}
		_, token, err := svc.Login(ctx, service.LoginInput{Login: email, Password: "correct horse battery staple", ClientAddr: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return res.User, token
	}

	t.Run("revoked key", func(t *testing.T) {
		key, secret, err := svc.CreateAPIKey(ctx, f.admin, service.CreateAPIKeyInput{Name: "ci", Service: true, Roles: []string{"provider-viewer"}})
		if err != nil {
			t.Fatal(err)
		}
		mustAuth(t, svc, secret)
		if _, err := svc.RevokeAPIKey(ctx, f.admin, key.ID); err != nil {
			t.Fatal(err)
		}
		mustRefuse(t, svc, secret, "after revocation")
	})
	t.Run("disabled user", func(t *testing.T) {
		u, token := register("disabled@example.com")
		mustAuth(t, svc, token)
		disabled := core.UserDisabled
		if _, err := svc.UpdateUser(ctx, f.admin, core.UserRef{ID: u.ID}, service.UpdateUserInput{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		mustRefuse(t, svc, token, "after disabling the user")
	})
	t.Run("lowered role", func(t *testing.T) {
		u, token := register("lowered@example.com")
		if roles := mustAuth(t, svc, token).TenantRoles[tenant.ID]; len(roles) != 1 || roles[0] != "tenant-admin" {
			t.Fatalf("roles before: %v", roles)
		}
		if _, err := svc.PutMember(ctx, f.admin, core.TenantRef{ID: tenant.ID}, core.UserRef{ID: u.ID}, []string{"viewer"}); err != nil {
			t.Fatal(err)
		}
		if roles := mustAuth(t, svc, token).TenantRoles[tenant.ID]; len(roles) != 1 || roles[0] != "viewer" {
			t.Fatalf("roles after lowering to viewer: %v", roles)
		}
	})
	t.Run("removed from tenant", func(t *testing.T) {
		u, token := register("removed@example.com")
		mustAuth(t, svc, token)
		if err := svc.RemoveMember(ctx, f.admin, core.TenantRef{ID: tenant.ID}, core.UserRef{ID: u.ID}); err != nil {
			t.Fatal(err)
		}
		if roles, ok := mustAuth(t, svc, token).TenantRoles[tenant.ID]; ok {
			t.Fatalf("still holds %v in the tenant it was removed from", roles)
		}
	})
	t.Run("logout", func(t *testing.T) {
		_, token := register("logout@example.com")
		p := mustAuth(t, svc, token)
		if err := svc.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		mustRefuse(t, svc, token, "after logout")
	})
	t.Run("cached principal cannot be altered by its holder", func(t *testing.T) {
		p := mustAuth(t, svc, operatorKey)
		p.ProviderRoles = append(p.ProviderRoles[:0], "provider-viewer")
		p.TenantRoles[tenant.ID] = []string{"tenant-admin"}
		again := mustAuth(t, svc, operatorKey)
		if len(again.ProviderRoles) != 1 || again.ProviderRoles[0] != "provider-admin" || len(again.TenantRoles) != 0 {
			t.Fatalf("the cache handed out a principal its caller could change: %+v", again)
		}
	})
}

// A change made on another node is seen once the TTL has passed.
func TestAuthCacheOtherNodeSeesChangeWithinTTL(t *testing.T) {
	ctx := context.Background()
	f := newCacheFixture(t)
	const ttl = 200 * time.Millisecond
	nodeA, nodeB := f.node(t, ttl), f.node(t, ttl)
	key, secret, err := nodeA.CreateAPIKey(ctx, f.admin, service.CreateAPIKeyInput{Name: "ci", Service: true, Roles: []string{"provider-viewer"}})
	if err != nil {
		t.Fatal(err)
	}
	mustAuth(t, nodeB, secret)
	if _, err := nodeA.RevokeAPIKey(ctx, f.admin, key.ID); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, nodeA, secret, "on the node that revoked it")
	time.Sleep(ttl + 50*time.Millisecond)
	mustRefuse(t, nodeB, secret, "on another node, after the TTL")
}

// An entry never outlives the credential's own expiry.
func TestAuthCacheRespectsExpiry(t *testing.T) {
	ctx := context.Background()
	f := newCacheFixture(t)
	svc := f.node(t, time.Hour)
	expires := f.clock.Now().Add(time.Minute)
	_, secret, err := svc.CreateAPIKey(ctx, f.admin, service.CreateAPIKeyInput{Name: "short", Service: true,
		Roles: []string{"provider-viewer"}, ExpiresAt: &expires})
	if err != nil {
		t.Fatal(err)
	}
	mustAuth(t, svc, secret)
	f.clock.Advance(2 * time.Minute)
	mustRefuse(t, svc, secret, "after the key expired")
}

// Creating users one after another in a tenant reads the tenant once per
// TTL; suspending it takes effect at once on the node that did it, and on
// another node within the TTL.
func TestTenantCacheOnCreate(t *testing.T) {
	ctx := context.Background()
	f := newCacheFixture(t)
	const ttl = 300 * time.Millisecond
	nodeA, nodeB := f.node(t, ttl), f.node(t, ttl)
	tenant, err := nodeA.CreateTenant(ctx, f.admin, service.TenantInput{Name: "Busy"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	create := func(svc *service.Service) error {
		n++
		_, err := svc.CreateUser(ctx, f.admin, service.CreateUserInput{Email: fmt.Sprintf("u%d@busy.example", n), TenantID: tenant.ID})
		return err
	}
	before := f.st.tenantLookups.Load()
	for range 5 {
		if err := create(nodeA); err != nil {
			t.Fatal(err)
		}
	}
	if err := create(nodeB); err != nil {
		t.Fatal(err)
	}
	if got := f.st.tenantLookups.Load() - before; got != 2 {
		t.Fatalf("six creates on two nodes read the tenant %d times, want once per node", got)
	}

	suspended := core.TenantSuspended
	if _, err := nodeA.UpdateTenant(ctx, f.admin, core.TenantRef{ID: tenant.ID}, service.UpdateTenantInput{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	if err := create(nodeA); core.ErrorCode(err) != core.CodeInvalid || !strings.Contains(err.Error(), "suspended") {
		t.Fatalf("create on the node that suspended the tenant: %v; want invalid (suspended)", err)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	if err := create(nodeB); core.ErrorCode(err) != core.CodeInvalid || !strings.Contains(err.Error(), "suspended") {
		t.Fatalf("create on another node after the TTL: %v; want invalid (suspended)", err)
	}
}

// A credential no key could be (empty, or longer than any key) is refused
// without a lookup, through Everlytic's username and key as through a
// bearer secret.
func TestImpossibleSecretsAreNotLookedUp(t *testing.T) {
	f := newCacheFixture(t)
	svc := f.node(t, -1)
	before := f.st.keyLookups.Load()
	for _, secret := range []string{"", strings.Repeat("k", 100_000)} {
		if _, err := svc.Authenticate(context.Background(), secret); core.ErrorCode(err) != core.CodeUnauthenticated {
			t.Fatalf("bearer of %d bytes: %v", len(secret), err)
		}
		if _, err := svc.AuthenticateUserKey(context.Background(), "admin", secret); core.ErrorCode(err) != core.CodeUnauthenticated {
			t.Fatalf("user key of %d bytes: %v", len(secret), err)
		}
	}
	if _, err := svc.AuthenticateUserKey(context.Background(), "", operatorKey); core.ErrorCode(err) != core.CodeUnauthenticated {
		t.Fatalf("a key without its username: %v", err)
	}
	if n := f.st.keyLookups.Load() - before; n != 0 {
		t.Fatalf("impossible secrets were looked up %d times", n)
	}
}
