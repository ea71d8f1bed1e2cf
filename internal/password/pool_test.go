package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"roster/internal/core"
)

var testParams = Params{Memory: 64, Time: 1, Threads: 1}

func TestPoolHashAndVerify(t *testing.T) {
	p := NewPool(PoolConfig{Params: testParams, Size: 2}, nil)
	h, err := p.Hash(context.Background(), Interactive, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Verify(context.Background(), h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("Verify right password = %v, %v", ok, err)
	}
	if ok, err := p.Verify(context.Background(), h, "wrong"); ok || err != nil {
		t.Fatalf("Verify wrong password = %v, %v", ok, err)
	}
	if p.NeedsRehash(h) {
		t.Fatal("a fresh hash needs rehash")
	}
}

// The pool never runs more than Size hashes at once, however many ask.
func TestPoolBoundsConcurrency(t *testing.T) {
	p := NewPool(PoolConfig{Params: testParams, Size: 3, MaxWait: time.Minute}, nil)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.run(context.Background(), Interactive, func(*Hasher) {
				n := running.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				running.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := peak.Load(); got != 3 {
		t.Fatalf("peak concurrency = %d, want 3", got)
	}
}

// A request that cannot get a slot within MaxWait is refused with an
// overloaded error carrying Retry-After, and counted.
func TestPoolRefusesWhenSaturated(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := NewPool(PoolConfig{Params: testParams, Size: 1, MaxWait: 20 * time.Millisecond}, reg)
	release := make(chan struct{})
	started := make(chan struct{})
	go p.run(context.Background(), Interactive, func(*Hasher) { close(started); <-release })
	<-started
	_, err := p.Hash(context.Background(), Interactive, "password-that-waits")
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Code != core.CodeOverloaded || ce.RetryAfter < 1 {
		t.Fatalf("saturated pool returned %v", err)
	}
	close(release)
	if got := testutil.ToFloat64(p.rejected); got != 1 {
		t.Fatalf("rejected counter = %v", got)
	}
	if got := testutil.ToFloat64(p.queued); got != 0 {
		t.Fatalf("queue gauge after refusal = %v", got)
	}
	// The slot is usable again.
	if _, err := p.Hash(context.Background(), Interactive, "password-after"); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg, "roster_password_pool_size", "roster_password_pool_in_use",
		"roster_password_pool_queue", "roster_password_pool_wait_seconds")
	if err != nil || n != 4 {
		t.Fatalf("pool metrics gathered = %d, %v", n, err)
	}
}

// Interactive requests overtake queued background work.
func TestPoolPrefersInteractive(t *testing.T) {
	p := NewPool(PoolConfig{Params: testParams, Size: 1, MaxWait: time.Minute}, nil)
	release := make(chan struct{})
	started := make(chan struct{})
	go p.run(context.Background(), Interactive, func(*Hasher) { close(started); <-release })
	<-started

	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(name string, prio Priority) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.run(context.Background(), prio, func(*Hasher) {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			})
		}()
	}
	enqueue("background", Background)
	waitQueued(t, p, 1)
	enqueue("interactive", Interactive)
	waitQueued(t, p, 2)
	close(release)
	wg.Wait()
	if len(order) != 2 || order[0] != "interactive" {
		t.Fatalf("order = %v, want interactive first", order)
	}
}

func waitQueued(t *testing.T, p *Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		q := p.waiting[0].Len() + p.waiting[1].Len()
		p.mu.Unlock()
		if q == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("queue never reached %d", n)
}

// A cancelled request leaves the queue and does not leak its slot.
func TestPoolCancelledWaiter(t *testing.T) {
	p := NewPool(PoolConfig{Params: testParams, Size: 1, MaxWait: time.Minute}, nil)
	release := make(chan struct{})
	started := make(chan struct{})
	go p.run(context.Background(), Interactive, func(*Hasher) { close(started); <-release })
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := p.Hash(ctx, Interactive, "cancelled-password"); done <- err }()
	waitQueued(t, p, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled hash = %v", err)
	}
	close(release)
	if _, err := p.Hash(context.Background(), Interactive, "after-cancel-password"); err != nil {
		t.Fatal(err)
	}
	if p.free != 1 {
		t.Fatalf("free slots = %d, want 1", p.free)
	}
}

// The heap holds no more hash memory than the slots' and one more. A
// slot's own hashes reuse its memory and leave nothing behind; a hash
// that allocates (an imported hash larger than the pool's parameters)
// leaves its memory as garbage, which the pool collects before the heap
// holds more. Left to the collector's pacing, 2 slots of 64 MiB hashes
// reached 4 to 6 hashes.
func TestPoolKeepsHashMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 64 MiB forty times")
	}
	const hash = 64 << 20
	params := Params{Memory: hash >> 10, Time: 1, Threads: 1}
	// An imported hash a little larger than the pool's: every verify of it
	// allocates.
	imported := HashArgon2id("a password", Params{Memory: (hash + 8<<20) >> 10, Time: 1, Threads: 1})
	for _, c := range []struct {
		name   string
		work   func(p *Pool) error
		hashes uint64 // the most hash memory the heap may hold, in hashes
		size   uint64 // of one hash
	}{
		{"own hashes", func(p *Pool) error { _, err := p.Hash(context.Background(), Interactive, "a password"); return err }, 2, hash},
		{"imported hashes", func(p *Pool) error {
			ok, err := p.Verify(context.Background(), imported, "a password")
			if err == nil && !ok {
				err = errors.New("the imported hash did not verify")
			}
			return err
		}, 3, hash + 8<<20},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewPool(PoolConfig{Params: params, Size: 2}, nil)
			runtime.GC()
			base := heapObjects()
			stop := make(chan struct{})
			peak := make(chan uint64)
			go func() {
				var most uint64
				tick := time.NewTicker(200 * time.Microsecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						peak <- most
						return
					case <-tick.C:
						most = max(most, heapObjects())
					}
				}
			}()
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < 5; j++ {
						if err := c.work(p); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			close(stop)
			most := <-peak
			if limit := base + c.hashes*c.size + 16<<20; most > limit {
				t.Errorf("the heap reached %d MiB; at most %d MiB expected (%d hashes of %d MiB)", most>>20, limit>>20, c.hashes, c.size>>20)
			}
			t.Logf("peak heap %d MiB over a base of %d MiB", most>>20, base>>20)
		})
	}
}

