package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
)

const benchUsage = `usage: roster bench [flags] [scenario ...]

Drives a running roster over HTTP and prints throughput, latency
percentiles, errors and (for a server it started itself) peak memory.
Scenarios: invite-create, register-create, login, get, list, search
(default: all). With --spawn it starts "roster serve" on a fresh database
(or --db) with the --server flags, and reads the server's peak RSS from
/proc; otherwise give --url and ROSTER_API_KEY, and --pid for its memory.
It also times one bare argon2id hash at --password-memory/--password-time,
so that the hash ceiling (cores ÷ hash time) is known in the same run.
`

type benchResult struct {
	Scenario    string         `json:"scenario"`
	Requests    int            `json:"requests"`
	Errors      map[string]int `json:"errors"`
	Seconds     float64        `json:"seconds"`
	PerSecond   float64        `json:"per_second"` // successful answers only
	P50ms       float64        `json:"p50_ms"`
	P95ms       float64        `json:"p95_ms"`
	P99ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	Concurrency int            `json:"concurrency"`
	// CPU seconds used during the run by the server (when its pid is
	// known) and by the load generator itself, which shares the machine.
	ServerCPU float64 `json:"server_cpu_seconds,omitempty"`
	BenchCPU  float64 `json:"bench_cpu_seconds"`
	// Steal is the share of the machine's time the hypervisor kept for
	// other guests during the run (-1 where /proc/stat is not there).
	Steal float64 `json:"machine_steal_share"`
}

type bencher struct {
	url, key    string
	pid         int
	client      *http.Client
	concurrency int
	count       int
	duration    time.Duration
	tenant      string
	runID       string
	out         io.Writer
	password    string
}

func benchCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roster bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage+"\nflags:\n"); fs.PrintDefaults() }
	url := fs.String("url", envOr(getenv, "ROSTER_URL", "http://127.0.0.1:8080"), "roster to drive (env ROSTER_URL)")
	spawn := fs.Bool("spawn", false, "start a roster serve of its own for the run")
	db := fs.String("db", "", "with --spawn: the database (default: a new SQLite file in a temporary directory); "+
		"to run again on the same database, set ROSTER_API_KEY (32+ characters) each time: the first run installs it")
	serverFlags := fs.String("server", "", "with --spawn: more flags for roster serve, e.g. \"--hash-pool-size 2\"")
	pid := fs.Int("pid", 0, "without --spawn: the server's process id, to report its peak RSS")
	concurrency := fs.Int("concurrency", 32, "requests in flight")
	count := fs.Int("count", 0, "requests per scenario (default: run for --duration)")
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario runs, when --count is 0")
	memory := fs.Uint("password-memory", 19456, "argon2id memory, KiB: the server's (passed to it with --spawn)")
	ptime := fs.Uint("password-time", 2, "argon2id passes: the server's (passed to it with --spawn)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	ceilingTime := fs.Duration("ceiling-time", 5*time.Second, "how long to measure the bare hash ceiling, before the run and after each hash-bound scenario")
	parts := fs.Int("parts", 1, "run each hash-bound scenario (register-create, login) in this many parts, the bare hash ceiling measured "+
		"between them, and compare each part with the ceiling around it: on a shared machine the ceiling drifts within a minute")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *parts < 1 {
		return errors.New("--parts must be 1 or more")
	}
	if *count > 0 && *parts > *count {
		return fmt.Errorf("--parts %d is more than --count %d: every part needs a request", *parts, *count)
	}
	scenarios := fs.Args()
	all := []string{"invite-create", "register-create", "login", "get", "list", "search"}
	if len(scenarios) == 0 {
		scenarios = all
	}
	for _, s := range scenarios {
		if !slices.Contains(all, s) {
			return fmt.Errorf("unknown scenario %q; known: %s", s, strings.Join(all, ", "))
		}
	}
	b := &bencher{concurrency: *concurrency, count: *count, duration: *duration, out: stdout,
		runID: strconv.FormatInt(time.Now().UnixNano()%1e9, 36), password: "bench password 1234",
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			MaxIdleConns: *concurrency * 2, MaxIdleConnsPerHost: *concurrency * 2, IdleConnTimeout: time.Minute}}}
	var child *exec.Cmd
	if *spawn {
		// A database made by an earlier run already has keys, and ignores
		// a bootstrap key: ROSTER_API_KEY names the one to reuse (and is
		// installed on a new database), so that --db can be run again.
		key := getenv("ROSTER_API_KEY")
		if key == "" {
			key = core.NewSecret("rk_bench_")
		}
		serverArgs := append(strings.Fields(*serverFlags), "--password-memory", fmt.Sprint(*memory), "--password-time", fmt.Sprint(*ptime))
		if *db == "" {
			// A database of the run's own is removed with it: runs write
			// hundreds of MB each.
			dir, err := os.MkdirTemp("", "roster-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			*db = filepath.Join(dir, "roster.db")
		}
		var err error
		child, b.url, err = spawnServer(ctx, *db, key, serverArgs, stderr)
		if err != nil {
			return err
		}
		defer func() {
			_ = child.Process.Signal(os.Interrupt)
			_ = child.Wait()
		}()
		b.key, *pid = key, child.Process.Pid
	} else {
		b.url, b.key = strings.TrimRight(*url, "/"), getenv("ROSTER_API_KEY")
		if b.key == "" {
			return errors.New("set ROSTER_API_KEY to a provider administrator's key, or use --spawn")
		}
	}

	params := password.Params{Memory: uint32(*memory), Time: uint32(*ptime), Threads: 1}
	cores := runtime.NumCPU()
	meter := newCeilingMeter(params, cores)
	hashTime := timeHash(meter.hashers[0], params)
	ceiling := meter.measure(*ceilingTime)
	fmt.Fprintf(stdout, "machine: %d cores, %s; argon2id m=%d KiB t=%d p=1: %.1f ms for one hash alone (cores ÷ that = %.1f/s); "+
		"bare hash ceiling with every core hashing: %.1f hashes/s (%.1f ms of CPU each%s)\n", cores, runtime.GOARCH, params.Memory, params.Time,
		float64(hashTime.Microseconds())/1000, float64(cores)/hashTime.Seconds(), ceiling.PerSecond, 1000*ceiling.CPUPerHash,
		stealNote(ceiling.Steal))
	latest := ceiling // the ceiling's last measurement, which the next hash-bound scenario starts from

	b.pid = *pid
	var err error
	if b.tenant, err = b.createTenant(ctx); err != nil {
		return err
	}
	var results []benchResult
	for _, s := range scenarios {
		// A hash-bound scenario's ceiling is measured before each part and
		// after the last, and each part is held against the average of the
		// two around it: the machine's other work varies over a run.
		hashBound := s == "register-create" || s == "login"
		samples := []ceilingSample{latest}
		n, afterPart := 1, func() {}
		if hashBound {
			n, afterPart = *parts, func() { samples = append(samples, meter.measure(*ceilingTime)) }
		}
		r, err := b.run(ctx, s, n, afterPart)
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		results = append(results, r.benchResult)
		b.print(r.benchResult)
		if !hashBound {
			continue
		}
		latest = samples[len(samples)-1]
		ceilings := make([]ceilingSample, len(r.parts))
		for i := range r.parts {
			ceilings[i] = averageCeilings(samples[i], samples[i+1])
		}
		if len(r.parts) > 1 {
			for i, part := range r.parts {
				raw, _, cpu := combinedShares(r.parts[i:i+1], ceilings[i:i+1])
				fmt.Fprintf(stdout, "%-16s part %d: %.1f ok/s against %.1f/s (%.1f before it, %.1f after): %.1f%%%s\n", "", i+1,
					part.PerSecond, ceilings[i].PerSecond, samples[i].PerSecond, samples[i+1].PerSecond, 100*raw, cpuNote(cpu))
			}
		}
		raw, stealFree, cpu := combinedShares(r.parts, ceilings)
		ceiling = meanCeiling(r.parts, ceilings)
		between := fmt.Sprintf("%.1f before the run, %.1f after", samples[0].PerSecond, samples[1].PerSecond)
		if len(r.parts) > 1 {
			lo, hi := samples[0].PerSecond, samples[0].PerSecond
			for _, c := range samples {
				lo, hi = min(lo, c.PerSecond), max(hi, c.PerSecond)
			}
			between = fmt.Sprintf("measured %d times, %.1f–%.1f/s", len(samples), lo, hi)
		}
		fmt.Fprintf(stdout, "%-16s %.1f%% of the bare hash ceiling (%.1f/s: %s)\n", "", 100*raw, ceiling.PerSecond, between)
		if stealFree >= 0 {
			fmt.Fprintf(stdout, "%-16s %.1f%% with steal taken out (the hypervisor kept %.1f%% of the machine in the run, %.1f%% while the ceiling was measured)\n", "",
				100*stealFree, 100*r.Steal, 100*ceiling.Steal)
		}
		if cpu >= 0 {
			fmt.Fprintf(stdout, "%-16s %.1f%% in CPU: a bare hash took %.1f ms of CPU, the server %.1f ms per request\n", "",
				100*cpu, 1000*ceiling.CPUPerHash, 1000*ceiling.CPUPerHash/cpu)
		}
	}
	if *pid > 0 {
		if hwm, err := peakRSS(*pid); err == nil {
			fmt.Fprintf(stdout, "server peak RSS: %.1f MiB\n", float64(hwm)/1024)
		}
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(map[string]any{"cores": cores, "hash_ms": float64(hashTime.Microseconds()) / 1000,
			"cores_over_hash_time": float64(cores) / hashTime.Seconds(), "hash_ceiling_per_second": ceiling.PerSecond,
			"hash_ceiling_cpu_ms_per_hash": 1000 * ceiling.CPUPerHash, "hash_ceiling_steal_share": ceiling.Steal,
			"results": results}, "", "  ")
		if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// timeHash measures one argon2id hash with the given parameters, the best
// of a few so that a noisy neighbour does not inflate it. It hashes as a
// server's slot does, in memory kept from one hash to the next.
func timeHash(h *password.Hasher, p password.Params) time.Duration {
	best := time.Duration(1<<62 - 1)
	for i := 0; i < 5; i++ {
		start := time.Now()
		h.HashArgon2id("a password to time", p)
		best = min(best, time.Since(start))
	}
	return best
}

// ceilingMeter measures how many bare hashes per second the machine does
// when every core hashes at once, as the server's pool does under load.
// argon2id is bound by memory bandwidth, so this is below cores ÷ the time
// of one hash alone; it is the ceiling a server can actually reach. Its
// hashers are made once and kept, as the server's slots keep theirs, so
// that no measurement pays for memory the server has long had.
type ceilingMeter struct {
	params  password.Params
	hashers []*password.Hasher
}

func newCeilingMeter(p password.Params, cores int) *ceilingMeter {
	m := &ceilingMeter{params: p}
	for range cores {
		h := password.NewHasher(p)
		h.HashArgon2id("a password to time", p) // the memory, in place
		m.hashers = append(m.hashers, h)
	}
	return m
}

func (m *ceilingMeter) measure(d time.Duration) ceilingSample {
	var n atomic.Int64
	cpu0, _ := processCPU(os.Getpid())
	machine0 := readMachineTimes()
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for _, h := range m.hashers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A hash on one thread, as in the server's slots.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for time.Now().Before(deadline) {
				h.HashArgon2id("a password to time", m.params)
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, _ := processCPU(os.Getpid())
	return ceilingSample{PerSecond: float64(n.Load()) / elapsed.Seconds(), CPUPerHash: (cpu1 - cpu0) / float64(max(n.Load(), 1)),
		Steal: stealShare(machine0, readMachineTimes())}
}

func stealNote(steal float64) string {
	if steal < 0 {
		return ""
	}
	return fmt.Sprintf("; the hypervisor kept %.1f%% of the machine meanwhile", 100*steal)
}

var spawnListenRE = regexp.MustCompile(`msg="roster listening" addr=(http://[0-9.:]+)`)

func spawnServer(ctx context.Context, db, key string, args []string, stderr io.Writer) (*exec.Cmd, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	// Info level shows the start line; request logs are part of what a
	// real deployment pays for, so they stay on.
	cmd := exec.CommandContext(ctx, exe, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "ROSTER_BOOTSTRAP_API_KEY="+key)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	found, ended := make(chan string, 1), make(chan struct{})
	go func() {
		defer close(ended) // the server closed its stderr: it has ended
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if m := spawnListenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			} else if strings.Contains(sc.Text(), "level=ERROR") || strings.HasPrefix(sc.Text(), "roster:") {
				fmt.Fprintln(stderr, "server:", sc.Text())
			}
		}
	}()
	select {
	case u := <-found:
		return cmd, u, nil
	case <-ended:
		// It stopped before it listened (a bad flag, a port in use): say
		// so now, not after the minute it might have taken to start.
		err := cmd.Wait()
		return nil, "", fmt.Errorf("the server ended before it listened: %v", err)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", ctx.Err()
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", errors.New("the server did not start")
	}
}

