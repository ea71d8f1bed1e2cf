package service_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
	"roster/internal/store"
	"roster/internal/store/sqlite"
)

// importService is a bootstrapped service over a fresh SQLite database,
// whose store wrap (when not nil) may replace; st is the database itself.
func importService(t *testing.T, cfg service.Config, wrap func(store.Store) store.Store) (svc *service.Service, st store.Store) {
	t.Helper()
	return serviceWith(t, cfg, wrap, nil)
}

// serviceWith is importService whose password pool reports into reg.
func serviceWith(t *testing.T, cfg service.Config, wrap func(store.Store) store.Store, reg prometheus.Registerer) (svc *service.Service, st store.Store) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "import.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st = db
	seen := st
	if wrap != nil {
		seen = wrap(st)
	}
	pool := password.NewPool(password.PoolConfig{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, Size: 2}, reg)
	svc = service.New(seen, pool, nil, cfg, nil)
	t.Cleanup(svc.Drain)
	if _, err := svc.Bootstrap(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// matchHook runs once, right after the import's first match of existing
// users (outside its write transaction), as a concurrent request would.
type matchHook struct {
	store.Store
	once sync.Once
	hook func()
}

func (m *matchHook) MatchUsers(ctx context.Context, k store.UserKeys) ([]core.User, error) {
	users, err := m.Store.MatchUsers(ctx, k)
	m.once.Do(m.hook)
	return users, err
}

// The import decides that its caller may change a user on a read made
// before the hashes run; when the user changes before the write (here it
// joins a tenant the caller does not manage, or is deleted), the line is
// refused instead of overwriting the user from that old read.
func TestImportRefusesUsersChangedSinceTheMatch(t *testing.T) {
	for _, change := range []string{"joins another tenant", "is deleted"} {
		t.Run(change, func(t *testing.T) {
			ctx := context.Background()
			var hooked *matchHook
			svc, st := importService(t, service.Config{}, func(st store.Store) store.Store {
				hooked = &matchHook{Store: st}
				return hooked
			})
			mine, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Mine"})
			if err != nil {
				t.Fatal(err)
			}
			other, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Other"})
			if err != nil {
				t.Fatal(err)
			}
			created, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "target@import.example", TenantID: mine.ID})
			if err != nil {
				t.Fatal(err)
			}
			target := created.User
			hooked.hook = func() {
				var err error
				if change == "is deleted" {
					_, err = svc.DeleteUser(ctx, core.System, core.UserRef{ID: target.ID})
				} else {
					_, err = svc.PutMember(ctx, core.System, core.TenantRef{ID: other.ID}, core.UserRef{ID: target.ID}, []string{"tenant-admin"})
				}
				if err != nil {
					t.Errorf("the concurrent change: %v", err)
				}
			}
			admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", TenantRoles: map[string][]string{mine.ID: {"tenant-admin"}}}
			hash, err := password.EncodeCheap(password.FormatBcrypt, "the importer's passphrase")
			if err != nil {
				t.Fatal(err)
			}
			res, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{
				{Line: 1, Email: "target@import.example", TenantID: mine.ID, PasswordHash: hash, Given: service.GivenEmail},
				{Line: 2, Email: "new@import.example", TenantID: mine.ID, Given: service.GivenEmail},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Status != "error" || res[0].Error.Code != core.CodeConflict || res[1].Status != "created" {
				t.Fatalf("results: %+v, %+v", res[0], res[1])
			}
			if _, err := st.GetCredential(ctx, target.ID); core.ErrorCode(err) != core.CodeNotFound {
				t.Fatalf("the changed user got the import's password: %v", err)
			}
			if change == "is deleted" {
				if u, err := st.GetUser(ctx, core.UserRef{ID: target.ID}); err != nil || u.Status != core.UserDeleted {
					t.Fatalf("the deleted user came back: %+v, %v", u, err)
				}
			}
		})
	}
}

// lockRecorder notes, inside write transactions, the users locked and
// whether each read of users by key came after a lock of them.
type lockRecorder struct {
	store.Store
	mu     sync.Mutex
	locked []string
	reads  []bool // per MatchUsers in a transaction: were its ids all locked before it
}

func (r *lockRecorder) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return r.Store.InTx(ctx, func(tx store.Tx) error { return fn(&lockRecordingTx{Tx: tx, r: r}) })
}

type lockRecordingTx struct {
	store.Tx
	r *lockRecorder
}

