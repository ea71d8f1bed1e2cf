package main

import (
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeEverlytic: the binary serves the Everlytic dialect below
// /compat/everlytic, and at the root of its own listener with
// --compat-listen everlytic=ADDR.
func TestServeEverlytic(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	key := "everlytic-bootstrap-key-0123456789abcdef"
	s := startServe(t, []string{"--db", filepath.Join(t.TempDir(), "r.db"), "--compat-listen", "everlytic=" + addr},
		map[string]string{"ROSTER_BOOTSTRAP_API_KEY": key})
	dialectRE := regexp.MustCompile(`msg="dialect listening" addr=(http://[0-9.:]+)`)
	var dedicated string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := dialectRE.FindStringSubmatch(s.stderr.String()); m != nil {
			dedicated = m[1]
			break
		}
	}
	if dedicated != "http://"+addr {
		t.Fatalf("dedicated listener %q, want http://%s: %s", dedicated, addr, s.stderr.String())
	}
	basic := func(url, user, secret string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.SetBasicAuth(user, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s: content type %q", url, ct)
		}
		return res.StatusCode
	}
	for _, base := range []string{s.url + "/compat/everlytic", dedicated} {
		if basic(base+"/api/2.0/users/1", "admin", key) != 200 || basic(base+"/api/2.0/users/1", "someone", key) != 401 ||
			basic(base+"/api/2.0/nothing", "admin", key) != 404 {
			t.Fatalf("%s does not answer as Everlytic", base)
		}
	}
	s.stop()
}
