package everlytic_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"roster/internal/compat/everlytic"
	"roster/internal/core"
	"roster/internal/server"
	"roster/internal/store"
	"roster/internal/testsupport"
)

// brokenStore fails tenant listings on demand, with an error whose text
// must never reach a client.
type brokenStore struct {
	store.Store
	broken atomic.Bool
}

const secretCause = "disk I/O error reading /var/lib/roster/secret-path.db"

func (s *brokenStore) ListTenants(ctx context.Context, f store.TenantFilter) ([]core.Tenant, error) {
	if s.broken.Load() {
		return nil, errors.New(secretCause)
	}
	return s.Store.ListTenants(ctx, f)
}

// TestErrors provokes every error the dialect answers, once each, and
// checks status, body and headers.
func TestErrors(t *testing.T) {
	st := &brokenStore{Store: testsupport.OpenSQLite(t)}
	e := start(t, testsupport.Options{Store: st})
	acme := e.createCustomer(t, "Acme", "ops@acme.example")
	alice := e.createUser(t, e.admin, map[string]any{"name": "Alice", "email": "alice@acme.example", "username": "alice",
		"customer_id": acme.ID})

	// Tina is a plain member of Acme with a key of her own.
	var tenants struct {
		Items []map[string]any `json:"items"`
	}
	e.native.Do("GET", "/v1/tenants", nil).Want(t, 200).JSON(t, &tenants)
	e.native.Do("POST", "/v1/users", map[string]any{"action": "register", "email": "tina@acme.example", "username": "tina",
		"password": "tina's long passphrase", "tenant_id": tenants.Items[0]["id"], "roles": []string{"tenant-user"}}).Want(t, 201)
	tina := e.userKey(t, "tina", "tina's long passphrase")
	tinaKey := strings.TrimPrefix(tina.Header.Get("Authorization"), "Basic ")

	valid := func() map[string]any {
		return map[string]any{"name": "New", "email": "new@acme.example", "username": "new", "customer_id": acme.ID}
	}
	with := func(k string, v any) map[string]any {
		b := valid()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}

	t.Run("401", func(t *testing.T) {
		for name, c := range map[string]*testsupport.Client{
			"no credentials":         e.anon,
			"bearer scheme":          e.anon.With("Authorization", "Bearer "+testsupport.AdminKey),
			"not base64":             e.anon.With("Authorization", "Basic %%%"),
			"no key":                 e.anon.With("Authorization", basic("admin", "")),
			"wrong key":              e.anon.With("Authorization", basic("admin", "rk_not-a-key-of-this-server-at-all")),
			"admin's key, tina":      e.anon.With("Authorization", basic("tina", testsupport.AdminKey)),
			"tina's key, admin":      e.anon.With("Authorization", "Basic "+basicSwap(t, tinaKey, "admin")),
			"admin's key, no one":    e.anon.With("Authorization", basic("", testsupport.AdminKey)),
			"admin's key, ADMIN2":    e.anon.With("Authorization", basic("admin2", testsupport.AdminKey)),
			"unknown user, good key": e.anon.With("Authorization", basic("nobody", testsupport.AdminKey)),
		} {
			t.Run(name, func(t *testing.T) {
				for _, r := range []*testsupport.Resp{
					c.Do("GET", "/api/2.0/users", nil),
					c.Do("POST", "/api/2.0/users", valid()),
				} {
					wantError(t, r, 401)
					if got := r.Header.Get("WWW-Authenticate"); got != `Basic realm="roster", charset="UTF-8"` {
						t.Fatalf("WWW-Authenticate %q", got)
					}
				}
			})
		}
		wantError(t, e.anon.Do("GET", "/api/2.0/customers", nil), 401, "authentication required")
		wantError(t, e.anon.With("Authorization", basic("tina", testsupport.AdminKey)).Do("GET", "/api/2.0/customers", nil),
			401, "invalid credentials")
		// The username is compared as roster compares usernames.
		e.anon.With("Authorization", basic("Admin", testsupport.AdminKey)).Do("GET", "/api/2.0/users", nil).Want(t, 200)
	})

	t.Run("400", func(t *testing.T) {
		for name, c := range map[string]struct {
			body any
			ct   string
			want []string
		}{
			"nothing given": {map[string]any{}, "", []string{"name: is required", "email: is required", "username: is required",
				"customer_id: is required"}},
			"empty strings": {map[string]any{"name": "", "email": " ", "username": "", "customer_id": ""}, "", []string{"name: is required", "customer_id: is required"}},
			"nulls": {`{"name": null, "email": "n@acme.example", "username": "n", "customer_id": null}`, "",
				[]string{"name: is required", "customer_id: is required"}},
			"bad email":            {with("email", "not-an-email"), "", []string{"email: must be an email address"}},
			"bad username":         {with("username", "has space"), "", []string{"username: may contain only"}},
			"bad language":         {with("language", "xx"), "", []string{"language: must be one of en, de"}},
			"bad admin flag":       {with("can_customer_admin", "maybe"), "", []string{`can_customer_admin: must be "yes" or "no"`}},
			"unknown field":        {with("password", "secret"), "", []string{"password: is not a field of this request"}},
			"customer_id letters":  {with("customer_id", "abc"), "", []string{"customer_id: must be a positive integer"}},
			"customer_id zero":     {with("customer_id", 0), "", []string{"customer_id: must be a positive integer"}},
			"customer_id fraction": {with("customer_id", 1.5), "", []string{"customer_id: must be an integer"}},
			"customer_id boolean":  {with("customer_id", true), "", []string{"customer_id: must be an integer"}},
			"name a number":        {with("name", 5), "", []string{"name: must be a string"}},
			"unknown customer":     {with("customer_id", 99), "", []string{"customer_id: no such customer"}},
			"malformed JSON":       {`{"name": "x",`, "", []string{"invalid JSON: the body ends early"}},
			"syntax error":         {"{\n\"name\" \"x\"}", "", []string{"invalid JSON at line 2, column"}},
			"empty body":           {"", "application/json", []string{"the body is empty"}},
			"array body":           {"[]", "", []string{"body: must be an object"}},
			"two JSON values":      {`{} {}`, "", []string{"more than one JSON value"}},
			"repeated form field":  {"name=a&name=b&email=a%40b.example&username=ab&customer_id=1", "application/x-www-form-urlencoded", []string{"name: is given more than once"}},
			"form file":            {"--B\r\nContent-Disposition: form-data; name=\"name\"; filename=\"a.txt\"\r\n\r\nx\r\n--B--\r\n", "multipart/form-data; boundary=B", []string{"name: must be a text field"}},
			"bad multipart":        {"garbage", "multipart/form-data; boundary=B", []string{"the form body cannot be parsed"}},
		} {
			t.Run(name, func(t *testing.T) {
				var opts []testsupport.Opt
				if c.ct != "" {
					opts = append(opts, testsupport.ContentType(c.ct))
				}
				wantError(t, e.admin.Do("POST", "/api/2.0/users", c.body, opts...), 400, c.want...)
			})
		}
		wantError(t, e.admin.Do("POST", "/api/2.0/customers", map[string]any{"name": "Initech"}), 400, "email: is required")
		wantError(t, e.admin.Do("POST", "/api/2.0/customers", map[string]any{}), 400, "name: is required; email: is required")
		wantError(t, e.admin.Do("POST", "/api/2.0/customers", map[string]any{"name": "Initech", "email": "x"}), 400, "email: must be an email address")
		wantError(t, e.admin.Do("POST", "/api/2.0/customers", map[string]any{"name": "Initech", "email": "ops@initech.example", "language": "klingon"}),
			400, "language: must be one of")
		wantError(t, e.admin.Do("POST", "/api/2.0/customers", map[string]any{"name": "Initech", "email": "ops@initech.example", "phone": "1"}),
			400, "phone: is not a field of this request")
		for path, want := range map[string]string{
			"/api/2.0/users?page=0":           "page: must be a positive integer",
			"/api/2.0/users?page=x":           "page: must be a positive integer",
			"/api/2.0/users?count=-1":         "count: must be a positive integer",
			"/api/2.0/users?count=5000":       "count: must be at most 1000",
			"/api/2.0/users?customer_id=abc":  "customer_id: must be a positive integer",
			"/api/2.0/users?customer_id=77":   "customer_id: no such customer",
			"/api/2.0/customers?count=0":      "count: must be a positive integer",
			"/api/2.0/customers?count=100000": "count: must be at most 1000",
		} {
			wantError(t, e.admin.Do("GET", path, nil), 400, want)
		}
	})

	t.Run("403", func(t *testing.T) {
		wantError(t, tina.Do("POST", "/api/2.0/users", valid()), 403, "you may not add users to this tenant")
		wantError(t, tina.Do("POST", "/api/2.0/customers", map[string]any{"name": "T", "email": "t@example.com"}), 403)
		// She may read her customer's users.
		tina.Do("GET", fmt.Sprintf("/api/2.0/users/%d", alice.ID), nil).Want(t, 200)
	})

	t.Run("404", func(t *testing.T) {
		for path, want := range map[string]string{
			"/api/2.0/users/99":       "user not found",
			"/api/2.0/users/abc":      "user not found",
			"/api/2.0/users/0":        "user not found",
			"/api/2.0/customers/99":   "customer not found",
			"/api/2.0/customers/-1":   "customer not found",
			"/api/2.0/contacts":       "no such endpoint: GET /compat/everlytic/api/2.0/contacts",
			"/api/3.0/users":          "no such endpoint",
			"/api/2.0/users/1/extras": "no such endpoint",
		} {
			wantError(t, e.admin.Do("GET", path, nil), 404, want)
		}
	})

	t.Run("405", func(t *testing.T) {
		r := e.admin.Do("DELETE", fmt.Sprintf("/api/2.0/users/%d", alice.ID), nil)
		wantError(t, r, 405, "method DELETE is not allowed")
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || strings.Contains(allow, "DELETE") {
			t.Fatalf("Allow %q", allow)
		}
		r = e.admin.Do("PUT", "/api/2.0/customers", map[string]any{})
		wantError(t, r, 405)
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "POST") {
			t.Fatalf("Allow %q", allow)
		}
	})

	t.Run("409", func(t *testing.T) {
		wantError(t, e.admin.Do("POST", "/api/2.0/users", with("email", "ALICE@acme.example")), 409, "email: is already taken")
		wantError(t, e.admin.Do("POST", "/api/2.0/users", with("username", "Alice")), 409, "username: is already taken")
	})

	t.Run("413", func(t *testing.T) {
		big := `{"name": "` + strings.Repeat("x", 1<<20) + `"}`
		wantError(t, e.admin.Do("POST", "/api/2.0/users", big), 413, "larger than")
	})

	t.Run("415", func(t *testing.T) {
		wantError(t, e.admin.Do("POST", "/api/2.0/users", "name=x", testsupport.ContentType("text/plain")), 415, "text/plain is not supported")
		wantError(t, e.admin.Do("POST", "/api/2.0/users", "x", testsupport.ContentType("bad/type; =")), 415)
	})

	t.Run("idempotency", func(t *testing.T) {
		key := testsupport.Header("Idempotency-Key", "create-ivan-1")
		body := with("username", "ivan")
		body["email"] = "ivan@acme.example"
		first := e.admin.Do("POST", "/api/2.0/users", body, key).Want(t, 201)
		again := e.admin.Do("POST", "/api/2.0/users", body, key).Want(t, 201)
		if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Fatalf("replay: %s / %s", first.Body, again.Body)
		}
		for _, name := range []string{"Location", "Vary"} {
			if first.Header.Get(name) == "" || again.Header.Get(name) != first.Header.Get(name) {
				t.Errorf("replayed %s %q, first %q", name, again.Header.Get(name), first.Header.Get(name))
			}
		}
		body["name"] = "Other"
		wantError(t, e.admin.Do("POST", "/api/2.0/users", body, key), 422)
	})

	t.Run("500", func(t *testing.T) {
		st.broken.Store(true)
		defer st.broken.Store(false)
		r := e.admin.Do("GET", "/api/2.0/customers", nil)
		msg := wantError(t, r, 500, "an internal error occurred")
		if strings.Contains(string(r.Body), "secret-path") || strings.Contains(msg, "disk") {
			t.Fatalf("internals in the answer: %s", r.Body)
		}
		if r.Header.Get("X-Request-Id") == "" {
			t.Fatal("no request id to quote")
		}
		if !strings.Contains(e.Logs(), secretCause) {
			t.Fatal("the cause was not logged")
		}
	})
}

