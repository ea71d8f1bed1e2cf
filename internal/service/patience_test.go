package service_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
	"roster/internal/store"
	"roster/internal/store/sqlite"
)

// patienceLog records the commit patience each transaction was asked with.
type patienceLog struct {
	store.Store
	mu    sync.Mutex
	asked []time.Duration
}

func (l *patienceLog) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	l.mu.Lock()
	l.asked = append(l.asked, store.CommitPatience(ctx))
	l.mu.Unlock()
	return l.Store.InTx(ctx, fn)
}

// take returns the patiences recorded since the last take.
func (l *patienceLog) take() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	asked := l.asked
	l.asked = nil
	return asked
}

// A registration or a login commits at once while nobody waits for the
// hashing pool; while others wait, it may wait about a hash's time for
// their commits to share its own.
func TestWritesAfterHashesWaitForCompanyOnlyWhenHashesQueue(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := &patienceLog{Store: st}
	// One slot, and hashes slow enough that the others queue behind one.
	pool := password.NewPool(password.PoolConfig{Params: password.Params{Memory: 4 << 10, Time: 4, Threads: 1},
		Size: 1, MaxWait: time.Minute}, nil)
	svc := service.New(log, pool, core.SystemClock{}, service.Config{}, nil)
	t.Cleanup(svc.Drain)
	if _, err := svc.Bootstrap(ctx, operatorKey); err != nil {
		t.Fatal(err)
	}
	tn, err := svc.CreateTenant(ctx, core.System, service.TenantInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple"
	register := func(i int) error {
		_, err := svc.CreateUser(ctx, core.System, service.CreateUserInput{Email: fmt.Sprintf("u%d@acme.test", i),
			TenantID: tn.ID, Action: service.ActionRegister, Password: pw})
		return err
	}
	login := func(i int) error {
		_, _, err := svc.Login(ctx, service.LoginInput{Login: fmt.Sprintf("u%d@acme.test", i), Password: pw,
			ClientAddr: "192.0.2.1"})
		return err
	}
	for _, step := range []struct {
		name string
		do   func(int) error
	}{{"register", register}, {"login", login}} {
		// Alone: nobody waits.
		log.take()
		if err := step.do(0); err != nil {
			t.Fatal(err)
		}
		for _, d := range log.take() {
			if d != 0 {
				t.Fatalf("%s alone: a transaction was given patience %v", step.name, d)
			}
		}
		// Four at once on one slot: the first hashes to finish leave
		// others waiting.
		var wg sync.WaitGroup
		for i := 1; i <= 4; i++ {
			wg.Go(func() {
				if err := step.do(i); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		patient := 0
		for _, d := range log.take() {
			if d > 0 {
				patient++
				if d > time.Minute {
					t.Fatalf("%s: patience %v, more than a hash could take", step.name, d)
				}
			}
		}
		if patient == 0 {
			t.Fatalf("%s: four at once on one hashing slot, and no write waited for company", step.name)
		}
	}
}
