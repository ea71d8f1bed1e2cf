package main

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Go's collector runs when the heap has grown by GOGC percent of what the
// last collection left live (with the goroutine stacks and globals it
// scanned). roster's live heap is small when it is not hashing (3–4 MB in
// invite-create), so at the default of 100 the collector ran about 45
// times a second there, a sixth of the server's CPU with its write
// barriers and assists; a live heap of argon2 memory, on the other hand,
// is large, and a fixed higher GOGC multiplied it too (GOGC=800 took
// invite-create's peak RSS from 104 to 280 MiB, after a hash's memory had
// been live for a moment).
//
// keepGCRoom gives the collector at least room bytes of garbage between
// collections, and GOGC's own proportion above that: every gcRoomEvery it
// sets GOGC to max(100, room/scanned), scanned being what the last
// collection found live, stacks and globals included, capped where the
// runtime's minimum heap (4 MiB at GOGC 100, in proportion) would pass
// room. It polls rather than hooking each collection (a finalizer), so
// that a finalizer goroutine held up elsewhere cannot leave a high GOGC
// multiplying a heap that has since grown. A memory limit still bounds
// the heap as before.
const (
	gcMinimumHeap = 4 << 20
	gcRoomEvery   = 100 * time.Millisecond
)

// gcTuning is process-wide, as GOGC is: the first keepGCRoom starts it
// and the last stop gives GOGC back the value it had before.
var gcTuning struct {
	sync.Mutex
	users    int
	done     chan struct{} // closed when the last user stops
	room     uint64
	previous int
	percent  int
	sample   []metrics.Sample
}

// keepGCRoom starts the tuning, or joins it if it runs (its room stays
// the first caller's); stop leaves it.
func keepGCRoom(room uint64) (stop func()) {
	t := &gcTuning
	t.Lock()
	defer t.Unlock()
	t.users++
	if t.users == 1 {
		gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(gogc)
		t.previous = int(gogc[0].Value.Uint64())
		t.percent = t.previous
		t.room = room
		t.sample = []metrics.Sample{
			{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
		t.done = make(chan struct{})
		adjustGCLocked()
		go pollGC(t.done)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			t.Lock()
			defer t.Unlock()
			t.users--
			if t.users == 0 {
				close(t.done)
				debug.SetGCPercent(t.previous)
			}
		})
	}
}

func pollGC(done <-chan struct{}) {
	tick := time.NewTicker(gcRoomEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		t := &gcTuning
		t.Lock()
		select {
		case <-done: // stopped meanwhile: GOGC is given back already
		default:
			adjustGCLocked()
		}
		t.Unlock()
	}
}

// adjustGCLocked sets GOGC for what the last collection found live.
func adjustGCLocked() {
	t := &gcTuning
	metrics.Read(t.sample)
	var scanned uint64
	for _, s := range t.sample {
		scanned += s.Value.Uint64()
	}
	if percent := gcPercentFor(t.room, scanned); percent != t.percent {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
}

// gcPercentFor is the GOGC that leaves room bytes of garbage above
// scanned bytes found live, at least 100.
func gcPercentFor(room, scanned uint64) int {
	ceiling := max(room*100/gcMinimumHeap, 100)
	if scanned == 0 {
		return int(ceiling)
	}
	return int(min(max(room*100/scanned, 100), ceiling))
}
