package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBenchConnKeepsAliveAndRecovers(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer k" || r.Host == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(r.Method + " " + r.URL.RequestURI() + " " + string(body)))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	c, err := newBenchConn(srv.URL, "k", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	check := func(method, path string, body []byte, want string) {
		t.Helper()
		status, data, err := c.do(method, path, body)
		if err != nil || status != 201 || string(data) != want {
			t.Fatalf("%s %s: %d %q %v; want 201 %q", method, path, status, data, err, want)
		}
	}
	check("POST", "/v1/users?x=1", []byte(`{"a":1}`), `POST /v1/users?x=1 {"a":1}`)
	check("GET", "/v1/users", nil, "GET /v1/users ")
	if n := conns.Load(); n != 1 {
		t.Fatalf("two requests used %d connections, want one kept alive", n)
	}
	// The server drops its idle connections: the next request goes again
	// on a new one instead of failing.
	srv.CloseClientConnections()
	check("GET", "/again", nil, "GET /again ")
	// An answer that closes the connection is read whole, and the next
	// request dials again.
	check("GET", "/close", nil, "GET /close ")
	check("GET", "/after", nil, "GET /after ")
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}

	// A base URL with a path (roster behind a proxy, under /roster) keeps
	// it for every request.
	under, err := newBenchConn(srv.URL+"/roster/", "k", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer under.close()
	if status, data, err := under.do("GET", "/v1/users", nil); err != nil || string(data) != "GET /roster/v1/users " {
		t.Fatalf("under a path: %d %q %v", status, data, err)
	}

	if _, err := newBenchConn("https://example.com", "k", time.Second); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("https: %v", err)
	}
}

// Percentiles are by nearest rank: of 100 requests, p50 is the 50th and
// p99 the 99th, not the largest.
func TestSummarizePercentiles(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	r := summarize("x", 1, lat, nil, 1)
	if r.P50ms != 50 || r.P95ms != 95 || r.P99ms != 99 || r.MaxMs != 100 {
		t.Errorf("1..100 ms: p50 %v, p95 %v, p99 %v, max %v", r.P50ms, r.P95ms, r.P99ms, r.MaxMs)
	}
	if r := summarize("x", 1, []time.Duration{2 * time.Millisecond, time.Millisecond}, nil, 1); r.P50ms != 1 || r.MaxMs != 2 {
		t.Errorf("1 and 2 ms: p50 %v, max %v", r.P50ms, r.MaxMs)
	}
	if r := summarize("x", 1, nil, nil, 1); r.P99ms != 0 {
		t.Errorf("no requests: p99 %v", r.P99ms)
	}
}
