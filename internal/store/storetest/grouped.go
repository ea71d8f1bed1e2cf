package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// testQueuedTransactions queues transactions behind one that holds the
// store, so that a backend that commits the transactions waiting together
// as one (a group commit, as both backends do) runs them so, and checks
// that each behaves as it would alone: it reads what those that ran before
// it wrote, a clash is told to the transaction that made it, and the
// others commit in full. Nothing depends on the order they queue in.
func testQueuedTransactions(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "Grouped")
	// create writes a user as a registration or an invitation does, under
	// the invitation id given (a new one if empty).
	create := func(tx store.Tx, email, invitationID string) (grouped, error) {
		g := grouped{user: userWith(email)}
		if err := tx.CreateUser(ctx, &g.user); err != nil {
			return g, err
		}
		if err := tx.SetProviderRoles(ctx, g.user.ID, []string{"provider-viewer"}); err != nil {
			return g, err
		}
		err := tx.PutMembership(ctx, core.Membership{TenantID: tn.ID, UserID: g.user.ID, Roles: []string{"engineer", "viewer"},
			CreatedAt: epoch})
		if err != nil {
			return g, err
		}
		if err := tx.PutCredential(ctx, core.Credential{UserID: g.user.ID, Hash: "hash of " + email, UpdatedAt: epoch}); err != nil {
			return g, err
		}
		if invitationID == "" {
			invitationID = core.NewID()
		}
		g.inv = core.Invitation{ID: invitationID, UserID: g.user.ID, TenantID: tn.ID, Email: email,
			TokenHash: core.HashSecret(email), State: core.InvitationPending, ExpiresAt: epoch.Add(time.Hour), CreatedAt: epoch}
		if err := tx.CreateInvitation(ctx, g.inv); err != nil {
			return g, err
		}
		g.msg = outboxMessage(len(email), epoch)
		return g, tx.EnqueueOutbox(ctx, g.msg)
	}

	// Each transaction reads back every user those that ran before it
	// wrote, with all that came with it, then counts the tenant's
	// invitations around writing its own. They all run on the store's
	// writer one after another, so what they note needs no lock.
	var (
		ran      []grouped // in the order the transactions ran
		problems []string
	)
	reader := func(name string) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			for _, before := range ran {
				if p := before.readBack(tx, tn.ID); p != "" {
					problems = append(problems, name+" read "+before.user.Email+": "+p)
				}
			}
			list, err := tx.ListInvitations(ctx, store.InvitationFilter{TenantIDs: []string{tn.ID}})
			if err != nil {
				return err
			}
			g, err := create(tx, name+"@grouped.example", "")
			if err != nil {
				return err
			}
			after, err := tx.ListInvitations(ctx, store.InvitationFilter{TenantIDs: []string{tn.ID}})
			if err != nil {
				return err
			}
			if len(list) != len(ran) || len(after) != len(ran)+1 {
				problems = append(problems, fmt.Sprintf("%s counted %d invitations before its own and %d after, with %d written before it",
					name, len(list), len(after), len(ran)))
			}
			ran = append(ran, g)
			return nil
		}
	}
	errs := runQueued(t, s, []func(tx store.Tx) error{reader("one"), reader("two"), reader("three"), reader("four")})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if len(problems) > 0 || len(ran) != 4 {
		t.Fatalf("%d transactions ran, each once: %q", len(ran), problems)
	}
	for i := 1; i < len(ran); i++ {
		if ran[i-1].user.Number >= ran[i].user.Number {
			t.Fatalf("numbers %d then %d do not follow the order the transactions ran in", ran[i-1].user.Number, ran[i].user.Number)
		}
	}

	// Two transactions use one invitation id: whichever runs second fails,
	// alone; the others commit in full.
	shared := core.NewID()
	var (
		mu      sync.Mutex
		written = map[string]grouped{}
	)
	writer := func(name, invitationID string) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			g, err := create(tx, name+"@grouped.example", invitationID)
			mu.Lock()
			written[name] = g
			mu.Unlock()
			return err
		}
	}
	errs = runQueued(t, s, []func(tx store.Tx) error{writer("left", shared), writer("middle", ""), writer("right", shared)})
	failed := ""
	for i, name := range []string{"left", "middle", "right"} {
		switch {
		case errs[i] == nil:
		case failed == "" && name != "middle":
			wantCode(t, errs[i], core.CodeConflict)
			failed = name
		default:
			t.Fatalf("%s: %v", name, errs[i])
		}
	}
	if failed == "" {
		t.Fatal("two transactions wrote one invitation id, and both committed")
	}
	if _, err := s.GetUser(ctx, core.UserRef{ID: written[failed].user.ID}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("the clashing transaction's user: %v, want not found", err)
	}
	delete(written, failed)

	for _, g := range append(ran, written["left"], written["middle"], written["right"]) {
		if g.user.ID == "" {
			continue // the one that failed
		}
		if err := s.InTx(ctx, func(tx store.Tx) error {
			if p := g.readBack(tx, tn.ID); p != "" {
				return errors.New(p)
			}
			return nil
		}); err != nil {
			t.Fatalf("%s after its group: %v", g.user.Email, err)
		}
	}
}

