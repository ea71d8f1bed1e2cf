package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Go's collector runs when the heap has grown by GOGC percent of what the
// last collection left live. roster's live heap is small when it is not
// hashing (3–4 MB in invite-create), so at the default of 100 the
// collector ran about 45 times a second there, a sixth of the server's
// CPU with its write barriers and assists; a live heap of argon2 memory,
// on the other hand, is large, and a fixed higher GOGC multiplied it too
// (GOGC=800 took invite-create's peak RSS from 104 to 280 MiB, after a
// hash's memory had been live for a moment).
//
// keepGCRoom gives the collector at least room bytes of garbage between
// collections, and GOGC's own proportion above that: after each
// collection it sets GOGC to max(100, room/live), capped where the
// runtime's minimum heap (4 MiB at GOGC 100, in proportion) would pass
// room. A memory limit still bounds the heap as before.
const gcMinimumHeap = 4 << 20

// gcTuning is process-wide, as GOGC is: the first keepGCRoom starts it
// and the last stop gives GOGC back the value it had before.
var gcTuning struct {
	sync.Mutex
	users    int
	run      int // counts starts, so a sentinel of an earlier run ends its chain
	room     uint64
	previous int
	percent  int
	sample   []metrics.Sample
}

// gcSentinel is garbage whose finalizer runs once per collection; it is
// large enough to have a block of its own (a finalizer on an object of the
// tiny allocator may never run).
type gcSentinel struct{ _ [32]byte }

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
		t.sample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t.run++
		adjustGCLocked()
		armGCSentinel(t.run)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			t.Lock()
			defer t.Unlock()
			t.users--
			if t.users == 0 {
				debug.SetGCPercent(t.previous)
			}
		})
	}
}

func armGCSentinel(run int) {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		t := &gcTuning
		t.Lock()
		defer t.Unlock()
		if t.users > 0 && t.run == run {
			adjustGCLocked()
			armGCSentinel(run)
		}
	})
}

// adjustGCLocked sets GOGC for the live heap the last collection left.
func adjustGCLocked() {
	t := &gcTuning
	metrics.Read(t.sample)
	if percent := gcPercentFor(t.room, t.sample[0].Value.Uint64()); percent != t.percent {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
}

// gcPercentFor is the GOGC that leaves room bytes of garbage above a live
// heap of live bytes, at least 100.
func gcPercentFor(room, live uint64) int {
	ceiling := max(room*100/gcMinimumHeap, 100)
	if live == 0 {
		return int(ceiling)
	}
	return int(min(max(room*100/live, 100), ceiling))
}
