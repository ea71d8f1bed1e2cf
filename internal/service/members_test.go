package service_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store"
)

// A suspended tenant takes no new members, however they come (as a new
// user is refused there); its members' roles may still change.
func TestSuspendedTenantTakesNoNewMembers(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	home, u := acmeUser(t, svc, "bob@acme.example", true)
	closed, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Closed"})
	if err != nil {
		t.Fatal(err)
	}
	suspended := core.TenantSuspended
	for _, tn := range []core.Tenant{closed, home} {
		if _, err := svc.UpdateTenant(ctx, core.System, core.TenantRef{ID: tn.ID}, service.UpdateTenantInput{Status: &suspended}); err != nil {
			t.Fatal(err)
		}
	}
	user := core.UserRef{ID: u.ID}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: closed.ID}, user, []string{core.RoleTenantAdmin}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("joining a suspended tenant: %v", err)
	}
	if _, err := svc.MoveMember(ctx, core.System, user, core.TenantRef{ID: home.ID}, core.TenantRef{ID: closed.ID}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("moving into a suspended tenant: %v", err)
	}
	if _, err := svc.GrantRole(ctx, core.System, core.TenantRef{ID: closed.ID}, user, core.RoleTenantUser); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("a role granted in a suspended tenant to a non-member: %v", err)
	}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: home.ID}, user, []string{core.RoleTenantUser}); err != nil {
		t.Fatalf("a member's roles in a suspended tenant: %v", err)
	}
	if _, err := svc.GrantRole(ctx, core.System, core.TenantRef{ID: home.ID}, user, core.RoleTenantAdmin); err != nil {
		t.Fatalf("a role granted to a member of a suspended tenant: %v", err)
	}
}

// A suspended tenant's administrators no longer act there, by session or
// by their own keys, as its service keys no longer work; once it is
// active again they do.
func TestSuspendedTenantsAdminsDoNotAct(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	home, admin := acmeUser(t, svc, "admin@acme.example", true)
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: home.ID}, core.UserRef{ID: admin.ID}, []string{core.RoleTenantAdmin}); err != nil {
		t.Fatal(err)
	}
	other, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "other@acme.example", TenantID: home.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.Login(ctx, service.LoginInput{Login: "admin@acme.example", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	session, err := svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := svc.CreateAPIKey(ctx, session, service.CreateAPIKeyInput{Name: "mine", TenantID: home.ID})
	if err != nil {
		t.Fatal(err)
	}
	setStatus := func(status core.TenantStatus) {
		t.Helper()
		if _, err := svc.UpdateTenant(ctx, core.System, core.TenantRef{ID: home.ID}, service.UpdateTenantInput{Status: &status}); err != nil {
			t.Fatal(err)
		}
	}
	act := func() (listErr, deleteErr error) {
		for _, credential := range []string{token, key} {
			p, err := svc.Authenticate(ctx, credential)
			if err != nil {
				return err, err
			}
			if _, err := svc.ListUsers(ctx, p, service.UserQuery{TenantID: home.ID, Limit: 10}); err != nil {
				listErr = err
			}
		}
		p, _ := svc.Authenticate(ctx, token)
		_, deleteErr = svc.DeleteUser(ctx, p, core.UserRef{ID: other.User.ID})
		return listErr, deleteErr
	}
	setStatus(core.TenantSuspended)
	if listErr, deleteErr := act(); core.ErrorCode(listErr) != core.CodeForbidden || core.ErrorCode(deleteErr) == "" {
		t.Fatalf("a suspended tenant's admin: list %v, delete %v", listErr, deleteErr)
	}
	p, _ := svc.Authenticate(ctx, token)
	if me, err := svc.GetUser(ctx, p, core.UserRef{ID: admin.ID}); err != nil || me.ID != admin.ID {
		t.Fatalf("a suspended tenant's admin reading itself: %v", err)
	}
	setStatus(core.TenantActive)
	if listErr, deleteErr := act(); listErr != nil || deleteErr != nil {
		t.Fatalf("the admin of the tenant active again: list %v, delete %v", listErr, deleteErr)
	}
}

// A create trims every text as an update does: an external id with a
// space after it is the same id, and a language with one is a language.
func TestCreateTrimsAsUpdateDoes(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme", Lang: " de", CustomID: " c1 ", Phone: "+49 30 5550100 "})
	if err != nil || tn.Lang != "de" || tn.CustomID != "c1" || tn.Phone != "+49 30 5550100" {
		t.Fatalf("tenant: %q %q %q, %v", tn.Lang, tn.CustomID, tn.Phone, err)
	}
	first, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "a@acme.example", TenantID: tn.ID, ExternalID: "ext-1 ", Lang: " de"})
	if err != nil || first.User.ExternalID != "ext-1" || first.User.Lang != "de" {
		t.Fatalf("user: %q %q, %v", first.User.ExternalID, first.User.Lang, err)
	}
	if _, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "b@acme.example", TenantID: tn.ID, ExternalID: "ext-1"}); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("the same external id: %v", err)
	}
}

