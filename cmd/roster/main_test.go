package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/store/sqlite"
	"roster/internal/testsupport"
)

// lockedBuffer lets the test read what a running server writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// started is a roster serve running inside the test.
type started struct {
	url    string
	stderr *lockedBuffer
	stop   func() int
}

var listenRE = regexp.MustCompile(`msg="roster listening" addr=(http://[0-9.:]+)`)

func startServe(t *testing.T, args []string, vars map[string]string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env(vars), io.Discard, stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(stderr.String()); m != nil {
			stop := func() int {
				cancel()
				select {
				case code := <-done:
					return code
				case <-time.After(20 * time.Second):
					t.Fatal("roster serve did not stop")
					return -1
				}
			}
			t.Cleanup(func() { cancel() })
			return &started{url: m[1], stderr: stderr, stop: stop}
		}
		select {
		case code := <-done:
			t.Fatalf("roster serve exited with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("roster serve did not start: %s", stderr.String())
	return nil
}

func get(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

var keyRE = regexp.MustCompile(`\n    (rk_[A-Za-z0-9_-]{43})\n`)

func TestServeBootstrapsOnceAndRestarts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "roster.db")
	s := startServe(t, []string{"--db", db}, nil)
	m := keyRE.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no generated key on stderr: %s", s.stderr.String())
	}
	key := m[1]
	if get(t, s.url+"/healthz", "") != 200 || get(t, s.url+"/v1/me", key) != 200 || get(t, s.url+"/v1/me", "") != 401 {
		t.Fatal("the first server does not answer as it should")
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("no database file: %v", err)
	}
	// A restart keeps the data and prints no key; the operator's key is
	// ignored because keys exist.
	s = startServe(t, []string{"--db", db}, map[string]string{"ROSTER_BOOTSTRAP_API_KEY": strings.Repeat("z", 40)})
	if keyRE.MatchString(s.stderr.String()) {
		t.Fatal("a restart printed a new key")
	}
	if !strings.Contains(s.stderr.String(), "ROSTER_BOOTSTRAP_API_KEY ignored") {
		t.Fatalf("no note that the bootstrap key was ignored: %s", s.stderr.String())
	}
	if get(t, s.url+"/v1/me", key) != 200 || get(t, s.url+"/v1/me", strings.Repeat("z", 40)) != 401 {
		t.Fatal("after restart the first key must work and the ignored one must not")
	}
	s.stop()
	if strings.Contains(s.stderr.String(), strings.Repeat("z", 40)) {
		t.Fatal("the bootstrap key appears in the output")
	}
}

func TestServeWithOperatorKey(t *testing.T) {
	key := "my-own-bootstrap-key-0123456789abcdef"
	// Read from a file, it ends with a newline, which is not part of it.
	s := startServe(t, []string{"--db", filepath.Join(t.TempDir(), "r.db")}, map[string]string{"ROSTER_BOOTSTRAP_API_KEY": key + "\n"})
	if keyRE.MatchString(s.stderr.String()) || strings.Contains(s.stderr.String(), key) {
		t.Fatalf("a key was printed although the operator chose one: %s", s.stderr.String())
	}
	if get(t, s.url+"/v1/me", key) != 200 {
		t.Fatal("the operator's key does not work")
	}
	s.stop()
}

func TestServeRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{nil, map[string]string{"ROSTER_BOOTSTRAP_API_KEY": "short"}, "at least 32"},
		// Keys that no request could present.
		{nil, map[string]string{"ROSTER_BOOTSTRAP_API_KEY": "rs_looks_like_a_session_0123456789abcdef"}, "session tokens"},
		{nil, map[string]string{"ROSTER_BOOTSTRAP_API_KEY": "an operator key with spaces 0123456789"}, "without spaces"},
		{[]string{"--log-level", "loud"}, nil, "--log-level: must be one of"},
		{nil, map[string]string{"ROSTER_INVITE_TTL": "soon"}, "ROSTER_INVITE_TTL: must be a positive duration"},
		{[]string{"--compat-listen", "nosuch=127.0.0.1:0"}, nil, `unknown dialect "nosuch"`},
		{[]string{"--compat-listen", "broken"}, nil, "is not name=host:port"},
		{[]string{"--compat-listen", "ece=127.0.0.1:9201", "--compat-listen", "gcore=127.0.0.1:9201"}, nil, "each needs its own"},
		{[]string{"--db", "/nonexistent-dir/roster.db"}, nil, "/nonexistent-dir/roster.db"},
		{[]string{"--password-memory", "1"}, nil, "--password-memory"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--auth-cache-ttl", "-1s"}, nil, "--auth-cache-ttl: must be a positive duration"},
		{nil, map[string]string{"ROSTER_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"}, `ROSTER_TRUSTED_PROXIES: "proxy.example" is neither`},
		{[]string{"--public-url", "https://id.example.com/?ref=x"}, nil, "--public-url: must be an http or https URL without query or fragment"},
		{[]string{"--debug-addr", "nonsense"}, nil, "--debug-addr"},
		{nil, map[string]string{"ROSTER_SMTP_URL": "smtp://mail.example:587?starttls=true"}, "starttls must be required or opportunistic"},
		// Neither a PostgreSQL URL nor a file path: no SQLite file of that
		// name, and no password in what is printed.
		{[]string{"--db", "postgress://roster:S3cretPW@db.example/roster"}, nil, "neither a postgres:// URL nor a SQLite file path"},
		{[]string{"--db", "host=db.example user=roster password=S3cretPW dbname=roster"}, nil, "keyword=value connection string"},
		// A '#' in the password would make the rest of the URL a fragment.
		{nil, map[string]string{"ROSTER_SMTP_URL": "smtp://mailer:#S3cretPW@mail.example.com:587"}, "percent-encode"},
		{nil, map[string]string{"ROSTER_SMTP_URL": "smtp://mailer:2024/S3cretPW@mail.example.com:587"}, "percent-encode"},
	} {
		var stderr bytes.Buffer
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "bad.db")}, c.args...)
		if code := run(context.Background(), args, env(c.vars), io.Discard, &stderr); code != 1 && code != 2 {
			t.Errorf("%v %v: exit %d", c.args, c.vars, code)
		}
		if !strings.Contains(stderr.String(), c.want) || strings.Contains(stderr.String(), "S3cretPW") {
			t.Errorf("%v %v: stderr %q lacks %q, or shows the password", c.args, c.vars, stderr.String(), c.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "S3cretPW") {
			t.Errorf("a refused database setting became a file: %s", e.Name())
		}
	}
}

func TestAuthCacheTTLSetting(t *testing.T) {
	for in, want := range map[string]time.Duration{"": time.Second, "250ms": 250 * time.Millisecond, "0": -1, "0s": -1} {
		var args []string
		if in != "" {
			args = []string{"--auth-cache-ttl", in}
		}
		cfg, err := loadConfig(flag.NewFlagSet("serve", flag.ContinueOnError), args, env(nil))
		if err != nil || cfg.AuthCacheTTL != want {
			t.Errorf("--auth-cache-ttl %q: got %v, %v; want %v", in, cfg.AuthCacheTTL, err, want)
		}
	}
}

func TestMigrate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	var out bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--db", db}, env(nil), &out, io.Discard); code != 0 {
		t.Fatalf("migrate exited %d", code)
	}
	// Every migration is named, those written in Go too.
	if !strings.Contains(out.String(), "applied 00001_initial.sql") || !strings.Contains(out.String(), "applied 00006 (in Go)") ||
		strings.Contains(out.String(), "applied \n") {
		t.Fatalf("first migrate: %q", out.String())
	}
	out.Reset()
	run(context.Background(), []string{"migrate", "--db", db}, env(map[string]string{}), &out, io.Discard)
	if !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second migrate: %q", out.String())
	}
}

func TestSmallCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"version"}, env(nil), &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "roster ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), nil, env(nil), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Fatalf("no command: %d %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"frobnicate"}, env(nil), &out, &errOut); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
	if code := run(context.Background(), []string{"serve", "-h"}, env(nil), &out, &errOut); code != 0 {
		t.Fatalf("serve -h: %d", code)
	}
	// Reading the outbox of a mistyped path makes no database there.
	missing := filepath.Join(t.TempDir(), "typo.db")
	errOut.Reset()
	if code := run(context.Background(), []string{"mail", "list", "--db", missing}, env(nil), &out, &errOut); code == 0 ||
		!strings.Contains(errOut.String(), "no database file at") {
		t.Fatalf("mail list of a missing database: %d %q", code, errOut.String())
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("mail list made a database")
	}
}

// The README's configuration reference is generated from the same table as
// the flags; this keeps them the same.
func TestREADMEConfigReference(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), configReference()) {
		t.Fatalf("README.md's configuration table is out of date; replace it with the output of `go run ./cmd/roster config`:\n%s", configReference())
	}
}

// Behind a trusted proxy, the per-address login throttle counts each
// client (from X-Forwarded-For) on its own: one client's guessing does not
// lock out the others, and the log names the client, not the proxy.
func TestServeBehindATrustedProxy(t *testing.T) {
	key := "proxy-bootstrap-key-0123456789abcdefgh"
	s := startServe(t, append([]string{"--db", filepath.Join(t.TempDir(), "r.db"), "--trusted-proxies", "127.0.0.1/32"}, cheapHash...),
		map[string]string{"ROSTER_BOOTSTRAP_API_KEY": key})
	call := func(path, forwardedFor, auth, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := call("/v1/users", "192.0.2.200", key, `{"action":"register","email":"pia@proxy.example","password":"a long enough passphrase"}`); code != 201 {
		t.Fatalf("register: %d", code)
	}
	// More failures from one client than an address may make (50), each
	// for another account so that no account's own throttle is reached.
	blocked := false
	for i := 0; i < 60 && !blocked; i++ {
		code := call("/v1/auth/login", "203.0.113.1", "", fmt.Sprintf(`{"email":"guess%d@proxy.example","password":"wrong"}`, i))
		blocked = code == http.StatusTooManyRequests
		if code != http.StatusUnauthorized && !blocked {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if !blocked {
		t.Fatal("60 failed logins from one client were never throttled")
	}
	good := `{"email":"pia@proxy.example","password":"a long enough passphrase"}`
	if code := call("/v1/auth/login", "203.0.113.1", "", good); code != http.StatusTooManyRequests {
		t.Errorf("the guessing client's own right password: %d, want 429", code)
	}
	if code := call("/v1/auth/login", "198.51.100.1, 203.0.113.2", "", good); code != 200 {
		t.Errorf("another client behind the same proxy: %d, want 200", code)
	}
	s.stop() // the log is buffered until then
	if log := s.stderr.String(); !strings.Contains(log, "remote=203.0.113.2") || strings.Contains(log, "remote=127.0.0.1") {
		t.Error("the access log does not name the client, or names the proxy")
	}
}

func TestServeOnPostgres(t *testing.T) {
	url := testsupport.PostgresSchemaURL(t)
	key := "postgres-bootstrap-key-0123456789abcdef"
	s := startServe(t, []string{"--db", url}, map[string]string{"ROSTER_BOOTSTRAP_API_KEY": key})
	if get(t, s.url+"/v1/me", key) != 200 || get(t, s.url+"/readyz", "") != 200 {
		t.Fatal("serve on PostgreSQL does not answer")
	}
	if !strings.Contains(s.stderr.String(), `db="postgres://postgres@127.0.0.1`) {
		t.Fatalf("the start line does not name the database: %s", s.stderr.String())
	}
	s.stop()
	var out bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--db", url}, env(nil), &out, io.Discard); code != 0 || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("migrate on PostgreSQL: %d %q", code, out.String())
	}
}

// roster serve shows the pages on its main listener, where the links of
// emails point, and not on a dialect's own listener.
func TestServeServesThePages(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dialectAddr := ln.Addr().String()
	ln.Close()
	s := startServe(t, []string{"--db", filepath.Join(t.TempDir(), "roster.db"), "--compat-listen", "ece=" + dialectAddr}, nil)
	res, err := http.Get(s.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `<form method="post" action="/login"`) ||
		res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET /login on the main listener: %d %v", res.StatusCode, res.Header)
	}
	if code := get(t, s.url+"/invite/no-such-token", ""); code != 404 {
		t.Fatalf("an unknown invitation: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.stderr.String(), "dialect listening"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the dialect's listener did not start: %s", s.stderr.String())
		}
	}
	if code := get(t, "http://"+dialectAddr+"/login", ""); code != 404 {
		t.Fatalf("GET /login on the dialect's listener: %d", code)
	}
}