// peakRSS reads a process's high-water mark of resident memory, in KiB.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strconv.ParseInt(strings.Fields(line)[1], 10, 64)
		}
	}
	return 0, errors.New("no VmHWM")
}

func (b *bencher) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := b.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res.StatusCode, data, err
}

func (b *bencher) createTenant(ctx context.Context) (string, error) {
	status, body, err := b.do(ctx, "POST", "/v1/tenants", map[string]any{"name": "Bench " + b.runID})
	if status == http.StatusUnauthorized {
		return "", errors.New("the server refused the API key: a database that already has keys needs ROSTER_API_KEY " +
			"set to a provider administrator's key of it (with --spawn --db, the key the first run used)")
	}
	if err != nil || status != 201 {
		return "", fmt.Errorf("create the bench tenant: %d %s %v", status, body, err)
	}
	var t struct{ ID string }
	err = json.Unmarshal(body, &t)
	return t.ID, err
}

// request is one call of a scenario: method, path and body, and the
// status that counts as success.
type request struct {
	method, path string
	body         any
	want         int
}

// prepare returns a scenario's request maker, after any setup it needs.
func (b *bencher) prepare(ctx context.Context, scenario string) (func(i int) request, error) {
	switch scenario {
	case "invite-create":
		return func(i int) request {
			return request{"POST", "/v1/users", map[string]any{"email": fmt.Sprintf("invite-%s-%d@bench.example", b.runID, i),
				"tenant_id": b.tenant}, 201}
		}, nil
	case "register-create":
		return func(i int) request {
			return request{"POST", "/v1/users", map[string]any{"action": "register", "password": b.password,
				"email": fmt.Sprintf("register-%s-%d@bench.example", b.runID, i), "tenant_id": b.tenant}, 201}
		}, nil
	case "login":
		const accounts = 64
		var emails []string
		for i := 0; i < accounts; i++ {
			email := fmt.Sprintf("login-%s-%d@bench.example", b.runID, i)
			status, body, err := b.do(ctx, "POST", "/v1/users", map[string]any{"action": "register", "password": b.password,
				"email": email, "tenant_id": b.tenant})
			if err != nil || status != 201 {
				return nil, fmt.Errorf("setup: %d %s %v", status, body, err)
			}
			emails = append(emails, email)
		}
		return func(i int) request {
			return request{"POST", "/v1/auth/login", map[string]any{"email": emails[i%accounts], "password": b.password}, 200}
		}, nil
	case "get", "list", "search":
		ids, err := b.sampleIDs(ctx)
		if err != nil {
			return nil, err
		}
		switch scenario {
		case "get":
			return func(i int) request { return request{"GET", "/v1/users/" + ids[rand.IntN(len(ids))], nil, 200} }, nil
		case "list":
			return func(i int) request {
				return request{"GET", "/v1/users?limit=100&cursor=" + service.CursorAfter(ids[rand.IntN(len(ids))]), nil, 200}
			}, nil
		default:
			return func(i int) request {
				// Prefixes of the seeded emails, from broad to narrow.
				n := rand.IntN(1_000_000) + 1
				digits := strconv.Itoa(n)
				return request{"GET", "/v1/users?limit=100&q=user" + digits[:1+rand.IntN(len(digits))], nil, 200}
			}, nil
		}
	}
	return nil, fmt.Errorf("unknown scenario %q", scenario)
}

