package password

import (
	"container/list"
	"context"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"roster/internal/core"
)

// Priority orders work waiting for the pool: interactive requests go before
// bulk work such as imports.
type Priority int

const (
	Interactive Priority = iota
	Background
)

// PoolConfig sizes the pool.
type PoolConfig struct {
	Params Params
	// Size is how many hashes may run at once; memory used by hashing never
	// exceeds Size × Params.Memory, plus the memory of one finished hash
	// not yet collected (see Pool.makeRoom).
	Size int
	// MaxWait is how long a request may wait for a slot before it is refused
	// with an overloaded error (503 with Retry-After).
	MaxWait time.Duration
	// KeepIdle is how long the slots keep their hashing memory once every
	// slot is free (default a minute): Size × Params.Memory stays in use
	// while hashes follow each other, and is given back after a lull.
	KeepIdle time.Duration
}

// Pool runs password hashing with bounded concurrency. Argon2id allocates
// its whole memory parameter per hash, so an unbounded number of concurrent
// logins or registrations could exhaust memory; the pool makes the peak a
// configuration value instead.
type Pool struct {
	params  Params
	size    int
	maxWait time.Duration

	mu      sync.Mutex
	free    int
	waiting [2]*list.List // of chan *Hasher, per priority
	// hashers has one hasher for each free slot: a slot's hashes reuse
	// the memory of its last one instead of allocating and leaving it to
	// the collector. Once every slot is free for keepIdle, idleTimer drops
	// that memory.
	hashers   []*Hasher
	keepIdle  time.Duration
	idleTimer *time.Timer

	// hashBytes is the memory one hash allocates; heapBudget is how much
	// hash memory, running or finished, the heap may hold (see makeRoom).
	hashBytes, heapBudget uint64
	roomMu                sync.Mutex
	running               int
	garbage               []uint64 // per finished hash not yet collected: the collections completed when it finished

	inUse    prometheus.Gauge
	queued   prometheus.Gauge
	wait     prometheus.Histogram
	duration prometheus.Histogram
	rejected prometheus.Counter
	// collections counts the collections makeRoom ran.
	collections prometheus.Counter
	// largeTurn lets one hash at a time need more memory than params.
	largeTurn chan struct{}
	// lastHash is how long the last hash took, in nanoseconds.
	lastHash atomic.Int64
}

// hashAllowance is hash memory allowed beyond the slots' and one finished
// hash's, so that small hashes leave collecting to the runtime's pacing.
const hashAllowance = 48 << 20

// NewPool builds a pool and registers its metrics on reg (which may be nil).
func NewPool(cfg PoolConfig, reg prometheus.Registerer) *Pool {
	if cfg.Size < 1 {
		cfg.Size = 1
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 5 * time.Second
	}
	if cfg.KeepIdle <= 0 {
		cfg.KeepIdle = time.Minute
	}
	p := &Pool{
		keepIdle:  cfg.KeepIdle,
		params:    cfg.Params.withDefaults(),
		size:      cfg.Size,
		maxWait:   cfg.MaxWait,
		free:      cfg.Size,
		waiting:   [2]*list.List{list.New(), list.New()},
		largeTurn: make(chan struct{}, 1),
		inUse: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roster_password_pool_in_use", Help: "Password hashes running now."}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roster_password_pool_queue", Help: "Requests waiting for a password hashing slot."}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "roster_password_pool_wait_seconds", Help: "Time spent waiting for a password hashing slot.",
			Buckets: []float64{.0005, .001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "roster_password_hash_seconds", Help: "Time spent computing one password hash.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_password_pool_rejected_total", Help: "Requests refused because no hashing slot freed in time."}),
		collections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_password_pool_collections_total", Help: "Garbage collections run before a hash to keep the heap within the pool's budget."}),
	}
	for range cfg.Size {
		p.hashers = append(p.hashers, NewHasher(p.params))
	}
	p.hashBytes = uint64(p.params.Memory) << 10
	p.heapBudget = uint64(cfg.Size+1)*p.hashBytes + hashAllowance
	if reg != nil {
		size := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roster_password_pool_size", Help: "Password hashes allowed to run at once."})
		size.Set(float64(cfg.Size))
		reg.MustRegister(size, p.inUse, p.queued, p.wait, p.duration, p.rejected, p.collections)
	}
	return p
}

