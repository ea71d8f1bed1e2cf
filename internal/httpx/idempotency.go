package httpx

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"roster/internal/core"
	"roster/internal/service"
)

// Idempotent runs next under the Idempotency-Key protocol when the request
// carries the header: the first answer is stored, and a retry with the same
// key and the same request gets that answer again (with
// "Idempotent-Replayed: true") without anything being done twice; an
// answer marked Cache-Control: no-store holds a secret and is not kept, and
// a retry is told so. Server errors release the key so that a retry runs
// again. fail renders errors in
// the calling surface's format.
func Idempotent(svc *service.Service, p *core.Principal, w http.ResponseWriter, r *http.Request,
	fail func(http.ResponseWriter, *http.Request, error), next func(http.ResponseWriter, *http.Request)) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || r.Method != http.MethodPost {
		next(w, r)
		return
	}
	body, err := ReadBody(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	answer, err := svc.BeginIdempotent(r.Context(), p, key, RequestHash(r, body))
	if err != nil {
		fail(w, r, err)
		return
	}
	if answer != nil {
		if answer.ContentType != "" {
			w.Header().Set("Content-Type", answer.ContentType)
		}
		for name, values := range answer.Header {
			w.Header()[name] = values
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(answer.Status)
		_, _ = w.Write(answer.Body)
		return
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	completed := false
	defer func() {
		// Whatever happened (even a panic), do not leave the key pending
		// when the answer is not worth replaying.
		ctx := context.WithoutCancel(r.Context())
		if completed {
			return
		}
		// If this fails too, the pending record is taken over by a retry
		// once the service's pending timeout has passed.
		_ = svc.AbandonIdempotent(ctx, p, key)
	}()
	next(rec, r)
	if rec.status >= 500 || !rec.wroteHeader {
		// Nothing written means the caller went away before an answer
		// (its request undone, as errors on a cancelled request are not
		// written): a retry with the key must run it, not replay nothing.
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if err := svc.FinishIdempotent(ctx, p, key, service.StoredAnswer{Status: rec.status, ContentType: rec.Header().Get("Content-Type"),
		Body: rec.body.Bytes(), Header: replayedHeaders(rec.Header()), Withheld: holdsSecret(rec.Header())}); err == nil {
		completed = true
	}
}

// replayedHeaders picks the headers of an answer that its replay repeats:
// where the made thing is, and what the answer varied on. The others are
// of the moment (Date) or set again by the replay (Content-Type).
func replayedHeaders(h http.Header) map[string][]string {
	var kept map[string][]string
	for _, name := range []string{"Location", "Vary"} {
		if values := h.Values(name); len(values) > 0 {
			if kept == nil {
				kept = map[string][]string{}
			}
			kept[name] = slices.Clone(values)
		}
	}
	return kept
}

// holdsSecret reports whether an answer carries a secret: every surface
// marks those Cache-Control: no-store, and none is kept for a replay.
func holdsSecret(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return true
			}
		}
	}
	return false
}

// recorder passes a response through while keeping a copy of it.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// RetryAfter sets the Retry-After header for errors that carry one.
func RetryAfter(w http.ResponseWriter, err error) {
	if ce := core.AsError(err); ce.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ce.RetryAfter))
	}
}