// A database URL is shown (logs, migrate's answer) without its password,
// wherever the URL carries it.
func TestDescribeDBHidesPasswords(t *testing.T) {
	for _, dsn := range []string{
		"postgres://roster:s3cret@db.example/roster",
		"postgres://roster@db.example/roster?password=s3cret&sslmode=disable",
		"postgresql://db.example/roster?sslpassword=s3cret",
	} {
		if got := describeDB(dsn); strings.Contains(got, "s3cret") || !strings.Contains(got, "db.example") {
			t.Errorf("describeDB(%q) = %q", dsn, got)
		}
	}
}

// A client that sends requests and never reads the answers holds no
// handler past the write timeout: the server gives up and closes the
// connection.
func TestServeDropsAClientThatDoesNotRead(t *testing.T) {
	old := responseTimeout
	responseTimeout = 300 * time.Millisecond
	defer func() { responseTimeout = old }()
	srv := startServe(t, append([]string{"--db", filepath.Join(t.TempDir(), "slow.db")}, cheapHash...), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(1024)
	const n = 300
	go func() {
		for range n {
			if _, err := fmt.Fprint(conn, "GET /openapi.json HTTP/1.1\r\nHost: roster\r\n\r\n"); err != nil {
				return
			}
		}
	}()
	time.Sleep(2 * time.Second) // not reading, while the server writes
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server still held the connection 2 s past its write timeout")
	}
	if answers := strings.Count(string(got), "HTTP/1.1 200"); answers >= n {
		t.Fatalf("all %d answers arrived: the write timeout did not apply", answers)
	}
}

