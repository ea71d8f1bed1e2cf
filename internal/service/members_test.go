package service_test

import (
	"context"
	"testing"

	"roster/internal/core"
	"roster/internal/service"
)

// A suspended tenant takes no new members, however they come (as a new
// user is refused there); its members' roles may still change.
func TestSuspendedTenantTakesNoNewMembers(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	home, u := acmeUser(t, svc, "bob@acme.example", true)
	closed, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Closed"})
	if err != nil {
		t.Fatal(err)
	}
	suspended := core.TenantSuspended
	for _, tn := range []core.Tenant{closed, home} {
		if _, err := svc.UpdateTenant(ctx, core.System, core.TenantRef{ID: tn.ID}, service.UpdateTenantInput{Status: &suspended}); err != nil {
			t.Fatal(err)
		}
	}
	user := core.UserRef{ID: u.ID}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: closed.ID}, user, []string{core.RoleTenantAdmin}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("joining a suspended tenant: %v", err)
	}
	if _, err := svc.MoveMember(ctx, core.System, user, core.TenantRef{ID: home.ID}, core.TenantRef{ID: closed.ID}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("moving into a suspended tenant: %v", err)
	}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: home.ID}, user, []string{core.RoleTenantUser}); err != nil {
		t.Fatalf("a member's roles in a suspended tenant: %v", err)
	}
}
