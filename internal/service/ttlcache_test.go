package service

import (
	"testing"
	"time"
)

func TestTTLCacheDropsValuesReadBeforeAClear(t *testing.T) {
	c := newTTLCache[string](time.Hour, 10)
	gen := c.generation()
	// A change commits and clears the cache while a reader is between its
	// read of the store and its put.
	c.clear()
	c.put("k", gen, "old")
	if v, ok := c.get("k"); ok {
		t.Fatalf("a value read before the clear was kept: %q", v)
	}
	c.put("k", c.generation(), "new")
	if v, ok := c.get("k"); !ok || v != "new" {
		t.Fatalf("get = %q, %v; want new", v, ok)
	}
}

func TestTTLCacheExpiresAndBounds(t *testing.T) {
	c := newTTLCache[int](30*time.Millisecond, 3)
	for i, k := range []string{"a", "b", "c"} {
		c.put(k, c.generation(), i)
	}
	if _, ok := c.get("c"); !ok {
		t.Fatal("c missing")
	}
	// A fourth key starts the cache over rather than growing past max.
	c.put("d", c.generation(), 3)
	if _, ok := c.get("a"); ok {
		t.Fatal("the cache grew past its bound")
	}
	time.Sleep(40 * time.Millisecond)
	if _, ok := c.get("d"); ok {
		t.Fatal("an entry outlived its TTL")
	}
	off := newTTLCache[int](0, 3)
	off.put("a", off.generation(), 1)
	if _, ok := off.get("a"); ok {
		t.Fatal("a cache with no TTL stored a value")
	}
}
