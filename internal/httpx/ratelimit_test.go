package httpx

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"roster/internal/core"
)

func TestRateLimiterCountsPerKeyAndResets(t *testing.T) {
	clock := core.NewManualClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	l := NewRateLimiter(3, time.Minute, 0, clock.Now)
	start := clock.Now()
	for i, wantRemaining := range []int{2, 1, 0} {
		d := l.Allow("a")
		if !d.Allowed || d.Remaining != wantRemaining || d.Limit != 3 || !d.Reset.Equal(start.Add(time.Minute)) {
			t.Fatalf("request %d: %+v", i+1, d)
		}
		clock.Advance(10 * time.Second)
	}
	d := l.Allow("a")
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != 30*time.Second || d.RetryAfterSeconds() != 30 {
		t.Fatalf("fourth request: %+v", d)
	}
	// Another key has its own window.
	if d := l.Allow("b"); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("other key: %+v", d)
	}
	// Refused requests do not extend the window; once it ends, a new one starts.
	clock.Advance(30 * time.Second)
	d = l.Allow("a")
	if !d.Allowed || d.Remaining != 2 || !d.Reset.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("after the window: %+v", d)
	}
}

func TestRateLimiterHeaders(t *testing.T) {
	at := time.Date(2026, 6, 1, 9, 0, 0, 500_000_000, time.UTC)
	h := http.Header{}
	if HasRateHeaders(h) {
		t.Fatal("an empty header has rate headers")
	}
	RateDecision{Allowed: true, Limit: 10, Remaining: 4, Reset: at}.SetHeaders(h)
	// The documented spelling goes on the wire as it is.
	if h["X-RateLimit-Limit"][0] != "10" || h["X-RateLimit-Remaining"][0] != "4" ||
		h["X-RateLimit-Reset"][0] != fmt.Sprint(at.Unix()+1) || h.Get("Retry-After") != "" || !HasRateHeaders(h) {
		t.Fatalf("allowed headers: %v", h)
	}
	h = http.Header{}
	RateDecision{Limit: 10, Reset: at, RetryAfter: 200 * time.Millisecond}.SetHeaders(h)
	if h["X-RateLimit-Remaining"][0] != "0" || h.Get("Retry-After") != "1" {
		t.Fatalf("refused headers: %v", h)
	}
}

// The table never grows past its bound, whatever the number of keys.
func TestRateLimiterBoundsMemory(t *testing.T) {
	clock := core.NewManualClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	l := NewRateLimiter(5, time.Minute, 64, clock.Now)
	for i := 0; i < 10_000; i++ {
		l.Allow(fmt.Sprintf("key-%d", i))
		if l.Len() > 64 {
			t.Fatalf("after %d keys the table holds %d", i+1, l.Len())
		}
	}
	// Ended windows go first: once the table is full again, every window
	// that ended is dropped, and only the fresh keys remain.
	clock.Advance(time.Minute)
	fresh := 64 - l.Len() + 1
	for i := 0; i < fresh; i++ {
		l.Allow(fmt.Sprintf("fresh-%d", i))
	}
	if l.Len() != fresh {
		t.Fatalf("ended windows were kept: %d keys, want the %d fresh ones", l.Len(), fresh)
	}
}

func TestRateLimiterConcurrent(t *testing.T) {
	l := NewRateLimiter(100, time.Hour, 0, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if l.Allow("shared").Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("allowed %d of 400 requests, want exactly the limit of 100", allowed)
	}
}
