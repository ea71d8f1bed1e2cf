package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// credentialHook fires, once armed, right after a credential is read
// outside a transaction: a request that changes the password while a
// login checks the old one.
type credentialHook struct {
	store.Store
	trigger
}

func (c *credentialHook) GetCredential(ctx context.Context, userID string) (core.Credential, error) {
	cred, err := c.Store.GetCredential(ctx, userID)
	c.fire()
	return cred, err
}

// staleCredential gives a user a hash the pool would replace at the next
// login, as an import or older parameters leave.
func staleCredential(t *testing.T, st store.Store, userID, hash string) {
	t.Helper()
	ctx := context.Background()
	if err := st.InTx(ctx, func(tx store.Tx) error {
		return tx.PutCredential(ctx, core.Credential{UserID: userID, Hash: hash, UpdatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
}

// A new password set while a login checks the old one wins: the old one
// opens no session, and the login's rehash does not bring it back.
func TestLoginLosesToAPasswordChangedMeanwhile(t *testing.T) {
	ctx := context.Background()
	ch := &credentialHook{}
	svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { ch.Store = s; return ch })
	_, u := acmeUser(t, svc, "race@acme.example", true)
	const old, changed = "correct horse battery staple", "a brand new passphrase 2"
	staleCredential(t, st, u.ID, password.HashArgon2id(old, password.Params{Memory: 32, Time: 1, Threads: 1}))
	ch.hook = func() {
		pw := changed
		if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Password: &pw}); err != nil {
			t.Error(err)
		}
	}
	login := func(pw string) error {
		_, _, err := svc.Login(ctx, service.LoginInput{Login: "race@acme.example", Password: pw})
		return err
	}
	ch.armed.Store(true)
	if err := login(old); core.ErrorCode(err) != core.CodeUnauthenticated {
		t.Fatalf("the old password, checked as it was changed: %v", err)
	}
	if err := login(changed); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if err := login(old); core.ErrorCode(err) != core.CodeUnauthenticated {
		t.Fatalf("the old password afterwards: %v", err)
	}
}

// A failed login at an account whose hash is stale (imported, or made with
// older parameters, cheaper or dearer than a current one) costs a current
// hash too, as an unknown login does, so that its time does not tell that
// the account exists. A right password costs the rehash.
func TestFailedLoginAtAStaleHashCostsACurrentOne(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	svc, st := serviceWith(t, service.Config{}, nil, reg)
	_, u := acmeUser(t, svc, "stale@acme.example", true)
	const right = "correct horse battery staple"
	bcryptHash, err := password.EncodeCheap(password.FormatBcrypt, right)
	if err != nil {
		t.Fatal(err)
	}
	staleCredential(t, st, u.ID, bcryptHash)
	hashes := func() uint64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "roster_password_hash_seconds" {
				return f.GetMetric()[0].GetHistogram().GetSampleCount()
			}
		}
		return 0
	}
	for _, c := range []struct {
		login, password string
		want            uint64
	}{
		{"nobody@acme.example", "wrong horse battery staple", 1},
		{"stale@acme.example", "wrong horse battery staple", 2},
		{"stale@acme.example", right, 2}, // the check and the rehash
		{"stale@acme.example", "wrong horse battery staple", 1},
	} {
		before := hashes()
		_, _, err := svc.Login(ctx, service.LoginInput{Login: c.login, Password: c.password})
		if got := hashes() - before; got != c.want || (err == nil) != (c.password == right) {
			t.Errorf("login %s with %q: %d hashes (want %d), %v", c.login, c.password, got, c.want, err)
		}
	}
}

// bcrypt reads a password's first 72 bytes, so a longer one that differs
// after them verifies too; such a login must not replace the hash with one
// of what it typed, which would lock the owner's real password out.
func TestBcryptLoginKeepsTheRealPassword(t *testing.T) {
	ctx := context.Background()
	svc, st := importService(t, service.Config{}, nil)
	_, u := acmeUser(t, svc, "long@acme.example", true)
	real := strings.Repeat("correct horse battery staple ", 3) // 87 bytes
	hash, err := password.EncodeCheap(password.FormatBcrypt, real[:72])
	if err != nil {
		t.Fatal(err)
	}
	staleCredential(t, st, u.ID, hash)
	for _, pw := range []string{real[:72] + " typo", real, real[:72]} {
		if _, _, err := svc.Login(ctx, service.LoginInput{Login: "long@acme.example", Password: pw}); err != nil {
			t.Fatalf("login with %d bytes: %v", len(pw), err)
		}
	}
}

// Two logins at once with the right password at a stale hash both open a
// session: the one that finds the other's rehash checks the password
// again against it, rather than taking it for a new password.
func TestConcurrentLoginsAtAStaleHashBothSucceed(t *testing.T) {
	ctx := context.Background()
	ch := &credentialHook{}
	svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { ch.Store = s; return ch })
	_, u := acmeUser(t, svc, "twice@acme.example", true)
	const right = "correct horse battery staple"
	staleCredential(t, st, u.ID, password.HashArgon2id(right, password.Params{Memory: 32, Time: 1, Threads: 1}))
	login := func() error {
		_, _, err := svc.Login(ctx, service.LoginInput{Login: "twice@acme.example", Password: right})
		return err
	}
	var other error
	ch.hook = func() { other = login() }
	ch.armed.Store(true)
	if err := login(); err != nil || other != nil {
		t.Fatalf("this login: %v; the other, landing first: %v", err, other)
	}
}

// An address's throttle counts an IPv6 client by its /64: failed logins
// spread over the addresses of one network are locked out as from one.
func TestLoginThrottlesAnIPv6NetworkAsOneAddress(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{LoginFreeFailuresIP: 3}, nil)
	var last error
	for i := range 6 {
		_, _, last = svc.Login(ctx, service.LoginInput{Login: fmt.Sprintf("nobody%d@acme.example", i), Password: "wrong password",
			ClientAddr: fmt.Sprintf("2001:db8:7:9::%x", i+1)})
	}
	if core.ErrorCode(last) != core.CodeRateLimited {
		t.Fatalf("the sixth failure from one /64: %v", last)
	}
	if _, _, err := svc.Login(ctx, service.LoginInput{Login: "other@acme.example", Password: "wrong password",
		ClientAddr: "2001:db8:7:a::1"}); core.ErrorCode(err) != core.CodeUnauthenticated {
		t.Fatalf("another /64: %v", err)
	}
}

// Failures counted for an account are forgotten a window after the first
// of them, however closely they follow one another: one wrong password
// every 50 minutes never locks the owner out.
func TestSlowFailuresDoNotAddUpForever(t *testing.T) {
	ctx := context.Background()
	clock := core.NewManualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	svc := serviceOn(t, sqliteStore(t), service.Config{}, clock, operatorKey)
	acmeUser(t, svc, "slow@acme.example", true)
	login := func(pw string) error {
		_, _, err := svc.Login(ctx, service.LoginInput{Login: "slow@acme.example", Password: pw})
		return err
	}
	for i := range 10 {
		if err := login("wrong horse battery staple"); core.ErrorCode(err) != core.CodeUnauthenticated {
			t.Fatalf("wrong password %d: %v", i+1, err)
		}
		clock.Advance(50 * time.Minute)
	}
	clock.Advance(-50*time.Minute + time.Second)
	if err := login("correct horse battery staple"); err != nil {
		t.Fatalf("the right password, after at most two failures in any hour: %v", err)
	}
}
