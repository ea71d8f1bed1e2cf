package main

import (
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

var dialectListenRE = regexp.MustCompile(`msg="dialect listening" addr=(http://[0-9.:]+)`)

// `--compat-listen ece=HOST:PORT` serves the ECE dialect at the root of its
// own listener, where ECE's clients expect /api/v1; the main listener has it
// below /compat/ece.
func TestServeECEAtRoot(t *testing.T) {
	key := "ece-bootstrap-key-0123456789abcdefghij"
	// The main listener already takes 127.0.0.1:0; the dialect's needs an
	// address of its own.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := startServe(t, []string{"--db", filepath.Join(t.TempDir(), "r.db"), "--compat-listen", "ece=" + addr},
		map[string]string{"ROSTER_BOOTSTRAP_API_KEY": key})
	defer s.stop()
	var root string
	for deadline := time.Now().Add(10 * time.Second); root == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := dialectListenRE.FindStringSubmatch(s.stderr.String()); m != nil {
			root = m[1]
		}
	}
	if root == "" {
		t.Fatalf("no dialect listener in the log: %s", s.stderr.String())
	}
	call := func(url, auth string) int {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", auth)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for url, want := range map[string]int{
		root + "/api/v1/users":             200,
		root + "/api/v1/users/admin":       200,
		s.url + "/compat/ece/api/v1/users": 200,
		root + "/compat/ece/api/v1/users":  404,
		root + "/v1/me":                    404,
	} {
		if got := call(url, "ApiKey "+key); got != want {
			t.Errorf("GET %s: %d, want %d", url, got, want)
		}
	}
	if got := call(root+"/api/v1/users", "ApiKey wrong"); got != 401 {
		t.Errorf("wrong key at the root: %d", got)
	}
}
