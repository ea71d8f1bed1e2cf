package service_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
	"roster/internal/store"
	"roster/internal/testsupport"
)

// failingCredentials fails the next credential lookup when armed: a
// database error in the middle of a login.
type failingCredentials struct {
	store.Store
	armed atomic.Bool
}

func (f *failingCredentials) GetCredential(ctx context.Context, userID string) (core.Credential, error) {
	if f.armed.CompareAndSwap(true, false) {
		return core.Credential{}, core.Internal(errors.New("disk on fire"))
	}
	return f.Store.GetCredential(ctx, userID)
}

// A login that ends without a verdict on its password (here a database
// error) counts for nothing: neither the failure it was counted as before
// the check, nor the lockout that count started.
func TestUndecidedLoginLeavesNoLockout(t *testing.T) {
	ctx := context.Background()
	fc := &failingCredentials{}
	svc, _ := importService(t, service.Config{LoginFreeFailures: 5}, func(s store.Store) store.Store { fc.Store = s; return fc })
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Action: service.ActionRegister, Email: "five@acme.example",
		Password: "correct horse battery staple", TenantID: tn.ID}); err != nil {
		t.Fatal(err)
	}
	login := func(pw string) error {
		_, _, err := svc.Login(ctx, service.LoginInput{Login: "five@acme.example", Password: pw, ClientAddr: "192.0.2.1"})
		return err
	}
	for range 5 {
		if err := login("wrong horse battery staple"); core.ErrorCode(err) != core.CodeUnauthenticated {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	fc.armed.Store(true)
	if err := login("correct horse battery staple"); core.ErrorCode(err) != core.CodeInternal {
		t.Fatalf("a login meeting a database error: %v", err)
	}
	if err := login("correct horse battery staple"); err != nil {
		t.Fatalf("the right password after an undecided attempt: %v", err)
	}
}

// A login or a user name that no database column can hold (a NUL) is
// nobody's: 401 and 404 on PostgreSQL as on SQLite, not an internal error.
func TestLookupsOfNamesNoColumnHolds(t *testing.T) {
	ctx := context.Background()
	pool := password.NewPool(password.PoolConfig{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, Size: 1}, nil)
	svc := service.New(testsupport.OpenPostgres(t), pool, nil, service.Config{}, nil)
	t.Cleanup(svc.Drain)
	if _, err := svc.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a\x00b", "a\xffb"} {
		if _, _, err := svc.Login(ctx, service.LoginInput{Login: name, Password: "whatever it is"}); core.ErrorCode(err) != core.CodeUnauthenticated {
			t.Errorf("login %q: %v", name, err)
		}
		if _, err := svc.GetUser(ctx, core.System, core.UserRef{Username: name}); core.ErrorCode(err) != core.CodeNotFound {
			t.Errorf("user %q: %v", name, err)
		}
	}
}
