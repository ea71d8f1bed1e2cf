package gpcn_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/compat/gpcn"
	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
	"roster/internal/testsupport"
)

// Every answer carries the key's rate-limit state; past the limit the
// answer is 429 RATE_LIMITED with Retry-After, until the window ends.
func TestRateLimit(t *testing.T) {
	e := start(t, testsupport.Options{Config: service.Config{RateLimit: 3, RateLimitWindow: time.Minute}})
	reset := fmt.Sprint(testsupport.Epoch.Add(time.Minute).Unix())
	for i, remaining := range []string{"2", "1", "0"} {
		r := e.admin.Do(t, "GET", "/v1/roles", nil).Want(t, 200)
		if r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Remaining") != remaining ||
			r.Header.Get("X-RateLimit-Reset") != reset {
			t.Fatalf("request %d: %v", i+1, r.Header)
		}
	}
	r := e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "late@example.com"})
	m := wantError(t, r, 429, gpcn.CodeRateLimited)
	if r.Header.Get("Retry-After") != "60" || r.Header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(str(m, "message"), "3 requests per 1m0s") {
		t.Fatalf("429: %v %s", r.Header, r.Body)
	}
	// Requests to routes that do not exist count too, and are refused alike.
	wantError(t, e.admin.Do(t, "GET", "/v1/nowhere", nil), 429, gpcn.CodeRateLimited)

	// Another key has its own allowance.
	e.native.T = t
	k := e.native.Do("POST", "/v1/api-keys", map[string]any{"name": "second", "roles": []string{"provider-viewer"}, "service": true}).Want(t, 201).Map(t)
	second := e.key(str(k, "key"))
	if r := second.Do(t, "GET", "/v1/roles", nil).Want(t, 200); r.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Fatalf("second key: %v", r.Header)
	}
	// Requests without a valid key are counted by client address.
	for i := 0; i < 3; i++ {
		wantError(t, e.anon.Do(t, "GET", "/v1/users", nil), 401, gpcn.CodeUnauthorized)
	}
	wantError(t, e.key("rk_wrong").Do(t, "GET", "/v1/users", nil), 429, gpcn.CodeRateLimited)

	// A new window opens when the old one ends.
	e.ManualClock().Advance(time.Minute)
	r = e.admin.Do(t, "GET", "/v1/roles", nil).Want(t, 200)
	if r.Header.Get("X-RateLimit-Remaining") != "2" || r.Header.Get("X-RateLimit-Reset") != fmt.Sprint(testsupport.Epoch.Add(2*time.Minute).Unix()) {
		t.Fatalf("next window: %v", r.Header)
	}
	// The native API is not limited.
	for i := 0; i < 5; i++ {
		e.native.Do("GET", "/v1/roles", nil).Want(t, 200)
	}
}

// The rate-limit headers go on the wire in GPCN's spelling.
func TestRateLimitHeaderSpelling(t *testing.T) {
	e := start(t, testsupport.Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /compat/gpcn/v1/roles HTTP/1.1\r\nHost: roster\r\nX-API-Key: %s\r\nConnection: close\r\n\r\n", testsupport.AdminKey)
	head, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"X-RateLimit-Limit: ", "X-RateLimit-Remaining: ", "X-RateLimit-Reset: "} {
		if !strings.Contains(string(head), "\r\n"+h) {
			t.Fatalf("the answer lacks %q:\n%s", h, head)
		}
	}
}

