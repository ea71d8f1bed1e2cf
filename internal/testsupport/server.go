// Package testsupport starts real roster servers on loopback ports for
// end-to-end tests, and holds the clients and contract checkers those tests
// share.
package testsupport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"roster/internal/compat"
	"roster/internal/core"
	"roster/internal/mail"
	"roster/internal/password"
	"roster/internal/server"
	"roster/internal/service"
	"roster/internal/store"
	"roster/internal/store/sqlite"
	"roster/internal/web"
)

// AdminKey is the bootstrap API key of every test server: the built-in
// admin user's key, with provider-admin.
const AdminKey = "rk_test-admin-key-0123456789abcdefghijklmnopqrstuvwxyz"

// FastParams keep argon2id cheap in tests; production parameters are
// exercised by the password package's own tests and the benchmarks.
var FastParams = password.Params{Memory: 64, Time: 1, Threads: 1}

// Options change the server under test.
type Options struct {
	Config service.Config
	// Clock defaults to a manual clock at a fixed instant, so expiry is
	// under the test's control.
	Clock core.Clock
	// Store defaults to a fresh database of the backend under test (see
	// MainOnEachBackend): SQLite in a temporary directory, or a PostgreSQL
	// schema of its own.
	Store store.Store
	// PoolSize and HashMaxWait size the password pool (defaults 4 and 5s).
	PoolSize    int
	HashMaxWait time.Duration
	// Params default to FastParams.
	Params *password.Params
	// Surfaces builds extra surfaces over the service.
	Surfaces func(svc *service.Service, log *slog.Logger) []server.Surface
	// Web serves the pages for people (internal/web: invitations, sign-in,
	// password resets) beside the API, as roster serve does.
	Web bool
	// Dialects builds vendor dialects, mounted at /compat/<name>.
	Dialects func(svc *service.Service, log *slog.Logger) []compat.Dialect
	// SMTPURL, when set, runs a mail delivery worker that sends the
	// outbox there (see StartSMTP); MailWorker tunes it.
	SMTPURL    string
	MailWorker mail.WorkerConfig
	// ReadTimeout is the server's limit on reading a request, as roster
	// serve sets one; zero means none.
	ReadTimeout time.Duration
}

// Env is a running server.
type Env struct {
	URL      string
	Service  *service.Service
	Store    store.Store
	Clock    core.Clock
	Registry *prometheus.Registry
	Pool     *password.Pool
	// Worker is the mail delivery worker when SMTPURL was given.
	Worker *mail.Worker
	logs   *syncBuffer
	log    *slog.Logger
}

// Logs returns everything the server logged so far.
func (e *Env) Logs() string { return e.logs.String() }

// ManualClock returns the server's clock when it is a manual one.
func (e *Env) ManualClock() *core.ManualClock {
	c, _ := e.Clock.(*core.ManualClock)
	return c
}

// Epoch is where manual clocks of test servers start.
var Epoch = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// OpenSQLite opens a fresh SQLite store in the test's temporary directory.
func OpenSQLite(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	return s
}

// Start runs a roster server on 127.0.0.1 with a random port until the test
// ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	st := opts.Store
	if st == nil {
		st = OpenDefault(t)
	}
	clock := opts.Clock
	if clock == nil {
		clock = core.NewManualClock(Epoch)
	}
	params := FastParams
	if opts.Params != nil {
		params = *opts.Params
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = 4
	}
	if opts.HashMaxWait == 0 {
		opts.HashMaxWait = 5 * time.Second
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	pool := password.NewPool(password.PoolConfig{Params: params, Size: opts.PoolSize, MaxWait: opts.HashMaxWait}, reg)
	// Listen first: links in emails point at this address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	url := "http://" + ln.Addr().String()
	if opts.Config.PublicURL == "" {
		opts.Config.PublicURL = url
	}
	svc := service.New(st, pool, clock, opts.Config, log)
	if _, err := svc.Bootstrap(context.Background(), AdminKey); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	srvOpts := server.Options{Service: svc, Logger: log, Registry: reg}
	if opts.Surfaces != nil {
		srvOpts.Surfaces = opts.Surfaces(svc, log)
	}
	if opts.Web {
		srvOpts.Surfaces = append(srvOpts.Surfaces, web.New(svc, log))
	}
	if opts.Dialects != nil {
		for _, d := range opts.Dialects(svc, log) {
			srvOpts.Mounted = append(srvOpts.Mounted, server.Mounted{Prefix: compat.Prefix(d.Name()), Register: d.Register, Render: d.RenderError})
		}
	}
	handler := server.New(srvOpts)
	env := &Env{URL: url, Service: svc, Store: st, Clock: clock, Registry: reg, Pool: pool, logs: logs, log: log}
	workerCtx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	close(workerDone)
	if opts.SMTPURL != "" {
		sender, err := mail.NewSMTPSender(mail.SMTPConfig{URL: opts.SMTPURL, From: "roster <no-reply@roster.test>", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		env.Worker = mail.NewWorker(st, sender, clock, opts.MailWorker, log, reg)
		svc.OnOutbox(env.Worker.Wake)
		workerDone = make(chan struct{})
		go func() { defer close(workerDone); env.Worker.Run(workerCtx) }()
	}
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: opts.ReadTimeout}
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(ctx)
		stopWorker()
		<-workerDone
		svc.Drain()
		st.Close()
	})
	return env
}

// ServeAtRoot runs the dialect that build makes at the root of a listener
// of its own, over the same service, as `roster serve --compat-listen
// name=host:port` does, and returns that listener's base URL.
func (e *Env) ServeAtRoot(t testing.TB, build func(svc *service.Service, log *slog.Logger) compat.Dialect) string {
	t.Helper()
	d := build(e.Service, e.log)
	handler := server.New(server.Options{Service: e.Service, Logger: e.log.With("dialect", d.Name()), Bare: true,
		Mounted: []server.Mounted{{Prefix: "", Register: d.Register, Render: d.RenderError}}})
	return serve(t, handler)
}

// serve runs handler on a loopback port until the test ends.
func serve(t testing.TB, handler http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
