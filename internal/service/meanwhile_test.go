package service_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store"
)

// Each test here lets another request commit between an operation's reads
// and its write transaction, and checks that the write is decided on what
// is there now, not on what was read.

// laterUserRead fires, once armed, after the (skip+1)-th read of a user made
// outside a transaction: operations that read the user more than once
// before writing (a move reads it for each tenant).
type laterUserRead struct {
	store.Store
	trigger
	skip atomic.Int32
}

func (s *laterUserRead) GetUser(ctx context.Context, ref core.UserRef) (core.User, error) {
	u, err := s.Store.GetUser(ctx, ref)
	if s.armed.Load() && s.skip.Add(-1) < 0 {
		s.fire()
	}
	return u, err
}

func adminOf(tenantID string) *core.Principal {
	return &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k-" + tenantID,
		TenantRoles: map[string][]string{tenantID: {core.RoleTenantAdmin}}}
}

func setTenantStatus(t *testing.T, svc *service.Service, id string, status core.TenantStatus) {
	t.Helper()
	if _, err := svc.UpdateTenant(context.Background(), core.System, core.TenantRef{ID: id}, service.UpdateTenantInput{Status: &status}); err != nil {
		t.Error(err)
	}
}

func newTenantNamed(t *testing.T, svc *service.Service, name string) core.Tenant {
	t.Helper()
	tn, err := svc.CreateTenant(context.Background(), core.System, service.TenantInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// One tenant's admin cannot delete a user who became another tenant's admin
// meanwhile.
func TestDeleteSeesAnotherTenantJoinedMeanwhile(t *testing.T) {
	ctx := context.Background()
	hs := &laterUserRead{}
	svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { hs.Store = s; return hs })
	t1, u := acmeUser(t, svc, "victim@acme.example", true)
	t2 := newTenantNamed(t, svc, "Other")
	hs.hook = func() {
		if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: t2.ID}, core.UserRef{ID: u.ID}, []string{core.RoleTenantAdmin}); err != nil {
			t.Error(err)
		}
	}
	hs.armed.Store(true)
	_, err := svc.DeleteUser(ctx, adminOf(t1.ID), core.UserRef{ID: u.ID})
	got, _ := st.GetUser(ctx, core.UserRef{ID: u.ID})
	if core.ErrorCode(err) != core.CodeForbidden || got.Status == core.UserDeleted {
		t.Fatalf("deleting a user who joined another tenant meanwhile: %v, status %s", err, got.Status)
	}
}

// No new membership in a tenant suspended meanwhile, however it is made.
func TestNoMemberJoinsATenantSuspendedMeanwhile(t *testing.T) {
	ctx := context.Background()
	for name, join := range map[string]func(svc *service.Service, from, to core.Tenant, u core.User) error{
		"put member": func(svc *service.Service, _, to core.Tenant, u core.User) error {
			_, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: to.ID}, core.UserRef{ID: u.ID}, []string{core.RoleTenantUser})
			return err
		},
		"grant role": func(svc *service.Service, _, to core.Tenant, u core.User) error {
			_, err := svc.GrantRole(ctx, core.System, core.TenantRef{ID: to.ID}, core.UserRef{ID: u.ID}, core.RoleTenantUser)
			return err
		},
		"move": func(svc *service.Service, from, to core.Tenant, u core.User) error {
			_, err := svc.MoveMember(ctx, core.System, core.UserRef{ID: u.ID}, core.TenantRef{ID: from.ID}, core.TenantRef{ID: to.ID})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			hs := &laterUserRead{}
			svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { hs.Store = s; return hs })
			from, u := acmeUser(t, svc, "joiner@acme.example", true)
			to := newTenantNamed(t, svc, "Beta")
			if name == "move" {
				hs.skip.Store(1) // a move reads the user for each tenant
			}
			hs.hook = func() { setTenantStatus(t, svc, to.ID, core.TenantSuspended) }
			hs.armed.Store(true)
			err := join(svc, from, to, u)
			got, _ := st.GetUser(ctx, core.UserRef{ID: u.ID})
			if _, member := got.Membership(to.ID); core.ErrorCode(err) != core.CodeInvalid || member {
				t.Fatalf("joining a tenant suspended meanwhile: %v, member %v", err, member)
			}
		})
	}
}

