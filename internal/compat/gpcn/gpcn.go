// Package gpcn speaks the user-management API of GPCN (Global Private Cloud
// Network): POST /v1/users with action register or invite, the user list
// with GPCN's filters and page meta, invitations, role assignment, teams
// (roster's resource groups) and roles. Answers are GPCN's envelope
// {success, message, data, meta}; errors are {success: false, error, message}.
// Every answer carries X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset; past the limit the answer is 429 RATE_LIMITED.
//
// Like every dialect it only translates: it decodes GPCN's request, calls
// the service, and encodes GPCN's answer. docs/dialects/gpcn.md is the
// mapping.
package gpcn

import (
	"log/slog"
	"net/http"
	"strings"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// Name is the dialect's name in URLs and flags.
const Name = "gpcn"

// Dialect is GPCN's API over roster's service.
type Dialect struct {
	svc     *service.Service
	log     *slog.Logger
	limiter *httpx.RateLimiter
}

// New builds the dialect. Its rate limit comes from the service's
// configuration (RateLimit per RateLimitWindow per API key), counted on the
// service's clock.
func New(svc *service.Service, log *slog.Logger) *Dialect {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := svc.Config()
	return &Dialect{svc: svc, log: log.With("dialect", Name),
		limiter: httpx.NewRateLimiter(cfg.RateLimit, cfg.RateLimitWindow, httpx.DefaultRateKeys, svc.Now)}
}

// Name implements compat.Dialect.
func (d *Dialect) Name() string { return Name }

// RenderError implements compat.Dialect: the server calls it for requests
// below the prefix that no route matched. Those count against their
// caller's rate limit too, so that every answer carries the headers.
func (d *Dialect) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	if !httpx.HasRateHeaders(w.Header()) {
		p, _ := d.authenticate(r)
		if !d.limit(w, r, p) {
			err = d.rateLimited()
		}
	}
	d.writeError(w, r, err)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *core.Principal) error

// authed authenticates the API key, applies the rate limit and the
// Idempotency-Key protocol, runs fn, and renders its error.
func (d *Dialect) authed(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := d.authenticate(r)
		if !d.limit(w, r, p) {
			d.writeError(w, r, d.rateLimited())
			return
		}
		if err != nil {
			if core.ErrorCode(err) == core.CodeUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gpcn"`)
			}
			d.writeError(w, r, err)
			return
		}
		httpx.Idempotent(d.svc, p, w, r, d.writeError, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r, p); err != nil {
				d.writeError(w, r, err)
			}
		})
	}
}

// credential reads GPCN's API key: X-API-Key, or Authorization: Bearer.
func credential(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-API-Key")); k != "" {
		return k
	}
	return httpx.BearerToken(r, "Bearer")
}

func (d *Dialect) authenticate(r *http.Request) (*core.Principal, error) {
	secret := credential(r)
	if secret == "" {
		return nil, &core.Error{Code: core.CodeUnauthenticated,
			Message: "Authentication required: send your API key in the X-API-Key header or as Authorization: Bearer"}
	}
	p, err := d.svc.Authenticate(r.Context(), secret)
	if core.ErrorCode(err) == core.CodeUnauthenticated {
		err = &core.Error{Code: core.CodeUnauthenticated, Message: "Invalid or expired API key"}
	}
	return p, err
}

// limit counts the request against its caller: the API key (or session)
// when it authenticated, the client address otherwise. It writes the
// X-RateLimit-* headers and reports whether the request may go on.
func (d *Dialect) limit(w http.ResponseWriter, r *http.Request, p *core.Principal) bool {
	key := "addr:" + core.ClientNetwork(httpx.ClientIP(r))
	if p != nil && p.CredentialID != "" {
		key = "cred:" + p.CredentialID
	}
	dec := d.limiter.Allow(key)
	dec.SetHeaders(w.Header())
	return dec.Allowed
}

func (d *Dialect) rateLimited() error {
	return &core.Error{Code: core.CodeRateLimited,
		Message: "Rate limit exceeded: at most " + itoa(d.limiter.Limit()) + " requests per " + d.limiter.Window().String() + "; retry after the time in Retry-After"}
}

// envelope is GPCN's success format.
type envelope struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Data    any    `json:"data"`
	Meta    any    `json:"meta"`
}

func writeData(w http.ResponseWriter, status int, message string, data any) {
	httpx.WriteJSON(w, status, "", envelope{Success: true, Message: message, Data: data})
}

func writePage(w http.ResponseWriter, data any, meta pageMeta) {
	httpx.WriteJSON(w, http.StatusOK, "", envelope{Success: true, Data: data, Meta: meta})
}