// A request body trickled in, a byte at a time, holds its connection no
// longer than the read timeout.
func TestServeDropsABodyTrickledIn(t *testing.T) {
	old := requestTimeout
	requestTimeout = 300 * time.Millisecond
	defer func() { requestTimeout = old }()
	srv := startServe(t, append([]string{"--db", filepath.Join(t.TempDir(), "trickle.db")}, cheapHash...), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /v1/auth/login HTTP/1.1\r\nHost: roster\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if _, err := fmt.Fprint(conn, "{"); err != nil {
			break // the server closed the connection
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadAll(conn); err != nil || time.Since(start) > 4*time.Second {
		t.Fatalf("a trickled body held its connection for %s (%v)", time.Since(start), err)
	}
}

// An import streams for longer than the write timeout: its lines keep both
// deadlines moving.
func TestServeImportOutlastsTheWriteTimeout(t *testing.T) {
	old := responseTimeout
	responseTimeout = 300 * time.Millisecond
	defer func() { responseTimeout = old }()
	srv := startServe(t, append([]string{"--db", filepath.Join(t.TempDir(), "slowimport.db")}, cheapHash...),
		map[string]string{"ROSTER_BOOTSTRAP_API_KEY": toolsKey})
	pr, pw := io.Pipe()
	go func() {
		for i := range 10 {
			fmt.Fprintf(pw, `{"email":"slow%d@example.com"}`+"\n", i)
			time.Sleep(150 * time.Millisecond) // 1.5 s in all, five write timeouts
		}
		pw.Close()
	}()
	resp := streamImport(t, srv.url, pr)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || strings.Count(string(body), `"created"`) != 10 {
		t.Fatalf("a slow import: %d, %v\n%s", resp.StatusCode, err, body)
	}
}

// A shutdown during an import ends it cleanly: the lines read whole are
// imported, the stream says where to go on, and roster exits 0. A client
// that holds its connection past the grace period does not stop it either.
func TestServeShutdownEndsAnImportCleanly(t *testing.T) {
	old := shutdownGrace
	shutdownGrace = 2 * time.Second
	defer func() { shutdownGrace = old }()
	db := filepath.Join(t.TempDir(), "stopping.db")
	srv := startServe(t, append([]string{"--db", db}, cheapHash...), map[string]string{"ROSTER_BOOTSTRAP_API_KEY": toolsKey})
	pr, pw := io.Pipe()
	defer pw.Close()
	sent := make(chan int, 100)
	go func() {
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(pw, `{"email":"stop%d@example.com"}`+"\n", i); err != nil {
				return
			}
			select {
			case sent <- i:
			default:
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	resp := streamImport(t, srv.url, pr)
	defer resp.Body.Close()
	for range 5 {
		<-sent
	}
	stopped := make(chan int, 1)
	start := time.Now()
	go func() { stopped <- srv.stop() }()
	body, _ := io.ReadAll(resp.Body)
	if code := <-stopped; code != 0 || time.Since(start) > 10*time.Second {
		t.Fatalf("roster exited %d after %s", code, time.Since(start))
	}
	// The lines the server had read whole when it began to stop (some of
	// the five sent may still be on their way) are imported, and the
	// abort names the next one.
	created := strings.Count(string(body), `"status":"created"`)
	if created < 1 || !strings.Contains(string(body), fmt.Sprintf(`{"line":%d,"status":"aborted"`, created+1)) ||
		!strings.Contains(string(body), "shutting down") {
		t.Fatalf("the import's answer at shutdown:\n%s\nserver: %s", body, srv.stderr.String())
	}
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range created {
		if _, err := st.GetUser(context.Background(), core.UserRef{Email: fmt.Sprintf("stop%d@example.com", i)}); err != nil {
			t.Errorf("line %d, answered created, is not in the database: %v", i+1, err)
		}
	}
}

// A file path is a SQLite database whatever its directories are called; a
// connection string begins with one of its keywords.
func TestCheckDB(t *testing.T) {
	for dsn, want := range map[string]string{
		"roster.db":                                              "roster.db",
		"/srv/tenants/user=acme/roster.db":                       "/srv/tenants/user=acme/roster.db",
		"/data/host=eu1/roster.db":                               "/data/host=eu1/roster.db",
		"POSTGRES://roster@db.example/roster":                    "postgres://roster@db.example/roster",
		"host=db.example user=roster":                            "",
		"user=roster password=S3cretPW":                          "",
		"postgress://roster@db.example/x":                        "",
		"options='-c search_path=app' host=db password=S3cretPW": "",
		"target_session_attrs=read-write host=db":                "",
		"./user=acme.db":                                         "./user=acme.db",
	} {
		got, err := checkDB(dsn)
		if (want == "") != (err != nil) || got != want || (err != nil && strings.Contains(err.Error(), "S3cretPW")) {
			t.Errorf("checkDB(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
}

// streamImport starts an import whose lines come from body as they are
// written, and returns the answer as soon as its status line arrives.
func streamImport(t *testing.T, url string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/v1/users/import", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+toolsKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
