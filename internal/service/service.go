// Package service owns every rule of roster: validation, authorisation,
// escalation checks, atomic creation, idempotency and password policy.
// Surfaces (the native API, vendor dialects, SCIM, web pages) decode a
// request, call one method here with the caller's Principal, and encode the
// answer; none of them decides anything on its own.
package service

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/store"
)

// Config holds the service's tunable rules.
type Config struct {
	// ProviderName names the provider created on an empty database.
	ProviderName string
	// PasswordPolicy is the provider-wide default policy (nist or complex).
	PasswordPolicy string
	// InviteTTL is how long an invitation stays valid unless the tenant or
	// the request says otherwise.
	InviteTTL time.Duration
	// SessionTTL is how long a login lasts; SessionMaxAge how long after
	// the login a refresh (ECE's _refresh) may still extend it.
	SessionTTL    time.Duration
	SessionMaxAge time.Duration
	// IdempotencyTTL is how long the first answer to an Idempotency-Key is
	// kept; IdempotencyPendingTimeout is how long an unfinished request
	// holds its key before a retry may take it over.
	IdempotencyTTL            time.Duration
	IdempotencyPendingTimeout time.Duration
	// RequireElevation makes granting provider-admin (to a user or an API
	// key) and deleting users need an unexpired elevation (ECE's elevated
	// permissions).
	RequireElevation bool
	ElevationTTL     time.Duration
	// KeyUseInterval bounds how often the last use of an API key is
	// written: at most once per interval per key.
	KeyUseInterval time.Duration
	// AuthCacheTTL is how long a node remembers whom a key or session
	// token stands for, and a tenant it is adding users to; negative turns
	// both caches off. A change made on this node clears them at once, a
	// change made on another node is seen within the TTL.
	AuthCacheTTL time.Duration
	// PublicURL is where people reach roster's pages; links in emails
	// start with it.
	PublicURL string
	// MailDomain ends the Message-IDs of emails (default: PublicURL's host).
	MailDomain string
	// InviteMaxFailures is how many failed acceptance attempts an
	// invitation takes before it stops working (the user stays).
	InviteMaxFailures int
	// ResetTTL is how long a password-reset link stays valid.
	ResetTTL time.Duration
	// LoginFreeFailures failed logins per account (and LoginFreeFailuresIP
	// per client address) go unpunished; after that each failure doubles
	// a lockout, starting at one second, up to LoginMaxLockout.
	LoginFreeFailures   int
	LoginFreeFailuresIP int
	LoginMaxLockout     time.Duration
	// LoginWindow forgets failures older than this.
	LoginWindow time.Duration
	// RateLimit is how many requests one credential may make per
	// RateLimitWindow on the surfaces that limit requests (GPCN's dialect);
	// the count is kept per process.
	RateLimit       int
	RateLimitWindow time.Duration
}

// DefaultConfig is what roster runs with when nothing is configured.
func DefaultConfig() Config {
	return Config{
		ProviderName:              "roster",
		PasswordPolicy:            password.PolicyNIST,
		InviteTTL:                 72 * time.Hour,
		SessionTTL:                12 * time.Hour,
		SessionMaxAge:             24 * time.Hour,
		IdempotencyTTL:            24 * time.Hour,
		IdempotencyPendingTimeout: time.Minute,
		ElevationTTL:              10 * time.Minute,
		KeyUseInterval:            time.Minute,
		AuthCacheTTL:              time.Second,
		PublicURL:                 "http://127.0.0.1:8080",
		InviteMaxFailures:         10,
		ResetTTL:                  time.Hour,
		LoginFreeFailures:         5,
		LoginFreeFailuresIP:       50,
		LoginMaxLockout:           15 * time.Minute,
		LoginWindow:               time.Hour,
		RateLimit:                 1000,
		RateLimitWindow:           time.Minute,
	}
}

// Service is the core of roster.
type Service struct {
	store store.Store
	pool  *password.Pool
	clock core.Clock
	cfg   Config
	log   *slog.Logger

	// outboxNotify, when set, is called after a transaction that enqueued
	// mail, so that this node's delivery worker sends it at once.
	outboxNotify func()
	provider     atomic.Pointer[core.Provider]
	auth         authCache
	// tenants holds recently read tenants for the hot create path, under
	// the same TTL and the same clearing as auth.
	tenants *ttlCache[core.Tenant]
	// background counts writes made off the request path (an API key's
	// last use, a password reset's email), so that shutdown can wait for
	// them.
	background sync.WaitGroup
	// resetSlots bounds the password reset requests handled off the
	// request path at once.
	resetSlots chan struct{}
	// stopping is closed when the process begins to shut down (Stop).
	stopping chan struct{}
	stopOnce sync.Once
}

// maxPendingResets is how many password reset requests may wait to be
// handled; past it, more are dropped (and logged) rather than piling up.
const maxPendingResets = 256

// Drain waits for writes the service started in the background; call it
// after the servers stop and before the store closes.
func (s *Service) Drain() { s.background.Wait() }

