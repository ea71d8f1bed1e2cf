package service_test

import (
	"context"
	"database/sql"
	"sync/atomic"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store"
	"roster/internal/store/postgres"
	"roster/internal/testsupport"
)

// trigger runs hook once, the first time it fires after it is armed: a
// request of another caller landing at one point of an operation.
type trigger struct {
	armed atomic.Bool
	hook  func()
}

func (t *trigger) fire() {
	if t.armed.CompareAndSwap(true, false) {
		t.hook()
	}
}

// interruptingStore fires, once armed, right after the first read of a
// user or tenant made outside a transaction: as if another request (or
// node) committed a change between an operation's read and its write.
type interruptingStore struct {
	store.Store
	trigger
}

func (s *interruptingStore) GetUser(ctx context.Context, ref core.UserRef) (core.User, error) {
	u, err := s.Store.GetUser(ctx, ref)
	s.fire()
	return u, err
}

func (s *interruptingStore) GetTenant(ctx context.Context, ref core.TenantRef) (core.Tenant, error) {
	t, err := s.Store.GetTenant(ctx, ref)
	s.fire()
	return t, err
}

// An update that read a user or tenant before its deletion was committed
// does not bring it back: it runs again on what is there now.
func TestUpdatesDoNotUndoADeletion(t *testing.T) {
	ctx := context.Background()
	is := &interruptingStore{}
	svc, _ := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
	tn, gone := acmeUser(t, svc, "gone@acme.example", true)
	id := gone.ID

	is.hook = func() {
		if _, err := svc.DeleteUser(ctx, core.System, core.UserRef{ID: id}); err != nil {
			t.Errorf("delete: %v", err)
		}
	}
	is.armed.Store(true)
	name := "Renamed"
	if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: id}, service.UpdateUserInput{Name: &name}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("an update racing a deletion: %v, want not found", err)
	}
	if u, _ := svc.GetUser(ctx, core.System, core.UserRef{ID: id}); u.Status != core.UserDeleted || u.Name == name {
		t.Fatalf("after the race the user is %s, named %q", u.Status, u.Name)
	}
	if _, _, err := svc.Login(ctx, service.LoginInput{Login: "gone@acme.example", Password: "correct horse battery staple"}); err == nil {
		t.Fatal("the deleted user signs in")
	}

	is.hook = func() {
		if _, err := svc.DeleteTenant(ctx, core.System, core.TenantRef{ID: tn.ID}); err != nil {
			t.Errorf("delete tenant: %v", err)
		}
	}
	is.armed.Store(true)
	email := "ops@acme.example"
	if _, err := svc.UpdateTenant(ctx, core.System, core.TenantRef{ID: tn.ID}, service.UpdateTenantInput{Email: &email}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("a tenant update racing its deletion: %v, want not found", err)
	}
	if got, _ := svc.GetTenant(ctx, core.System, core.TenantRef{ID: tn.ID}); got.Status != core.TenantDeleted {
		t.Fatalf("after the race the tenant is %s", got.Status)
	}
}

// twoNodesOnPostgres is a service on a fresh PostgreSQL schema, its store,
// and a plain connection to the same schema that stands for another node
// in the middle of a transaction.
func twoNodesOnPostgres(t *testing.T) (*service.Service, store.Store, *sql.DB) {
	t.Helper()
	url := testsupport.PostgresSchemaURL(t)
	st, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	other, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return serviceOn(t, st, service.Config{}, nil, ""), st, other
}

// On PostgreSQL another node's deletion may be written and not yet
// committed when an update reads the tenant: the update waits for it and
// then answers as for a deleted tenant, instead of writing the tenant back
// to active over it.
func TestTenantUpdateWaitsForADeletionUnderWay(t *testing.T) {
	ctx := context.Background()
	svc, st, other := twoNodesOnPostgres(t)
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	deleting, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deleting.ExecContext(ctx, `UPDATE tenants SET status = 'deleted' WHERE id = $1`, tn.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		email := "ops@acme.example"
		_, err := svc.UpdateTenant(ctx, core.System, core.TenantRef{ID: tn.ID}, service.UpdateTenantInput{Email: &email})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the update reads, then waits for the row
	if err := deleting.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("an update of a tenant being deleted: %v, want not found", err)
	}
	if got, _ := st.GetTenant(ctx, core.TenantRef{ID: tn.ID}); got.Status != core.TenantDeleted {
		t.Fatalf("the tenant is %s after the update", got.Status)
	}
}