func (t *lockRecordingTx) LockUsers(ctx context.Context, ids []string) error {
	t.r.mu.Lock()
	t.r.locked = append(t.r.locked, ids...)
	t.r.mu.Unlock()
	return t.Tx.LockUsers(ctx, ids)
}

func (t *lockRecordingTx) MatchUsers(ctx context.Context, k store.UserKeys) ([]core.User, error) {
	t.r.mu.Lock()
	all := len(k.IDs) > 0
	for _, id := range k.IDs {
		all = all && slices.Contains(t.r.locked, id)
	}
	t.r.reads = append(t.r.reads, all)
	t.r.mu.Unlock()
	return t.Tx.MatchUsers(ctx, k)
}

// The import's second look at the users it updates, inside the write,
// locks them first: another node (PostgreSQL) cannot change what they may
// access between that look and the commit (the store's node tests show
// the lock holding).
func TestImportLocksTheUsersItRechecks(t *testing.T) {
	ctx := context.Background()
	var rec *lockRecorder
	svc, _ := importService(t, service.Config{}, func(st store.Store) store.Store {
		rec = &lockRecorder{Store: st}
		return rec
	})
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Locked"})
	if err != nil {
		t.Fatal(err)
	}
	created, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "relocked@import.example", TenantID: tn.ID})
	if err != nil {
		t.Fatal(err)
	}
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", TenantRoles: map[string][]string{tn.ID: {"tenant-admin"}}}
	res, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{
		{Line: 1, Email: "relocked@import.example", Name: "Renamed", TenantID: tn.ID, Given: service.GivenEmail | service.GivenName},
	})
	if err != nil || res[0].Status != "updated" {
		t.Fatalf("import: %+v, %v", res, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Contains(rec.locked, created.User.ID) || len(rec.reads) == 0 || !rec.reads[len(rec.reads)-1] {
		t.Fatalf("locked %v, reads after a lock %v", rec.locked, rec.reads)
	}
}

// An upsert changes a user as PATCH /v1/users/{id} would: a new email is
// unconfirmed unless the line says otherwise, first and last names make
// the name when the line gives no name, attributes merge key by key (a
// null removes one), a password completes an invited user, and the status
// changes PATCH refuses are refused on their line.
func TestImportUpsertIsLikePatch(t *testing.T) {
	ctx := context.Background()
	svc, st := importService(t, service.Config{}, nil)
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", ProviderRoles: []string{core.RoleProviderAdmin}}
	hash, err := password.EncodeCheap(password.FormatBcrypt, "an imported passphrase")
	if err != nil {
		t.Fatal(err)
	}
	created, err := svc.ImportUsers(ctx, admin, service.ImportCreate, []service.ImportItem{
		{Line: 1, Email: "ann@patch.example", FirstName: "Ann", LastName: "Lee", EmailConfirmed: true,
			Attributes: map[string]any{"a": 1.0, "b": 2.0}, Given: service.GivenEmail | service.GivenFirstName | service.GivenLastName | service.GivenEmailConfirmed},
		{Line: 2, Email: "ivy@patch.example", Status: core.UserInvited, Given: service.GivenEmail | service.GivenStatus},
		{Line: 3, Email: "kim@patch.example", Status: core.UserInvited, Given: service.GivenEmail | service.GivenStatus},
		{Line: 4, Email: "lou@patch.example", EmailConfirmed: true, Given: service.GivenEmail | service.GivenEmailConfirmed},
		{Line: 5, Email: "max@patch.example", Given: service.GivenEmail},
		{Line: 6, Email: "ned@patch.example", Given: service.GivenEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for i, r := range created {
		if r.Status != "created" {
			t.Fatalf("line %d: %+v", i+1, r)
		}
		ids[[]string{"ann", "ivy", "kim", "lou", "max", "ned"}[i]] = r.ID
	}
	big := strings.Repeat("x", 9<<10)
	res, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{
		{Line: 1, ID: ids["ann"], Email: "ann.ray@patch.example", LastName: "Ray", Attributes: map[string]any{"b": nil, "c": 3.0},
			Given: service.GivenEmail | service.GivenLastName},
		// A line with an id needs no email or username to update its user.
		{Line: 2, ID: ids["ivy"], PasswordHash: hash},
		{Line: 3, ID: ids["kim"], Status: core.UserActive, Given: service.GivenStatus},
		{Line: 4, ID: ids["lou"], Email: "lou.new@patch.example", EmailConfirmed: true, Status: core.UserInvited,
			Given: service.GivenEmail | service.GivenEmailConfirmed | service.GivenStatus},
		{Line: 5, ID: ids["max"], Email: "max@patch.example", Attributes: map[string]any{"one": big}, Given: service.GivenEmail},
		// But a new user needs one, and an update may not leave none.
		{Line: 6, ID: core.NewID(), Name: "Nobody", Given: service.GivenName},
		{Line: 7, ID: ids["ned"], Email: "", Given: service.GivenEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A second line for max in the same import would be refused as a
	// second match of one user; the next import merges into line 5's.
	res2, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{
		{Line: 1, ID: ids["max"], Email: "max@patch.example", Attributes: map[string]any{"two": big}, Given: service.GivenEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	res = append(res, res2...)
	want := []struct{ status, field string }{{"updated", ""}, {"updated", ""}, {"error", "status"}, {"error", "status"}, {"updated", ""},
		{"error", "email"}, {"error", "email"}, {"error", "attributes"}}
	for i, w := range want {
		r := res[i]
		if r.Status != w.status || (w.field != "" && (r.Error == nil || len(r.Error.Fields) == 0 || r.Error.Fields[0].Field != w.field)) {
			t.Errorf("line %d: %+v (error %+v), want %s %s", i+1, r, r.Error, w.status, w.field)
		}
	}
	get := func(name string) core.User {
		u, err := st.GetUser(ctx, core.UserRef{ID: ids[name]})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ann := get("ann")
	if ann.EmailConfirmed || ann.Name != "Ann Ray" || ann.FirstName != "Ann" || len(ann.Attributes) != 2 ||
		ann.Attributes["a"] != json.Number("1") || ann.Attributes["c"] != json.Number("3") {
		t.Errorf("ann after the upsert: confirmed %v, name %q, first %q, attributes %v", ann.EmailConfirmed, ann.Name, ann.FirstName, ann.Attributes)
	}
	if ivy := get("ivy"); ivy.Status != core.UserActive {
		t.Errorf("an invited user given a password is %s", ivy.Status)
	}
	if kim, lou, ned := get("kim"), get("lou"), get("ned"); kim.Status != core.UserInvited || lou.Status != core.UserActive ||
		lou.Email != "lou@patch.example" || ned.Email != "ned@patch.example" {
		t.Errorf("refused lines changed their users: kim %s, lou %s %s, ned %q", kim.Status, lou.Status, lou.Email, ned.Email)
	}
	// The second import was refused for the size of what the merge would
	// make, not of its own attributes; line 5's write stands.
	if max := get("max"); len(max.Attributes) != 1 || max.Attributes["one"] != big {
		t.Errorf("max's attributes: %d keys", len(max.Attributes))
	}
}

// What a line leaves out is still part of what PATCH checks: a password
// is held to the user's own email and username, an invited user keeps an
// email and does not keep "invited" with a password, and a second line for
// the same user is refused even when the first was.
func TestImportUpsertChecksTheMergedUser(t *testing.T) {
	ctx := context.Background()
	svc, st := importService(t, service.Config{}, nil)
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", ProviderRoles: []string{core.RoleProviderAdmin}}
	hash, err := password.EncodeCheap(password.FormatBcrypt, "an imported passphrase")
	if err != nil {
		t.Fatal(err)
	}
	created, err := svc.ImportUsers(ctx, admin, service.ImportCreate, []service.ImportItem{
		{Line: 1, Email: "correct.horse.battery@merged.example", Given: service.GivenEmail},
		{Line: 2, Email: "inv@merged.example", Username: "inv", Status: core.UserInvited, Given: service.GivenEmail | service.GivenUsername | service.GivenStatus},
		{Line: 3, Email: "two@merged.example", ExternalID: "two", Given: service.GivenEmail | service.GivenExternalID},
	})
	if err != nil {
		t.Fatal(err)
	}
	pw, inv, two := created[0].ID, created[1].ID, created[2].ID
	res, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{
		{Line: 1, ID: pw, Password: "correct.horse.battery@merged.example"},
		{Line: 2, ID: inv, Email: "", Given: service.GivenEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{
		{Line: 1, ID: inv, Email: "inv@merged.example", Status: core.UserInvited, PasswordHash: hash, Given: service.GivenEmail | service.GivenStatus},
		{Line: 2, ID: two, Status: core.UserInvited, Given: service.GivenStatus},
		{Line: 3, ExternalID: "two", Name: "Second", Given: service.GivenName},
	})
	if err != nil {
		t.Fatal(err)
	}
	res = append(res, res2...)
	for i, want := range []string{"password", "email", "status", "status", ""} {
		r := res[i]
		if r.Status != "error" || (want != "" && (len(r.Error.Fields) == 0 || r.Error.Fields[0].Field != want)) {
			t.Errorf("result %d: %+v (error %+v), want an error on %q", i, r, r.Error, want)
		}
	}
	if r := res[4]; r.Error == nil || !strings.Contains(r.Error.Message, "matches the same existing user") {
		t.Errorf("a second line for a user whose first line was refused: %+v", r.Error)
	}
	if _, err := st.GetCredential(ctx, pw); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("the refused password was stored: %v", err)
	}
	if u, _ := st.GetUser(ctx, core.UserRef{ID: inv}); u.Email != "inv@merged.example" || u.Status != core.UserInvited {
		t.Errorf("the invited user after refused lines: %q %s", u.Email, u.Status)
	}
	if u, _ := st.GetUser(ctx, core.UserRef{ID: two}); u.Name == "Second" || u.Status != core.UserActive {
		t.Errorf("two after refused lines: %q %s", u.Name, u.Status)
	}
}

// A second review's cases: a line naming another tenant does not escape
// the password policy of the tenant the user is in; an invited user keeps
// its email whatever status the line gives; and a line refused for its id
// still claims its user against a later line naming it otherwise.
func TestImportUpsertLeavesNoWayAround(t *testing.T) {
	ctx := context.Background()
	svc, st := importService(t, service.Config{}, nil)
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", ProviderRoles: []string{core.RoleProviderAdmin}}
	strict, lax := strictAndLax(t, svc)
	created, err := svc.ImportUsers(ctx, admin, service.ImportCreate, []service.ImportItem{
		{Line: 1, Email: "strict@around.example", TenantID: strict.ID, Given: service.GivenEmail},
		{Line: 2, Email: "inv@around.example", Username: "inv-around", Status: core.UserInvited,
			Given: service.GivenEmail | service.GivenUsername | service.GivenStatus},
		{Line: 3, Email: "claimed@around.example", ExternalID: "claimed", Given: service.GivenEmail | service.GivenExternalID},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range created {
		if r.Status != "created" {
			t.Fatalf("line %d: %+v", i+1, r)
		}
	}
	weak := "a long enough passphrase" // enough for nist, not for complex
	if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: created[0].ID}, service.UpdateUserInput{Password: &weak}); err == nil {
		t.Fatal("the strict tenant's policy let the passphrase through PATCH; the test needs one it refuses")
	}
	res, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{
		{Line: 1, ID: created[0].ID, TenantID: lax.ID, Password: weak},
		{Line: 2, ID: created[1].ID, Email: "", Status: core.UserDisabled, Given: service.GivenEmail | service.GivenStatus},
		{Line: 3, ID: core.NewID(), ExternalID: "claimed", Name: "First", Given: service.GivenExternalID | service.GivenName},
		{Line: 4, Email: "claimed@around.example", Name: "Second", Given: service.GivenEmail | service.GivenName},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"password", "email", "id", ""} {
		r := res[i]
		if r.Status != "error" || (want != "" && (len(r.Error.Fields) == 0 || r.Error.Fields[0].Field != want)) {
			t.Errorf("line %d: %+v (error %+v), want an error on %q", i+1, r, r.Error, want)
		}
	}
	if _, err := st.GetCredential(ctx, created[0].ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("the password went around the strict tenant's policy: %v", err)
	}
	if u, _ := st.GetUser(ctx, core.UserRef{ID: created[1].ID}); u.Email != "inv@around.example" || u.Status != core.UserInvited {
		t.Errorf("the invited user: %q %s", u.Email, u.Status)
	}
	if u, _ := st.GetUser(ctx, core.UserRef{ID: created[2].ID}); u.Name == "Second" {
		t.Error("a second line for a user whose first line was refused went through")
	}
}

// A login between the import's first read of a user and its write is not
// undone: the update takes the login times from its second read.
func TestImportKeepsALoginMadeMeanwhile(t *testing.T) {
	ctx := context.Background()
	var hooked *matchHook
	svc, st := importService(t, service.Config{}, func(st store.Store) store.Store {
		hooked = &matchHook{Store: st}
		return hooked
	})
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", ProviderRoles: []string{core.RoleProviderAdmin}}
	hooked.hook = func() {} // the create's match
	created, err := svc.ImportUsers(ctx, admin, service.ImportCreate, []service.ImportItem{{Line: 1, Email: "login@meanwhile.example", Given: service.GivenEmail}})
	if err != nil || created[0].Status != "created" {
		t.Fatalf("create: %+v, %v", created, err)
	}
	id := created[0].ID
	at := time.Now().UTC().Truncate(time.Second)
	hooked.once = sync.Once{}
	hooked.hook = func() {
		if err := st.InTx(ctx, func(tx store.Tx) error { return tx.RecordLogin(ctx, id, at) }); err != nil {
			t.Errorf("the login: %v", err)
		}
	}
	res, err := svc.ImportUsers(ctx, admin, service.ImportUpsert, []service.ImportItem{{Line: 1, ID: id, Name: "Renamed", Given: service.GivenName}})
	if err != nil || res[0].Status != "updated" {
		t.Fatalf("upsert: %+v, %v", res, err)
	}
	u, err := st.GetUser(ctx, core.UserRef{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Renamed" || u.LastLoginAt == nil || !u.LastLoginAt.Equal(at) || u.FirstLoginAt == nil {
		t.Errorf("after the upsert: name %q, last login %v, first login %v (the login was at %v)", u.Name, u.LastLoginAt, u.FirstLoginAt, at)
	}
}

// The roles of a tenant line are the membership's: they replace its roles
// and leave the user's provider roles alone, unless the line names one; a
// line without a tenant sets the provider roles.
func TestImportTenantLineKeepsProviderRoles(t *testing.T) {
	ctx := context.Background()
	svc, st := importService(t, service.Config{}, nil)
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", ProviderRoles: []string{core.RoleProviderAdmin}}
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Roles"})
	if err != nil {
		t.Fatal(err)
	}
	line := func(tenantID string, roles ...string) service.ImportItem {
		return service.ImportItem{Line: 1, Email: "pat@roles.example", TenantID: tenantID, Roles: append([]string{}, roles...), Given: service.GivenEmail}
	}
	steps := []struct {
		mode          service.ImportMode
		item          service.ImportItem
		provider, ten []string
	}{
		{service.ImportCreate, line(tn.ID, core.RoleProviderAdmin, core.RoleTenantUser), []string{core.RoleProviderAdmin}, []string{core.RoleTenantUser}},
		{service.ImportUpsert, line(tn.ID, core.RoleTenantAdmin), []string{core.RoleProviderAdmin}, []string{core.RoleTenantAdmin}},
		{service.ImportUpsert, line(""), nil, []string{core.RoleTenantAdmin}},
	}
	for i, step := range steps {
		res, err := svc.ImportUsers(ctx, admin, step.mode, []service.ImportItem{step.item})
		if err != nil || (res[0].Status != "created" && res[0].Status != "updated") {
			t.Fatalf("step %d: %+v, %v", i, res, err)
		}
		u, err := st.GetUser(ctx, core.UserRef{ID: res[0].ID})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(u.ProviderRoles, step.provider) || len(u.Memberships) != 1 || !slices.Equal(u.Memberships[0].Roles, step.ten) {
			t.Errorf("step %d: provider roles %v, memberships %+v; want %v and %v", i, u.ProviderRoles, u.Memberships, step.provider, step.ten)
		}
	}
}

// Granting provider-admin through an import takes elevated permissions
// where the service requires them, as POST /v1/users does.
func TestImportProviderAdminNeedsElevation(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{RequireElevation: true}, nil)
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", ProviderRoles: []string{core.RoleProviderAdmin}}
	line := service.ImportItem{Line: 1, Email: "pa@import.example", Roles: []string{core.RoleProviderAdmin}, Given: service.GivenEmail}
	res, err := svc.ImportUsers(ctx, admin, service.ImportCreate, []service.ImportItem{line})
	if err != nil || res[0].Status != "error" || res[0].Error.Code != core.CodeElevationRequired {
		t.Fatalf("not elevated: %+v, %v", res, err)
	}
	admin.ElevatedUntil = time.Now().Add(time.Hour)
	if res, err := svc.ImportUsers(ctx, admin, service.ImportCreate, []service.ImportItem{line}); err != nil || res[0].Status != "created" {
		t.Fatalf("elevated: %+v, %v", res, err)
	}
}