// Every error code the documentation lists is provoked here once, and
// checked for status, body and headers (the shape check of every answer
// does the rest). INTERNAL_ERROR cannot be provoked from outside; the
// renderer's unit test covers it.
func TestEveryDocumentedError(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme := e.tenant(t, "Acme")
	active := e.register(t, e.admin, map[string]any{"email": "active@acme.example", "entityId": acme})
	provoked := map[string]bool{}
	want := func(r *testsupport.Resp, status int, code string) map[string]any {
		t.Helper()
		provoked[code] = true
		return wantError(t, r, status, code)
	}
	want(e.admin.Do(t, "POST", "/v1/users", map[string]any{"action": "register", "email": "weak@acme.example", "entityId": acme}), 400, gpcn.CodeValidation)
	want(e.admin.Do(t, "POST", "/v1/users", "{", testsupport.Invalid()), 400, gpcn.CodeBadRequest)
	if r := e.anon.Do(t, "GET", "/v1/users/"+active, nil); r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("401 without WWW-Authenticate: %v", r.Header)
	} else {
		want(r, 401, gpcn.CodeUnauthorized)
	}
	want(e.serviceKey(t, acme, "viewer").Do(t, "DELETE", "/v1/users/"+active, nil), 403, gpcn.CodeForbidden)
	want(e.admin.Do(t, "GET", "/v1/users/"+core.NewID(), nil), 404, gpcn.CodeNotFound)
	if r := e.admin.Do(t, "PUT", "/v1/users", nil); r.Header.Get("Allow") == "" {
		t.Fatalf("405 without Allow: %v", r.Header)
	} else {
		want(r, 405, gpcn.CodeMethodNotAllowed)
	}
	if m := want(e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "Active@acme.example", "entityId": acme}), 409, gpcn.CodeUserExists); str(m, "message") != "A user with this email already exists" {
		t.Fatalf("USER_EXISTS: %v", m)
	}
	want(e.admin.Do(t, "POST", "/v1/users/"+active+"/resend-invite", nil), 409, gpcn.CodeConflict)
	want(e.admin.Do(t, "POST", "/v1/teams", strings.Repeat(" ", 1<<20+1)), 413, gpcn.CodePayloadTooLarge)
	e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": "A", "entityId": acme}, testsupport.Header("Idempotency-Key", "same")).Want(t, 201)
	want(e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": "B", "entityId": acme}, testsupport.Header("Idempotency-Key", "same")), 422, gpcn.CodeIdempotencyReused)

	limited := start(t, testsupport.Options{Config: service.Config{RateLimit: 1}})
	limited.admin.Do(t, "GET", "/v1/roles", nil).Want(t, 200)
	want(limited.admin.Do(t, "GET", "/v1/roles", nil), 429, gpcn.CodeRateLimited)

	r := overloaded(t)
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", r.Header)
	}
	want(r, 503, gpcn.CodeServiceUnavailable)

	// The documentation lists exactly these codes.
	doc, err := os.ReadFile("../../../docs/dialects/gpcn.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| (\\d{3}) \\|").FindAllStringSubmatch(string(doc), -1)
	if len(listed) != len(documented) {
		t.Fatalf("the documentation lists %d error codes, the dialect %d", len(listed), len(documented))
	}
	for _, l := range listed {
		if fmt.Sprint(documented[l[1]]) != l[2] {
			t.Errorf("documented %s %s, dialect answers %d", l[1], l[2], documented[l[1]])
		}
		if !provoked[l[1]] && l[1] != gpcn.CodeInternal {
			t.Errorf("%s is documented but not provoked", l[1])
		}
	}
}

// overloaded saturates a one-slot hashing pool with register requests and
// returns one of the 503 answers.
func overloaded(t *testing.T) *testsupport.Resp {
	t.Helper()
	slow := password.Params{Memory: 16 << 10, Time: 2, Threads: 1}
	e := start(t, testsupport.Options{PoolSize: 1, HashMaxWait: time.Millisecond, Params: &slow})
	acme := e.tenant(t, "Busy")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		busy *testsupport.Resp
		got  = map[int]int{}
	)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := e.admin.c.With("X-API-Key", testsupport.AdminKey).Do("POST", gpcnPrefix+"/v1/users", map[string]any{"action": "register",
				"email": fmt.Sprintf("busy%d@example.com", i), "entityId": acme, "firstName": "B", "lastName": "Usy", "password": strongPassword})
			mu.Lock()
			defer mu.Unlock()
			got[r.Status]++
			if r.Status == 503 {
				busy = r
			}
		}(i)
	}
	wg.Wait()
	if got[201] == 0 || busy == nil || got[201]+got[503] != 24 {
		t.Fatalf("statuses %v: want some 201 and some 503", got)
	}
	checkShape(t, "POST /v1/users under load", busy)
	return busy
}