// A move copies the roles the user holds when it is made: one revoked
// meanwhile does not come back in the new tenant.
func TestMoveCopiesTheRolesHeldNow(t *testing.T) {
	ctx := context.Background()
	hs := &laterUserRead{}
	svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { hs.Store = s; return hs })
	from, u := acmeUser(t, svc, "demoted@acme.example", true)
	to := newTenantNamed(t, svc, "Beta")
	if _, err := svc.GrantRole(ctx, core.System, core.TenantRef{ID: from.ID}, core.UserRef{ID: u.ID}, core.RoleTenantAdmin); err != nil {
		t.Fatal(err)
	}
	hs.hook = func() {
		if _, err := svc.RevokeRole(ctx, core.System, core.TenantRef{ID: from.ID}, core.UserRef{ID: u.ID}, core.RoleTenantAdmin); err != nil {
			t.Error(err)
		}
	}
	hs.armed.Store(true)
	if _, err := svc.MoveMember(ctx, core.System, core.UserRef{ID: u.ID}, core.TenantRef{ID: from.ID}, core.TenantRef{ID: to.ID}); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetUser(ctx, core.UserRef{ID: u.ID})
	if m, ok := got.Membership(to.ID); !ok || slices.Contains(m.Roles, core.RoleTenantAdmin) {
		t.Fatalf("after the move, roles in the new tenant: %v (member %v)", m.Roles, ok)
	}
}