// Edits of one user's profile at once all succeed, the last one winning,
// as they did before deletions were guarded: only a change of status
// sends an update round again.
func TestConcurrentEditsOfOneUser(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	_, busy := acmeUser(t, svc, "busy@acme.example", false)
	errs := make(chan error, 20)
	for i := range cap(errs) {
		go func() {
			name := "Name " + string(rune('A'+i))
			_, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: busy.ID}, service.UpdateUserInput{Name: &name})
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("a concurrent edit: %v", err)
		}
	}
}

// Two edits of different fields of one user, the second landing between
// the first one's read and its write, both stay: the first is made to the
// user as it is at its write, not to what it read.
func TestEditsOfDifferentFieldsBothStay(t *testing.T) {
	ctx := context.Background()
	is := &interruptingStore{}
	svc, _ := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
	_, u := acmeUser(t, svc, "both@acme.example", false)
	phone, name, roles := "+15551234567", "Both Fields", []string{core.RoleProviderAdmin}
	is.hook = func() {
		if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Phone: &phone}); err != nil {
			t.Errorf("the edit in between: %v", err)
		}
	}
	is.armed.Store(true)
	got, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Name: &name})
	if err != nil || got.Name != name || got.Phone != phone {
		t.Fatalf("the answer: %q %q, %v", got.Name, got.Phone, err)
	}
	is.hook = func() {
		lang := "de"
		if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Lang: &lang}); err != nil {
			t.Errorf("the edit in between: %v", err)
		}
	}
	is.armed.Store(true)
	if _, err := svc.SetProviderRoles(ctx, core.System, core.UserRef{ID: u.ID}, roles, ""); err != nil {
		t.Fatal(err)
	}
	stored, err := svc.GetUser(ctx, core.System, core.UserRef{ID: u.ID})
	if err != nil || stored.Name != name || stored.Phone != phone || stored.Lang != "de" || len(stored.ProviderRoles) != 1 {
		t.Fatalf("stored: name %q phone %q lang %q roles %v, %v", stored.Name, stored.Phone, stored.Lang, stored.ProviderRoles, err)
	}
}