// A chosen bootstrap key is checked only when it is to be installed: once
// the database has keys it is ignored, as before, whatever it holds, so a
// server that started with it starts again.
func TestBootstrapKeyIsCheckedOnlyToInstall(t *testing.T) {
	svc, _ := importService(t, service.Config{}, nil) // bootstrapped: it has a key
	res, err := svc.Bootstrap(context.Background(), "clé de démarrage choisie 0123456789abcdef")
	if err != nil || res.UsedOperatorKey {
		t.Fatalf("a restart with a key that is not installed: %+v, %v", res, err)
	}
}

// A user created in a tenant holds a role there, as a member given by
// PutMember does: no roles, or provider roles alone, make no member.
func TestCreatedMemberHoldsARole(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	acme, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	for i, roles := range [][]string{{}, {core.RoleProviderViewer}} {
		email := fmt.Sprintf("roleless-%d@acme.example", i)
		_, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: email, TenantID: acme.ID, Roles: roles})
		if ce := core.AsError(err); ce.Code != core.CodeRoleInvalid || len(ce.Fields) != 1 || ce.Fields[0].Field != "roles" {
			t.Fatalf("roles %v in a tenant: %v", roles, err)
		}
		res, err := svc.ImportUsers(ctx, core.System, service.ImportCreate, []service.ImportItem{{Line: 1, Email: email,
			TenantID: acme.ID, Roles: roles, Given: service.GivenEmail}})
		if err != nil || res[0].Status != "error" || res[0].Error.Code != core.CodeRoleInvalid {
			t.Fatalf("roles %v in a tenant, imported: %+v, %v", roles, res, err)
		}
		if _, err := svc.GetUser(ctx, core.System, core.UserRef{Email: email}); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("the refused user was written: %v", err)
		}
	}
	res, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "both@acme.example", TenantID: acme.ID,
		Roles: []string{core.RoleProviderViewer, core.RoleViewer}})
	if err != nil || !slices.Equal(res.User.ProviderRoles, []string{core.RoleProviderViewer}) {
		t.Fatalf("a provider role beside a tenant role: %v, %v", res.User.ProviderRoles, err)
	}
}

// A username kept from before a rule that now refuses it (dots alone, as
// ECE once took) does not stop other changes to its user; setting it
// anew is refused.
func TestUsernameFromBeforeARuleStillUpdatable(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	svc := serviceOn(t, st, service.Config{}, nil, operatorKey)
	_, u := acmeUser(t, svc, "dots@acme.example", true)
	if err := st.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetUser(ctx, core.UserRef{ID: u.ID})
		if err != nil {
			return err
		}
		cur.Username = ".."
		return tx.UpdateUser(ctx, cur)
	}); err != nil {
		t.Fatal(err)
	}
	disabled, name := core.UserDisabled, "New Name"
	if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Status: &disabled, Name: &name}); err != nil {
		t.Fatalf("changing a user whose username predates the rule: %v", err)
	}
	dots := "..."
	if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Username: &dots}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("setting a username of dots: %v", err)
	}
	// An import's upsert likewise: the username given as it is stays,
	// a new one of dots is refused, as is a new user named so.
	for _, c := range []struct {
		item service.ImportItem
		want string
	}{
		{service.ImportItem{Line: 1, ID: u.ID, Username: "..", Name: "Imported", Given: service.GivenUsername | service.GivenName}, "updated"},
		{service.ImportItem{Line: 1, ID: u.ID, Username: "....", Given: service.GivenUsername}, "error"},
		{service.ImportItem{Line: 1, Username: ".", Given: service.GivenUsername}, "error"},
	} {
		res, err := svc.ImportUsers(ctx, core.System, service.ImportUpsert, []service.ImportItem{c.item})
		if err != nil || res[0].Status != c.want {
			t.Fatalf("import of username %q: %+v (%v), %v; want %s", c.item.Username, res[0], res[0].Error, err, c.want)
		}
	}
}

