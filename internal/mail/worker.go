package mail

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"roster/internal/core"
	"roster/internal/store"
)

// WorkerConfig tunes delivery.
type WorkerConfig struct {
	// FirstRetry is the wait after the first failure; each further failure
	// doubles it, up to MaxRetry. A message is given up (it stays, with its
	// last error but without its link, for the operator) when its link has
	// expired, or after MaxAttempts when it has no expiry: a mail server
	// down for a day does not lose an invitation that lasts three.
	FirstRetry  time.Duration
	MaxRetry    time.Duration
	MaxAttempts int
	// Lease is how long a claimed message is this worker's; another node
	// takes it over when the lease runs out (the worker died).
	Lease time.Duration
	// Poll is how often the outbox is checked when nothing wakes the
	// worker sooner.
	Poll  time.Duration
	Batch int
}

// DefaultWorkerConfig is roster's default delivery policy.
func DefaultWorkerConfig() WorkerConfig {
	return WorkerConfig{FirstRetry: 2 * time.Second, MaxRetry: 10 * time.Minute, MaxAttempts: 25,
		Lease: 2 * time.Minute, Poll: 2 * time.Second, Batch: 20}
}

// Worker delivers the outbox. Several workers (one per node) may run on one
// database: claims are leased, so each message goes through one of them.
type Worker struct {
	store  store.Store
	sender Sender
	clock  core.Clock
	cfg    WorkerConfig
	log    *slog.Logger
	name   string
	wake   chan struct{}

	sent, failed prometheus.Counter
}

// NewWorker builds a worker; reg may be nil.
func NewWorker(st store.Store, sender Sender, clock core.Clock, cfg WorkerConfig, log *slog.Logger, reg prometheus.Registerer) *Worker {
	d := DefaultWorkerConfig()
	if cfg.FirstRetry <= 0 {
		cfg.FirstRetry = d.FirstRetry
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = d.MaxRetry
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = d.MaxAttempts
	}
	if cfg.Lease <= 0 {
		cfg.Lease = d.Lease
	}
	if cfg.Poll <= 0 {
		cfg.Poll = d.Poll
	}
	if cfg.Batch <= 0 {
		cfg.Batch = d.Batch
	}
	host, _ := os.Hostname()
	w := &Worker{store: st, sender: sender, clock: clock, cfg: cfg, log: log,
		name: host + "/" + strconv.Itoa(os.Getpid()) + "/" + core.NewID()[24:], wake: make(chan struct{}, 1),
		sent:   prometheus.NewCounter(prometheus.CounterOpts{Name: "roster_mail_sent_total", Help: "Emails delivered."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "roster_mail_failed_attempts_total", Help: "Failed delivery attempts."}),
	}
	if reg != nil {
		reg.MustRegister(w.sent, w.failed)
	}
	return w
}

// Wake makes the worker look at the outbox now (after an enqueue).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		for w.RunOnce(ctx) > 0 && ctx.Err() == nil {
			// A full batch: there may be more.
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims one batch and tries each message; it returns how many it
// claimed.
func (w *Worker) RunOnce(ctx context.Context) int {
	now := w.clock.Now()
	var batch []core.OutboxMessage
	err := w.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		batch, err = tx.ClaimOutbox(ctx, now, now.Add(w.cfg.Lease), w.name, w.cfg.Batch)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("outbox: claim failed", "error", err)
		}
		return 0
	}
	for _, m := range batch {
		// The batch is sent one message after another under one lease:
		// each message's lease is renewed as its turn comes, so that it
		// cannot run out while it is sent and another node send it too.
		now := w.clock.Now()
		var ours bool
		err := w.store.InTx(ctx, func(tx store.Tx) error {
			var err error
			ours, err = tx.RenewOutboxLease(ctx, m.ID, w.name, now.Add(w.cfg.Lease))
			return err
		})
		if err != nil || !ours {
			continue // its lease ran out and another worker has it, or the next claim will
		}
		w.deliver(ctx, m)
	}
	return len(batch)
}

func (w *Worker) deliver(ctx context.Context, m core.OutboxMessage) {
	var r Rendered
	d, err := decodeData(m)
	if err == nil {
		r, err = Render(m.Kind, m.Lang, d)
	}
	switch {
	case err != nil:
		err = permanent(err)
	case !d.ExpiresAt.IsZero() && !w.clock.Now().Before(d.ExpiresAt):
		err = permanent(errors.New("the link expired before the message could be sent"))
	default:
		sendCtx, cancel := context.WithTimeout(ctx, w.cfg.Lease/2)
		err = w.sender.Send(sendCtx, m, r)
		cancel()
	}
	// Record the outcome even if ctx is ending: the message was sent.
	recordCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer done()
	now := w.clock.Now()
	if err == nil {
		w.sent.Inc()
		if err := w.store.InTx(recordCtx, func(tx store.Tx) error { return tx.MarkOutboxSent(recordCtx, m.ID, now) }); err != nil {
			// The lease will expire and the message be sent again, with
			// the same Message-ID.
			w.log.Error("outbox: sent but not recorded", "message_id", m.MessageID, "error", err)
			return
		}
		w.log.Info("email sent", "kind", m.Kind, "message_id", m.MessageID, "attempt", m.Attempts)
		return
	}
	w.failed.Inc()
	next := now.Add(w.backoff(m.Attempts))
	var perm permanentError
	giveUp := errors.As(err, &perm) || (d.ExpiresAt.IsZero() && m.Attempts >= w.cfg.MaxAttempts)
	if giveUp {
		// Parked: far in the future, still visible to the operator, its
		// link (and token) erased.
		next = now.Add(store.ParkFor)
	}
	if rerr := w.store.InTx(recordCtx, func(tx store.Tx) error {
		return tx.MarkOutboxFailed(recordCtx, m.ID, w.name, err.Error(), next, giveUp)
	}); rerr != nil {
		w.log.Error("outbox: failure not recorded", "message_id", m.MessageID, "error", rerr)
	}
	w.log.Warn("email not sent", "kind", m.Kind, "message_id", m.MessageID, "attempt", m.Attempts,
		"next_attempt", next, "error", err)
}

// backoff is the wait after the n-th failed attempt: FirstRetry, doubling,
// capped at MaxRetry.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.cfg.FirstRetry
	for i := 1; i < attempts && d < w.cfg.MaxRetry; i++ {
		d *= 2
	}
	return min(d, w.cfg.MaxRetry)
}