// grouped is what one queued transaction wrote.
type grouped struct {
	user core.User
	inv  core.Invitation
	msg  core.OutboxMessage
}

// readBack says what of g's writes tx does not see as written, or "".
func (g grouped) readBack(tx store.Tx, tenantID string) string {
	u, err := tx.GetUser(ctx, core.UserRef{ID: g.user.ID})
	switch {
	case err != nil:
		return "user: " + err.Error()
	case u.Number == 0 || u.Number != g.user.Number:
		return fmt.Sprintf("number %d, want %d", u.Number, g.user.Number)
	case len(u.Memberships) != 1 || u.Memberships[0].TenantID != tenantID ||
		!slices.Equal(u.Memberships[0].Roles, []string{"engineer", "viewer"}):
		return fmt.Sprintf("memberships %+v", u.Memberships)
	case !slices.Equal(u.ProviderRoles, []string{"provider-viewer"}):
		return fmt.Sprintf("provider roles %v", u.ProviderRoles)
	}
	if c, err := tx.GetCredential(ctx, g.user.ID); err != nil || c.Hash != "hash of "+g.user.Email {
		return fmt.Sprintf("credential %+v, %v", c, err)
	}
	if inv, err := tx.GetInvitation(ctx, g.inv.ID); err != nil || inv.UserID != g.user.ID || inv.TenantID != tenantID {
		return fmt.Sprintf("invitation %+v, %v", inv, err)
	}
	if m, err := tx.GetOutbox(ctx, g.msg.ID); err != nil || m.Recipient != g.msg.Recipient {
		return fmt.Sprintf("email %+v, %v", m, err)
	}
	return ""
}

// runQueued starts fns while a transaction holds the store, giving each
// time to queue, then lets them all run; it returns each one's outcome.
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
	}
	time.Sleep(50 * time.Millisecond) // for all of them to queue
	close(release)
	wg.Wait()
	return errs
}

