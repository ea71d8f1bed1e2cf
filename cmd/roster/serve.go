package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"roster/internal/compat"
	"roster/internal/core"
	"roster/internal/mail"
	"roster/internal/password"
	"roster/internal/server"
	"roster/internal/service"
	"roster/internal/store"
	"roster/internal/store/postgres"
	"roster/internal/store/sqlite"
	"roster/internal/web"
)

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isPostgres(dsn string) bool {
	scheme, _, _ := strings.Cut(dsn, "://")
	return strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql")
}

// checkDB tells a PostgreSQL URL from a SQLite file path and refuses what
// is neither, without repeating it (it may hold a password): a misspelt
// scheme or a keyword=value connection string would otherwise be taken for
// the name of a new SQLite file, and its password written into the log. A
// scheme in capitals is written in small letters, as the driver wants it.
func checkDB(dsn string) (string, error) {
	if scheme, rest, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return strings.ToLower(scheme) + "://" + rest, nil
		}
		return "", fmt.Errorf("the database %s:// is neither a postgres:// URL nor a SQLite file path", scheme)
	}
	// A connection string begins with a keyword and "=" (any of libpq's
	// many); a file path (even one through a directory named user=acme)
	// begins otherwise: write ./name for a file whose name looks so.
	if first, _, _ := strings.Cut(strings.TrimSpace(dsn), " "); connKeywordRE.MatchString(first) {
		return "", errors.New("the database looks like a PostgreSQL keyword=value connection string: give it as a postgres:// URL")
	}
	return dsn, nil
}

var connKeywordRE = regexp.MustCompile(`^[A-Za-z_]+=`)

// openStore opens the database the DSN names and migrates it.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	if isPostgres(dsn) {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}

// compatListener serves one dialect at the root of its own address.
type compatListener struct {
	dialect string
	handler http.Handler
}

// app is what serve runs: the store, the service and the HTTP handlers.
type app struct {
	store    store.Store
	svc      *service.Service
	registry *prometheus.Registry
	handler  http.Handler
	// compat holds the dedicated dialect listeners by address.
	compat map[string]compatListener
	// worker delivers the outbox; nil without ROSTER_SMTP_URL.
	worker *mail.Worker
}

