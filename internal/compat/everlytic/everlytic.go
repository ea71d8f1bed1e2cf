// Package everlytic speaks Everlytic's REST API 2.0 (users and customers)
// over roster's core: HTTP Basic "username:apiKey" where the key belongs to
// that username, answers {"links":[…],"item":{…}} or {"links":[…],
// "collection":[…]} in JSON or, when Accept prefers it, XML, and errors
// {"error":{"message":…}} with the HTTP status.
//
// It only translates. Everlytic customers are roster tenants and Everlytic
// users are roster users, both named by their integer numbers; every rule
// (validation, authorisation, uniqueness, escalation) is the service's.
package everlytic

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"roster/internal/compat"
	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// Name is the dialect's name in URLs and flags.
const Name = "everlytic"

// Dialect is Everlytic's API over roster.
type Dialect struct {
	svc *service.Service
	log *slog.Logger
}

var _ compat.Dialect = (*Dialect)(nil)

// New builds the dialect over the service.
func New(svc *service.Service, log *slog.Logger) *Dialect {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dialect{svc: svc, log: log}
}

// Name implements compat.Dialect.
func (d *Dialect) Name() string { return Name }

// RenderError implements compat.Dialect: err as Everlytic's error object,
// in the format the request's Accept header prefers.
func (d *Dialect) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	d.fail(w, r, err)
}

// handler holds what the routes of one registration share: the prefix the
// dialect is mounted at, from which links are built.
type handler struct {
	*Dialect
	prefix string
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *core.Principal) error

// authed authenticates HTTP Basic "username:apiKey", applies the
// Idempotency-Key protocol to POSTs, runs fn and renders its error.
func (h *handler) authed(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		username, key, ok := r.BasicAuth()
		if !ok || username == "" || key == "" {
			h.fail(w, r, &core.Error{Code: core.CodeUnauthenticated,
				Message: "authentication required: send HTTP Basic credentials made of your username and API key"})
			return
		}
		p, err := h.svc.AuthenticateUserKey(r.Context(), username, key)
		if err != nil {
			if core.ErrorCode(err) == core.CodeUnauthenticated {
				err = &core.Error{Code: core.CodeUnauthenticated, Message: "invalid credentials: the username and API key do not match"}
			}
			h.fail(w, r, err)
			return
		}
		httpx.Idempotent(h.svc, p, w, r, h.fail, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r, p); err != nil {
				h.fail(w, r, err)
			}
		})
	}
}

// statusError is an answer that has no core code: an HTTP-level refusal
// such as an unsupported media type.
type statusError struct {
	status  int
	message string
}

func (e *statusError) Error() string { return e.message }

// fail writes err as {"error":{"message":…}} (or its XML form) with the
// status that Everlytic would use. Internal details go to the log only.
func (d *Dialect) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		// The client went away; nobody reads this answer.
		return
	}
	var se *statusError
	if errors.As(err, &se) {
		write(w, r, se.status, errorEnvelope{Error: errorBody{Message: se.message}})
		return
	}
	ce := core.AsError(err)
	status := httpx.StatusOf(ce.Code) // Everlytic answers with the usual statuses
	if w.Header().Get("Allow") != "" {
		// The server found the path but not the method.
		status = http.StatusMethodNotAllowed
	}
	if status >= 500 && ce.Code != core.CodeOverloaded && ce.Code != core.CodeUnavailable {
		d.log.ErrorContext(r.Context(), "request failed", "dialect", Name, "code", ce.Code, "error", err.Error())
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="roster", charset="UTF-8"`)
	}
	httpx.RetryAfter(w, ce)
	write(w, r, status, errorEnvelope{Error: errorBody{Message: errorMessage(ce)}})
}

// errorMessage is the one message Everlytic's error object carries: the
// core's message, or each field error as "field: message" in Everlytic's
// field names.
func errorMessage(ce *core.Error) string {
	switch ce.Code {
	case core.CodeInternal:
		return "an internal error occurred; quote the X-Request-Id response header when reporting it"
	}
	if len(ce.Fields) == 0 {
		return ce.Message
	}
	parts := make([]string, 0, len(ce.Fields))
	for _, f := range ce.Fields {
		parts = append(parts, vendorField(f.Field)+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}