// Params are the argon2id parameters new hashes use.
func (p *Pool) Params() Params { return p.params }

// Size is the number of hashing slots.
func (p *Pool) Size() int { return p.size }

// Hash hashes password with argon2id at the pool's parameters.
func (p *Pool) Hash(ctx context.Context, prio Priority, password string) (string, error) {
	var out string
	err := p.run(ctx, prio, func(h *Hasher) { out = h.HashArgon2id(password, p.params) })
	return out, err
}

// Verify checks password against an encoded hash of any supported format.
// An imported hash that needs more memory than the pool's own (up to the
// formats' bound, 256 MiB) waits for the one turn such hashes share, and
// its memory is collected before the next one starts: with them, hashing
// memory stays under (Size + 1) × Params.Memory plus one such hash.
func (p *Pool) Verify(ctx context.Context, encoded, password string) (bool, error) {
	var (
		ok     bool
		verErr error
	)
	if HashMemory(encoded) > p.hashBytes {
		release, err := p.takeLargeTurn(ctx)
		if err != nil {
			return false, err
		}
		defer release()
	}
	if err := p.run(ctx, Interactive, func(h *Hasher) { ok, verErr = h.Verify(encoded, password) }); err != nil {
		return false, err
	}
	return ok, verErr
}

// Backlog reports how many interactive requests wait for a slot, and how
// long the last hash took: while requests wait, another hash finishes
// about every that long divided by Size.
func (p *Pool) Backlog() (waiting int, lastHash time.Duration) {
	p.mu.Lock()
	waiting = p.waiting[Interactive].Len()
	p.mu.Unlock()
	return waiting, time.Duration(p.lastHash.Load())
}

// NeedsRehash reports whether encoded should be replaced by a hash at the
// pool's parameters.
func (p *Pool) NeedsRehash(encoded string) bool { return NeedsRehash(encoded, p.params) }

// errOverloaded is the answer when no turn or slot freed in time.
func errOverloaded() error {
	return &core.Error{Code: core.CodeOverloaded, Message: "too many password operations at once; retry shortly", RetryAfter: 1}
}