// sampleIDs collects ids from across the users, through prefix searches
// of the seeded emails (roster seed) and the first page of all users.
func (b *bencher) sampleIDs(ctx context.Context) ([]string, error) {
	var ids []string
	add := func(path string) error {
		status, body, err := b.do(ctx, "GET", path, nil)
		if err != nil || status != 200 {
			return fmt.Errorf("setup %s: %d %v", path, status, err)
		}
		var page struct{ Items []struct{ ID string } }
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		return nil
	}
	if err := add("/v1/users?limit=1000"); err != nil {
		return nil, err
	}
	for i := 0; i < 200; i++ {
		if err := add(fmt.Sprintf("/v1/users?limit=5&q=user%d", rand.IntN(1_000_000)+1)); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("no users to read; run roster seed first")
	}
	return ids, nil
}

// scenarioRun is a scenario's result as a whole and part by part.
type scenarioRun struct {
	benchResult
	parts []benchResult
}

// run drives one scenario in the given number of parts, one after another
// on the same setup, calling between after each part. With --count the
// requests are shared out between the parts; otherwise each part runs for
// its share of --duration.
func (b *bencher) run(ctx context.Context, scenario string, parts int, between func()) (scenarioRun, error) {
	makeRequest, err := b.prepare(ctx, scenario)
	if err != nil {
		return scenarioRun{}, err
	}
	var (
		run       scenarioRun
		latencies []time.Duration
		errs      = map[string]int{}
		first     int // the first request index of a part: every request of the scenario is its own
	)
	for p := 0; p < parts; p++ {
		count := 0
		if b.count > 0 {
			count = b.count/parts + boolInt(p < b.count%parts)
		}
		part, lat, taken := b.drive(ctx, scenario, makeRequest, first, count, b.duration/time.Duration(parts))
		first += taken
		run.parts = append(run.parts, part)
		latencies = append(latencies, lat...)
		for k, v := range part.Errors {
			errs[k] += v
		}
		if err := ctx.Err(); err != nil {
			return scenarioRun{}, err // interrupted: no more parts, nor a ceiling to measure
		}
		between()
	}
	r := summarize(scenario, b.concurrency, latencies, errs, 0)
	r.Steal = 0
	for _, part := range run.parts {
		r.Seconds += part.Seconds
		r.ServerCPU += part.ServerCPU
		r.BenchCPU += part.BenchCPU
		if part.Steal < 0 || r.Steal < 0 {
			r.Steal = -1
		} else {
			r.Steal += part.Steal * part.Seconds
		}
	}
	if r.Steal >= 0 && r.Seconds > 0 {
		r.Steal /= r.Seconds
	}
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Requests-failedCount(errs)) / r.Seconds
	}
	run.benchResult = r
	return run, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// drive sends a scenario's requests from every client at once, from
