package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// testQueuedTransactions queues transactions behind one that holds the
// store, so that a backend that commits the transactions waiting together
// as one (a group commit) runs them so, and checks that each behaves as it
// would alone: it reads what those before it wrote, a clash is told to the
// transaction that made it, and the others commit in full.
func testQueuedTransactions(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "Grouped")
	type created struct {
		user core.User
		inv  core.Invitation
		msg  core.OutboxMessage
	}
	// create writes a user as a registration or an invitation does.
	create := func(tx store.Tx, c *created, email string) error {
		c.user = userWith(email)
		if err := tx.CreateUser(ctx, &c.user); err != nil {
			return err
		}
		if err := tx.SetProviderRoles(ctx, c.user.ID, []string{"provider-viewer"}); err != nil {
			return err
		}
		err := tx.PutMembership(ctx, core.Membership{TenantID: tn.ID, UserID: c.user.ID, Roles: []string{"engineer", "viewer"},
			CreatedAt: epoch})
		if err != nil {
			return err
		}
		if err := tx.PutCredential(ctx, core.Credential{UserID: c.user.ID, Hash: "hash of " + email, UpdatedAt: epoch}); err != nil {
			return err
		}
		if c.inv.ID == "" {
			c.inv.ID = core.NewID()
		}
		c.inv = core.Invitation{ID: c.inv.ID, UserID: c.user.ID, TenantID: tn.ID, Email: email, TokenHash: core.HashSecret(email),
			State: core.InvitationPending, ExpiresAt: epoch.Add(time.Hour), CreatedAt: epoch}
		if err := tx.CreateInvitation(ctx, c.inv); err != nil {
			return err
		}
		c.msg = outboxMessage(len(email), epoch)
		return tx.EnqueueOutbox(ctx, c.msg)
	}

	// Transactions that read what those before them in the queue wrote.
	var first, second, last created
	var (
		sawMembership, sawInvitation, sawRoles, sawCredential bool
		countBefore, countAfter                               int
	)
	errs := runQueued(t, s, []func(tx store.Tx) error{
		func(tx store.Tx) error { return create(tx, &first, "first@grouped.example") },
		func(tx store.Tx) error {
			u, err := tx.GetUser(ctx, core.UserRef{ID: first.user.ID})
			if err != nil {
				return err
			}
			sawMembership = len(u.Memberships) == 1 && slices.Equal(u.Memberships[0].Roles, []string{"engineer", "viewer"})
			sawRoles = slices.Equal(u.ProviderRoles, []string{"provider-viewer"})
			inv, err := tx.GetInvitation(ctx, first.inv.ID)
			sawInvitation = err == nil && inv.UserID == first.user.ID
			c, err := tx.GetCredential(ctx, first.user.ID)
			sawCredential = err == nil && c.Hash == "hash of first@grouped.example"
			return create(tx, &second, "second@grouped.example")
		},
		func(tx store.Tx) error {
			list, err := tx.ListInvitations(ctx, store.InvitationFilter{TenantIDs: []string{tn.ID}})
			if err != nil {
				return err
			}
			countBefore = len(list)
			if err := create(tx, &last, "last@grouped.example"); err != nil {
				return err
			}
			list, err = tx.ListInvitations(ctx, store.InvitationFilter{TenantIDs: []string{tn.ID}})
			countAfter = len(list)
			return err
		},
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if !sawMembership || !sawRoles || !sawInvitation || !sawCredential {
		t.Fatalf("the second transaction saw the first's membership %v, roles %v, invitation %v, credential %v",
			sawMembership, sawRoles, sawInvitation, sawCredential)
	}
	if countBefore != 2 || countAfter != 3 {
		t.Fatalf("the last transaction counted %d invitations before its own and %d after, want 2 and 3", countBefore, countAfter)
	}
	if first.user.Number >= second.user.Number || second.user.Number >= last.user.Number {
		t.Fatalf("numbers %d, %d, %d do not follow the order of the transactions",
			first.user.Number, second.user.Number, last.user.Number)
	}

	// A transaction that clashes with one before it fails alone.
	var before, clash, after created
	errs = runQueued(t, s, []func(tx store.Tx) error{
		func(tx store.Tx) error { return create(tx, &before, "before@grouped.example") },
		func(tx store.Tx) error {
			clash.inv.ID = before.inv.ID
			return create(tx, &clash, "clash@grouped.example")
		},
		func(tx store.Tx) error { return create(tx, &after, "after@grouped.example") },
	})
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("the transactions around the clash: %v, %v", errs[0], errs[2])
	}
	wantCode(t, errs[1], core.CodeConflict)
	if _, err := s.GetUser(ctx, core.UserRef{ID: clash.user.ID}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("the clashing transaction's user: %v, want not found", err)
	}
	if _, err := s.GetOutbox(ctx, clash.msg.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("the clashing transaction's email: %v, want not found", err)
	}

	for _, c := range []created{first, second, last, before, after} {
		u, err := s.GetUser(ctx, core.UserRef{ID: c.user.ID})
		if err != nil || u.Number == 0 || u.Number != c.user.Number || len(u.Memberships) != 1 ||
			!slices.Equal(u.Memberships[0].Roles, []string{"engineer", "viewer"}) || !slices.Equal(u.ProviderRoles, []string{"provider-viewer"}) {
			t.Fatalf("%s after its group: %+v, %v", c.user.Email, u, err)
		}
		if cred, err := s.GetCredential(ctx, c.user.ID); err != nil || cred.Hash != "hash of "+c.user.Email {
			t.Fatalf("%s credential: %+v, %v", c.user.Email, cred, err)
		}
		if inv, err := s.GetInvitation(ctx, c.inv.ID); err != nil || inv.UserID != c.user.ID || inv.TenantID != tn.ID {
			t.Fatalf("%s invitation: %+v, %v", c.user.Email, inv, err)
		}
		if m, err := s.GetOutbox(ctx, c.msg.ID); err != nil || m.Recipient != c.msg.Recipient {
			t.Fatalf("%s email: %+v, %v", c.user.Email, m, err)
		}
	}
}

// runQueued starts fns one after another while a transaction holds the
// store, giving each time to queue, then lets them all run; it returns
// each one's outcome.
func runQueued(t *testing.T, s store.Store, fns []func(tx store.Tx) error) []error {
	t.Helper()
	holding, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := s.InTx(ctx, func(store.Tx) error {
			close(holding)
			<-release
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-holding
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.InTx(ctx, fn)
		}()
		time.Sleep(20 * time.Millisecond) // queued behind the one before
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.As(err, new(*core.Error)) {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	return errs
}
