package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// RunNodeTests checks what two nodes sharing one database see of each
// other's transactions: a and b are two stores opened on the same
// database, as two roster processes would open it. singleWriter says the
// database runs one write transaction at a time (SQLite), so that every
// write of one node waits for the other's.
func RunNodeTests(t *testing.T, a, b store.Store, singleWriter bool) {
	t.Run("LockUsersHoldsAccessChanges", func(t *testing.T) { testLockUsers(t, a, b) })
	t.Run("ConcurrentLoginString", func(t *testing.T) { testConcurrentLoginString(t, a, b) })
	if !singleWriter {
		t.Run("LockUsersLeavesOtherWrites", func(t *testing.T) { testLockUsersLeavesOtherWrites(t, a, b) })
	}
}

// holdLock locks the users in a transaction of s and keeps it open until
// the returned release is called, which ends it and reports its error.
func holdLock(t *testing.T, s store.Store, ids []string) (release func() error) {
	t.Helper()
	var once sync.Once
	locked, done := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.LockUsers(ctx, ids); err != nil {
				return err
			}
			once.Do(func() { close(locked) })
			<-done
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-held:
		t.Fatalf("lock: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the lock was not taken in 10 s")
	}
	return func() error {
		close(done)
		return <-held
	}
}

// What only names a locked user (a session, a credential: rows whose
// foreign key points at it) does not wait for the lock. (A login's record
// of its time updates the user's row, and does wait: see
// testLockUsers.)
func testLockUsersLeavesOtherWrites(t *testing.T, a, b store.Store) {
	u := newUser(t, a, userWith("locked-not-held@example.com"))
	release := holdLock(t, a, []string{u.ID})
	defer func() {
		if err := release(); err != nil {
			t.Errorf("the locking transaction: %v", err)
		}
	}()
	done := make(chan error, 1)
	go func() {
		done <- b.InTx(ctx, func(tx store.Tx) error {
			sess := core.Session{ID: core.NewID(), Hash: "h-" + core.NewID(), UserID: u.ID, CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)}
			if err := tx.CreateSession(ctx, sess); err != nil {
				return err
			}
			return tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", UpdatedAt: epoch})
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a session and a credential for the locked user: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a session and a credential for the locked user waited for the lock")
	}
}

// A transaction that locked a user (an import about to overwrite it on
// the strength of what it may access) keeps every change to that access
// on another node waiting until it ends; the change then goes through.
func testLockUsers(t *testing.T, a, b store.Store) {
	mine := newTenant(t, a, "Locks")
	other := newTenant(t, a, "Locks elsewhere")
	u := newUser(t, a, userWith("locked@example.com"))
	member := func(tenantID string, roles ...string) core.Membership {
		return core.Membership{TenantID: tenantID, UserID: u.ID, Roles: roles, CreatedAt: epoch}
	}
	tx(t, a, func(tx store.Tx) error { return tx.PutMembership(ctx, member(mine.ID, "member")) })

	changes := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"joins a tenant", func(tx store.Tx) error { return tx.PutMembership(ctx, member(other.ID)) }},
		{"gets tenant roles", func(tx store.Tx) error { return tx.PutMembership(ctx, member(mine.ID, "tenant-admin")) }},
		{"leaves a tenant", func(tx store.Tx) error { return tx.DeleteMembership(ctx, other.ID, u.ID) }},
		{"gets provider roles", func(tx store.Tx) error { return tx.SetProviderRoles(ctx, u.ID, []string{core.RoleProviderAdmin}) }},
		{"logs in", func(tx store.Tx) error { return tx.RecordLogin(ctx, u.ID, epoch.Add(time.Hour)) }},
		{"is disabled", func(tx store.Tx) error {
			cur, err := tx.GetUser(ctx, core.UserRef{ID: u.ID})
			if err != nil {
				return err
			}
			cur.Status, cur.UpdatedAt = core.UserDisabled, cur.UpdatedAt.Add(time.Second)
			return tx.UpdateUser(ctx, cur)
		}},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			// An id that is not a user's is passed over.
			release := holdLock(t, a, []string{core.NewID(), u.ID})
			done := make(chan error, 1)
			go func() { done <- b.InTx(ctx, c.fn) }()
			select {
			case err := <-done:
				release()
				t.Fatalf("the other node's change went through while the user was locked (%v)", err)
			case <-time.After(300 * time.Millisecond):
			}
			if err := release(); err != nil {
				t.Fatalf("the locking transaction: %v", err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("the change, once the lock was gone: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the change still waited 10 s after the lock was gone")
			}
		})
	}
	got, err := b.GetUser(ctx, core.UserRef{ID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.UserDisabled || len(got.ProviderRoles) != 1 || len(got.Memberships) != 1 ||
		len(got.Memberships[0].Roles) != 1 || got.Memberships[0].Roles[0] != "tenant-admin" {
		t.Fatalf("after the changes: %+v", got)
	}
}

// testConcurrentLoginString: a node giving a string to one user as an
// email and another node giving it to another user as a username, the
// second while the first has written and not yet committed, leave it with
// the first alone; either way round.
func testConcurrentLoginString(t *testing.T, a, b store.Store) {
	asEmail := func(login string) core.User { return userWith(login) }
	asUsername := func(login string) core.User {
		u := userWith("holder-of-" + strings.ReplaceAll(login, "@", "-at-"))
		u.Username = strings.ToUpper(login)
		return u
	}
	for i, order := range [][2]func(string) core.User{{asEmail, asUsername}, {asUsername, asEmail}} {
		login := fmt.Sprintf("held%d@example.com", i)
		first, second := order[0](login), order[1](login)
		written, release, firstDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			firstDone <- a.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateUser(ctx, &first); err != nil {
					return err
				}
				close(written)
				<-release
				return nil
			})
		}()
		select {
		case <-written:
		case err := <-firstDone:
			t.Fatalf("first writer: %v", err)
		}
		secondDone := make(chan error, 1)
		go func() {
			secondDone <- b.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &second) })
		}()
		// Time for the second writer to reach its checks (it waits there,
		// or behind the first's transaction, until the first commits).
		time.Sleep(200 * time.Millisecond)
		close(release)
		if err := <-firstDone; err != nil {
			t.Fatalf("first writer: %v", err)
		}
		wantCode(t, <-secondDone, core.CodeConflict)
	}
}
