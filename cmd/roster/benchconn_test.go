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

	if _, err := newBenchConn("https://example.com", "k", time.Second); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("https: %v", err)
	}
}
