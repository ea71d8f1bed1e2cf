package service_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store/sqlite"
	"roster/internal/store/sqlstore"
)

// A key that acts as a provider administrator grants that role as surely
// as giving it to a user does, so with elevation required it needs one too.
func TestProviderAdminKeyNeedsElevation(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	svc := serviceOn(t, st, service.Config{RequireElevation: true, ElevationTTL: time.Minute}, core.NewManualClock(time.Now()), operatorKey)
	admin := mustAuth(t, svc, operatorKey)

	for name, in := range map[string]service.CreateAPIKeyInput{
		"an own key with all of the owner's roles": {Name: "all"},
		"an own key with provider-admin":           {Name: "admin", Roles: []string{core.RoleProviderAdmin}},
		"a provider service key":                   {Name: "robot", Roles: []string{core.RoleProviderAdmin}, Service: true},
	} {
		if _, _, err := svc.CreateAPIKey(ctx, admin, in); core.ErrorCode(err) != core.CodeElevationRequired {
			t.Errorf("%s without elevation: %v, want %s", name, err, core.CodeElevationRequired)
		}
	}
	// Lesser keys need none.
	if _, _, err := svc.CreateAPIKey(ctx, admin, service.CreateAPIKeyInput{Name: "reader", Roles: []string{core.RoleProviderViewer}}); err != nil {
		t.Fatalf("a provider-viewer key: %v", err)
	}

	if _, err := svc.Elevate(ctx, admin); err != nil {
		t.Fatal(err)
	}
	elevated := mustAuth(t, svc, operatorKey)
	if _, _, err := svc.CreateAPIKey(ctx, elevated, service.CreateAPIKeyInput{Name: "robot", Roles: []string{core.RoleProviderAdmin}, Service: true}); err != nil {
		t.Fatalf("elevated: %v", err)
	}
}

// A key presented with another user's name (Everlytic's Basic
// "username:key") is refused, and that is not a use of the key.
func TestRefusedUserKeyIsNoUse(t *testing.T) {
	ctx := context.Background()
	f := newCacheFixture(t)
	svc := f.node(t, -1)
	svc.Drain()
	keys, err := svc.ListAPIKeys(ctx, f.admin, "")
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt == nil {
		t.Fatalf("the operator's key before: %+v, %v", keys, err)
	}
	used := *keys[0].LastUsedAt
	f.clock.Advance(time.Hour)
	if _, err := svc.AuthenticateUserKey(ctx, "nobody", operatorKey); core.ErrorCode(err) != core.CodeUnauthenticated {
		t.Fatalf("another user's name: %v", err)
	}
	svc.Drain()
	keys, _ = svc.ListAPIKeys(ctx, f.admin, "")
	if !keys[0].LastUsedAt.Equal(used) {
		t.Fatalf("a refused login moved the key's last use from %v to %v", used, keys[0].LastUsedAt)
	}
	if _, err := svc.AuthenticateUserKey(ctx, "admin", operatorKey); err != nil {
		t.Fatal(err)
	}
	svc.Drain()
	if keys, _ = svc.ListAPIKeys(ctx, f.admin, ""); !keys[0].LastUsedAt.After(used) {
		t.Fatalf("an accepted login is not a use: %v", keys[0].LastUsedAt)
	}
}