func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	st, err := openStore(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	params := password.Params{Memory: cfg.PasswordMemory, Time: cfg.PasswordTime, Threads: cfg.PasswordThreads}
	if err := password.ValidateParams(params); err != nil {
		st.Close()
		return nil, fmt.Errorf("--password-memory, --password-time, --password-threads: %w", err)
	}
	reg := prometheus.NewRegistry()
	pool := password.NewPool(password.PoolConfig{Params: params, Size: cfg.HashPoolSize, MaxWait: cfg.HashMaxWait}, reg)
	svc := service.New(st, pool, core.SystemClock{}, service.Config{
		ProviderName: cfg.ProviderName, PasswordPolicy: cfg.PasswordPolicy, InviteTTL: cfg.InviteTTL,
		SessionTTL: cfg.SessionTTL, SessionMaxAge: cfg.SessionMaxAge, RequireElevation: cfg.RequireElevation, ElevationTTL: cfg.ElevationTTL,
		AuthCacheTTL: cfg.AuthCacheTTL, RateLimit: cfg.RateLimit, RateLimitWindow: cfg.RateLimitWindow,
		PublicURL: cfg.PublicURL,
	}, log)
	var worker *mail.Worker
	if cfg.SMTPURL != "" {
		sender, err := mail.NewSMTPSender(mail.SMTPConfig{URL: cfg.SMTPURL, From: cfg.MailFrom})
		if err != nil {
			st.Close()
			return nil, err
		}
		worker = mail.NewWorker(st, sender, core.SystemClock{},
			mail.WorkerConfig{FirstRetry: cfg.MailRetry, MaxRetry: cfg.MailRetryMax}, log, reg)
		svc.OnOutbox(worker.Wake)
		log.Info("mail delivery on", "smtp", sender.Describe(), "from", cfg.MailFrom)
	} else {
		log.Warn("mail delivery off: ROSTER_SMTP_URL is not set, so emails stay in the outbox; see them with `roster mail list` or GET /v1/outbox")
	}
	metrics := server.NewMetrics(reg)
	byName := map[string]compat.Dialect{}
	var mounted []server.Mounted
	for _, d := range dialects(svc, log) {
		byName[d.Name()] = d
		mounted = append(mounted, server.Mounted{Prefix: compat.Prefix(d.Name()), Register: d.Register, Render: d.RenderError})
	}
	a := &app{store: st, svc: svc, registry: reg, compat: map[string]compatListener{}, worker: worker,
		// The pages for people live on the main listener only: links in
		// emails point there (the public URL).
		handler: server.New(server.Options{Service: svc, Logger: log, Metrics: metrics, Mounted: mounted,
			Surfaces: []server.Surface{web.New(svc, log)}, TrustedProxies: cfg.TrustedProxies})}
	for name, addr := range cfg.CompatListen {
		d, ok := byName[name]
		if !ok {
			st.Close()
			return nil, fmt.Errorf("--compat-listen: unknown dialect %q", name)
		}
		a.compat[addr] = compatListener{dialect: name, handler: server.New(server.Options{Service: svc,
			Logger: log.With("dialect", name), Metrics: metrics, Bare: true, TrustedProxies: cfg.TrustedProxies,
			Mounted: []server.Mounted{{Prefix: "", Register: d.Register, Render: d.RenderError}}})}
	}
	return a, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roster serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	logs := newLogWriter(stderr)
	defer logs.Close()
	log := newLogger(cfg, logs)
	// The runtime reads GOMEMLIMIT and GOGC from the process's own
	// environment, whatever getenv a caller passes.
	if cfg.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cfg.MemoryLimit)
		log.Info("memory limit", "mib", cfg.MemoryLimit>>20)
	}
	if cfg.GCRoom > 0 && os.Getenv("GOGC") == "" {
		defer keepGCRoom(cfg.GCRoom)()
	}
	// Listen before building the app: the public URL defaults to the
	// address actually bound.
	mainLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer mainLn.Close()
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + mainLn.Addr().String()
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.store.Close()
	defer a.svc.Drain() // runs first: background writes before the store closes

	boot, err := a.svc.Bootstrap(ctx, cfg.BootstrapAPIKey)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	switch {
	case boot.GeneratedKey != "":
		// Printed, not logged: logs never hold secrets, and this is shown once.
		logs.Flush()
		fmt.Fprintf(stderr, "\nroster: created the provider and the built-in user \"admin\" with this API key.\n"+
			"It is shown only now; store it safely:\n\n    %s\n\n", boot.GeneratedKey)
	case boot.UsedOperatorKey:
		log.Info("installed ROSTER_BOOTSTRAP_API_KEY as the admin user's API key")
	case cfg.BootstrapAPIKey != "":
		log.Info("ROSTER_BOOTSTRAP_API_KEY ignored: the database already has API keys")
	}

	listeners := map[string]compatListener{cfg.Addr: {handler: a.handler}}
	for addr, l := range a.compat {
		if _, taken := listeners[addr]; taken {
			return fmt.Errorf("--compat-listen: %s is already used", addr)
		}
		listeners[addr] = l
	}
	var servers []*http.Server
	errc := make(chan error, len(listeners))
	for addr, l := range listeners {
		ln := mainLn
		if l.dialect != "" {
			if ln, err = net.Listen("tcp", addr); err != nil {
				for _, s := range servers {
					s.Close()
				}
				return fmt.Errorf("--compat-listen %s=%s: %w", l.dialect, addr, err)
			}
		}
		srv := &http.Server{
			Handler:           l.handler,
			ReadHeaderTimeout: 10 * time.Second,
			// A body trickled in holds a connection and a handler no longer
			// than this (every body but an import's is at most 1 MiB); an
			// import moves the deadline on while its lines keep coming.
			ReadTimeout: requestTimeout,
			// A client that does not read its answer must not hold a
			// handler for ever; an import moves both deadlines on as it goes.
			WriteTimeout: responseTimeout,
			IdleTimeout:  2 * time.Minute,
			ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		servers = append(servers, srv)
		if l.dialect == "" {
			log.Info("roster listening", "addr", "http://"+ln.Addr().String(), "db", describeDB(cfg.DB), "version", version())
		} else {
			log.Info("dialect listening", "dialect", l.dialect, "addr", "http://"+ln.Addr().String())
		}
		go func() { errc <- srv.Serve(ln) }()
	}

	if cfg.DebugAddr != "" {
		// Listened on here, so that an address that cannot be had stops
		// the start as a bad --addr does.
		dln, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("--debug-addr: %w", err)
		}
		dbg := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := dbg.Serve(dln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("debug listener", "error", err)
			}
		}()
		defer dbg.Close()
		log.Info("profiler listening", "addr", "http://"+dln.Addr().String()+"/debug/pprof/")
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.svc.Janitor(runCtx, 10*time.Minute)
	workerDone := make(chan struct{})
	if a.worker != nil {
		go func() { defer close(workerDone); a.worker.Run(runCtx) }()
	} else {
		close(workerDone)
	}

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// Long requests (an import) end what they hold and answer now, within
	// the grace period below, rather than being cut off at its end.
	a.svc.Stop()
	shutdownCtx, done := context.WithTimeout(context.Background(), shutdownGrace)
	defer done()
	// Every listener at once, each with the whole grace period.
	var stopping sync.WaitGroup
	for _, srv := range servers {
		stopping.Go(func() {
			if err := srv.Shutdown(shutdownCtx); err != nil {
				// A client still sending or reading past the grace period:
				// its connection is closed, and the shutdown goes on as asked.
				log.Warn("closing connections still busy after the grace period", "grace", shutdownGrace, "error", err)
				_ = srv.Close()
			}
		})
	}
	stopping.Wait()
	cancel()
	<-workerDone
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// responseTimeout bounds the writing of an answer, and requestTimeout the
// reading of a request (variables, for tests).
var (
	responseTimeout = 2 * time.Minute
	requestTimeout  = 30 * time.Second
	// shutdownGrace is how long a shutdown waits for requests in flight.
	shutdownGrace = 15 * time.Second
)

// describeDB names the database without its password.
func describeDB(dsn string) string {
	if !isPostgres(dsn) {
		return "sqlite:" + dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres (unparsable URL)"
	}
	// pgx also takes the password as a parameter (?password=…).
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roster migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	migrateDB := sqlite.Migrate
	if isPostgres(cfg.DB) {
		migrateDB = postgres.Migrate
	}
	applied, err := migrateDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s: up to date\n", describeDB(cfg.DB))
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "%s: applied %s\n", describeDB(cfg.DB), m)
	}
	return nil
}

// debugHandler serves the Go profiler.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