// The same for a tenant: an edit landing between another edit's read and
// its write stays, and so does one landing before a deletion's write.
func TestTenantEditsOfDifferentFieldsBothStay(t *testing.T) {
	ctx := context.Background()
	is := &interruptingStore{}
	svc, _ := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
	tn, _ := acmeUser(t, svc, "owner@acme.example", false)
	email, phone, custom := "ops@acme.example", "+15551234567", "ACME-1"
	for _, c := range []struct {
		between service.UpdateTenantInput
		then    func() error
	}{
		{service.UpdateTenantInput{Phone: &phone}, func() error {
			_, err := svc.UpdateTenant(ctx, core.System, core.TenantRef{ID: tn.ID}, service.UpdateTenantInput{Email: &email})
			return err
		}},
		{service.UpdateTenantInput{CustomID: &custom}, func() error {
			_, err := svc.DeleteTenant(ctx, core.System, core.TenantRef{ID: tn.ID})
			return err
		}},
	} {
		is.hook = func() {
			if _, err := svc.UpdateTenant(ctx, core.System, core.TenantRef{ID: tn.ID}, c.between); err != nil {
				t.Errorf("the edit in between: %v", err)
			}
		}
		is.armed.Store(true)
		if err := c.then(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := svc.GetTenant(ctx, core.System, core.TenantRef{ID: tn.ID})
	if err != nil || got.Email != email || got.Phone != phone || got.CustomID != custom || got.Status != core.TenantDeleted {
		t.Fatalf("stored: email %q phone %q custom id %q status %s, %v", got.Email, got.Phone, got.CustomID, got.Status, err)
	}
}

// An acceptance takes the user's row before the invitation's, as a resend
// on another node does: one waits for the other instead of both waiting
// for each other until PostgreSQL breaks the deadlock with a 503.
func TestAcceptanceAndResendTakeRowsInOneOrder(t *testing.T) {
	ctx := context.Background()
	svc, _, other := twoNodesOnPostgres(t)
	_, u, token := invited(t, svc, "Acme", "bob@acme.example")
	inv, err := svc.LatestInvitation(ctx, core.System, core.UserRef{ID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	resend, err := other.BeginTx(ctx, nil) // another node's resend: the user first
	if err != nil {
		t.Fatal(err)
	}
	defer resend.Rollback()
	if _, err := resend.ExecContext(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, u.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, _, err := svc.AcceptInvitation(ctx, token, accepting)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the acceptance starts its transaction
	if _, err := resend.ExecContext(ctx, `UPDATE invitations SET state = 'revoked', revoked_at = now() WHERE id = $1`, inv.ID); err != nil {
		t.Fatalf("the resend's revocation: %v", err)
	}
	if err := resend.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; core.ErrorCode(err) != core.CodeInvitationInvalid {
		t.Fatalf("an acceptance meeting a resend: %v, want the link refused", err)
	}
}

// A tenant deleted after a write read it gets neither a product override
// nor a resource group from that write.
func TestTenantDeletedMeanwhileTakesNothing(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		write func(svc *service.Service, tn core.Tenant) error
	}{
		{"product override", func(svc *service.Service, tn core.Tenant) error {
			on := true
			_, err := svc.SetTenantProducts(ctx, core.System, core.TenantRef{ID: tn.ID}, map[core.Product]*bool{core.Products[0]: &on})
			return err
		}},
		{"resource group", func(svc *service.Service, tn core.Tenant) error {
			name := "ops"
			_, err := svc.CreateResourceGroup(ctx, core.System, core.TenantRef{ID: tn.ID}, service.ResourceGroupInput{Name: &name})
			return err
		}},
	} {
		is := &interruptingStore{}
		svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
		tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		deleteTenantAtNextRead(t, is, svc, tn.ID)
		if err := c.write(svc, tn); core.ErrorCode(err) != core.CodeNotFound {
			t.Errorf("%s in a tenant deleted meanwhile: %v, want not found", c.name, err)
		}
		overrides, err := st.TenantProductOverrides(ctx, tn.ID)
		groups, gerr := st.ListResourceGroups(ctx, tn.ID)
		if err != nil || gerr != nil || len(overrides) != 0 || len(groups) != 0 {
			t.Errorf("%s: the deleted tenant has overrides %v and groups %v (%v, %v)", c.name, overrides, groups, err, gerr)
		}
	}
}

// Nor do a tenant's groups change after the tenant's deletion, by a write
// that read the group before it.
func TestGroupsOfATenantDeletedMeanwhileStay(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		write func(svc *service.Service, g core.ResourceGroup, u core.User) error
	}{
		{"rename", func(svc *service.Service, g core.ResourceGroup, u core.User) error {
			name := "renamed"
			_, err := svc.UpdateResourceGroup(ctx, core.System, "", g.ID, service.ResourceGroupInput{Name: &name})
			return err
		}},
		{"add member", func(svc *service.Service, g core.ResourceGroup, u core.User) error {
			return svc.AddResourceGroupMember(ctx, core.System, "", g.ID, core.UserRef{ID: u.ID})
		}},
	} {
		is := &interruptingStore{}
		svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
		tn, u := acmeUser(t, svc, "bob@acme.example", true)
		name := "ops"
		g, err := svc.CreateResourceGroup(ctx, core.System, core.TenantRef{ID: tn.ID}, service.ResourceGroupInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		deleteTenantAtNextRead(t, is, svc, tn.ID)
		err = c.write(svc, g, u)
		cur, _ := st.GetResourceGroup(ctx, g.ID)
		if core.ErrorCode(err) != core.CodeNotFound || cur.Name != "ops" || cur.MemberCount != 0 {
			t.Errorf("%s in a tenant deleted meanwhile: %v, want not found; the group is now %q with %d members", c.name, err, cur.Name, cur.MemberCount)
		}
	}
}

// deleteTenantAtNextRead deletes the tenant right after is's next read of
// a user or tenant outside a transaction.
func deleteTenantAtNextRead(t *testing.T, is *interruptingStore, svc *service.Service, tenantID string) {
	is.hook = func() {
		if _, err := svc.DeleteTenant(context.Background(), core.System, core.TenantRef{ID: tenantID}); err != nil {
			t.Errorf("delete: %v", err)
		}
	}
	is.armed.Store(true)
}
