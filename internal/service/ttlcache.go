package service

import (
	"sync"
	"time"
)

// ttlCache keeps values for a short wall-clock time. Reads of the store
// that fill it take generation() first and hand it to put, so a value read
// before clear() ran is not stored after it: a change committed on this
// node while a slower request was still reading the old row must not be
// hidden for a whole TTL. A ttl of zero or less turns the cache off.
type ttlCache[V any] struct {
	ttl time.Duration
	max int

	mu  sync.Mutex
	gen uint64
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v     V
	until time.Time
}

func newTTLCache[V any](ttl time.Duration, max int) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: max, m: map[string]ttlEntry[V]{}}
}

func (c *ttlCache[V]) get(key string) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || time.Now().After(e.until) {
		return zero, false
	}
	return e.v, true
}

// generation identifies the cache's contents: clear() moves it on.
func (c *ttlCache[V]) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores v unless the cache was cleared since gen was taken.
func (c *ttlCache[V]) put(key string, gen uint64, v V) {
	if c.ttl <= 0 {
		return
	}
	until := time.Now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.max {
		c.m = map[string]ttlEntry[V]{}
	}
	c.m[key] = ttlEntry[V]{v: v, until: until}
}

func (c *ttlCache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if len(c.m) > 0 {
		c.m = map[string]ttlEntry[V]{}
	}
}
