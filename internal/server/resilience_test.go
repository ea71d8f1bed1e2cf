package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/store/postgres"
	"roster/internal/testsupport"
)

// TestPostgresOutage stops and restarts PostgreSQL under a bounded load:
// requests meanwhile get 503 problems (never a 500), /readyz reports the
// outage, no user is lost or made twice, and roster recovers without a
// restart.
func TestPostgresOutage(t *testing.T) {
	cluster := testsupport.StartPostgresCluster(t)
	st, err := postgres.Open(context.Background(), cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	env := testsupport.Start(t, testsupport.Options{Store: st})
	admin := testsupport.NewClient(t, env.URL, nil).Bearer(testsupport.AdminKey)
	raw := testsupport.NewClient(t, env.URL, nil)
	tenant, _ := admin.Do("POST", "/v1/tenants", map[string]any{"name": "Outage"}).Want(t, 201).Map(t)["id"].(string)

	const workers, perWorker = 6, 40
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		bad      []string
		wg       sync.WaitGroup
	)
	started := make(chan struct{})
	var once sync.Once
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				body := map[string]any{"action": "register", "email": fmt.Sprintf("outage-%d-%d@example.com", w, i),
					"tenant_id": tenant, "password": "a sturdy passphrase"}
				// Retry while the database is away, as a client would.
				for attempt := 0; ; attempt++ {
					r := admin.Do("POST", "/v1/users", body)
					once.Do(func() { close(started) })
					mu.Lock()
					statuses[r.Status]++
					if r.Status == 503 && (!strings.Contains(r.String(), `"code":"unavailable"`) ||
						r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("Retry-After") == "") {
						bad = append(bad, r.String())
					}
					if r.Status != 201 && r.Status != 409 && r.Status != 503 {
						bad = append(bad, fmt.Sprintf("%d %s", r.Status, r.String()))
					}
					mu.Unlock()
					if r.Status != 503 {
						break
					}
					if attempt > 600 {
						t.Errorf("user %d-%d: still 503 after %d attempts", w, i, attempt)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}(w)
	}
	<-started
	time.Sleep(100 * time.Millisecond)
	cluster.Stop(t)
	r := raw.Do("GET", "/readyz", nil)
	if r.Status != 503 || !strings.Contains(r.String(), `"code":"unavailable"`) {
		t.Errorf("/readyz while the database is down: %d %s", r.Status, r.Body)
	}
	for _, leak := range []string{"dial", "pgconn", "connection refused", "127.0.0.1"} {
		if strings.Contains(r.String(), leak) {
			t.Errorf("the 503 body leaks internals (%q): %s", leak, r.Body)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	cluster.Start(t)
	wg.Wait()

	raw.Do("GET", "/readyz", nil).Want(t, 200)
	if len(bad) > 0 {
		t.Fatalf("unexpected answers during the outage: %v", bad)
	}
	if statuses[503] == 0 {
		t.Fatalf("no request saw the outage (statuses %v); the test proved nothing", statuses)
	}
	var l struct{ Items []map[string]any }
	admin.Do("GET", "/v1/users?q=outage-&limit=1000", nil).Want(t, 200).JSON(t, &l)
	seen := map[string]int{}
	for _, u := range l.Items {
		seen[u["email"].(string)]++
	}
	for w := 0; w < workers; w++ {
		for i := 0; i < perWorker; i++ {
			if n := seen[fmt.Sprintf("outage-%d-%d@example.com", w, i)]; n != 1 {
				t.Errorf("user outage-%d-%d exists %d times", w, i, n)
			}
		}
	}
	if len(l.Items) != workers*perWorker {
		t.Errorf("%d users, want %d", len(l.Items), workers*perWorker)
	}
	t.Logf("answers during the test: %v", statuses)
}