// Stop says the process is shutting down: a long request (an import)
// watching Stopping ends what it holds and answers, rather than being cut
// off when the servers' grace period runs out. Calls after the first do
// nothing.
func (s *Service) Stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

// Stopping is closed by Stop.
func (s *Service) Stopping() <-chan struct{} { return s.stopping }

// New builds a service. Unset durations in cfg take their defaults.
func New(st store.Store, pool *password.Pool, clock core.Clock, cfg Config, log *slog.Logger) *Service {
	d := DefaultConfig()
	if cfg.ProviderName == "" {
		cfg.ProviderName = d.ProviderName
	}
	if cfg.PasswordPolicy == "" {
		cfg.PasswordPolicy = d.PasswordPolicy
	}
	for _, pair := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.InviteTTL, d.InviteTTL}, {&cfg.SessionTTL, d.SessionTTL}, {&cfg.SessionMaxAge, d.SessionMaxAge}, {&cfg.IdempotencyTTL, d.IdempotencyTTL},
		{&cfg.IdempotencyPendingTimeout, d.IdempotencyPendingTimeout}, {&cfg.ElevationTTL, d.ElevationTTL},
		{&cfg.KeyUseInterval, d.KeyUseInterval}, {&cfg.ResetTTL, d.ResetTTL}, {&cfg.LoginMaxLockout, d.LoginMaxLockout},
		{&cfg.LoginWindow, d.LoginWindow}, {&cfg.RateLimitWindow, d.RateLimitWindow},
	} {
		if *pair.v <= 0 {
			*pair.v = pair.def
		}
	}
	for _, pair := range []struct {
		v   *int
		def int
	}{
		{&cfg.InviteMaxFailures, d.InviteMaxFailures}, {&cfg.LoginFreeFailures, d.LoginFreeFailures},
		{&cfg.LoginFreeFailuresIP, d.LoginFreeFailuresIP}, {&cfg.RateLimit, d.RateLimit},
	} {
		if *pair.v <= 0 {
			*pair.v = pair.def
		}
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = d.PublicURL
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.MailDomain == "" {
		// An IPv6 address (roster listening on [::]) is no domain for a
		// Message-ID, whose right side must be a dotted name.
		if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" && !strings.Contains(u.Hostname(), ":") {
			cfg.MailDomain = u.Hostname()
		} else {
			cfg.MailDomain = "roster.invalid"
		}
	}
	if cfg.AuthCacheTTL == 0 {
		cfg.AuthCacheTTL = d.AuthCacheTTL
	}
	if clock == nil {
		clock = core.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, pool: pool, clock: clock, cfg: cfg, log: log, auth: newAuthCache(cfg.AuthCacheTTL),
		tenants: newTTLCache[core.Tenant](cfg.AuthCacheTTL, maxCachedTenants), resetSlots: make(chan struct{}, maxPendingResets),
		stopping: make(chan struct{})}
}

// Config returns the configuration in force.
func (s *Service) Config() Config { return s.cfg }

// Ready reports whether the service can serve: the database answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// Roles returns the role catalogue.
func (s *Service) Roles() []core.Role { return core.Catalogue }

func (s *Service) now() time.Time { return s.clock.Now() }

// afterHash is the context for the write that follows a password hash.
// While requests queue for the hashing pool, hashes finish one at a time
// at its pace, and each write would commit alone; a commit takes the CPU
// the hashes are short of. The write may then wait up to one hash's time
// for others to share its commit: a small part of the wait its request
// already had for a slot. With no queue it commits at once.
func (s *Service) afterHash(ctx context.Context) context.Context {
	if waiting, lastHash := s.pool.Backlog(); waiting > 0 {
		return store.WithCommitPatience(ctx, min(lastHash, maxCommitPatience))
	}
	return ctx
}

// maxCommitPatience bounds afterHash's wait where one hash takes long (an
// imported hash of larger parameters, or a pool of large ones).
const maxCommitPatience = 100 * time.Millisecond

// Now is the service's clock, for surfaces that show derived statuses.
func (s *Service) Now() time.Time { return s.clock.Now() }

// OnOutbox registers fn to run after mail is enqueued.
func (s *Service) OnOutbox(fn func()) { s.outboxNotify = fn }

func (s *Service) mailEnqueued() {
	if s.outboxNotify != nil {
		s.outboxNotify()
	}
}

// ProviderName is the name of the provider running roster, for pages that
// show whose service the person is signing in to.
func (s *Service) ProviderName(ctx context.Context) (string, error) {
	p, err := s.providerInfo(ctx, s.store)
	return p.Name, err
}

// providerInfo returns the provider, read once: it never changes.
func (s *Service) providerInfo(ctx context.Context, r store.Reader) (core.Provider, error) {
	if p := s.provider.Load(); p != nil {
		return *p, nil
	}
	p, err := r.GetProvider(ctx)
	if err != nil {
		return p, err
	}
	s.provider.Store(&p)
	return p, nil
}