// basicSwap re-encodes the key of a Basic credential under another username.
func basicSwap(t *testing.T, credential, username string) string {
	t.Helper()
	_, key, ok := strings.Cut(decodeB64(t, credential), ":")
	if !ok {
		t.Fatalf("credential %q", credential)
	}
	return strings.TrimPrefix(basic(username, key), "Basic ")
}

// TestDedicatedListener serves the dialect at the root of a listener of its
// own, as "roster serve --compat-listen everlytic=ADDR" does: the vendor's
// paths with nothing before them, links and errors alike.
func TestDedicatedListener(t *testing.T) {
	e := start(t, testsupport.Options{})
	d := everlytic.New(e.Service, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(server.New(server.Options{Service: e.Service, Bare: true,
		Mounted: []server.Mounted{{Prefix: "", Register: d.Register, Render: d.RenderError}}}))
	defer srv.Close()
	c := testsupport.NewClient(t, srv.URL, nil).With("Authorization", basic("admin", testsupport.AdminKey))
	r := c.Do("POST", "/api/2.0/customers", map[string]any{"name": "Acme", "email": "ops@acme.example"}).Want(t, 201)
	_, links := checkEnvelope(t, r, "item")
	if links[0].Href != srv.URL+"/api/2.0/customers" || links[1].Href != srv.URL+"/api/2.0/" {
		t.Fatalf("links on a dedicated listener: %+v", links)
	}
	if r.Header.Get("Location") != srv.URL+"/api/2.0/customers/1" {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	c.Do("POST", "/api/2.0/users/", map[string]any{"name": "A", "email": "a@acme.example", "username": "a", "customer_id": 1}).Want(t, 201)
	wantError(t, c.Do("GET", "/v1/users", nil), 404, "no such endpoint")
	wantError(t, c.Do("GET", "/api/2.0/users/42", nil), 404, "user not found")
	// The same user through the main listener's native API.
	e.nativeUser(t, 2)
}

func decodeB64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return string(b)
}