// A listing filtered by resource group takes groups only from the tenants
// its reader reads: another tenant's group would tell which of the reader's
// users are in it there (a user may belong to both tenants), so it is
// answered as an unknown group.
func TestListUsersByGroupStaysInReadersTenants(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	mine, shared := acmeUser(t, svc, "shared@acme.example", false)
	theirs, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: theirs.ID}, core.UserRef{ID: shared.ID}, []string{core.RoleTenantUser}); err != nil {
		t.Fatal(err)
	}
	name := "Secret project"
	group := func(tn core.Tenant) core.ResourceGroup {
		t.Helper()
		g, err := svc.CreateResourceGroup(ctx, core.System, core.TenantRef{ID: tn.ID}, service.ResourceGroupInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.AddResourceGroupMember(ctx, core.System, tn.ID, g.ID, core.UserRef{ID: shared.ID}); err != nil {
			t.Fatal(err)
		}
		return g
	}
	myGroup, theirGroup := group(mine), group(theirs)
	admin := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", TenantRoles: map[string][]string{mine.ID: {core.RoleTenantAdmin}}}

	page, err := svc.ListUsers(ctx, admin, service.UserQuery{ResourceGroupIDs: []string{myGroup.ID}})
	if err != nil || len(page.Users) != 1 || page.Users[0].ID != shared.ID {
		t.Fatalf("listing by the reader's own group: %+v, %v", page.Users, err)
	}
	unknown := core.NewID()
	for _, q := range []service.UserQuery{
		{ResourceGroupIDs: []string{theirGroup.ID}},
		{TenantID: mine.ID, ResourceGroupIDs: []string{theirGroup.ID}},
		{ResourceGroupIDs: []string{myGroup.ID, theirGroup.ID}},
		{ResourceGroupIDs: []string{unknown}},
	} {
		page, err := svc.ListUsers(ctx, admin, q)
		var e *core.Error
		if !errors.As(err, &e) || e.Code != core.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Code != "not_found" {
			t.Fatalf("listing by %v: %+v, %v", q.ResourceGroupIDs, page.Users, err)
		}
	}
	// The other tenant's group is unknown to this reader and to an unknown
	// id alike: the same answer, so that it is not told to exist.
	_, errTheirs := svc.ListUsers(ctx, admin, service.UserQuery{ResourceGroupIDs: []string{theirGroup.ID}})
	_, errUnknown := svc.ListUsers(ctx, admin, service.UserQuery{ResourceGroupIDs: []string{unknown}})
	if errTheirs.Error() != errUnknown.Error() {
		t.Fatalf("another tenant's group told apart from an unknown one: %q against %q", errTheirs, errUnknown)
	}
	// An operator reads every tenant: a listing narrowed to one of them
	// still refuses another's group, one across all of them takes it.
	page, err = svc.ListUsers(ctx, core.System, service.UserQuery{TenantID: mine.ID, ResourceGroupIDs: []string{theirGroup.ID}})
	if core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("an operator listing one tenant by another's group: %+v, %v", page.Users, err)
	}
	if page, err = svc.ListUsers(ctx, core.System, service.UserQuery{ResourceGroupIDs: []string{theirGroup.ID}}); err != nil || len(page.Users) != 1 {
		t.Fatalf("an operator listing by any group: %+v, %v", page.Users, err)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = myGroup.ID
	}
	if _, err := svc.ListUsers(ctx, admin, service.UserQuery{ResourceGroupIDs: many}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("101 groups: %v", err)
	}
	// A deleted tenant's groups went with it, for the filter as for
	// GetResourceGroup, even to an operator.
	if _, err := svc.DeleteTenant(ctx, core.System, core.TenantRef{ID: theirs.ID}); err != nil {
		t.Fatal(err)
	}
	page, err = svc.ListUsers(ctx, core.System, service.UserQuery{ResourceGroupIDs: []string{theirGroup.ID}, Deleted: core.IncludeDeleted})
	if core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("an operator listing by a deleted tenant's group: %+v, %v", page.Users, err)
	}
}
