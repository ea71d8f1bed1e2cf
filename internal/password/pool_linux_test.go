package password

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A hash runs on one thread from start to end, however often it is
// interrupted: other goroutines keep every thread busy meanwhile, and the
// work sleeps, which without the lock lets it resume on any of them.
func TestPoolKeepsAHashOnOneThread(t *testing.T) {
	p := NewPool(PoolConfig{Params: testParams, Size: 1}, nil)
	stop := make(chan struct{})
	var busy sync.WaitGroup
	for range 4 {
		busy.Add(1)
		go func() {
			defer busy.Done()
			for {
				select {
				case <-stop:
					return
				default:
					time.Sleep(time.Microsecond)
				}
			}
		}()
	}
	var threads map[int]bool
	err := p.run(context.Background(), Interactive, func(*Hasher) {
		threads = map[int]bool{syscall.Gettid(): true}
		for range 200 {
			time.Sleep(50 * time.Microsecond)
			threads[syscall.Gettid()] = true
		}
	})
	close(stop)
	busy.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(threads) != 1 {
		t.Fatalf("one hash ran on %d threads, want 1", len(threads))
	}
}
