package service_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"roster/internal/core"
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
	acmeUser(t, svc, "five@acme.example", true)
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
	svc := serviceOn(t, testsupport.OpenPostgres(t), service.Config{}, nil, "")
	for _, name := range []string{"a\x00b", "a\xffb"} {
		if _, _, err := svc.Login(ctx, service.LoginInput{Login: name, Password: "whatever it is"}); core.ErrorCode(err) != core.CodeUnauthenticated {
			t.Errorf("login %q: %v", name, err)
		}
		if _, err := svc.GetUser(ctx, core.System, core.UserRef{Username: name}); core.ErrorCode(err) != core.CodeNotFound {
			t.Errorf("user %q: %v", name, err)
		}
	}
}
