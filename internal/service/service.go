// Package service owns every rule of roster: validation, authorisation,
// escalation checks, atomic creation, idempotency and password policy.
// Surfaces (the native API, vendor dialects, SCIM, web pages) decode a
// request, call one method here with the caller's Principal, and encode the
// answer; none of them decides anything on its own.
package service

import (
	"context"
	"log/slog"
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
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration
	// IdempotencyTTL is how long the first answer to an Idempotency-Key is
	// kept; IdempotencyPendingTimeout is how long an unfinished request
	// holds its key before a retry may take it over.
	IdempotencyTTL            time.Duration
	IdempotencyPendingTimeout time.Duration
	// RequireElevation makes granting provider-admin and deleting users
	// need an unexpired elevation (ECE's elevated permissions).
	RequireElevation bool
	ElevationTTL     time.Duration
	// KeyUseInterval bounds how often the last use of an API key is
	// written: at most once per interval per key.
	KeyUseInterval time.Duration
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
		IdempotencyTTL:            24 * time.Hour,
		IdempotencyPendingTimeout: time.Minute,
		ElevationTTL:              10 * time.Minute,
		KeyUseInterval:            time.Minute,
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
}

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
		{&cfg.InviteTTL, d.InviteTTL}, {&cfg.SessionTTL, d.SessionTTL}, {&cfg.IdempotencyTTL, d.IdempotencyTTL},
		{&cfg.IdempotencyPendingTimeout, d.IdempotencyPendingTimeout}, {&cfg.ElevationTTL, d.ElevationTTL},
		{&cfg.KeyUseInterval, d.KeyUseInterval}, {&cfg.RateLimitWindow, d.RateLimitWindow},
	} {
		if *pair.v <= 0 {
			*pair.v = pair.def
		}
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = d.RateLimit
	}
	if clock == nil {
		clock = core.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, pool: pool, clock: clock, cfg: cfg, log: log}
}

// Config returns the configuration in force.
func (s *Service) Config() Config { return s.cfg }

// Ready reports whether the service can serve: the database answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// Roles returns the role catalogue.
func (s *Service) Roles() []core.Role { return core.Catalogue }

func (s *Service) now() time.Time { return s.clock.Now() }

// Now is the service's clock, for surfaces whose answers depend on time
// (an invitation's expiry, a rate-limit window) and must agree with it.
func (s *Service) Now() time.Time { return s.now() }
