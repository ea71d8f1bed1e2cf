// Package server assembles roster's HTTP handler: middleware shared by every
// surface (request ids, logging, metrics, recovery, security headers) and the
// routes of each surface on one mux.
package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"roster/internal/api"
	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/logx"
	"roster/internal/service"
)

// Surface is a set of routes: the native API, a vendor dialect, web pages.
type Surface interface {
	Routes(mux *http.ServeMux)
}

// ErrorRenderer renders an error in a surface's own format; the server
// uses it for requests under the surface's prefix that match no route.
type ErrorRenderer func(w http.ResponseWriter, r *http.Request, err error)

// Mounted is a surface registered below a path prefix, with its own error
// format (a vendor dialect).
type Mounted struct {
	Prefix   string
	Register func(mux *http.ServeMux, prefix string)
	Render   ErrorRenderer
}

// Options configure the handler.
type Options struct {
	Service *service.Service
	Logger  *slog.Logger
	// Metrics are shared by every handler of one process; nil makes new
	// ones on Registry.
	Metrics  *Metrics
	Registry *prometheus.Registry
	// Surfaces are mounted beside the native API.
	Surfaces []Surface
	// Mounted surfaces answer unknown routes below their prefix in their
	// own format; everything else answers problem+json.
	Mounted []Mounted
	// Bare leaves out the native API, its docs and /metrics: for a listener
	// that serves one vendor dialect at its root.
	Bare bool
	// TrustedProxies name the reverse proxies whose X-Forwarded-For says
	// who the client is; every handler then sees that address as the
	// request's RemoteAddr (in logs and per-address throttles).
	TrustedProxies httpx.TrustedProxies
}

// Metrics are the HTTP metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight prometheus.Gauge
	registry *prometheus.Registry
}

// NewMetrics registers the HTTP metrics, and Go and process metrics, on reg.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_http_requests_total", Help: "HTTP requests by route, method and status."},
			[]string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roster_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}},
			[]string{"route", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roster_http_requests_in_flight", Help: "HTTP requests being served."}),
	}
	reg.MustRegister(m.requests, m.latency, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Server is roster's HTTP handler.
type Server struct {
	mux       *http.ServeMux
	log       *slog.Logger
	svc       *service.Service
	renderers map[string]ErrorRenderer
	metrics   *Metrics
	trusted   httpx.TrustedProxies
}

// New builds the handler and registers its metrics on opts.Registry.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	metrics := opts.Metrics
	if metrics == nil {
		reg := opts.Registry
		if reg == nil {
			reg = prometheus.NewRegistry()
		}
		metrics = NewMetrics(reg)
	}
	s := &Server{mux: http.NewServeMux(), log: log, svc: opts.Service, renderers: map[string]ErrorRenderer{}, metrics: metrics,
		trusted: opts.TrustedProxies}
	if !opts.Bare {
		api.New(opts.Service, log).Routes(s.mux)
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(metrics.registry, promhttp.HandlerOpts{Registry: metrics.registry}))
	}
	for _, surface := range opts.Surfaces {
		surface.Routes(s.mux)
	}
	for _, m := range opts.Mounted {
		m.Register(s.mux, m.Prefix)
		// At the root of a dedicated listener the dialect's format is
		// everyone's.
		s.renderers[m.Prefix+"/"] = m.Render
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, "", map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	return s
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "error", err)
		api.WriteProblem(w, r, s.log, &core.Error{Code: core.CodeUnavailable, Message: "the database is not reachable", RetryAfter: 1})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, "", map[string]string{"status": "ready"})
}

// ServeHTTP runs the middleware and the mux. Everything that needs the
// matched route (metrics, logs) reads it from the request the mux saw.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	r = r.WithContext(httpx.WithRequestID(r.Context(), id))
	if len(s.trusted) > 0 {
		// r is this handler's own copy now.
		if client := s.trusted.Client(r); client != httpx.ClientIP(r) {
			r.RemoteAddr = net.JoinHostPort(client, "0")
		}
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()

	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rec.wrote {
				s.renderError(rec, r, core.Internal(fmt.Errorf("panic: %v", v)))
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		method := methodLabel(r.Method)
		s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(rec.status)).Inc()
		s.metrics.latency.WithLabelValues(route, method).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		logx.Attrs(r.Context(), s.log, level, "request",
			slog.String("method", r.Method), slog.String("route", route), slog.String("path", loggablePath(r)),
			slog.Int("status", rec.status), slog.Float64("ms", float64(elapsed.Microseconds())/1000),
			slog.String("request_id", id), slog.String("remote", httpx.ClientIP(r)))
	}()

	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unmatched(rec, r)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// unmatched answers a request that matches no route, in the format of the
// surface whose prefix it falls under: 404, or 405 with Allow. Its path
// may carry a token (a link with a slash added): the answer names it as
// the log does, and is not to be kept by a cache.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	probe := httptest.NewRecorder()
	s.mux.ServeHTTP(probe, r)
	if allow := probe.Header().Get("Allow"); allow != "" && probe.Code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", allow)
		s.renderError(w, r, &core.Error{Code: core.CodeInvalid, Message: "method " + r.Method + " is not allowed here; allowed: " + allow})
		return
	}
	s.renderError(w, r, core.Errorf(core.CodeNotFound, "no such endpoint: %s %s", r.Method, loggablePath(r)))
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	best := ""
	for prefix := range s.renderers {
		if strings.HasPrefix(r.URL.Path, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best != "" {
		s.renderers[best](w, r, err)
		return
	}
	if w.Header().Get("Allow") != "" {
		// 405 is not one of the service's codes; render it directly.
		httpx.WriteJSON(w, http.StatusMethodNotAllowed, "application/problem+json", api.Problem{
			Type: "/docs#problem-invalid", Title: http.StatusText(http.StatusMethodNotAllowed),
			Status: http.StatusMethodNotAllowed, Detail: core.AsError(err).Message, Code: core.CodeInvalid,
			RequestID: httpx.RequestID(r.Context())})
		return
	}
	api.WriteProblem(w, r, s.log, err)
}

// methodLabel is a request's method as a metric label: HTTP's own methods,
// and OTHER for whatever a client makes up, which would otherwise add a
// series per name sent.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// loggablePath keeps secrets out of logs: a path that carries a token is
// logged as its route pattern. A path that matched no route (a link with a
// slash added, a wrong method) may carry one too: every segment longer than
// an id is logged as {redacted}.
func loggablePath(r *http.Request) string {
	if strings.Contains(r.Pattern, "{token}") {
		return r.Pattern
	}
	if r.Pattern != "" {
		return r.URL.Path
	}
	segments := strings.Split(r.URL.Path, "/")
	for i, seg := range segments {
		if len(seg) > len("01890000-0000-7000-8000-000000000000") {
			segments[i] = "{redacted}"
		}
	}
	return strings.Join(segments, "/")
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushing
// streamed answers).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
