package service_test

import (
	"context"
	"testing"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
	"roster/internal/store"
)

// serviceOn is a bootstrapped service over st, with cheap hashes, that
// drains when the test ends.
func serviceOn(t *testing.T, st store.Store, cfg service.Config, clock core.Clock, operatorKey string) *service.Service {
	t.Helper()
	pool := password.NewPool(password.PoolConfig{Params: password.Params{Memory: 64, Time: 1, Threads: 1}, Size: 1}, nil)
	svc := service.New(st, pool, clock, cfg, nil)
	t.Cleanup(svc.Drain)
	if _, err := svc.Bootstrap(context.Background(), operatorKey); err != nil {
		t.Fatal(err)
	}
	return svc
}

// acmeUser makes the tenant Acme and in it a user with email, registered
// with the password "correct horse battery staple" when register is set,
// invited otherwise.
func acmeUser(t *testing.T, svc *service.Service, email string, register bool) (core.Tenant, core.User) {
	t.Helper()
	ctx := context.Background()
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	in := service.CreateUserInput{Email: email, TenantID: tn.ID}
	if register {
		in.Action, in.Password = service.ActionRegister, "correct horse battery staple"
	}
	res, err := svc.CreateUser(ctx, core.System, in)
	if err != nil {
		t.Fatal(err)
	}
	return tn, res.User
}
