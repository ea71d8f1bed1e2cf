package service_test

import (
	"context"
	"strings"
	"testing"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
)

// A user in two tenants meets both tenants' password policies (PATCH here;
// reset, invitation and import use the same check and are tested with
// their pages and lines): the laxer tenant is no way around the stricter
// one, and where both limit the length, both limits are said.
func TestPasswordMeetsEveryTenantsPolicy(t *testing.T) {
	ctx := context.Background()
	svc, _ := importService(t, service.Config{}, nil)
	strict, lax := strictAndLax(t, svc)
	created, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: "two@policies.example", TenantID: lax.ID})
	if err != nil {
		t.Fatal(err)
	}
	ref := core.UserRef{ID: created.User.ID}
	weak := "a long enough passphrase" // nist's rule, not complex's
	if _, err := svc.UpdateUser(ctx, core.System, ref, service.UpdateUserInput{Password: &weak}); err != nil {
		t.Fatalf("in the lax tenant alone: %v", err)
	}
	if _, err := svc.PutMember(ctx, core.System, core.TenantRef{ID: strict.ID}, ref, []string{core.RoleTenantUser}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.UpdateUser(ctx, core.System, ref, service.UpdateUserInput{Password: &weak})
	if ce := core.AsError(err); err == nil || ce.Code != core.CodeInvalid || len(ce.Fields) == 0 || ce.Fields[0].Field != "password" {
		t.Fatalf("in both tenants, a password the strict one refuses: %v", err)
	}
	long := "Aa1!" + strings.Repeat("x", 196)
	_, err = svc.UpdateUser(ctx, core.System, ref, service.UpdateUserInput{Password: &long})
	var limits []string
	for _, f := range core.AsError(err).Fields {
		if f.Code == "too_long" {
			limits = append(limits, f.Message)
		}
	}
	if len(limits) != 2 || !strings.Contains(strings.Join(limits, " "), "50") || !strings.Contains(strings.Join(limits, " "), "128") {
		t.Errorf("a 200-character password: length problems %q, want both limits", limits)
	}
	strong := "Strong-Passphrase-42"
	if _, err := svc.UpdateUser(ctx, core.System, ref, service.UpdateUserInput{Password: &strong}); err != nil {
		t.Fatalf("a password both accept: %v", err)
	}
}

// strictAndLax makes a tenant with the complex policy and one with nist.
func strictAndLax(t *testing.T, svc *service.Service) (strict, lax core.Tenant) {
	t.Helper()
	ctx := context.Background()
	var err error
	if strict, err = svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Strict", PasswordPolicy: password.PolicyComplex}); err != nil {
		t.Fatal(err)
	}
	if lax, err = svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Lax", PasswordPolicy: password.PolicyNIST}); err != nil {
		t.Fatal(err)
	}
	return strict, lax
}
