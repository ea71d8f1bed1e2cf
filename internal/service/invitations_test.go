package service_test

import (
	"context"
	"testing"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store"
)

// invitationHook fires, once armed, right after an invitation is read
// outside a transaction: an acceptance landing between a revocation's read
// and its write.
type invitationHook struct {
	store.Store
	trigger
}

func (h *invitationHook) GetInvitation(ctx context.Context, id string) (core.Invitation, error) {
	inv, err := h.Store.GetInvitation(ctx, id)
	h.fire()
	return inv, err
}

// invited makes a user invited into a tenant of its own, and returns the
// invitation's token.
func invited(t *testing.T, svc *service.Service, tenant, email string) (core.Tenant, core.User, string) {
	t.Helper()
	ctx := context.Background()
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: tenant})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: email, TenantID: tn.ID})
	if err != nil {
		t.Fatal(err)
	}
	return tn, res.User, res.InvitationToken
}

var accepting = service.AcceptInput{Name: "Bob", Password: "correct horse battery staple"}

// A revocation that read the invitation before it was accepted does not
// turn the acceptance into a revocation: it is refused, and the invitation
// stays accepted.
func TestRevocationDoesNotUndoAnAcceptance(t *testing.T) {
	ctx := context.Background()
	h := &invitationHook{}
	svc, _ := importService(t, service.Config{}, func(s store.Store) store.Store { h.Store = s; return h })
	_, u, token := invited(t, svc, "Acme", "bob@acme.example")
	inv, err := svc.LatestInvitation(ctx, core.System, core.UserRef{ID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	h.hook = func() {
		if _, _, _, err := svc.AcceptInvitation(ctx, token, accepting); err != nil {
			t.Errorf("accept: %v", err)
		}
	}
	h.armed.Store(true)
	if _, err := svc.RevokeInvitation(ctx, core.System, inv.ID); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("a revocation racing an acceptance: %v, want conflict", err)
	}
	if got, _ := svc.LatestInvitation(ctx, core.System, core.UserRef{ID: u.ID}); got.State != core.InvitationAccepted || got.AcceptedAt == nil {
		t.Fatalf("the invitation after the race: %+v", got)
	}
}

// A user taken out of the tenant it was invited to, or moved to another,
// is no longer invited there: the old link opens nothing, and a resend
// invites the user to where it is now.
func TestLeavingATenantEndsItsInvitation(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	alpha, u, token := invited(t, svc, "Alpha", "bob@beta.example")
	beta, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.MoveMember(ctx, core.System, core.UserRef{ID: u.ID}, core.TenantRef{ID: alpha.ID}, core.TenantRef{ID: beta.ID}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.AcceptInvitation(ctx, token, accepting); err == nil {
		t.Fatal("the link into the tenant the user left still works")
	}
	again, err := svc.ResendInvitation(ctx, core.System, core.UserRef{ID: u.ID}, 0)
	if err != nil || again.Invitation.TenantID != beta.ID {
		t.Fatalf("resent into %q (beta is %q), %v", again.Invitation.TenantID, beta.ID, err)
	}

	if err := svc.RemoveMember(ctx, core.System, core.TenantRef{ID: beta.ID}, core.UserRef{ID: u.ID}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.AcceptInvitation(ctx, again.Token, accepting); err == nil {
		t.Fatal("the link into the tenant the user was taken out of still works")
	}
	if got, _ := svc.GetUser(ctx, core.System, core.UserRef{ID: u.ID}); got.Status != core.UserInvited {
		t.Fatalf("the user is %s", got.Status)
	}
}

// An invited user disabled and enabled again is invited again, not active
// without a password: its link works once more.
func TestEnablingAUserWhoNeverAcceptedInvitesItAgain(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	_, u, token := invited(t, svc, "Acme", "bob@acme.example")
	for _, st := range []core.UserStatus{core.UserDisabled, core.UserActive} {
		if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Status: &st}); err != nil {
			t.Fatalf("status %s: %v", st, err)
		}
	}
	if got, _ := svc.GetUser(ctx, core.System, core.UserRef{ID: u.ID}); got.Status != core.UserInvited || got.HasPassword {
		t.Fatalf("enabled again, the user is %s (password %v)", got.Status, got.HasPassword)
	}
	if got, _, _, err := svc.AcceptInvitation(ctx, token, accepting); err != nil || got.Status != core.UserActive {
		t.Fatalf("the link after enabling: %v, %v", got.Status, err)
	}
}

// A resend goes to the user as it is at its write: to an email changed
// since its read, and to the provider when the last invitation was there,
// even if the user is in a tenant now.
func TestResendGoesToTheUserAsItIsNow(t *testing.T) {
	ctx := context.Background()
	is := &interruptingStore{}
	svc, _ := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
	_, u, _ := invited(t, svc, "Acme", "old@acme.example")
	is.hook = func() {
		email := "new@acme.example"
		if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Email: &email}); err != nil {
			t.Errorf("the email change: %v", err)
		}
	}
	is.armed.Store(true)
	res, err := svc.ResendInvitation(ctx, core.System, core.UserRef{ID: u.ID}, 0)
	if err != nil || res.Invitation.Email != "new@acme.example" {
		t.Fatalf("resent to %q, %v", res.Invitation.Email, err)
	}

	admin, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "ops@provider.example",
		Roles: []string{core.RoleProviderViewer}})
	if err != nil || admin.Invitation == nil || admin.Invitation.TenantID != "" {
		t.Fatalf("a provider-level invitation: %+v, %v", admin.Invitation, err)
	}
	acme, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme Two"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: acme.ID}, core.UserRef{ID: admin.User.ID}, []string{core.RoleTenantUser}); err != nil {
		t.Fatal(err)
	}
	if again, err := svc.ResendInvitation(ctx, core.System, core.UserRef{ID: admin.User.ID}, 0); err != nil || again.Invitation.TenantID != "" {
		t.Fatalf("resent into %q, %v", again.Invitation.TenantID, err)
	}
	// Without its provider role, the user is the tenant's to invite.
	if _, err := svc.SetProviderRoles(ctx, core.System, core.UserRef{ID: admin.User.ID}, nil, ""); err != nil {
		t.Fatal(err)
	}
	if again, err := svc.ResendInvitation(ctx, core.System, core.UserRef{ID: admin.User.ID}, 0); err != nil || again.Invitation.TenantID != acme.ID {
		t.Fatalf("resent, without a provider role, into %q, %v", again.Invitation.TenantID, err)
	}
}

// A user in two tenants: one tenant's readers do not see the invitation
// into the other (GPCN shows a user's latest invitation in its view).
func TestLatestInvitationStaysInTheReadersTenants(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	a, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "two@example.com", TenantID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	user := core.UserRef{ID: res.User.ID}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: a.ID}, user, []string{core.RoleTenantUser}); err != nil {
		t.Fatal(err)
	}
	adminOfA := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k1", TenantRoles: map[string][]string{a.ID: {core.RoleTenantAdmin}}}
	if inv, err := svc.LatestInvitation(ctx, adminOfA, user); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("A's admin sees the invitation into B: %+v, %v", inv, err)
	}
	adminOfB := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: "k2", TenantRoles: map[string][]string{b.ID: {core.RoleTenantAdmin}}}
	if inv, err := svc.LatestInvitation(ctx, adminOfB, user); err != nil || inv.TenantID != b.ID {
		t.Fatalf("B's admin: %+v, %v", inv, err)
	}
	if inv, err := svc.LatestInvitation(ctx, core.System, user); err != nil || inv.TenantID != b.ID {
		t.Fatalf("the provider: %+v, %v", inv, err)
	}
}