// A session refreshed again and again (ECE's SDK does so every minute)
// still ends SessionMaxAge after its login.
func TestRefreshStopsAtTheSessionMaxAge(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	clock := core.NewManualClock(time.Now())
	svc := serviceOn(t, st, service.Config{SessionTTL: time.Hour, SessionMaxAge: 3 * time.Hour, AuthCacheTTL: -1}, clock, "")
	acmeUser(t, svc, "sam@acme.example", true)
	sess, token, err := svc.Login(ctx, service.LoginInput{Login: "sam@acme.example", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	limit := sess.CreatedAt.Add(3 * time.Hour)
	for range 10 {
		clock.Advance(50 * time.Minute)
		p, err := svc.Authenticate(ctx, token)
		if err != nil {
			break
		}
		until, err := svc.RefreshSession(ctx, p)
		if err != nil || until.After(limit) {
			t.Fatalf("a refresh %s after the login: until %s (limit %s), %v", clock.Now().Sub(sess.CreatedAt), until, limit, err)
		}
	}
	if _, err := svc.Authenticate(ctx, token); core.ErrorCode(err) != core.CodeUnauthenticated {
		t.Fatalf("the session %s after its login, refreshed all along: %v", clock.Now().Sub(sess.CreatedAt), err)
	}
}

// A key restricted to read-only neither sees nor revokes its owner's wider
// keys (the administrator's own, the bootstrap key); it may revoke itself
// and keys no wider than it.
func TestRestrictedKeyReachesNoWiderKey(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	svc := serviceOn(t, st, service.Config{}, nil, operatorKey)
	admin := mustAuth(t, svc, operatorKey)
	adminKey, _, err := svc.CreateAPIKey(ctx, admin, service.CreateAPIKeyInput{Name: "automation"})
	if err != nil {
		t.Fatal(err)
	}
	reader, readerSecret, err := svc.CreateAPIKey(ctx, admin, service.CreateAPIKeyInput{Name: "ro", Roles: []string{core.RoleProviderViewer}})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := svc.CreateAPIKey(ctx, admin, service.CreateAPIKeyInput{Name: "ro2", Roles: []string{core.RoleProviderViewer}})
	if err != nil {
		t.Fatal(err)
	}
	ro := mustAuth(t, svc, readerSecret)
	seen, err := svc.ListAPIKeys(ctx, ro, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range seen {
		if k.ID != reader.ID && k.ID != other.ID {
			t.Errorf("the read-only key sees %q", k.Name)
		}
	}
	if _, err := svc.RevokeAPIKey(ctx, ro, adminKey.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("the read-only key revoking the administrator's key: %v", err)
	}
	if _, err := svc.RevokeAPIKey(ctx, ro, other.ID); err != nil {
		t.Fatalf("the read-only key revoking a key no wider: %v", err)
	}
	if _, err := svc.RevokeAPIKey(ctx, ro, reader.ID); err != nil {
		t.Fatalf("the read-only key revoking itself: %v", err)
	}
	if _, err := svc.Authenticate(ctx, operatorKey); err != nil {
		t.Fatalf("the bootstrap key after all that: %v", err)
	}
}

// With elevation required, another provider administrator's account is
// not taken over without one: its password, email or status changed as
// surely hands over the role as granting it would.
func TestTakingOverAProviderAdminNeedsElevation(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	svc := serviceOn(t, st, service.Config{RequireElevation: true, ElevationTTL: time.Minute}, core.NewManualClock(time.Now()), operatorKey)
	admin := mustAuth(t, svc, operatorKey)
	boss, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Username: "boss", Email: "boss@provider.example",
		Action: service.ActionRegister, Password: "correct horse battery staple", Roles: []string{core.RoleProviderAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	pw, email, disabled := "a takeover passphrase 77", "mine@attacker.example", core.UserDisabled
	for name, in := range map[string]service.UpdateUserInput{"password": {Password: &pw}, "email": {Email: &email}, "status": {Status: &disabled}} {
		if _, err := svc.UpdateUser(ctx, admin, core.UserRef{ID: boss.User.ID}, in); core.ErrorCode(err) != core.CodeElevationRequired {
			t.Errorf("changing another provider administrator's %s without elevation: %v", name, err)
		}
	}
	name := "The Boss"
	if _, err := svc.UpdateUser(ctx, admin, core.UserRef{ID: boss.User.ID}, service.UpdateUserInput{Name: &name}); err != nil {
		t.Fatalf("changing its name needs none: %v", err)
	}
}

// sqliteStore opens a fresh SQLite store that the test closes.
func sqliteStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// An import's upsert is no way round it: a line setting another provider
// administrator's password is refused without an elevation.
func TestImportTakeoverOfAProviderAdminNeedsElevation(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{RequireElevation: true}, nil)
	if _, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Username: "boss", Email: "boss@provider.example",
		Action: service.ActionRegister, Password: "correct horse battery staple", Roles: []string{core.RoleProviderAdmin}}); err != nil {
		t.Fatal(err)
	}
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", ProviderRoles: []string{core.RoleProviderAdmin}}
	res, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{{Line: 1, Email: "boss@provider.example",
		Password: "a takeover passphrase 77", Given: service.GivenEmail}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != "error" || core.ErrorCode(res[0].Error) != core.CodeElevationRequired {
		t.Fatalf("an upsert setting another provider administrator's password: %+v", res[0])
	}
	if _, _, err := svc.Login(ctx, service.LoginInput{Login: "boss@provider.example", Password: "a takeover passphrase 77"}); err == nil {
		t.Fatal("the password the import tried to set opens the account")
	}
}

// A key restricted to a role its owner does not hold by name, but could
// grant (an administrator's read-only key, its key for one tenant), acts
// with that role, and no more.
func TestRestrictedKeyActsWithTheRoleItNames(t *testing.T) {
	ctx := context.Background()
	svc := serviceOn(t, sqliteStore(t), service.Config{}, nil, operatorKey)
	admin := mustAuth(t, svc, operatorKey)
	acme, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	globex, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	_, readerSecret, err := svc.CreateAPIKey(ctx, admin, service.CreateAPIKeyInput{Name: "ro", Roles: []string{core.RoleProviderViewer}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "seen@acme.example", TenantID: acme.ID}); err != nil {
		t.Fatal(err)
	}
	reader := mustAuth(t, svc, readerSecret)
	if page, err := svc.ListUsers(ctx, reader, service.UserQuery{TenantID: acme.ID, Limit: 10}); err != nil || len(page.Users) != 1 {
		t.Fatalf("the read-only key listing Acme's users: %d, %v", len(page.Users), err)
	}
	if _, err := svc.CreateUser(ctx, reader, service.CreateUserInput{Email: "no@acme.example", TenantID: acme.ID}); core.ErrorCode(err) != core.CodeForbidden {
		t.Fatalf("the read-only key creating a user: %v", err)
	}
	_, tenantSecret, err := svc.CreateAPIKey(ctx, admin, service.CreateAPIKeyInput{Name: "acme", TenantID: acme.ID, Roles: []string{core.RoleTenantAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	acmeKey := mustAuth(t, svc, tenantSecret)
	if _, err := svc.CreateUser(ctx, acmeKey, service.CreateUserInput{Email: "yes@acme.example", TenantID: acme.ID}); err != nil {
		t.Fatalf("the key for Acme creating a user there: %v", err)
	}
	if _, err := svc.CreateUser(ctx, acmeKey, service.CreateUserInput{Email: "no@globex.example", TenantID: globex.ID}); core.ErrorCode(err) != core.CodeForbidden {
		t.Fatalf("the key for Acme creating a user in Globex: %v", err)
	}
}

// Users change their own name through their session or a full key; a key
// limited to a tenant or to roles changes its owner only as those roles
// let it change users, so that a leaked read-only key cannot.
func TestLimitedKeyHasNoSelfService(t *testing.T) {
	ctx := context.Background()
	svc := serviceOn(t, sqliteStore(t), service.Config{}, nil, operatorKey)
	admin := mustAuth(t, svc, operatorKey)
	acme, u := acmeUser(t, svc, "self@acme.example", true)
	_, token, err := svc.Login(ctx, service.LoginInput{Login: "self@acme.example", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	session := mustAuth(t, svc, token)
	keyOf := func(p *core.Principal, in service.CreateAPIKeyInput) *core.Principal {
		t.Helper()
		in.Name = "k"
		_, secret, err := svc.CreateAPIKey(ctx, p, in)
		if err != nil {
			t.Fatal(err)
		}
		return mustAuth(t, svc, secret)
	}
	rename := func(p *core.Principal, id, name string) error {
		_, err := svc.UpdateUser(ctx, p, core.UserRef{ID: id}, service.UpdateUserInput{Name: &name})
		return err
	}
	for _, c := range []struct {
		name  string
		p     *core.Principal
		owner string
		ok    bool
	}{
		{"the user's session", session, u.ID, true},
		{"the user's full key", keyOf(session, service.CreateAPIKeyInput{}), u.ID, true},
		{"the user's key for its tenant", keyOf(session, service.CreateAPIKeyInput{TenantID: acme.ID}), u.ID, false},
		{"the user's key with its role", keyOf(session, service.CreateAPIKeyInput{TenantID: acme.ID, Roles: []string{core.RoleTenantUser}}), u.ID, false},
		{"an administrator's provider-viewer key", keyOf(admin, service.CreateAPIKeyInput{Roles: []string{core.RoleProviderViewer}}), admin.UserID, false},
		{"an administrator's tenant-admin key for Acme, on its owner", keyOf(admin, service.CreateAPIKeyInput{TenantID: acme.ID, Roles: []string{core.RoleTenantAdmin}}), admin.UserID, false},
	} {
		err := rename(c.p, c.owner, "Renamed by "+c.name)
		if c.ok && err != nil {
			t.Errorf("%s renaming its owner: %v", c.name, err)
		}
		if !c.ok && core.ErrorCode(err) != core.CodeForbidden {
			t.Errorf("%s renaming its owner: %v, want forbidden", c.name, err)
		}
	}
}

// A user's key limited to one tenant reads its owner as it acts: the
// owner's memberships and invitations in other tenants are not shown
// through it (by GetUser, ListUsers, Me or LatestInvitation), those of
// its own tenant are, with any role there, until the owner leaves it;
// the owner's own session still sees them all.
func TestTenantKeyIsNotToldOfOwnersOtherTenants(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	mine, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	// Invited into Acme, then made an administrator of Globex and put
	// in one of its groups.
	res, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "owner@acme.example", TenantID: mine.ID})
	if err != nil {
		t.Fatal(err)
	}
	owner := res.User
	if _, _, _, err := svc.AcceptInvitation(ctx, res.InvitationToken, service.AcceptInput{Name: "Owner", Password: "correct horse battery staple"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: theirs.ID}, core.UserRef{ID: owner.ID}, []string{core.RoleTenantAdmin}); err != nil {
		t.Fatal(err)
	}
	name := "Secret project"
	g, err := svc.CreateResourceGroup(ctx, core.System, core.TenantRef{ID: theirs.ID}, service.ResourceGroupInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddResourceGroupMember(ctx, core.System, theirs.ID, g.ID, core.UserRef{ID: owner.ID}); err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.Login(ctx, service.LoginInput{Login: "owner@acme.example", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	session, err := svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	keyFor := func(tn core.Tenant) string {
		t.Helper()
		_, secret, err := svc.CreateAPIKey(ctx, session, service.CreateAPIKeyInput{Name: "ci for " + tn.Name, TenantID: tn.ID})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	signIn := func(secret string) *core.Principal {
		t.Helper()
		p, err := svc.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	acmeSecret, globexSecret := keyFor(mine), keyFor(theirs)
	tenantsOf := func(u core.User, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, m := range u.Memberships {
			ids = append(ids, m.TenantID)
		}
		slices.Sort(ids)
		return ids
	}
	invitedInto := func(p *core.Principal) string {
		t.Helper()
		inv, err := svc.LatestInvitation(ctx, p, core.UserRef{ID: owner.ID})
		if core.ErrorCode(err) == core.CodeNotFound {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return inv.TenantID
	}
	both := []string{mine.ID, theirs.ID}
	slices.Sort(both)
	if got := tenantsOf(svc.GetUser(ctx, session, core.UserRef{ID: owner.ID})); !slices.Equal(got, both) {
		t.Fatalf("the owner's session sees tenants %v, want %v", got, both)
	}
	if got := tenantsOf(svc.Me(ctx, session)); !slices.Equal(got, both) {
		t.Fatalf("the owner's session sees itself in tenants %v, want %v", got, both)
	}
	if got := invitedInto(session); got != mine.ID {
		t.Fatalf("the owner's session sees its invitation into %q, want Acme", got)
	}

	key := signIn(acmeSecret)
	only := []string{mine.ID}
	if got := tenantsOf(svc.GetUser(ctx, key, core.UserRef{ID: owner.ID})); !slices.Equal(got, only) {
		t.Errorf("GetUser through a key for Acme shows tenants %v, want %v", got, only)
	}
	if got := tenantsOf(svc.Me(ctx, key)); !slices.Equal(got, only) {
		t.Errorf("Me through a key for Acme shows tenants %v, want %v", got, only)
	}
	page, err := svc.ListUsers(ctx, key, service.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(page.Users, func(u core.User) bool { return u.ID == owner.ID })
	if i < 0 {
		t.Errorf("ListUsers through a key for Acme does not list its owner")
	} else if got := tenantsOf(page.Users[i], nil); !slices.Equal(got, only) {
		t.Errorf("ListUsers through a key for Acme shows its owner in tenants %v, want %v", got, only)
	}
	if got := invitedInto(key); got != mine.ID {
		t.Errorf("LatestInvitation through a key for Acme: %q, want the invitation into Acme", got)
	}

	key = signIn(globexSecret)
	u, err := svc.GetUser(ctx, key, core.UserRef{ID: owner.ID})
	if got := tenantsOf(u, err); !slices.Equal(got, []string{theirs.ID}) || !slices.Equal(u.Memberships[0].ResourceGroupIDs, []string{g.ID}) {
		t.Errorf("GetUser through a key for Globex shows %+v, want Globex's membership with its group", u.Memberships)
	}
	if got := invitedInto(key); got != "" {
		t.Errorf("LatestInvitation through a key for Globex shows the invitation into %q", got)
	}

	// With a role in Acme that reads nothing there, the key still sees
	// its owner's membership of Acme, which it acts in...
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: mine.ID}, core.UserRef{ID: owner.ID}, []string{core.RolePurgeOnly}); err != nil {
		t.Fatal(err)
	}
	key = signIn(acmeSecret)
	if got := tenantsOf(svc.Me(ctx, key)); !slices.Equal(got, only) {
		t.Errorf("Me through a purge-only key for Acme shows tenants %v, want %v", got, only)
	}
	if got := invitedInto(key); got != mine.ID {
		t.Errorf("LatestInvitation through a purge-only key for Acme: %q, want the invitation into Acme", got)
	}
	// ...and nothing of Acme once its owner has left it.
	if err := svc.RemoveMember(ctx, core.System, core.TenantRef{ID: mine.ID}, core.UserRef{ID: owner.ID}); err != nil {
		t.Fatal(err)
	}
	key = signIn(acmeSecret) // it still signs in, acting nowhere
	if got := tenantsOf(svc.Me(ctx, key)); len(got) != 0 {
		t.Errorf("Me through a key for a tenant its owner left shows tenants %v", got)
	}
	if got := invitedInto(key); got != "" {
		t.Errorf("LatestInvitation through a key for a tenant its owner left shows the invitation into %q", got)
	}
}
