package main

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		room, live uint64
		want       int
	}{
		{16 * mib, 0, 400},        // nothing live yet: the cap
		{16 * mib, 1 * mib, 400},  // capped: the runtime's minimum heap would pass the room
		{16 * mib, 8 * mib, 200},  // 8 MiB live, 16 of room
		{16 * mib, 16 * mib, 100}, // the room is GOGC's own
		{16 * mib, 200 * mib, 100},
		{32 * mib, 2 * mib, 800},
		{1 * mib, 0, 100}, // a room below the minimum heap changes nothing
	} {
		if got := gcPercentFor(c.room, c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", c.room/mib, c.live/mib, got, c.want)
		}
	}
}

func readGC(t *testing.T) (cycles, gogc uint64) {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

var sink []byte

// churn allocates n bytes of garbage in pieces of 4 KiB and reports how
// many collections ran meanwhile.
func churn(t *testing.T, n int) uint64 {
	t.Helper()
	before, _ := readGC(t)
	for range n / 4096 {
		sink = make([]byte, 4096)
	}
	after, _ := readGC(t)
	return after - before
}

// With a small live heap, 64 MiB of garbage takes a handful of collections
// with 16 MiB of room, where Go's pacing alone (a 4 MiB minimum heap)
// takes more than ten; with a large live heap nothing changes; and the
// last stop gives GOGC back.
func TestKeepGCRoom(t *testing.T) {
	_, gogc := readGC(t)
	runtime.GC()
	without := churn(t, 64<<20)

	stop := keepGCRoom(16 << 20)
	runtime.GC() // the sentinel's collection: GOGC now follows the live heap
	runtime.GC()
	with := churn(t, 64<<20)
	if _, now := readGC(t); now <= 100 || now > 400 {
		t.Errorf("GOGC with a small live heap = %d, want above 100 and at most 400", now)
	}
	if with > 6 || without < 10 {
		t.Errorf("64 MiB of garbage took %d collections with 16 MiB of room and %d without; want at most 6 and at least 10", with, without)
	}

	live := make([]byte, 64<<20)
	runtime.GC()
	runtime.GC()
	if _, now := readGC(t); now != 100 {
		t.Errorf("GOGC with 64 MiB live = %d, want 100", now)
	}
	runtime.KeepAlive(live)
	live = nil
	runtime.GC()
	runtime.GC()

	second := keepGCRoom(64 << 20) // joins; the first room stays
	stop()
	runtime.GC()
	if _, now := readGC(t); now <= 100 || now > 400 {
		t.Errorf("GOGC = %d while a second user still keeps 16 MiB of room; want above 100 and at most 400", now)
	}
	second()
	second() // a stop is idempotent
	if _, now := readGC(t); now != gogc {
		t.Errorf("GOGC after the last stop = %d, want %d as before", now, gogc)
	}
}
