// Package gcore speaks the Gcore IAM API (the reseller API and the account
// API) over roster's core: POST /iam/users creates a user with a new
// account, and the calls around it list, read, change and delete users and
// accounts ("clients"), invite users and manage product availability.
//
// It only translates: it decodes Gcore's requests, calls the service, and
// encodes Gcore's answers and errors. Users and accounts are addressed by
// roster's integer numbers; Gcore's groups are roster roles (mapping.go).
package gcore

import (
	"log/slog"
	"net/http"
	"strconv"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// Name is the dialect's name in URLs and flags.
const Name = "gcore"

// Dialect is the Gcore dialect.
type Dialect struct {
	svc *service.Service
	log *slog.Logger
}

// New builds the dialect over the service.
func New(svc *service.Service, log *slog.Logger) *Dialect {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dialect{svc: svc, log: log}
}

// Name implements compat.Dialect.
func (d *Dialect) Name() string { return Name }

// RenderError implements compat.Dialect: unknown routes below the prefix
// answer in Gcore's format.
func (d *Dialect) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	renderer{log: d.log}.render(w, r, err)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *core.Principal) error

// credential reads Gcore's "Authorization: apikey K". A session token from
// roster's login is accepted as "Authorization: Bearer T", as Gcore accepts
// its JWTs.
func credential(r *http.Request) string {
	if k := httpx.BearerToken(r, "apikey"); k != "" {
		return k
	}
	return httpx.BearerToken(r, "Bearer")
}

// authed authenticates the caller, applies the Idempotency-Key protocol to
// POSTs, runs fn, and renders its error in Gcore's format with the
// endpoint's field names (rename: core field → Gcore field).
func (d *Dialect) authed(rename map[string]string, fn handlerFunc) http.HandlerFunc {
	e := renderer{log: d.log, rename: rename}
	return func(w http.ResponseWriter, r *http.Request) {
		secret := credential(r)
		if secret == "" {
			e.render(w, r, &core.Error{Code: core.CodeUnauthenticated, Message: msgNotAuthenticated})
			return
		}
		p, err := d.svc.Authenticate(r.Context(), secret)
		if err != nil {
			if core.ErrorCode(err) == core.CodeUnauthenticated {
				err = &core.Error{Code: core.CodeUnauthenticated, Message: msgBadToken}
			}
			e.render(w, r, err)
			return
		}
		httpx.Idempotent(d.svc, p, w, r, e.render, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r, p); err != nil {
				e.render(w, r, err)
			}
		})
	}
}

// pathNumber reads an integer id from the path; anything else names
// nothing (Gcore's routes only match digits).
func pathNumber(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, core.Errorf(core.CodeNotFound, "not found")
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, "", v) }

// page reads Gcore's limit and offset the way Django REST framework's
// LimitOffsetPagination does: a limit that is not a positive integer means
// no pagination, an offset that is not a non-negative integer means 0, and
// a limit over the largest page is cut to it.
func page(r *http.Request) (limit, offset int, paged bool) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		return 0, 0, false
	}
	limit = min(limit, service.MaxPageSize)
	if offset, err = strconv.Atoi(q.Get("offset")); err != nil || offset < 0 {
		offset = 0
	}
	return limit, offset, true
}

// pageLinks are the next and previous links of a paginated list, absolute
// like Django REST framework's, and absent at the ends.
func pageLinks(r *http.Request, limit, offset, count int) (next, previous *string) {
	link := func(off int) *string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		if r.TLS != nil {
			u.Scheme = "https"
		}
		q := u.Query()
		q.Set("limit", strconv.Itoa(limit))
		if off > 0 {
			q.Set("offset", strconv.Itoa(off))
		} else {
			q.Del("offset")
		}
		u.RawQuery = q.Encode()
		s := u.String()
		return &s
	}
	if offset+limit < count {
		next = link(offset + limit)
	}
	if offset > 0 {
		previous = link(max(offset-limit, 0))
	}
	return next, previous
}

// paginated is Gcore's {count, next, previous, results}.
type paginated[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next,omitempty"`
	Previous *string `json:"previous,omitempty"`
	Results  []T     `json:"results"`
}
