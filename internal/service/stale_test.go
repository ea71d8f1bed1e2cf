package service_test

import (
	"context"
	"sync/atomic"
	"testing"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store"
)

// interruptingStore runs interrupt once, right after the first read of a
// user or tenant made outside a transaction: as if another request (or
// node) committed a change between an operation's read and its write.
type interruptingStore struct {
	store.Store
	armed     atomic.Bool
	interrupt func()
}

func (s *interruptingStore) fire() {
	if s.armed.CompareAndSwap(true, false) {
		s.interrupt()
	}
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
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Action: service.ActionRegister, Email: "gone@acme.example",
		Password: "correct horse battery staple", TenantID: tn.ID})
	if err != nil {
		t.Fatal(err)
	}
	id := res.User.ID

	is.interrupt = func() {
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

	is.interrupt = func() {
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
