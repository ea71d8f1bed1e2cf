package service_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store"
)

// rerunStore runs every write transaction twice, as a group commit does
// after its group was rolled back: first in a transaction it rolls back,
// then for real. It notes the number each user is written with.
type rerunStore struct {
	store.Store
	numbers []int64
}

var errRolledBack = errors.New("rolled back by the test")

func (r *rerunStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	err := r.Store.InTx(ctx, func(tx store.Tx) error {
		if err := fn(&numberingTx{Tx: tx, r: r}); err != nil {
			return err
		}
		return errRolledBack
	})
	if !errors.Is(err, errRolledBack) {
		return err
	}
	return r.Store.InTx(ctx, func(tx store.Tx) error { return fn(&numberingTx{Tx: tx, r: r}) })
}

type numberingTx struct {
	store.Tx
	r *rerunStore
}

func (t *numberingTx) CreateUser(ctx context.Context, u *core.User) error {
	t.r.numbers = append(t.r.numbers, u.Number)
	return t.Tx.CreateUser(ctx, u)
}

// A create that runs again after a rollback draws its user's number again,
// rather than writing the rolled-back one as a number given: on
// PostgreSQL that would set the sequence back under numbers other nodes
// have drawn.
func TestCreateUserRunAgainDrawsItsNumberAgain(t *testing.T) {
	ctx := context.Background()
	var rerun *rerunStore
	svc, _ := importService(t, service.Config{}, func(st store.Store) store.Store {
		rerun = &rerunStore{Store: st}
		return rerun
	})
	tenant, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Rerun"})
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{service.ActionInvite, service.ActionRegister} {
		rerun.numbers = nil
		in := service.CreateUserInput{Action: action, Email: action + "@rerun.example", TenantID: tenant.ID}
		if action == service.ActionRegister {
			in.Password = "a long enough passphrase"
		}
		res, err := svc.CreateUser(ctx, core.System, in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rerun.numbers, []int64{0, 0}) || res.User.Number == 0 {
			t.Fatalf("%s: numbers given to the two runs %v, user number %d; want none given", action, rerun.numbers, res.User.Number)
		}
	}
}