// testQueuedRewrites checks, in transactions committed together, that a
// second write of a new user's roles, membership or credential replaces
// the first, in one transaction or from another, before or after a read;
// and that an invitation written before its user fails, as it would alone.
func testQueuedRewrites(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "Rewrites")
	var twice, cleared string
	// Each of two transactions makes a user with provider-admin, and
	// demotes the other's user if that one ran first.
	crossed := map[string]string{}
	demoteOther := func(mine, other string) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			u := userWith(mine)
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			crossed[mine] = u.ID
			if err := tx.SetProviderRoles(ctx, u.ID, []string{"provider-admin"}); err != nil {
				return err
			}
			o, err := tx.GetUser(ctx, core.UserRef{Email: other})
			switch core.ErrorCode(err) {
			case core.CodeNotFound:
				return nil // this one ran first
			case "":
				return tx.SetProviderRoles(ctx, o.ID, []string{"provider-viewer"})
			}
			return err
		}
	}
	// Roles apart from the rest: a second membership or credential that
	// clashed with the first would make the group run again one
	// transaction at a time, where every write is made at once.
	errs := runQueued(t, s, []func(tx store.Tx) error{
		func(tx store.Tx) error {
			u := userWith("twice@rewrites.example")
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			twice = u.ID
			for _, roles := range [][]string{{"provider-admin"}, {"provider-viewer"}} {
				if err := tx.SetProviderRoles(ctx, u.ID, roles); err != nil {
					return err
				}
			}
			return nil
		},
		func(tx store.Tx) error {
			u := userWith("cleared@rewrites.example")
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			cleared = u.ID
			if err := tx.SetProviderRoles(ctx, u.ID, []string{"provider-admin"}); err != nil {
				return err
			}
			if _, err := tx.GetUser(ctx, core.UserRef{ID: u.ID}); err != nil {
				return err
			}
			return tx.SetProviderRoles(ctx, u.ID, nil)
		},
		demoteOther("left@rewrites.example", "right@rewrites.example"),
		demoteOther("right@rewrites.example", "left@rewrites.example"),
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if u, err := s.GetUser(ctx, core.UserRef{ID: twice}); err != nil || !slices.Equal(u.ProviderRoles, []string{"provider-viewer"}) {
		t.Fatalf("roles written twice: %v, %v", u.ProviderRoles, err)
	}
	if u, err := s.GetUser(ctx, core.UserRef{ID: cleared}); err != nil || len(u.ProviderRoles) != 0 {
		t.Fatalf("roles cleared after a read: %v, %v", u.ProviderRoles, err)
	}
	var roles [][]string
	for _, email := range []string{"left@rewrites.example", "right@rewrites.example"} {
		u, err := s.GetUser(ctx, core.UserRef{ID: crossed[email]})
		if err != nil {
			t.Fatal(err)
		}
		roles = append(roles, u.ProviderRoles)
	}
	if !slices.ContainsFunc(roles, func(r []string) bool { return slices.Equal(r, []string{"provider-viewer"}) }) ||
		!slices.ContainsFunc(roles, func(r []string) bool { return slices.Equal(r, []string{"provider-admin"}) }) {
		t.Fatalf("users that demoted each other's, whichever ran second: roles %v, want one viewer and one admin", roles)
	}

	errs = runQueued(t, s, []func(tx store.Tx) error{
		func(tx store.Tx) error {
			u := userWith("membership@rewrites.example")
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			twice = u.ID
			for _, role := range []string{"engineer", "viewer"} {
				m := core.Membership{TenantID: tn.ID, UserID: u.ID, Roles: []string{role}, CreatedAt: epoch}
				if err := tx.PutMembership(ctx, m); err != nil {
					return err
				}
			}
			for _, hash := range []string{"first hash", "second hash"} {
				if err := tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: hash, UpdatedAt: epoch}); err != nil {
					return err
				}
			}
			return nil
		},
		func(tx store.Tx) error {
			u := userWith("neighbour@rewrites.example")
			return tx.CreateUser(ctx, &u)
		},
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("a membership and a credential written twice: %v, %v", errs[0], errs[1])
	}
	u, err := s.GetUser(ctx, core.UserRef{ID: twice})
	if err != nil || len(u.Memberships) != 1 || !slices.Equal(u.Memberships[0].Roles, []string{"viewer"}) {
		t.Fatalf("membership written twice: %+v, %v", u.Memberships, err)
	}
	if c, err := s.GetCredential(ctx, twice); err != nil || c.Hash != "second hash" {
		t.Fatalf("credential written twice: %+v, %v", c, err)
	}

	late := userWith("late@rewrites.example")
	errs = runQueued(t, s, []func(tx store.Tx) error{
		func(tx store.Tx) error {
			inv := core.Invitation{ID: core.NewID(), UserID: late.ID, TenantID: tn.ID, Email: late.Email,
				TokenHash: core.HashSecret("late"), State: core.InvitationPending, ExpiresAt: epoch.Add(time.Hour), CreatedAt: epoch}
			if err := tx.CreateInvitation(ctx, inv); err != nil {
				return err
			}
			u := late
			return tx.CreateUser(ctx, &u)
		},
		func(tx store.Tx) error {
			u := userWith("beside@rewrites.example")
			return tx.CreateUser(ctx, &u)
		},
	})
	if errs[0] == nil || errs[1] != nil {
		t.Fatalf("an invitation before its user: %v, and the transaction beside it: %v", errs[0], errs[1])
	}
	if _, err := s.GetUser(ctx, core.UserRef{ID: late.ID}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("the user after its invitation: %v, want not found", err)
	}
}
