package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"roster/internal/testsupport"
)

// TestMain lets the test binary stand in for roster itself when a test
// starts it as a child process (bench --spawn runs os.Executable()).
func TestMain(m *testing.M) {
	if os.Getenv("ROSTER_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// Cheap hashes keep these tests fast; the server and the files agree on them.
var cheapHash = []string{"--password-memory", "64", "--password-time", "1"}

const toolsKey = "rk_tools_0123456789abcdefghijklmnopqrstuvwxyz"

func runCommand(t *testing.T, args []string, vars map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, env(vars), &out, &errOut)
	return code, out.String(), errOut.String()
}

func login(t *testing.T, base, email, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := http.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// countItems counts the items of the first page (up to 100) of a listing.
func countItems(t *testing.T, base, key, path, query string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path+"?limit=100&"+query, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct{ Items []json.RawMessage }
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != 200 {
		t.Fatalf("list %s: %d %v", path, res.StatusCode, err)
	}
	return len(page.Items)
}

func TestSeedFillsADatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "seeded.db")
	args := append([]string{"seed", "--db", db, "--users", "40", "--tenants", "3"}, cheapHash...)
	// On an empty database, seed makes the admin's key and shows it once.
	code, stdout, stderr := runCommand(t, args, nil)
	m := keyRE.FindStringSubmatch(stderr)
	if code != 0 || m == nil || !strings.Contains(stdout, "40 users created") {
		t.Fatalf("seed exited %d: %s %s", code, stdout, stderr)
	}
	key := m[1]
	// Running it again adds only what is missing: nothing.
	if code, stdout, stderr := runCommand(t, args, nil); code != 0 || !strings.Contains(stdout, "0 users created, 40 already there") ||
		keyRE.MatchString(stderr) {
		t.Fatalf("second seed exited %d: %s %s", code, stdout, stderr)
	}
	// Its tenants are found again however many pages they take.
	defer func(n int) { seedTenantPage = n }(seedTenantPage)
	seedTenantPage = 2
	if code, stdout, stderr := runCommand(t, args, nil); code != 0 || !strings.Contains(stdout, "0 users created, 40 already there") {
		t.Fatalf("third seed exited %d: %s %s", code, stdout, stderr)
	}
	srv := startServe(t, append([]string{"--db", db}, cheapHash...), nil)
	if n := countItems(t, srv.url, key, "/v1/users", "q=user"); n != 40 {
		t.Fatalf("%d seeded users found, want 40", n)
	}
	if n := countItems(t, srv.url, key, "/v1/tenants", "q=Seed+Tenant"); n != 3 {
		t.Fatalf("%d seed tenants found, want 3", n)
	}
	if code := login(t, srv.url, "user7@seed.example", "seed password 1234"); code != 200 {
		t.Fatalf("a seeded user's login answered %d", code)
	}
	// Hash parameters no server takes are refused before anything is
	// written, with a message rather than a crash.
	fresh := filepath.Join(t.TempDir(), "never.db")
	code, _, stderr = runCommand(t, []string{"seed", "--db", fresh, "--users", "1", "--password-memory", "300000"}, nil)
	if code == 0 || !strings.Contains(stderr, "--password-memory") || strings.Contains(stderr, "panic") {
		t.Fatalf("seed with too much memory: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Fatal("seed wrote a database before refusing its parameters")
	}
}

// seed names its PostgreSQL database without its password, whatever the
// case of the URL's scheme, and refuses a negative count even for a file.
func TestSeedHidesTheDatabasePassword(t *testing.T) {
	u := testsupport.PostgresSchemaURL(t)
	u = strings.Replace(u, "postgres://postgres@", "POSTGRES://postgres:hunter2secret@", 1)
	code, stdout, stderr := runCommand(t, append([]string{"seed", "--db", u, "--users", "3", "--tenants", "1"}, cheapHash...), nil)
	if code != 0 || !strings.Contains(stdout, "seeded postgres") || strings.Contains(stdout+stderr, "hunter2secret") {
		t.Fatalf("seed exited %d: %q %q", code, stdout, stderr)
	}
	file := filepath.Join(t.TempDir(), "u.ndjson")
	if code, stdout, _ := runCommand(t, append([]string{"seed", "--users", "-5", "--out", file}, cheapHash...), nil); code == 0 {
		t.Fatalf("seed --users -5 --out exited 0: %q", stdout)
	}
}

func TestSeedFileImportsThroughTheCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "users.ndjson")
	if code, _, stderr := runCommand(t, append([]string{"seed", "--users", "30", "--out", file}, cheapHash...), nil); code != 0 {
		t.Fatalf("seed --out exited %d: %s", code, stderr)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var line struct {
			Email        string `json:"email"`
			PasswordHash string `json:"password_hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Email == "" || !strings.HasPrefix(line.PasswordHash, "$argon2id$") {
			t.Fatalf("line %d is not an importable user: %s (%v)", lines+1, sc.Text(), err)
		}
	}
	f.Close()
	if lines != 30 {
		t.Fatalf("the file has %d lines, want 30", lines)
	}

	srv := startServe(t, append([]string{"--db", filepath.Join(dir, "r.db")}, cheapHash...), map[string]string{"ROSTER_BOOTSTRAP_API_KEY": toolsKey})
	vars := map[string]string{"ROSTER_API_KEY": toolsKey}
	code, stdout, stderr := runCommand(t, []string{"import", "--url", srv.url, file}, vars)
	if code != 0 || stdout != "" || !strings.Contains(stderr, "30 lines in") || !strings.Contains(stderr, "30 created") {
		t.Fatalf("import: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code := login(t, srv.url, "user12@seed.example", "seed password 1234"); code != 200 {
		t.Fatalf("an imported user's login answered %d", code)
	}
	// Again: every user is there already.
	if code, _, stderr := runCommand(t, []string{"import", "--url", srv.url, file}, vars); code != 0 || !strings.Contains(stderr, "30 skipped") {
		t.Fatalf("second import: exit %d, stderr %q", code, stderr)
	}

	// A bad line is printed as the server reported it; the rest goes in,
	// and the exit code tells a script that not everything did.
	bad := filepath.Join(dir, "bad.ndjson")
	if err := os.WriteFile(bad, []byte(`{"email": "fresh@example.com"}`+"\n"+`{"email": 42}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCommand(t, []string{"import", "--url", srv.url, bad}, vars)
	if code != 1 || !strings.Contains(stdout, `"line":2`) || !strings.Contains(stdout, `"status":"error"`) ||
		!strings.Contains(stderr, "1 created") || !strings.Contains(stderr, "1 errors") || !strings.Contains(stderr, "1 lines were not imported") {
		t.Fatalf("import with a bad line: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// A byte order mark on a line of its own, as some editors write, is
	// no line: the server answers as many lines as were counted sent.
	marked := filepath.Join(dir, "marked.ndjson")
	if err := os.WriteFile(marked, []byte("\xef\xbb\xbf\r\n"+`{"email": "marked@example.com"}`+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCommand(t, []string{"import", "--url", srv.url, marked}, vars); code != 0 || !strings.Contains(stderr, "1 created") {
		t.Fatalf("import of a file with a byte order mark: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// Without a key, or with a wrong one, nothing is sent.
	if code, _, stderr := runCommand(t, []string{"import", "--url", srv.url, file}, nil); code == 0 || !strings.Contains(stderr, "ROSTER_API_KEY") {
		t.Fatalf("import without a key: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCommand(t, []string{"import", "--url", srv.url, file},
		map[string]string{"ROSTER_API_KEY": "rk_wrong_0123456789abcdefghijklmnopqrstuv"}); code == 0 || !strings.Contains(stderr, "401") {
		t.Fatalf("import with a wrong key: exit %d, stderr %q", code, stderr)
	}
}

func TestBenchDrivesEveryScenario(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	// Seeded users are what get, list and search read.
	if code, _, stderr := runCommand(t, append([]string{"seed", "--db", db, "--users", "300", "--tenants", "2"}, cheapHash...),
		map[string]string{"ROSTER_BOOTSTRAP_API_KEY": toolsKey}); code != 0 {
		t.Fatalf("seed exited %d: %s", code, stderr)
	}
	srv := startServe(t, append([]string{"--db", db}, cheapHash...), map[string]string{"ROSTER_BOOTSTRAP_API_KEY": toolsKey})
	out := filepath.Join(dir, "bench.json")
	args := append([]string{"bench", "--url", srv.url, "--count", "12", "--concurrency", "3", "--ceiling-time", "100ms", "--json", out},
		cheapHash...)
	scenarios := []string{"invite-create", "register-create", "login", "get", "list", "search"}
	code, stdout, stderr := runCommand(t, append(args, scenarios...), map[string]string{"ROSTER_API_KEY": toolsKey})
	if code != 0 {
		t.Fatalf("bench exited %d: %s\n%s", code, stderr, stdout)
	}
	for _, s := range scenarios {
		if !regexpLine(stdout, s+` +12 requests .* errors: none`) {
			t.Errorf("no clean line for %s in:\n%s", s, stdout)
		}
	}
	if !strings.Contains(stdout, "bare hash ceiling with every core hashing") || !strings.Contains(stdout, "% of the bare hash ceiling") {
		t.Errorf("the hash ceiling is missing:\n%s", stdout)
	}
	var report struct {
		Ceiling    float64 `json:"hash_ceiling_per_second"`
		CPUPerHash float64 `json:"hash_ceiling_cpu_ms_per_hash"`
		Results    []struct {
			Scenario  string         `json:"scenario"`
			Requests  int            `json:"requests"`
			Errors    map[string]int `json:"errors"`
			PerSecond float64        `json:"per_second"`
			P99       float64        `json:"p99_ms"`
		} `json:"results"`
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &report); err != nil || report.Ceiling <= 0 || report.CPUPerHash <= 0 || len(report.Results) != len(scenarios) {
		t.Fatalf("bench JSON: %v %s", err, data)
	}
	for i, r := range report.Results {
		if r.Scenario != scenarios[i] || r.Requests != 12 || len(r.Errors) != 0 || r.PerSecond <= 0 || r.P99 <= 0 {
			t.Errorf("result %d: %+v", i, r)
		}
	}

	// A key the server does not know is named as the problem.
	code, _, stderr = runCommand(t, append(args, "get"), map[string]string{"ROSTER_API_KEY": "rk_wrong_0123456789abcdefghijklmnopqrstuv"})
	if code == 0 || !strings.Contains(stderr, "refused the API key") {
		t.Fatalf("bench with a wrong key: exit %d, stderr %q", code, stderr)
	}
}

// With --parts a hash-bound scenario runs in parts with the ceiling
// measured between them; every request of the scenario is still its own
// (register-create would answer 409 to a repeated email).
func TestBenchInParts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "r.db")
	srv := startServe(t, append([]string{"--db", db}, cheapHash...), map[string]string{"ROSTER_BOOTSTRAP_API_KEY": toolsKey})
	vars := map[string]string{"ROSTER_API_KEY": toolsKey}
	args := append([]string{"bench", "--url", srv.url, "--count", "13", "--concurrency", "2", "--ceiling-time", "50ms", "--parts", "3"},
		cheapHash...)
	code, stdout, stderr := runCommand(t, append(args, "register-create", "login", "invite-create"), vars)
	if code != 0 {
		t.Fatalf("bench exited %d: %s\n%s", code, stderr, stdout)
	}
	for _, want := range []string{
		`register-create +13 requests .* errors: none`, `login +13 requests .* errors: none`, `invite-create +13 requests .* errors: none`,
		`part 1: [0-9.]+ ok/s against [0-9.]+/s \([0-9.]+ before it, [0-9.]+ after\): [0-9.]+%`, `part 3: `,
		`% of the bare hash ceiling \([0-9.]+/s: measured 4 times, [0-9.]+–[0-9.]+/s\)`,
	} {
		if !regexpLine(stdout, want) {
			t.Errorf("no line matching %q in:\n%s", want, stdout)
		}
	}
	// Parts apply to hash-bound scenarios only: six part lines, three each.
	if n := strings.Count(stdout, " part "); n != 6 {
		t.Errorf("%d part lines, want 6:\n%s", n, stdout)
	}
	for _, bad := range [][]string{{"--parts", "0"}, {"--count", "2", "--parts", "3"}} {
		code, _, stderr := runCommand(t, append(append([]string{"bench", "--url", srv.url}, bad...), "login"), vars)
		if code == 0 || !strings.Contains(stderr, "--parts") {
			t.Errorf("bench %v: exit %d, stderr %q", bad, code, stderr)
		}
	}
}

func regexpLine(s, pattern string) bool {
	re := regexp.MustCompile(pattern)
	for _, line := range strings.Split(s, "\n") {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

// A proxy or a timeout that cuts the result stream short leaves no error
// line behind; the command counts what it sent and says so.
func TestImportNoticesACutOffStream(t *testing.T) {
	answered := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-ndjson")
		for i, l := range strings.Split(string(sent), "\n") {
			if strings.TrimSpace(l) == "" || i >= answered {
				continue
			}
			fmt.Fprintf(w, `{"line":%d,"status":"created"}`+"\n", i+1)
		}
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "users.ndjson")
	// Blank lines are not users; the server skips them and so does the count.
	body := "{\"email\":\"a@example.com\"}\n\n  \n{\"email\":\"b@example.com\"}\n{\"email\":\"c@example.com\"}"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ROSTER_API_KEY": toolsKey}

	answered = 10
	if code, _, stderr := runCommand(t, []string{"import", "--url", srv.URL, file}, vars); code != 0 || !strings.Contains(stderr, "3 created") {
		t.Fatalf("a whole answer: exit %d, stderr %q", code, stderr)
	}
	answered = 1
	code, _, stderr := runCommand(t, []string{"import", "--url", srv.URL, file}, vars)
	if code == 0 || !strings.Contains(stderr, "answered 1 of 3 lines") {
		t.Fatalf("a cut-off answer: exit %d, stderr %q", code, stderr)
	}

	// A connection that breaks mid-answer (the server stopped) says as much.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprintf(w, `{"line":1,"status":"created"}`+"\n")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer broken.Close()
	code, _, stderr = runCommand(t, []string{"import", "--url", broken.URL, file}, vars)
	if code == 0 || !strings.Contains(stderr, "answered 1 of the lines sent before the connection broke") || !strings.Contains(stderr, "Run the import again") {
		t.Fatalf("a broken connection: exit %d, stderr %q", code, stderr)
	}
}

// bench --spawn starts its own server on a database of its own, reports
// the server's memory, and leaves nothing behind.
func TestBenchSpawnCleansUp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("ROSTER_TEST_AS_MAIN", "1")
	t.Setenv("TMPDIR", tmp)
	args := append([]string{"bench", "--spawn", "--count", "20", "--concurrency", "4", "--ceiling-time", "50ms"}, cheapHash...)
	code, stdout, stderr := runCommand(t, append(args, "invite-create", "register-create"), nil)
	if code != 0 {
		t.Fatalf("bench --spawn exited %d: %s\n%s", code, stderr, stdout)
	}
	for _, want := range []string{`invite-create +20 requests .* errors: none  cpu: server`, `register-create +20 requests .* errors: none`,
		`server peak RSS: [0-9.]+ MiB`} {
		if !regexpLine(stdout, want) {
			t.Errorf("no line matching %q in:\n%s", want, stdout)
		}
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind in the temporary directory: %s", e.Name())
	}
}

// A spawned server that stops before it listens (here: a flag it does not
// know) ends the bench at once, saying so, rather than after a minute.
func TestBenchSpawnNoticesAServerThatEnded(t *testing.T) {
	t.Setenv("ROSTER_TEST_AS_MAIN", "1")
	t.Setenv("TMPDIR", t.TempDir())
	start := time.Now()
	code, _, stderr := runCommand(t, []string{"bench", "--spawn", "--count", "1", "--ceiling-time", "50ms",
		"--server", "--no-such-flag", "invite-create"}, nil)
	if code == 0 || !strings.Contains(stderr, "ended before it listened") || time.Since(start) > 20*time.Second {
		t.Fatalf("bench with a server that could not start: exit %d after %s: %s", code, time.Since(start), stderr)
	}
}
