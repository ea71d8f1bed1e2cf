package httpx

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimiter counts requests per key (an API key's id, a client address)
// in fixed windows: each key may make Limit requests in the Window that
// starts with its first request; the next request after the window opens a
// new one. Counts live in this process's memory only, so a deployment with
// several roster processes allows Limit per process.
//
// Memory is bounded: at most MaxKeys windows are kept. When a new key finds
// the table full, windows that have ended are dropped first; if every window
// is still open, a sixteenth of the table is dropped at random, and those
// keys start afresh (the limiter fails open for them rather than refusing
// callers it has forgotten).
type RateLimiter struct {
	limit   int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	windows map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	count int
}

// RateDecision is the limiter's answer for one request.
type RateDecision struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is when the key's current window ends.
	Reset time.Time
	// RetryAfter is how long a refused caller should wait.
	RetryAfter time.Duration
}

// DefaultRateKeys bounds the limiter's table when no bound is given.
const DefaultRateKeys = 50_000

// NewRateLimiter allows limit requests per window per key. now is the clock
// (nil means time.Now); maxKeys bounds memory (0 means DefaultRateKeys).
func NewRateLimiter(limit int, window time.Duration, maxKeys int, now func() time.Time) *RateLimiter {
	if limit < 1 {
		limit = 1
	}
	if window <= 0 {
		window = time.Minute
	}
	if maxKeys <= 0 {
		maxKeys = DefaultRateKeys
	}
	if now == nil {
		now = time.Now
	}
	return &RateLimiter{limit: limit, window: window, maxKeys: maxKeys, now: now, windows: map[string]*rateWindow{}}
}

// Limit is the number of requests allowed per window.
func (l *RateLimiter) Limit() int { return l.limit }

// Window is the length of a window.
func (l *RateLimiter) Window() time.Duration { return l.window }

// Allow counts one request for key and says whether it may proceed.
func (l *RateLimiter) Allow(key string) RateDecision {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.windows[key]
	if !ok || !now.Before(w.start.Add(l.window)) {
		if !ok {
			if len(l.windows) >= l.maxKeys {
				l.makeRoom(now)
			}
			w = &rateWindow{}
			l.windows[key] = w
		}
		w.start, w.count = now, 0
	}
	d := RateDecision{Limit: l.limit, Reset: w.start.Add(l.window)}
	if w.count >= l.limit {
		d.RetryAfter = d.Reset.Sub(now)
		return d
	}
	w.count++
	d.Allowed, d.Remaining = true, l.limit-w.count
	return d
}

// Len is the number of keys the limiter currently remembers.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.windows)
}

// makeRoom drops ended windows, then random ones, so that the table has
// room to grow again for a while.
func (l *RateLimiter) makeRoom(now time.Time) {
	for k, w := range l.windows {
		if !now.Before(w.start.Add(l.window)) {
			delete(l.windows, k)
		}
	}
	target := l.maxKeys - l.maxKeys/16 - 1
	for k := range l.windows { // map order is random
		if len(l.windows) <= target {
			break
		}
		delete(l.windows, k)
	}
}

// The rate-limit headers, spelt as the APIs that use them document them.
// They are stored under these exact keys (not Go's canonical
// X-Ratelimit-Limit) so that they go on the wire in that spelling; header
// names are case-insensitive, and Go clients canonicalise them on reading.
const (
	HeaderRateLimit     = "X-RateLimit-Limit"
	HeaderRateRemaining = "X-RateLimit-Remaining"
	HeaderRateReset     = "X-RateLimit-Reset"
)

// SetHeaders writes the decision as X-RateLimit-Limit, X-RateLimit-Remaining
// and X-RateLimit-Reset (the Unix time, in seconds, at which the window
// ends), and Retry-After (whole seconds, at least 1) when the request was
// refused.
func (d RateDecision) SetHeaders(h http.Header) {
	reset := d.Reset.Unix()
	if d.Reset.Nanosecond() > 0 {
		reset++
	}
	h[HeaderRateLimit] = []string{strconv.Itoa(d.Limit)}
	h[HeaderRateRemaining] = []string{strconv.Itoa(d.Remaining)}
	h[HeaderRateReset] = []string{strconv.FormatInt(reset, 10)}
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
	}
}

// HasRateHeaders reports whether SetHeaders already ran on h.
func HasRateHeaders(h http.Header) bool { return len(h[HeaderRateLimit]) > 0 }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1.
func (d RateDecision) RetryAfterSeconds() int {
	s := int(math.Ceil(d.RetryAfter.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}
