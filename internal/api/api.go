// Package api is roster's native HTTP API under /v1: JSON in and out,
// Bearer authentication, errors as RFC 9457 problem details. It decodes,
// calls the service, and encodes; it decides nothing.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// API serves the native surface.
type API struct {
	svc *service.Service
	log *slog.Logger
}

// New builds the native API over the service.
func New(svc *service.Service, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{svc: svc, log: log}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *core.Principal) error

// authed authenticates the Bearer credential, applies the Idempotency-Key
// protocol to POSTs, runs fn, and renders its error as a problem.
func (a *API) authed(fn handlerFunc) http.HandlerFunc { return a.authenticated(fn, true) }

// authedStream is authed for streamed answers, which the Idempotency-Key
// protocol would have to hold whole: an import is idempotent by itself
// (create skips what exists, upsert writes the same values again).
func (a *API) authedStream(fn handlerFunc) http.HandlerFunc { return a.authenticated(fn, false) }

func (a *API) authenticated(fn handlerFunc, idempotent bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret := httpx.BearerToken(r, "Bearer")
		if secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
			a.fail(w, r, &core.Error{Code: core.CodeUnauthenticated, Message: "an Authorization: Bearer header with an API key or session token is required"})
			return
		}
		p, err := a.svc.Authenticate(r.Context(), secret)
		if err != nil {
			if core.ErrorCode(err) == core.CodeUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="roster", error="invalid_token"`)
			}
			a.fail(w, r, err)
			return
		}
		run := func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r, p); err != nil {
				a.fail(w, r, err)
			}
		}
		if !idempotent {
			run(w, r)
			return
		}
		httpx.Idempotent(a.svc, p, w, r, a.fail, run)
	}
}

// public runs fn without a credential.
func (a *API) public(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			a.fail(w, r, err)
		}
	}
}

// Problem is an RFC 9457 problem details object with roster's extensions.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Code      core.Code         `json:"code"`
	Errors    []core.FieldError `json:"errors,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// Status returns the HTTP status for an error in the native API.
func Status(err error) int { return httpx.StatusOf(core.ErrorCode(err)) }

// fail renders err as application/problem+json. Internal details are
// logged, never sent.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteProblem(w, r, a.log, err)
}

// WriteProblem renders err as application/problem+json; the server uses it
// for errors outside any surface too.
func WriteProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	ce := core.AsError(err)
	if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
		// The client went away; nobody reads this answer.
		return
	}
	p := problemOf(r, ce)
	if p.Status >= 500 && ce.Code != core.CodeOverloaded {
		log.ErrorContext(r.Context(), "request failed", "code", ce.Code, "error", err.Error())
	}
	httpx.RetryAfter(w, ce)
	httpx.WriteJSON(w, p.Status, "application/problem+json", p)
}

// decode reads the JSON body strictly into dst.
func decode(r *http.Request, dst any) error { return httpx.DecodeJSON(r, dst) }

func writeJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, "", v) }

// optional tells an absent field from null and from a value, for PATCH
// bodies (JSON merge patch: null clears).
type optional[T any] struct {
	Set  bool
	Null bool
	V    T
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	// A key given twice means its last value, as for every other field.
	var zero T
	o.Set, o.Null, o.V = true, string(b) == "null", zero
	if o.Null {
		return nil
	}
	// Numbers bound for a value of any type keep their digits, as in the
	// rest of the body (httpx.DecodeJSONBytes).
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(&o.V)
}

// ptr returns nil when absent, the zero value when null, else the value.
func (o optional[T]) ptr() *T {
	if !o.Set {
		return nil
	}
	if o.Null {
		var zero T
		return &zero
	}
	v := o.V
	return &v
}

// seconds turns a count of seconds into a duration, saturating instead of
// wrapping around: 2^55 seconds must not become an hour that passes the
// service's range check.
func seconds(n int64) time.Duration {
	const most = math.MaxInt64 / int64(time.Second)
	switch {
	case n > most:
		return math.MaxInt64
	case n < -most:
		return math.MinInt64
	}
	return time.Duration(n) * time.Second
}

// nativeFields are the native API's names for fields the service names
// otherwise: a field error names what the request sent.
var nativeFields = map[string]string{"invite_ttl": "invite_ttl_seconds", "seller": "seller_id"}

// nativeField renames the last part of a field path ("tenant.seller").
func nativeField(f string) string {
	i := strings.LastIndex(f, ".") + 1
	if name, ok := nativeFields[f[i:]]; ok {
		return f[:i] + name
	}
	return f
}

// queryLimit reads a page size: absent means the default (0), given it
// must be at least 1.
func queryLimit(r *http.Request, v *core.Validation) int {
	n := queryInt(r, "limit", v)
	if r.URL.Query().Has("limit") && n < 1 {
		v.Add("limit", "out_of_range", "must be at least 1")
	}
	return n
}

// queryInt reads an integer query parameter.
func queryInt(r *http.Request, name string, v *core.Validation) int {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		v.Add(name, "invalid", "must be an integer")
	}
	return n
}
