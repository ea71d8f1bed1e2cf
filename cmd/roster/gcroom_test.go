package main

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		room, scanned uint64
		want          int
	}{
		{16 * mib, 0, 400},        // nothing live yet: the cap
		{16 * mib, 1 * mib, 400},  // capped: the runtime's minimum heap would pass the room
		{16 * mib, 8 * mib, 200},  // 8 MiB live, 16 of room
		{16 * mib, 16 * mib, 100}, // the room is GOGC's own
		{16 * mib, 200 * mib, 100},
		{32 * mib, 2 * mib, 800},
		{1 * mib, 0, 100}, // a room below the minimum heap changes nothing
	} {
		if got := gcPercentFor(c.room, c.scanned); got != c.want {
			t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", c.room/mib, c.scanned/mib, got, c.want)
		}
	}
}

func readGC() (cycles, gogc uint64) {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// settledGOGC collects, then waits for the tuning's next look at what the
// collection left, and returns GOGC.
func settledGOGC() uint64 {
	runtime.GC()
	time.Sleep(3 * gcRoomEvery)
	_, gogc := readGC()
	return gogc
}

var sink []byte

// churn allocates n bytes of garbage in pieces of 4 KiB and reports how
// many collections ran meanwhile.
func churn(n int) uint64 {
	before, _ := readGC()
	for range n / 4096 {
		sink = make([]byte, 4096)
	}
	after, _ := readGC()
	return after - before
}

// With a small live heap, 64 MiB of garbage takes a handful of collections
// with 16 MiB of room, where Go's pacing alone (a 4 MiB minimum heap)
// takes more than ten; with a large live heap nothing changes; and the
// last stop gives GOGC back.
func TestKeepGCRoom(t *testing.T) {
	_, gogc := readGC()
	runtime.GC()
	without := churn(64 << 20)

	stop := keepGCRoom(16 << 20)
	if now := settledGOGC(); now <= 100 || now > 400 {
		t.Errorf("GOGC with a small live heap = %d, want above 100 and at most 400", now)
	}
	with := churn(64 << 20)
	if with > 6 || without < 10 {
		t.Errorf("64 MiB of garbage took %d collections with 16 MiB of room and %d without; want at most 6 and at least 10", with, without)
	}

	live := make([]byte, 64<<20)
	if now := settledGOGC(); now != 100 {
		t.Errorf("GOGC with 64 MiB live = %d, want 100", now)
	}
	runtime.KeepAlive(live)
	live = nil
	settledGOGC()

	second := keepGCRoom(64 << 20) // joins; the first room stays
	stop()
	if now := settledGOGC(); now <= 100 || now > 400 {
		t.Errorf("GOGC = %d while a second user still keeps 16 MiB of room; want above 100 and at most 400", now)
	}
	second()
	second() // a stop is idempotent
	if _, now := readGC(); now != gogc {
		t.Errorf("GOGC after the last stop = %d, want %d as before", now, gogc)
	}
}

//go:noinline
func deepStack(n int, deep *sync.WaitGroup, wait <-chan struct{}) byte {
	var pad [1024]byte
	pad[n%1024] = byte(n)
	if n == 0 {
		deep.Done()
		<-wait
		return pad[0]
	}
	return deepStack(n-1, deep, wait) + pad[n%1024]
}

// GOGC multiplies the goroutines' stacks too: two thousand connections'
// worth of stack (about 32 MiB) leave no room to add.
func TestKeepGCRoomCountsStacks(t *testing.T) {
	wait := make(chan struct{})
	var wg, deep sync.WaitGroup
	for range 2000 {
		wg.Add(1)
		deep.Add(1)
		go func() { defer wg.Done(); deepStack(16, &deep, wait) }()
	}
	defer func() { close(wait); wg.Wait() }()
	deep.Wait()
	stop := keepGCRoom(16 << 20)
	defer stop()
	if now := settledGOGC(); now != 100 {
		t.Errorf("GOGC with about 32 MiB of stacks = %d, want 100", now)
	}
}

// The tuning does not wait on the finalizer goroutine: with it held up, a
// heap that grows to 64 MiB still brings GOGC back to 100.
func TestKeepGCRoomWithFinalizersHeldUp(t *testing.T) {
	stop := keepGCRoom(16 << 20)
	defer stop()
	if now := settledGOGC(); now <= 100 {
		t.Fatalf("GOGC with a small live heap = %d, want above 100", now)
	}
	held, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	runtime.SetFinalizer(&struct{ _ [32]byte }{}, func(*struct{ _ [32]byte }) { close(held); <-release })
	runtime.GC()
	<-held
	live := make([]byte, 64<<20)
	if now := settledGOGC(); now != 100 {
		t.Errorf("GOGC with 64 MiB live and finalizers held up = %d, want 100", now)
	}
	runtime.KeepAlive(live)
}

// Starts and stops from many goroutines, each stop twice: GOGC comes back
// to its value before.
func TestKeepGCRoomStartsAndStops(t *testing.T) {
	_, before := readGC()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				stop := keepGCRoom(uint64(16+i) << 20)
				if j%50 == 0 {
					runtime.GC()
				}
				stop()
				stop()
			}
		}()
	}
	wg.Wait()
	if _, now := readGC(); now != before {
		t.Errorf("GOGC = %d after every stop, want %d", now, before)
	}
	gcTuning.Lock()
	defer gcTuning.Unlock()
	if gcTuning.users != 0 {
		t.Errorf("%d users after every stop", gcTuning.users)
	}
}