// takeLargeTurn waits, as long as a slot may be waited for, for the turn
// of hashes larger than the pool's own; release gives it back once their
// memory is collected.
func (p *Pool) takeLargeTurn(ctx context.Context) (release func(), err error) {
	timer := time.NewTimer(p.maxWait)
	defer timer.Stop()
	select {
	case p.largeTurn <- struct{}{}:
		return func() {
			runtime.GC()
			<-p.largeTurn
		}, nil
	case <-timer.C:
		p.rejected.Inc()
		return nil, errOverloaded()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) run(ctx context.Context, prio Priority, work func(*Hasher)) error {
	h, err := p.acquire(ctx, prio)
	if err != nil {
		return err
	}
	p.makeRoom()
	p.inUse.Inc()
	start := time.Now()
	defer func() {
		p.finished(h.fresh)
		took := time.Since(start)
		p.lastHash.Store(int64(took))
		p.duration.Observe(took.Seconds())
		p.inUse.Dec()
		p.release(h)
	}()
	// A hash stays on one thread. Go's scheduler moves a goroutine between
	// threads, and so between cores, after a preemption or a system call
	// nearby; the kernel keeps a thread on its core. Argon2 reads the
	// blocks it wrote last most often, and those are in that core's cache.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	work(h)
	return nil
}

// makeRoom admits a hash, running the garbage collector first when the
// memory of hashes in the heap would pass the pool's budget: its slots'
// hashes, one finished hash and a small allowance. A finished hash leaves
// its whole memory behind as garbage, and the collector's own pacing lets
// garbage grow as large as the live heap, more while a cycle runs and new
// hashes allocate: at 64 MiB per hash that doubled the pool's bound. The
// hashes are counted rather than read off the heap's size, which lags: two
// slots freed together would both see the heap before either allocates.
// Small hashes fit the allowance, and the collector's pacing frees them
// first. An imported hash being verified is counted at the pool's own
// memory parameter, whatever its own.
func (p *Pool) makeRoom() {
	p.roomMu.Lock()
	defer p.roomMu.Unlock()
	p.dropCollected()
	// The count errs high (a collection that ran just after a hash
	// finished may have taken it); the heap, which still holds every
	// finished hash not collected, caps it.
	garbage := min(uint64(len(p.garbage)), heapObjects()/p.hashBytes)
	if (uint64(p.running)+garbage+1)*p.hashBytes > p.heapBudget && garbage > 0 {
		p.collections.Inc()
		runtime.GC()
		// Every hash finished before this point is gone: finishing
		// takes roomMu.
		p.garbage = p.garbage[:0]
	}
	p.running++
}

// finished notes a hash done. One that allocated memory of its own (not
// the slot's kept memory) leaves it in the heap until a collection that
// starts after this.
func (p *Pool) finished(allocated bool) {
	p.roomMu.Lock()
	p.running--
	if allocated {
		p.garbage = append(p.garbage, completedCollections())
	}
	p.roomMu.Unlock()
}

// dropCollected forgets the finished hashes that a collection has taken:
// two completed since a hash finished means one started after it.
func (p *Pool) dropCollected() {
	now := completedCollections()
	p.garbage = slices.DeleteFunc(p.garbage, func(at uint64) bool { return now >= at+2 })
}

func completedCollections() uint64 { return readMetric("/gc/cycles/total:gc-cycles") }

// heapObjects is the heap's live objects and those not yet collected.
func heapObjects() uint64 { return readMetric("/memory/classes/heap/objects:bytes") }

func readMetric(name string) uint64 {
	sample := []metrics.Sample{{Name: name}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// acquire waits for a slot and returns its hasher.
func (p *Pool) acquire(ctx context.Context, prio Priority) (*Hasher, error) {
	start := time.Now()
	p.mu.Lock()
	// Background work takes a free slot only when no interactive request waits.
	if p.free > 0 && (prio == Interactive || p.waiting[Interactive].Len() == 0) {
		p.free--
		h := p.hashers[len(p.hashers)-1]
		p.hashers = p.hashers[:len(p.hashers)-1]
		p.mu.Unlock()
		p.wait.Observe(0)
		return h, nil
	}
	// release hands the slot over with its hasher, without blocking.
	ready := make(chan *Hasher, 1)
	elem := p.waiting[prio].PushBack(ready)
	p.queued.Inc()
	p.mu.Unlock()

	maxWait := p.maxWait
	if prio == Background {
		// Bulk work is not a person waiting: it may queue as long as it
		// is willing to, bounded by its context.
		maxWait = 24 * time.Hour
	}
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	var cause error
	select {
	case h := <-ready:
		p.queued.Dec()
		p.wait.Observe(time.Since(start).Seconds())
		return h, nil
	case <-timer.C:
		cause = errOverloaded()
	case <-ctx.Done():
		cause = ctx.Err()
	}
	p.mu.Lock()
	select {
	case h := <-ready:
		// The slot was handed over just as we gave up: pass it on.
		p.mu.Unlock()
		p.release(h)
	default:
		p.waiting[prio].Remove(elem)
		p.mu.Unlock()
	}
	p.queued.Dec()
	if core.ErrorCode(cause) == core.CodeOverloaded {
		p.rejected.Inc()
	}
	return nil, cause
}

// release gives the slot, and its hasher, to the first waiter, or frees it.
func (p *Pool) release(h *Hasher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, q := range p.waiting {
		if front := q.Front(); front != nil {
			q.Remove(front)
			front.Value.(chan *Hasher) <- h
			return
		}
	}
	p.free++
	p.hashers = append(p.hashers, h)
	if p.free == p.size {
		if p.idleTimer == nil {
			p.idleTimer = time.AfterFunc(p.keepIdle, p.dropIdleMemory)
		} else {
			p.idleTimer.Reset(p.keepIdle)
		}
	}
}

// dropIdleMemory gives the slots' hashing memory back when every slot is
// still free (a hash since the timer was set found it in use, and will
// set it again when its slot comes back).
func (p *Pool) dropIdleMemory() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.free == p.size {
		for _, h := range p.hashers {
			h.drop()
		}
	}
}

// withDefaults fills unset parameters from DefaultParams.
func (p Params) withDefaults() Params {
	d := DefaultParams
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	return p
}
