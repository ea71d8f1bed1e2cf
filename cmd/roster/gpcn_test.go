package main

import (
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var dialectListenRE = regexp.MustCompile(`msg="dialect listening" addr=(http://[0-9.:]+)`)

// roster serve mounts the GPCN dialect at /compat/gpcn and, with
// --compat-listen, at the root of a listener of its own; the rate limit
// comes from ROSTER_RATE_LIMIT and is shared by both.
func TestServeGPCN(t *testing.T) {
	key := "rk_" + strings.Repeat("g", 40)
	// A free port for the dialect's listener (port 0 is the main one's).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := startServe(t, []string{"--db", filepath.Join(t.TempDir(), "roster.db"), "--compat-listen", "gpcn=" + addr},
		map[string]string{"ROSTER_BOOTSTRAP_API_KEY": key, "ROSTER_RATE_LIMIT": "2"})
	m := dialectListenRE.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no dialect listener: %s", s.stderr.String())
	}
	call := func(url string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-API-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for i, url := range []string{s.url + "/compat/gpcn/v1/roles", m[1] + "/v1/roles", s.url + "/compat/gpcn/v1/roles"} {
		res := call(url)
		want := 200
		if i == 2 {
			want = 429
		}
		if res.StatusCode != want || res.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("request %d to %s: %d %v", i+1, url, res.StatusCode, res.Header)
		}
	}
}