// The slots keep their hashing memory while hashes follow each other, and
// give it back once every slot has been free for KeepIdle.
func TestPoolGivesBackIdleMemory(t *testing.T) {
	params := Params{Memory: 1024, Time: 1, Threads: 1}
	p := NewPool(PoolConfig{Params: params, Size: 2, KeepIdle: 50 * time.Millisecond}, nil)
	kept := func() (n int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, h := range p.hashers {
			if h.mem != nil {
				n++
			}
		}
		return n
	}
	ctx := context.Background()
	if _, err := p.Hash(ctx, Interactive, "a password"); err != nil {
		t.Fatal(err)
	}
	if kept() != 1 {
		t.Fatalf("%d slots keep memory after a hash, want 1", kept())
	}
	// A slot busy past the idle time keeps everything: the pool is not idle.
	busy := make(chan struct{})
	done := make(chan error)
	go func() { done <- p.run(ctx, Interactive, func(*Hasher) { <-busy }) }()
	time.Sleep(120 * time.Millisecond)
	p.mu.Lock()
	free := p.free
	p.mu.Unlock()
	if free != 1 {
		t.Fatalf("free slots %d while one works", free)
	}
	close(busy)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if kept() != 1 {
		t.Fatalf("memory dropped while a slot was in use")
	}
	deadline := time.Now().Add(5 * time.Second)
	for kept() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle memory was never given back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The next hash allocates again and works.
	if enc, err := p.Hash(ctx, Interactive, "a password"); err != nil || kept() != 1 {
		t.Fatalf("hash after idle: %q %v, kept %d", enc, err, kept())
	}
}

// Imported hashes that need more memory than the pool's own take turns,
// however many slots are free: with them, hashing memory stays under the
// pool's bound plus one such hash. Hashes of the pool's size go on meanwhile.
func TestPoolLargeImportedHashesTakeTurns(t *testing.T) {
	p := NewPool(PoolConfig{Params: testParams, Size: 4, MaxWait: 20 * time.Millisecond}, nil)
	large := HashArgon2id("an imported passphrase", Params{Memory: 16 << 10, Time: 1, Threads: 1})
	small := HashArgon2id("a native passphrase", testParams)
	if HashMemory(large) != 16<<20 || HashMemory(small) != 64<<10 || HashMemory("$2b$04$"+"a") != 0 {
		t.Fatalf("HashMemory: %d, %d", HashMemory(large), HashMemory(small))
	}

	// Hold the turn as a long verification of a large hash would.
	p.largeTurn <- struct{}{}
	if _, err := p.Verify(context.Background(), large, "an imported passphrase"); core.ErrorCode(err) != core.CodeOverloaded {
		t.Fatalf("a second large hash while one runs: %v, want overloaded", err)
	}
	if ok, err := p.Verify(context.Background(), small, "a native passphrase"); !ok || err != nil {
		t.Fatalf("a hash of the pool's size while a large one runs: %v, %v", ok, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Verify(ctx, large, "an imported passphrase"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait for the turn: %v", err)
	}
	<-p.largeTurn

	if ok, err := p.Verify(context.Background(), large, "an imported passphrase"); !ok || err != nil {
		t.Fatalf("a large hash with the turn free: %v, %v", ok, err)
	}
	if len(p.largeTurn) != 0 {
		t.Fatal("the turn was not given back")
	}
}

// Backlog counts the interactive requests waiting for a slot, not the
// background work, and tells how long the last hash took.
func TestPoolBacklog(t *testing.T) {
	p := NewPool(PoolConfig{Params: testParams, Size: 1, MaxWait: time.Minute}, nil)
	if waiting, last := p.Backlog(); waiting != 0 || last != 0 {
		t.Fatalf("a new pool: %d waiting, last hash %v", waiting, last)
	}
	if _, err := p.Hash(context.Background(), Interactive, "one to time"); err != nil {
		t.Fatal(err)
	}
	if _, last := p.Backlog(); last <= 0 {
		t.Fatalf("after a hash, last hash %v", last)
	}
	release := make(chan struct{})
	started := make(chan struct{})
	go p.run(context.Background(), Interactive, func(*Hasher) { close(started); <-release })
	<-started
	var wg sync.WaitGroup
	for i, prio := range []Priority{Background, Interactive, Interactive} {
		wg.Go(func() { _ = p.run(context.Background(), prio, func(*Hasher) {}) })
		waitQueued(t, p, i+1)
	}
	if waiting, _ := p.Backlog(); waiting != 2 {
		t.Fatalf("two interactive requests and one import wait: Backlog says %d", waiting)
	}
	close(release)
	wg.Wait()
	if waiting, _ := p.Backlog(); waiting != 0 {
		t.Fatalf("after the queue drained: %d waiting", waiting)
	}
}
