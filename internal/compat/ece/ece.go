// Package ece is the Elastic Cloud Enterprise dialect: the platform-user
// part of ECE's REST API (/api/v1/users, /api/v1/user, and the
// /api/v1/users/auth calls around them), spoken over roster's core.
//
// It only translates: it decodes ECE's request bodies into the service's
// inputs, maps ECE role names onto roster's provider-level roles, calls the
// service, and encodes ECE's User objects and its errors
// ({"errors":[{code,message,fields}]} with the same codes in the
// x-cloud-error-codes header). ECE users are roster users without a tenant;
// their ECE id is the roster username.
package ece

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// Name is the dialect's name in URLs and flags.
const Name = "ece"

// Dialect serves ECE's platform-user API.
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

// Name is "ece".
func (d *Dialect) Name() string { return Name }

// RenderError answers requests below the prefix that match no route, in
// ECE's error format: 404 root.resource_not_found, or 405 when the path
// exists with other methods (the server has set Allow).
func (d *Dialect) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	if w.Header().Get("Allow") != "" {
		writeErrors(w, http.StatusMethodNotAllowed, []errorElement{{Code: codeMethodNotAllowed, Message: core.AsError(err).Message}})
		return
	}
	d.fail(w, r, err, scopeRoute)
}

// notServed answers a path of ECE's API that roster does not serve, as
// for a path no route matches.
func (d *Dialect) notServed(w http.ResponseWriter, r *http.Request) {
	d.RenderError(w, r, core.Errorf(core.CodeNotFound, "%s is not served here", r.URL.Path))
}

// handler is one route's work; its error is rendered in ECE's format.
type handler func(w http.ResponseWriter, r *http.Request, p *core.Principal) error

// credential reads ECE's Authorization header: "ApiKey <key>" or
// "Bearer <token>" (a token from _login, or a roster API key).
func credential(r *http.Request) string {
	if k := httpx.BearerToken(r, "ApiKey"); k != "" {
		return k
	}
	return httpx.BearerToken(r, "Bearer")
}

// authed authenticates the caller, applies the Idempotency-Key protocol to
// POSTs, and runs fn; errors are rendered for scope sc.
func (d *Dialect) authed(sc scope, fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret := credential(r)
		if secret == "" {
			msg := "an Authorization header with ApiKey <key> or Bearer <token> is required"
			if strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "basic ") {
				msg = "HTTP Basic authentication is not supported; log in with POST /api/v1/users/auth/_login and send Authorization: Bearer <token>, or send Authorization: ApiKey <key>"
			}
			d.fail(w, r, &core.Error{Code: core.CodeUnauthenticated, Message: msg}, sc)
			return
		}
		p, err := d.svc.Authenticate(r.Context(), secret)
		if err != nil {
			if core.ErrorCode(err) == core.CodeUnauthenticated {
				err = &core.Error{Code: core.CodeUnauthenticated, Message: "the authentication token or API key is invalid or expired"}
			}
			d.fail(w, r, err, sc)
			return
		}
		fail := func(w http.ResponseWriter, r *http.Request, err error) { d.fail(w, r, err, sc) }
		httpx.Idempotent(d.svc, p, w, r, fail, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r, p); err != nil {
				d.fail(w, r, err, sc)
			}
		})
	}
}

// public runs fn without a credential (login).
func (d *Dialect) public(sc scope, fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			d.fail(w, r, err, sc)
		}
	}
}

// fail renders err in ECE's format. Internal details go to the log only.
func (d *Dialect) fail(w http.ResponseWriter, r *http.Request, err error, sc scope) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		return // the client went away
	}
	ce := core.AsError(err)
	status, elems := translate(ce, sc)
	if status >= 500 && ce.Code != core.CodeOverloaded {
		d.log.ErrorContext(r.Context(), "request failed", "code", ce.Code, "error", err.Error())
		if ce.Code == core.CodeInternal {
			elems[0].Message += "; quote the request id " + httpx.RequestID(r.Context()) + " when reporting it"
		}
	}
	httpx.RetryAfter(w, ce)
	writeErrors(w, status, elems)
}

// errorElement is ECE's BasicFailedReplyElement.
type errorElement struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Fields  []string `json:"fields,omitempty"`
}

// failedReply is ECE's BasicFailedReply.
type failedReply struct {
	Errors []errorElement `json:"errors"`
}

// writeErrors writes the body and the x-cloud-error-codes header, which
// carries the same codes as the body, comma-separated when there are several.
func writeErrors(w http.ResponseWriter, status int, elems []errorElement) {
	var codes []string
	for _, e := range elems {
		if !slices.Contains(codes, e.Code) {
			codes = append(codes, e.Code)
		}
	}
	w.Header().Set("x-cloud-error-codes", strings.Join(codes, ","))
	httpx.WriteJSON(w, status, "", failedReply{Errors: elems})
}