// Provider-admin taken away meanwhile is given anew only with an elevation.
func TestProviderAdminRegrantedMeanwhileNeedsElevation(t *testing.T) {
	ctx := context.Background()
	is := &interruptingStore{}
	svc, st := importService(t, service.Config{RequireElevation: true}, func(s store.Store) store.Store { is.Store = s; return is })
	res, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "second@provider.example",
		Action: service.ActionRegister, Password: "correct horse battery staple", Roles: []string{core.RoleProviderAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	unelevated := &core.Principal{Kind: core.PrincipalSession, CredentialID: "s1", UserID: "someone",
		ProviderRoles: []string{core.RoleProviderAdmin}, TenantRoles: map[string][]string{}}
	for _, regrant := range []func() error{
		func() error {
			_, err := svc.SetProviderRoles(ctx, unelevated, core.UserRef{ID: res.User.ID}, []string{core.RoleProviderAdmin}, "")
			return err
		},
		func() error {
			roles := []string{core.RoleProviderAdmin}
			_, err := svc.UpdateUser(ctx, unelevated, core.UserRef{ID: res.User.ID}, service.UpdateUserInput{ProviderRoles: &roles})
			return err
		},
	} {
		is.hook = func() {
			if _, err := svc.RevokeRole(ctx, core.System, core.TenantRef{}, core.UserRef{ID: res.User.ID}, core.RoleProviderAdmin); err != nil {
				t.Error(err)
			}
		}
		is.armed.Store(true)
		err := regrant()
		got, _ := st.GetUser(ctx, core.UserRef{ID: res.User.ID})
		if err == nil || slices.Contains(got.ProviderRoles, core.RoleProviderAdmin) {
			t.Fatalf("provider-admin given back without an elevation: %v, roles %v", err, got.ProviderRoles)
		}
		if _, err := svc.GrantRole(ctx, core.System, core.TenantRef{}, core.UserRef{ID: res.User.ID}, core.RoleProviderAdmin); err != nil {
			t.Fatal(err)
		}
	}
}

// A user who left the tenant meanwhile is not put into its group.
func TestGroupTakesNoUserWhoLeftMeanwhile(t *testing.T) {
	ctx := context.Background()
	hs := &laterUserRead{}
	svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { hs.Store = s; return hs })
	tn, u := acmeUser(t, svc, "leaver@acme.example", true)
	name := "Ops"
	g, err := svc.CreateResourceGroup(ctx, core.System, core.TenantRef{ID: tn.ID}, service.ResourceGroupInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	hs.hook = func() {
		if err := svc.RemoveMember(ctx, core.System, core.TenantRef{ID: tn.ID}, core.UserRef{ID: u.ID}); err != nil {
			t.Error(err)
		}
	}
	hs.armed.Store(true)
	err = svc.AddResourceGroupMember(ctx, core.System, tn.ID, g.ID, core.UserRef{ID: u.ID})
	members, _ := st.ListResourceGroupMembers(ctx, g.ID)
	if core.ErrorCode(err) != core.CodeInvalid || slices.Contains(members, u.ID) {
		t.Fatalf("adding a user who left the tenant meanwhile: %v, group members %v", err, members)
	}
}

// A group's edit goes onto the group as it is: a rename made meanwhile stays.
func TestGroupEditKeepsARenameMadeMeanwhile(t *testing.T) {
	ctx := context.Background()
	is := &interruptingStore{}
	svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
	tn := newTenantNamed(t, svc, "Acme")
	name := "Ops"
	g, err := svc.CreateResourceGroup(ctx, core.System, core.TenantRef{ID: tn.ID}, service.ResourceGroupInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	is.hook = func() {
		renamed := "Operations"
		if _, err := svc.UpdateResourceGroup(ctx, core.System, tn.ID, g.ID, service.ResourceGroupInput{Name: &renamed}); err != nil {
			t.Error(err)
		}
	}
	is.armed.Store(true)
	desc := "on call"
	if _, err := svc.UpdateResourceGroup(ctx, core.System, tn.ID, g.ID, service.ResourceGroupInput{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetResourceGroup(ctx, g.ID); got.Name != "Operations" || got.Description != "on call" {
		t.Fatalf("group after two edits: %q, %q", got.Name, got.Description)
	}
}

// A tenant admin who no longer manages the invited user (it became another
// tenant's admin meanwhile) cannot resend its invitation.
func TestResendChecksThePermissionOnTheUserAsItIsNow(t *testing.T) {
	ctx := context.Background()
	hs := &laterUserRead{}
	svc, _ := importService(t, service.Config{}, func(s store.Store) store.Store { hs.Store = s; return hs })
	t1, u, _ := invited(t, svc, "Acme", "inv@acme.example")
	t2 := newTenantNamed(t, svc, "Other")
	hs.hook = func() {
		if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: t2.ID}, core.UserRef{ID: u.ID}, []string{core.RoleTenantAdmin}); err != nil {
			t.Error(err)
		}
	}
	hs.armed.Store(true)
	if res, err := svc.ResendInvitation(ctx, adminOf(t1.ID), core.UserRef{ID: u.ID}, 0); core.ErrorCode(err) != core.CodeForbidden {
		t.Fatalf("a resend by an admin who no longer manages the user: %+v, %v", res.Invitation, err)
	}
}

// A user created in a tenant deleted meanwhile (the create read it before
// the deletion and committed after) cannot accept its invitation: the
// deletion revoked the ones it found, and this one it did not.
func TestNoInvitationIntoATenantDeletedMeanwhileIsAccepted(t *testing.T) {
	ctx := context.Background()
	is := &interruptingStore{}
	svc, _ := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
	tn := newTenantNamed(t, svc, "Doomed")
	is.hook = func() {
		if _, err := svc.DeleteTenant(ctx, core.System, core.TenantRef{ID: tn.ID}); err != nil {
			t.Error(err)
		}
	}
	is.armed.Store(true)
	res, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "late@doomed.example", TenantID: tn.ID})
	if err != nil {
		return // refused outright: as good
	}
	if v, err := svc.ViewInvitation(ctx, res.InvitationToken); err != nil || v.Status != core.InvitationRevoked {
		t.Fatalf("the invitation into the deleted tenant: %s, %v", v.Status, err)
	}
	if _, _, _, err := svc.AcceptInvitation(ctx, res.InvitationToken, service.AcceptInput{Name: "Late", Password: "correct horse battery staple"}); core.ErrorCode(err) != core.CodeInvitationInvalid {
		t.Fatalf("accepting it: %v", err)
	}
}

// Requests adding one user to different tenants at once do not get in each
// other's way: another tenant's membership is not what a put decided on.
func TestConcurrentMembershipsOfOneUserAllLand(t *testing.T) {
	ctx := context.Background()
	svc, st := importService(t, service.Config{}, nil)
	_, u := acmeUser(t, svc, "many@acme.example", true)
	const n = 8
	tenants := make([]core.Tenant, n)
	for i := range tenants {
		tenants[i] = newTenantNamed(t, svc, fmt.Sprintf("T%d", i))
	}
	errs := make(chan error, n)
	for _, tn := range tenants {
		go func() {
			_, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: tn.ID}, core.UserRef{ID: u.ID}, []string{core.RoleTenantUser})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("one of %d additions at once: %v", n, err)
		}
	}
	if got, _ := st.GetUser(ctx, core.UserRef{ID: u.ID}); len(got.Memberships) != n+1 {
		t.Fatalf("memberships after the additions: %d", len(got.Memberships))
	}
}