// request index first on, until count requests are done (count > 0) or
// the duration is up. It returns what it measured, the latencies, and how
// many indexes it took: a client that took one as time ran out sent
// nothing with it, but a later index may have been sent, so the next part
// starts after all of them.
func (b *bencher) drive(ctx context.Context, scenario string, makeRequest func(i int) request, first, count int,
	duration time.Duration) (benchResult, []time.Duration, int) {
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		errs      = map[string]int{}
		wg        sync.WaitGroup
	)
	serverCPU0, _ := processCPU(b.pid)
	benchCPU0, _ := processCPU(os.Getpid())
	machine0 := readMachineTimes()
	deadline := time.Now().Add(duration)
	start := time.Now()
	for w := 0; w < b.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			localErrs := map[string]int{}
			// Each client keeps a lean connection of its own when the
			// server speaks plain http (see benchConn); https goes through
			// net/http.
			send := func(r request) (int, []byte, error) { return b.do(ctx, r.method, r.path, r.body) }
			if conn, err := newBenchConn(b.url, b.key, b.client.Timeout); err == nil {
				defer conn.close()
				send = func(r request) (int, []byte, error) {
					var body []byte
					if r.body != nil {
						body, _ = json.Marshal(r.body)
					}
					return conn.do(r.method, r.path, body)
				}
			}
			for {
				i := int(next.Add(1)) - 1
				if (count > 0 && i >= count) || (count == 0 && time.Now().After(deadline)) || ctx.Err() != nil {
					break
				}
				r := makeRequest(first + i)
				t0 := time.Now()
				status, body, err := send(r)
				local = append(local, time.Since(t0))
				switch {
				case err != nil:
					localErrs["transport"]++
				case status != r.want:
					localErrs[strconv.Itoa(status)]++
				}
				_ = body
			}
			mu.Lock()
			latencies = append(latencies, local...)
			for k, v := range localErrs {
				errs[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	serverCPU1, _ := processCPU(b.pid)
	benchCPU1, _ := processCPU(os.Getpid())
	r := summarize(scenario, b.concurrency, latencies, errs, elapsed.Seconds())
	r.ServerCPU, r.BenchCPU, r.Steal = serverCPU1-serverCPU0, benchCPU1-benchCPU0, stealShare(machine0, readMachineTimes())
	return r, latencies, int(next.Load())
}

// summarize gives the throughput and latency percentiles of a set of
// requests (sorting latencies in place).
func summarize(scenario string, concurrency int, latencies []time.Duration, errs map[string]int, seconds float64) benchResult {
	slices.Sort(latencies)
	pct := func(p float64) float64 { // by nearest rank: the p99 of 100 requests is the 99th
		if len(latencies) == 0 {
			return 0
		}
		rank := int(math.Ceil(p * float64(len(latencies))))
		return float64(latencies[max(rank, 1)-1].Microseconds()) / 1000
	}
	r := benchResult{Scenario: scenario, Requests: len(latencies), Errors: errs, Seconds: seconds,
		P50ms: pct(0.50), P95ms: pct(0.95), P99ms: pct(0.99), MaxMs: pct(1), Concurrency: concurrency}
	if seconds > 0 {
		// Throughput counts answers that succeeded: a quick 503 from a
		// full hashing pool is back-pressure, not work done.
		r.PerSecond = float64(len(latencies)-failedCount(errs)) / seconds
	}
	return r
}

// processCPU reads the user and system CPU seconds a process has used.
func processCPU(pid int) (float64, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	f := strings.Fields(rest)
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

func (b *bencher) print(r benchResult) {
	errs := "none"
	if len(r.Errors) > 0 {
		var parts []string
		for k, v := range r.Errors {
			parts = append(parts, fmt.Sprintf("%s×%d", k, v))
		}
		slices.Sort(parts)
		errs = strings.Join(parts, " ")
	}
	cpu := fmt.Sprintf("cpu: bench %.1fs", r.BenchCPU)
	if b.pid > 0 {
		cpu = fmt.Sprintf("cpu: server %.1fs (%.0f µs/request), bench %.1fs", r.ServerCPU, r.ServerCPU/float64(max(r.Requests, 1))*1e6, r.BenchCPU)
	}
	if r.Steal >= 0 {
		cpu += fmt.Sprintf(", steal %.1f%% of the machine", 100*r.Steal)
	}
	fmt.Fprintf(b.out, "%-16s %8d requests in %6.2fs  %9.1f ok/s  p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  max %7.2f ms  errors: %s  %s\n",
		r.Scenario, r.Requests, r.Seconds, r.PerSecond, r.P50ms, r.P95ms, r.P99ms, r.MaxMs, errs, cpu)
}
