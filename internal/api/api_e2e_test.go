package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/password"
	"roster/internal/testsupport"
)

// nativeEnv is a server plus an admin client whose every exchange is checked
// against the /openapi.json the server itself serves.
type nativeEnv struct {
	*testsupport.Env
	admin *testsupport.Client
	anon  *testsupport.Client
	// raw is for routes outside /v1 (health, docs, metrics) and for
	// requests to routes that do not exist; it checks no contract.
	raw *testsupport.Client
}

func startNative(t *testing.T, opts testsupport.Options) *nativeEnv {
	t.Helper()
	env := testsupport.Start(t, opts)
	anon := testsupport.NewClient(t, env.URL, nil)
	spec := anon.Do("GET", "/openapi.json", nil).Want(t, 200).Body
	anon.Contract = testsupport.NewContract(t, spec)
	return &nativeEnv{Env: env, admin: anon.Bearer(testsupport.AdminKey), anon: anon, raw: testsupport.NewClient(t, env.URL, nil)}
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func (e *nativeEnv) tenant(t *testing.T, name string) string {
	t.Helper()
	return str(e.admin.Do("POST", "/v1/tenants", map[string]any{"name": name}).Want(t, 201).Map(t), "id")
}

func (e *nativeEnv) user(t *testing.T, c *testsupport.Client, body map[string]any) map[string]any {
	t.Helper()
	return c.Do("POST", "/v1/users", body).Want(t, 201).Map(t)
}

// key creates an API key and returns a client that uses it.
func (e *nativeEnv) key(t *testing.T, c *testsupport.Client, body map[string]any) (*testsupport.Client, string, string) {
	t.Helper()
	m := c.Do("POST", "/v1/api-keys", body).Want(t, 201).Map(t)
	return e.anon.Bearer(str(m, "key")), str(m, "key"), str(m, "id")
}

func wantProblem(t *testing.T, r *testsupport.Resp, status int, code string) map[string]any {
	t.Helper()
	r.Want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	m := r.Map(t)
	if str(m, "code") != code {
		t.Fatalf("problem code %q, want %q: %s", str(m, "code"), code, r.Body)
	}
	if int(m["status"].(float64)) != status || str(m, "type") == "" || str(m, "title") == "" {
		t.Fatalf("problem lacks RFC 9457 members: %s", r.Body)
	}
	return m
}

func fieldErrors(m map[string]any) []string {
	var out []string
	errs, _ := m["errors"].([]any)
	for _, e := range errs {
		f := e.(map[string]any)
		out = append(out, str(f, "field")+":"+str(f, "code"))
	}
	return out
}

// TestNativeAPI walks every endpoint of /v1 and ends by checking that no
// operation of the OpenAPI document was left unexercised.
func TestNativeAPI(t *testing.T) {
	testsupport.EachBackend(t, func(t *testing.T, b testsupport.Backend) {
		testNativeAPI(t, startNative(t, testsupport.Options{Store: b.Open(t)}))
	})
}

func testNativeAPI(t *testing.T, e *nativeEnv) {
	admin := e.admin

	t.Run("health and docs", func(t *testing.T) {
		e.raw.Do("GET", "/healthz", nil).Want(t, 200)
		e.raw.Do("GET", "/readyz", nil).Want(t, 200)
		docs := e.raw.Do("GET", "/docs", nil).Want(t, 200)
		for _, want := range []string{"POST</span> <code>/v1/users", "problem-role_forbidden", "Idempotency-Key"} {
			if !strings.Contains(string(docs.Body), want) {
				t.Errorf("docs page lacks %q", want)
			}
		}
	})

	var acme, globex string
	t.Run("tenants", func(t *testing.T) {
		r := admin.Do("POST", "/v1/tenants", map[string]any{"name": "Acme Hosting", "email": "ops@acme.example",
			"country_code": "DE", "lang": "de", "custom_id": "crm-17", "is_test": true, "seller_id": 3,
			"password_policy": "complex", "invite_ttl_seconds": 86400, "products": map[string]any{"CDN": true, "DNS": false}}).Want(t, 201)
		m := r.Map(t)
		acme = str(m, "id")
		if r.Header.Get("Location") != "/v1/tenants/"+acme || m["number"].(float64) < 1 || str(m, "status") != "active" ||
			str(m, "password_policy") != "complex" || m["invite_ttl_seconds"].(float64) != 86400 {
			t.Fatalf("created tenant: %s", r.Body)
		}
		globex = e.tenant(t, "Globex")
		got := admin.Do("GET", "/v1/tenants/"+acme, nil).Want(t, 200).Map(t)
		if str(got, "name") != "Acme Hosting" || str(got, "country_code") != "DE" {
			t.Fatalf("get tenant: %v", got)
		}
		// Pages by cursor, and prefix search.
		for i := 0; i < 3; i++ {
			e.tenant(t, fmt.Sprintf("Paged %d", i))
		}
		var names []string
		cursor := ""
		for page := 0; page < 10; page++ {
			r := admin.Do("GET", "/v1/tenants?limit=2&cursor="+cursor, nil).Want(t, 200)
			var l struct {
				Items      []map[string]any `json:"items"`
				NextCursor *string          `json:"next_cursor"`
			}
			r.JSON(t, &l)
			for _, it := range l.Items {
				names = append(names, str(it, "name"))
			}
			if l.NextCursor == nil {
				break
			}
			cursor = *l.NextCursor
		}
		if len(names) != 5 || names[0] != "Acme Hosting" {
			t.Fatalf("paged tenants = %v", names)
		}
		var l struct{ Items []map[string]any }
		admin.Do("GET", "/v1/tenants?q=paged", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 3 {
			t.Fatalf("prefix search found %d", len(l.Items))
		}
		p := admin.Do("PATCH", "/v1/tenants/"+acme, map[string]any{"name": "Acme Cloud", "phone": "+49 30 123456", "custom_id": nil}).Want(t, 200).Map(t)
		if str(p, "name") != "Acme Cloud" || p["custom_id"] != nil || str(p, "phone") != "+49 30 123456" {
			t.Fatalf("patched tenant: %v", p)
		}
		wantProblem(t, admin.Do("PATCH", "/v1/tenants/"+acme, map[string]any{"country_code": "germany"}, testsupport.Invalid()), 400, "invalid")
		// Field errors name the fields as sent; a lifetime too large for
		// a duration is out of range, not wrapped around into one.
		for body, want := range map[string]string{
			`{"seller_id": -1}`:                         "seller_id:invalid",
			`{"invite_ttl_seconds": 10}`:                "invite_ttl_seconds:out_of_range",
			`{"invite_ttl_seconds": 36028797018967568}`: "invite_ttl_seconds:out_of_range",
		} {
			m := wantProblem(t, admin.Do("PATCH", "/v1/tenants/"+acme, body), 400, "invalid")
			if got := fieldErrors(m); fmt.Sprint(got) != "["+want+"]" {
				t.Fatalf("PATCH %s: %v", body, got)
			}
		}
		wantProblem(t, admin.Do("POST", "/v1/tenants", map[string]any{"email": "x@y.example"}, testsupport.Invalid()), 400, "invalid")
		wantProblem(t, admin.Do("GET", "/v1/tenants/"+strings.Repeat("0", 8)+"-0000-7000-8000-000000000000", nil), 404, "not_found")
	})

	t.Run("products", func(t *testing.T) {
		d := admin.Do("PUT", "/v1/products/defaults", map[string]any{"CDN": true, "STORAGE": true}).Want(t, 200).Map(t)
		if d["CDN"] != true || d["DNS"] != false || len(d) != 6 {
			t.Fatalf("defaults: %v", d)
		}
		admin.Do("GET", "/v1/products/defaults", nil).Want(t, 200)
		var l struct {
			Items []struct {
				Product   string `json:"product"`
				Available bool   `json:"available"`
				Override  *bool  `json:"override"`
			} `json:"items"`
		}
		// Acme was created with CDN on and DNS off.
		admin.Do("GET", "/v1/tenants/"+acme+"/products", nil).Want(t, 200).JSON(t, &l)
		got := map[string]string{}
		for _, it := range l.Items {
			o := "inherit"
			if it.Override != nil {
				o = fmt.Sprint(*it.Override)
			}
			got[it.Product] = fmt.Sprintf("%v/%s", it.Available, o)
		}
		if got["CDN"] != "true/true" || got["DNS"] != "false/false" || got["STORAGE"] != "true/inherit" || got["CLOUD"] != "false/inherit" {
			t.Fatalf("acme products: %v", got)
		}
		admin.Do("PUT", "/v1/tenants/"+acme+"/products", map[string]any{"STORAGE": false, "CDN": nil}).Want(t, 200).JSON(t, &l)
		for _, it := range l.Items {
			switch it.Product {
			case "STORAGE":
				if it.Available || it.Override == nil {
					t.Fatalf("STORAGE after put: %+v", it)
				}
			case "DNS", "CDN":
				if it.Override != nil {
					t.Fatalf("%s keeps an override after a PUT that did not name it: %+v", it.Product, it)
				}
			}
		}
		wantProblem(t, admin.Do("PUT", "/v1/tenants/"+acme+"/products", map[string]any{"FTP": true}, testsupport.Invalid()), 400, "invalid")
		// A product named twice, in two cases, is refused, not decided by chance.
		for _, path := range []string{"/v1/tenants/" + acme + "/products", "/v1/products/defaults"} {
			m := wantProblem(t, admin.Do("PUT", path, `{"CDN": true, "cdn": false}`, testsupport.Invalid()), 400, "invalid")
			if !strings.Contains(fmt.Sprint(m["errors"]), "duplicate") {
				t.Fatalf("%s with CDN twice: %v", path, m)
			}
		}
	})

	var alice, bob map[string]any
	t.Run("create users", func(t *testing.T) {
		// Acme's policy is complex: a NIST-good password without a digit fails.
		r := admin.Do("POST", "/v1/users", map[string]any{"action": "register", "email": "alice@acme.example",
			"password": "correct horse battery staple", "tenant_id": acme}, testsupport.Invalid())
		m := wantProblem(t, r, 400, "invalid")
		if !slices.Contains(fieldErrors(m), "password:no_digit") {
			t.Fatalf("errors: %v", fieldErrors(m))
		}
		alice = e.user(t, admin, map[string]any{"action": "register", "email": "Alice@Acme.example", "username": "alice",
			"first_name": "Alice", "last_name": "Archer", "phone": "+49 30 5550100", "lang": "de",
			"password": "Tangerine-Kayak41", "tenant_id": acme, "roles": []string{"tenant-admin"},
			"attributes": map[string]any{"team": "blue", "cost_center": 42}})
		if str(alice, "status") != "active" || alice["has_password"] != true || str(alice, "name") != "Alice Archer" ||
			alice["invitation"] != nil || str(alice, "email") != "Alice@Acme.example" {
			t.Fatalf("registered user: %v", alice)
		}
		ms := alice["memberships"].([]any)
		if len(ms) != 1 || str(ms[0].(map[string]any), "tenant_id") != acme || str(ms[0].(map[string]any), "tenant_name") != "Acme Cloud" {
			t.Fatalf("memberships: %v", ms)
		}
		bob = e.user(t, admin, map[string]any{"email": "bob@acme.example", "name": "Bob", "tenant_id": acme, "invite_ttl_seconds": 3600})
		inv, _ := bob["invitation"].(map[string]any)
		if str(bob, "status") != "invited" || bob["has_password"] != false || inv == nil || str(inv, "status") != "pending" {
			t.Fatalf("invited user: %v", bob)
		}
		exp, _ := time.Parse(time.RFC3339Nano, str(inv, "expires_at"))
		if want := testsupport.Epoch.Add(time.Hour); !exp.Equal(want) {
			t.Fatalf("invitation expires %v, want %v", exp, want)
		}
		mr := bob["memberships"].([]any)[0].(map[string]any)
		if roles := mr["roles"].([]any); len(roles) != 1 || roles[0] != "tenant-user" {
			t.Fatalf("default roles: %v", roles)
		}
		// A user and a new tenant in one call, as Gcore does.
		withTenant := e.user(t, admin, map[string]any{"action": "register", "email": "carol@initech.example",
			"password": "a long enough passphrase", "tenant": map[string]any{"name": "Initech", "products": map[string]any{"CLOUD": true}},
			"roles": []string{"tenant-admin"}})
		m0 := withTenant["memberships"].([]any)[0].(map[string]any)
		tid := str(m0, "tenant_id")
		if str(m0, "tenant_name") != "Initech" {
			t.Fatalf("inline tenant membership: %v", m0)
		}
		admin.Do("GET", "/v1/tenants/"+tid, nil).Want(t, 200)
	})

	t.Run("validation", func(t *testing.T) {
		r := admin.Do("POST", "/v1/users", "{\n  \"email\": \"x@y.example\",\n  \"name\": }", testsupport.Invalid())
		m := wantProblem(t, r, 400, "malformed")
		if !strings.Contains(str(m, "detail"), "line 3") {
			t.Fatalf("syntax error does not name the line: %s", str(m, "detail"))
		}
		m = wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "u@acme.example", "tenant_id": acme, "nickname": "u"}, testsupport.Invalid()), 400, "invalid")
		if !slices.Contains(fieldErrors(m), "nickname:unknown_field") {
			t.Fatalf("unknown field errors: %v", fieldErrors(m))
		}
		m = wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": 42}, testsupport.Invalid()), 400, "invalid")
		if !slices.Contains(fieldErrors(m), "email:type") {
			t.Fatalf("type errors: %v", fieldErrors(m))
		}
		big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
		wantProblem(t, admin.Do("POST", "/v1/tenants", big, testsupport.Invalid()), 413, "too_large")
		// Every operation that takes a body says so in the document.
		none := "01890000-0000-7000-8000-000000000000"
		for _, op := range [][2]string{{"PUT", "/v1/tenants/" + globex + "/members/" + none}, {"PUT", "/v1/products/defaults"},
			{"POST", "/v1/tenants/" + globex + "/resource-groups"}, {"POST", "/v1/api-keys"}, {"POST", "/v1/auth/login"},
			{"POST", "/v1/auth/password-reset"}, {"POST", "/v1/users/" + none + "/invitations"}} {
			wantProblem(t, admin.Do(op[0], op[1], big, testsupport.Invalid()), 413, "too_large")
		}
		wantProblem(t, admin.Do("POST", "/v1/users", "", testsupport.Invalid()), 400, "malformed")
		m = wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"action": "register", "email": "not-an-email",
			"password": "short", "lang": "fr", "phone": "call me", "tenant_id": globex}, testsupport.Invalid()), 400, "invalid")
		for _, want := range []string{"email:invalid", "password:too_short", "lang:invalid", "phone:invalid"} {
			if !slices.Contains(fieldErrors(m), want) {
				t.Errorf("missing %s in %v", want, fieldErrors(m))
			}
		}
		m = wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"action": "register", "email": "p@globex.example",
			"password": "password1234", "tenant_id": globex}), 400, "invalid")
		if !slices.Contains(fieldErrors(m), "password:too_common") {
			t.Fatalf("common password: %v", fieldErrors(m))
		}
		wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"action": "register", "email": "np@globex.example", "tenant_id": globex}), 400, "invalid")
		wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "pw@globex.example", "password": "a long enough passphrase", "tenant_id": globex}), 400, "invalid")
		m = wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "r@globex.example", "tenant_id": globex, "roles": []string{"overlord"}}, testsupport.Invalid()), 400, "role_invalid")
		if !slices.Contains(fieldErrors(m), "roles[0]:unknown") {
			t.Fatalf("role errors: %v", fieldErrors(m))
		}
		wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "nt@globex.example", "roles": []string{"tenant-user"}}), 400, "role_invalid")
		wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "both@globex.example", "tenant_id": globex, "tenant": map[string]any{"name": "X"}}), 400, "invalid")
		wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "a@globex.example", "action": "delete"}, testsupport.Invalid()), 400, "invalid")
	})

	t.Run("conflicts", func(t *testing.T) {
		m := wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "ALICE@acme.EXAMPLE", "tenant_id": globex}), 409, "conflict")
		if !slices.Contains(fieldErrors(m), "email:taken") {
			t.Fatalf("email conflict errors: %v", fieldErrors(m))
		}
		m = wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "alice2@acme.example", "username": "ALICE", "tenant_id": globex}), 409, "conflict")
		if !slices.Contains(fieldErrors(m), "username:taken") {
			t.Fatalf("username conflict errors: %v", fieldErrors(m))
		}
		wantProblem(t, admin.Do("PATCH", "/v1/users/"+str(bob, "id"), map[string]any{"email": "alice@acme.example"}), 409, "conflict")
		// Emails and usernames are typed at one login prompt: one user's
		// email is not another's username, either way round.
		m = wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "carol@globex.example", "username": "Alice@Acme.example", "tenant_id": globex}), 409, "conflict")
		if got := fieldErrors(m); !slices.Equal(got, []string{"username:taken"}) {
			t.Fatalf("username-as-email conflict errors: %v", got)
		}
		wantProblem(t, admin.Do("PATCH", "/v1/users/"+str(bob, "id"), map[string]any{"username": "alice@acme.example"}), 409, "conflict")
		dora := admin.Do("POST", "/v1/users", map[string]any{"email": "dora@globex.example", "username": "dora@old.example", "tenant_id": globex}).Want(t, 201).Map(t)
		m = wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "DORA@old.example", "tenant_id": globex}), 409, "conflict")
		if got := fieldErrors(m); !slices.Equal(got, []string{"email:taken"}) {
			t.Fatalf("email-as-username conflict errors: %v", got)
		}
		admin.Do("DELETE", "/v1/users/"+str(dora, "id"), nil).Want(t, 204)
		admin.Do("POST", "/v1/users", map[string]any{"email": "dora@old.example", "tenant_id": globex}).Want(t, 201)
	})

	t.Run("idempotency", func(t *testing.T) {
		body := map[string]any{"email": "idem@globex.example", "tenant_id": globex}
		first := admin.Do("POST", "/v1/users", body, testsupport.Header("Idempotency-Key", "create-idem-1")).Want(t, 201)
		again := admin.Do("POST", "/v1/users", body, testsupport.Header("Idempotency-Key", "create-idem-1")).Want(t, 201)
		if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
		}
		// Where the user is, as the first answer said.
		if loc := first.Header.Get("Location"); loc == "" || again.Header.Get("Location") != loc {
			t.Fatalf("replayed Location %q, first %q", again.Header.Get("Location"), loc)
		}
		var l struct{ Items []map[string]any }
		admin.Do("GET", "/v1/users?q=idem@", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 {
			t.Fatalf("idempotent retries made %d users", len(l.Items))
		}
		other := map[string]any{"email": "idem2@globex.example", "tenant_id": globex}
		wantProblem(t, admin.Do("POST", "/v1/users", other, testsupport.Header("Idempotency-Key", "create-idem-1")), 422, "idempotency_mismatch")
		// An answer that is an error is the first answer too.
		bad := map[string]any{"email": "alice@acme.example", "tenant_id": globex}
		wantProblem(t, admin.Do("POST", "/v1/users", bad, testsupport.Header("Idempotency-Key", "create-idem-2")), 409, "conflict")
		wantProblem(t, admin.Do("POST", "/v1/users", bad, testsupport.Header("Idempotency-Key", "create-idem-2")), 409, "conflict")
		// Keys are per caller: another caller may reuse the string.
		other2, _, _ := e.key(t, admin, map[string]any{"name": "automation", "roles": []string{"provider-admin"}, "service": true})
		other2.Do("POST", "/v1/users", other, testsupport.Header("Idempotency-Key", "create-idem-1")).Want(t, 201)
		// So are they per credential of one user: the admin's read-only
		// key is not answered with what the admin's own key did.
		reader, _, _ := e.key(t, admin, map[string]any{"name": "admin reads", "roles": []string{"provider-viewer"}})
		wantProblem(t, reader.Do("POST", "/v1/users", body, testsupport.Header("Idempotency-Key", "create-idem-1")), 403, "forbidden")
		// An answer that holds a secret is not kept: a retry is told that
		// the first succeeded, and the database never held the key.
		made := admin.Do("POST", "/v1/api-keys", map[string]any{"name": "once"}, testsupport.Header("Idempotency-Key", "key-idem-1")).Want(t, 201).Map(t)
		m := wantProblem(t, admin.Do("POST", "/v1/api-keys", map[string]any{"name": "once"}, testsupport.Header("Idempotency-Key", "key-idem-1")),
			409, "idempotency_withheld")
		if strings.Contains(str(m, "detail"), str(made, "key")) || !strings.Contains(str(m, "detail"), "201") {
			t.Fatalf("withheld answer: %v", m)
		}
		var keys struct{ Items []map[string]any }
		admin.Do("GET", "/v1/api-keys", nil).Want(t, 200).JSON(t, &keys)
		checked := false
		for _, k := range keys.Items {
			if str(k, "name") == "once" && str(k, "id") != str(made, "id") {
				t.Fatalf("the retry made a second key: %v", k)
			}
			if str(k, "name") != "bootstrap" {
				continue
			}
			rec, err := e.Store.GetIdempotency(context.Background(), "credential:"+str(k, "id"), "key-idem-1")
			if err != nil || !rec.Withheld || len(rec.Body) != 0 {
				t.Fatalf("the stored record of a key's creation: %+v, %v", rec, err)
			}
			checked = true
		}
		if !checked {
			t.Fatal("the admin's key is not listed")
		}
		wantProblem(t, admin.Do("POST", "/v1/tenants", map[string]any{"name": "T"}, testsupport.Header("Idempotency-Key", strings.Repeat("k", 300)), testsupport.Invalid()), 400, "invalid")
	})

	t.Run("invitations, outbox and resets", func(t *testing.T) {
		var l struct {
			Items []map[string]any `json:"items"`
		}
		admin.Do("GET", "/v1/invitations?tenant_id="+acme+"&status=pending", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 || str(l.Items[0], "user_id") != str(bob, "id") {
			t.Fatalf("pending invitations in acme: %v", l.Items)
		}
		first := str(l.Items[0], "id")
		again := admin.Do("POST", "/v1/users/"+str(bob, "id")+"/invitations", map[string]any{"invite_ttl_seconds": 7200}).Want(t, 201).Map(t)
		if str(again, "id") == first || str(again, "status") != "pending" {
			t.Fatalf("resent invitation: %v", again)
		}
		admin.Do("GET", "/v1/invitations?tenant_id="+acme+"&status=revoked", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 || str(l.Items[0], "id") != first {
			t.Fatalf("the first invitation is not revoked: %v", l.Items)
		}
		wantProblem(t, admin.Do("POST", "/v1/users/"+str(alice, "id")+"/invitations", nil), 409, "already_active")
		admin.Do("DELETE", "/v1/invitations/"+str(again, "id"), nil).Want(t, 204)
		wantProblem(t, admin.Do("DELETE", "/v1/invitations/"+str(again, "id"), nil), 409, "conflict")
		// Bob gets a live invitation again for the tests that follow.
		admin.Do("POST", "/v1/users/"+str(bob, "id")+"/invitations", nil).Want(t, 201)

		r := e.anon.Do("POST", "/v1/auth/password-reset", map[string]any{"email": "alice@acme.example"}).Want(t, 202)
		unknown := e.anon.Do("POST", "/v1/auth/password-reset", map[string]any{"email": "nobody@acme.example"}).Want(t, 202)
		if r.String() != unknown.String() {
			t.Fatalf("reset answers differ: %s vs %s", r.Body, unknown.Body)
		}
		e.Service.Drain() // the email is made after the answer
		out := admin.Do("GET", "/v1/outbox?status=pending&limit=1000", nil).Want(t, 200)
		if strings.Contains(string(out.Body), "/invite/") || strings.Contains(string(out.Body), "/reset/") {
			t.Fatalf("the outbox listing shows links: %s", out.Body)
		}
		var ob struct{ Items []map[string]any }
		out.JSON(t, &ob)
		kinds := map[string]int{}
		for _, m := range ob.Items {
			kinds[str(m, "kind")+" "+str(m, "recipient")]++
		}
		if kinds["invitation bob@acme.example"] != 3 || kinds["password_reset Alice@Acme.example"] != 1 || kinds["password_reset nobody@acme.example"] != 0 {
			t.Fatalf("outbox: %v", kinds)
		}
	})

	t.Run("list and filter users", func(t *testing.T) {
		var l struct {
			Items      []map[string]any `json:"items"`
			NextCursor *string          `json:"next_cursor"`
		}
		admin.Do("GET", "/v1/users?tenant_id="+acme, nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 2 {
			t.Fatalf("acme has %d users", len(l.Items))
		}
		admin.Do("GET", "/v1/users?status=invited&tenant_id="+acme, nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 || str(l.Items[0], "id") != str(bob, "id") {
			t.Fatalf("invited in acme: %v", l.Items)
		}
		admin.Do("GET", "/v1/users?role=tenant-admin", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 2 {
			t.Fatalf("tenant admins: %d", len(l.Items))
		}
		admin.Do("GET", "/v1/users?q=ALI", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 || str(l.Items[0], "id") != str(alice, "id") {
			t.Fatalf("prefix ALI: %v", l.Items)
		}
		// Blanks around a search are not part of it, and a blank search
		// is no search.
		admin.Do("GET", "/v1/users?q=%20ali%20", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 || str(l.Items[0], "id") != str(alice, "id") {
			t.Fatalf("prefix ' ali ': %v", l.Items)
		}
		everyone := len(admin.Do("GET", "/v1/users?limit=1000", nil).Want(t, 200).Map(t)["items"].([]any))
		if n := len(admin.Do("GET", "/v1/users?limit=1000&q=%20", nil).Want(t, 200).Map(t)["items"].([]any)); n != everyone {
			t.Fatalf("a blank search listed %d users of %d", n, everyone)
		}
		if n := len(admin.Do("GET", "/v1/tenants?q=%20acme", nil).Want(t, 200).Map(t)["items"].([]any)); n != 1 {
			t.Fatalf("tenant search ' acme' found %d", n)
		}
		// Text no database column can hold is refused, on either database
		// alike; so are pages of no items.
		for _, path := range []string{"/v1/users?q=a%00", "/v1/users?q=%FF", "/v1/tenants?q=a%00", "/v1/tenants?q=%C3"} {
			m := wantProblem(t, admin.Do("GET", path, nil, testsupport.Invalid()), 400, "invalid")
			if got := fieldErrors(m); fmt.Sprint(got) != "[q:invalid]" {
				t.Fatalf("%s: %v", path, got)
			}
		}
		for _, path := range []string{"/v1/invitations?limit=0", "/v1/outbox?limit=-5", "/v1/users?limit=0", "/v1/tenants?limit=0"} {
			wantProblem(t, admin.Do("GET", path, nil, testsupport.Invalid()), 400, "invalid")
		}
		wantProblem(t, admin.Do("GET", "/v1/api-keys?tenant_id=garbage", nil, testsupport.Invalid()), 400, "invalid")
		// Walk everyone two at a time.
		seen := map[string]bool{}
		cursor := ""
		for {
			admin.Do("GET", "/v1/users?limit=2&cursor="+cursor, nil).Want(t, 200).JSON(t, &l)
			for _, it := range l.Items {
				if seen[str(it, "id")] {
					t.Fatalf("user %s listed twice", str(it, "id"))
				}
				seen[str(it, "id")] = true
			}
			if l.NextCursor == nil {
				break
			}
			cursor = *l.NextCursor
		}
		var all struct{ Items []map[string]any }
		admin.Do("GET", "/v1/users?limit=1000", nil).Want(t, 200).JSON(t, &all)
		if len(seen) != len(all.Items) || len(seen) < 5 {
			t.Fatalf("cursor walk saw %d users, one page shows %d", len(seen), len(all.Items))
		}
		// A search pages in the order of the matched text, each user once.
		var walked []string
		cursor = ""
		for {
			admin.Do("GET", "/v1/users?q=a&limit=1&cursor="+cursor, nil).Want(t, 200).JSON(t, &l)
			for _, it := range l.Items {
				walked = append(walked, str(it, "email"))
			}
			if l.NextCursor == nil {
				break
			}
			cursor = *l.NextCursor
		}
		var whole struct{ Items []map[string]any }
		admin.Do("GET", "/v1/users?q=a&limit=100", nil).Want(t, 200).JSON(t, &whole)
		if len(walked) != len(whole.Items) || len(walked) < 2 {
			t.Fatalf("search walk %v, one page %d", walked, len(whole.Items))
		}
		for i, it := range whole.Items {
			if str(it, "email") != walked[i] {
				t.Fatalf("search walk %v differs from one page at %d", walked, i)
			}
		}
		// A listing's cursor is not a search's.
		admin.Do("GET", "/v1/users?limit=1", nil).Want(t, 200).JSON(t, &l)
		wantProblem(t, admin.Do("GET", "/v1/users?q=a&cursor="+*l.NextCursor, nil), 400, "invalid")
		wantProblem(t, admin.Do("GET", "/v1/users?limit=1001", nil, testsupport.Invalid()), 400, "invalid")
		wantProblem(t, admin.Do("GET", "/v1/users?cursor=bogus", nil), 400, "invalid")
		wantProblem(t, admin.Do("GET", "/v1/users?status=sleeping", nil), 400, "invalid")
	})

	t.Run("get, patch and delete users", func(t *testing.T) {
		id := str(alice, "id")
		got := admin.Do("GET", "/v1/users/"+id, nil).Want(t, 200).Map(t)
		if str(got, "email") != "Alice@Acme.example" || got["attributes"].(map[string]any)["team"] != "blue" {
			t.Fatalf("get user: %v", got)
		}
		p := admin.Do("PATCH", "/v1/users/"+id, map[string]any{"phone": nil, "lang": "en",
			"attributes": map[string]any{"team": nil, "floor": 3}}).Want(t, 200).Map(t)
		attrs := p["attributes"].(map[string]any)
		if p["phone"] != nil || str(p, "lang") != "en" || attrs["team"] != nil || attrs["floor"] != float64(3) || attrs["cost_center"] != float64(42) {
			t.Fatalf("patched user: %v", p)
		}
		// Numbers in attributes keep their digits: 2^53 + 1 is no float64.
		exact := admin.Do("PATCH", "/v1/users/"+id, `{"attributes": {"account": 9007199254740993, "ratio": 0.1}}`).Want(t, 200)
		if !strings.Contains(string(exact.Body), `"account":9007199254740993`) || !strings.Contains(string(exact.Body), `"ratio":0.1`) {
			t.Fatalf("attributes after a PATCH with a large integer: %s", exact.Body)
		}
		if got := admin.Do("GET", "/v1/users/"+id, nil).Want(t, 200); !strings.Contains(string(got.Body), `"account":9007199254740993`) {
			t.Fatalf("attributes read back: %s", got.Body)
		}
		// A number no double holds is refused, on either database alike.
		wantProblem(t, admin.Do("PATCH", "/v1/users/"+id, `{"attributes": {"huge": 1e1000000}}`), 400, "invalid")
		// Ids are lower case, on either database alike.
		wantProblem(t, admin.Do("GET", "/v1/users/"+strings.ToUpper(id), nil), 404, "not_found")
		// A null language is the default one, never none.
		admin.Do("PATCH", "/v1/users/"+id, map[string]any{"lang": "de"}).Want(t, 200)
		if p = admin.Do("PATCH", "/v1/users/"+id, map[string]any{"lang": nil}).Want(t, 200).Map(t); str(p, "lang") != "en" {
			t.Fatalf("lang after null: %v", p["lang"])
		}
		p = admin.Do("PATCH", "/v1/users/"+id, map[string]any{"attributes": nil}).Want(t, 200).Map(t)
		if len(p["attributes"].(map[string]any)) != 0 {
			t.Fatalf("attributes after null: %v", p["attributes"])
		}
		// A name made of the first and last names follows them; one given
		// on its own stays.
		if p = admin.Do("PATCH", "/v1/users/"+id, map[string]any{"first_name": "Alicia"}).Want(t, 200).Map(t); str(p, "name") != "Alicia Archer" {
			t.Fatalf("derived name after a new first name: %v", p["name"])
		}
		admin.Do("PATCH", "/v1/users/"+id, map[string]any{"name": "Dr. A. Archer (Ops)"}).Want(t, 200)
		if p = admin.Do("PATCH", "/v1/users/"+id, map[string]any{"first_name": "Alice"}).Want(t, 200).Map(t); str(p, "name") != "Dr. A. Archer (Ops)" {
			t.Fatalf("a given name after a new first name: %v", p["name"])
		}
		// A key given twice means its last value, null or not.
		if p = admin.Do("PATCH", "/v1/users/"+id, `{"phone":null,"phone":"+1 555 0199"}`).Want(t, 200).Map(t); str(p, "phone") != "+1 555 0199" {
			t.Fatalf("phone after null then a value: %v", p["phone"])
		}
		if p = admin.Do("PATCH", "/v1/users/"+id, `{"phone":"+1 555 0100","phone":null}`).Want(t, 200).Map(t); p["phone"] != nil {
			t.Fatalf("phone after a value then null: %v", p["phone"])
		}
		// A NUL no database column holds is refused alike on both.
		for _, body := range []string{`{"attributes":{"a":["b\u0000"]}}`, `{"attributes":{"\u0000":1}}`} {
			wantProblem(t, admin.Do("PATCH", "/v1/users/"+id, body), 400, "invalid")
		}
		p = admin.Do("PATCH", "/v1/users/"+id, map[string]any{"status": "disabled"}).Want(t, 200).Map(t)
		if str(p, "status") != "disabled" {
			t.Fatalf("disable: %v", p)
		}
		admin.Do("PATCH", "/v1/users/"+id, map[string]any{"status": "active"}).Want(t, 200)
		wantProblem(t, admin.Do("PATCH", "/v1/users/"+id, map[string]any{"status": "deleted"}, testsupport.Invalid()), 400, "invalid")
		wantProblem(t, admin.Do("PATCH", "/v1/users/"+id, map[string]any{"password": "short"}), 400, "invalid")

		victim := e.user(t, admin, map[string]any{"email": "leaving@globex.example", "tenant_id": globex})
		admin.Do("DELETE", "/v1/users/"+str(victim, "id"), nil).Want(t, 204)
		gone := admin.Do("GET", "/v1/users/"+str(victim, "id"), nil).Want(t, 200).Map(t)
		if str(gone, "status") != "deleted" || gone["deleted_at"] == nil {
			t.Fatalf("deleted user: %v", gone)
		}
		var l struct{ Items []map[string]any }
		admin.Do("GET", "/v1/users?q=leaving", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 0 {
			t.Fatal("deleted user still listed by default")
		}
		admin.Do("GET", "/v1/users?q=leaving&deleted=only", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 {
			t.Fatal("deleted user not listed with deleted=only")
		}
		wantProblem(t, admin.Do("DELETE", "/v1/users/"+str(victim, "id"), nil), 404, "not_found")
		// Its email is free again.
		e.user(t, admin, map[string]any{"email": "leaving@globex.example", "tenant_id": globex})
		wantProblem(t, admin.Do("GET", "/v1/users/not-a-uuid", nil), 404, "not_found")
		// The built-in admin cannot be deleted.
		var me map[string]any
		me = admin.Do("GET", "/v1/me", nil).Want(t, 200).Map(t)
		if str(me, "username") != "admin" || me["builtin"] != true {
			t.Fatalf("me: %v", me)
		}
		wantProblem(t, admin.Do("DELETE", "/v1/users/"+str(me, "id"), nil), 403, "forbidden")
	})

	var ops string
	t.Run("members and resource groups", func(t *testing.T) {
		g := admin.Do("POST", "/v1/tenants/"+acme+"/resource-groups", map[string]any{"name": "Operations", "description": "on call"}).Want(t, 201).Map(t)
		ops = str(g, "id")
		wantProblem(t, admin.Do("POST", "/v1/tenants/"+acme+"/resource-groups", map[string]any{"name": "operations"}), 409, "conflict")
		admin.Do("GET", "/v1/tenants/"+acme+"/resource-groups", nil).Want(t, 200)
		admin.Do("PATCH", "/v1/tenants/"+acme+"/resource-groups/"+ops, map[string]any{"description": "24/7"}).Want(t, 200)
		admin.Do("GET", "/v1/tenants/"+acme+"/resource-groups/"+ops, nil).Want(t, 200)
		wantProblem(t, admin.Do("GET", "/v1/tenants/"+globex+"/resource-groups/"+ops, nil), 404, "not_found")

		dan := e.user(t, admin, map[string]any{"email": "dan@acme.example", "tenant_id": acme, "resource_group_ids": []string{ops}})
		mr := dan["memberships"].([]any)[0].(map[string]any)
		if gids := mr["resource_group_ids"].([]any); len(gids) != 1 || gids[0] != ops {
			t.Fatalf("created with group: %v", mr)
		}
		m := wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "eve@globex.example", "tenant_id": globex,
			"resource_group_ids": []string{ops}}), 400, "invalid")
		if !slices.Contains(fieldErrors(m), "resource_group_ids[0]:not_found") {
			t.Fatalf("group of another tenant: %v", fieldErrors(m))
		}
		admin.Do("PUT", "/v1/tenants/"+acme+"/resource-groups/"+ops+"/members/"+str(bob, "id"), nil).Want(t, 204)
		var gm struct{ Items []map[string]string }
		admin.Do("GET", "/v1/tenants/"+acme+"/resource-groups/"+ops+"/members", nil).Want(t, 200).JSON(t, &gm)
		if len(gm.Items) != 2 {
			t.Fatalf("group members: %v", gm.Items)
		}
		// Only members of the tenant can join its groups.
		outsider := e.user(t, admin, map[string]any{"email": "outsider@globex.example", "tenant_id": globex})
		wantProblem(t, admin.Do("PUT", "/v1/tenants/"+acme+"/resource-groups/"+ops+"/members/"+str(outsider, "id"), nil), 400, "invalid")

		// Membership: add bob to globex as viewer, change, remove.
		u := admin.Do("PUT", "/v1/tenants/"+globex+"/members/"+str(bob, "id"), map[string]any{"roles": []string{"viewer"}}).Want(t, 200).Map(t)
		if len(u["memberships"].([]any)) != 2 {
			t.Fatalf("memberships after put: %v", u["memberships"])
		}
		admin.Do("PUT", "/v1/tenants/"+globex+"/members/"+str(bob, "id"), map[string]any{"roles": []string{"engineer", "viewer"}}).Want(t, 200)
		wantProblem(t, admin.Do("PUT", "/v1/tenants/"+globex+"/members/"+str(bob, "id"), map[string]any{"roles": []string{"provider-admin"}}), 400, "role_invalid")
		wantProblem(t, admin.Do("PUT", "/v1/tenants/"+globex+"/members/"+str(bob, "id"), map[string]any{"roles": []string{}}), 400, "role_invalid")
		admin.Do("DELETE", "/v1/tenants/"+globex+"/members/"+str(bob, "id"), nil).Want(t, 204)
		wantProblem(t, admin.Do("DELETE", "/v1/tenants/"+globex+"/members/"+str(bob, "id"), nil), 404, "not_found")

		admin.Do("DELETE", "/v1/tenants/"+acme+"/resource-groups/"+ops+"/members/"+str(dan, "id"), nil).Want(t, 204)
		tmp := admin.Do("POST", "/v1/tenants/"+acme+"/resource-groups", map[string]any{"name": "Temporary"}).Want(t, 201).Map(t)
		admin.Do("DELETE", "/v1/tenants/"+acme+"/resource-groups/"+str(tmp, "id"), nil).Want(t, 204)
		wantProblem(t, admin.Do("GET", "/v1/tenants/"+acme+"/resource-groups/"+str(tmp, "id"), nil), 404, "not_found")
	})

	t.Run("import", func(t *testing.T) {
		// The import's own test (import_e2e_test.go) is thorough; this
		// checks its exchange against the served document.
		body := `{"email": "imported@globex.example", "tenant_id": "` + globex + `"}` + "\n" + `{"email": "bad"}` + "\n"
		r := admin.Do("POST", "/v1/users/import", body, testsupport.ContentType("application/x-ndjson")).Want(t, 200)
		lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `"created"`) || !strings.Contains(lines[1], `"error"`) {
			t.Fatalf("import answer: %s", r.Body)
		}
	})

	t.Run("roles", func(t *testing.T) {
		var l struct{ Items []map[string]any }
		admin.Do("GET", "/v1/roles", nil).Want(t, 200).JSON(t, &l)
		var names []string
		for _, r := range l.Items {
			names = append(names, str(r, "name"))
		}
		for _, want := range []string{"provider-admin", "tenant-admin", "tenant-user", "engineer", "viewer", "purge-only"} {
			if !slices.Contains(names, want) {
				t.Errorf("catalogue lacks %s", want)
			}
		}
	})

	t.Run("authorisation", func(t *testing.T) {
		// Alice is tenant-admin of Acme; she logs in and works with a session.
		tok := admin.Do("POST", "/v1/auth/login", map[string]any{"email": "alice@acme.example", "password": "Tangerine-Kayak41"}).Want(t, 200).Map(t)
		aliceC := e.anon.Bearer(str(tok, "token"))
		aliceC.Do("GET", "/v1/me", nil).Want(t, 200)

		// In her tenant she creates users and grants roles up to her own.
		aliceC.Do("POST", "/v1/users", map[string]any{"email": "frank@acme.example", "tenant_id": acme, "roles": []string{"tenant-admin"}}).Want(t, 201)
		m := wantProblem(t, aliceC.Do("POST", "/v1/users", map[string]any{"email": "mallory@acme.example", "tenant_id": acme,
			"roles": []string{"tenant-user", "provider-admin"}}), 403, "role_forbidden")
		if !strings.Contains(str(m, "detail"), "provider-admin") {
			t.Fatalf("the refusal does not name the role: %v", m)
		}
		wantProblem(t, aliceC.Do("PUT", "/v1/tenants/"+acme+"/members/"+str(bob, "id"), map[string]any{"roles": []string{"provider-admin"}}), 400, "role_invalid")
		// Outside it, nothing.
		wantProblem(t, aliceC.Do("POST", "/v1/users", map[string]any{"email": "x@globex.example", "tenant_id": globex}), 403, "forbidden")
		wantProblem(t, aliceC.Do("GET", "/v1/tenants/"+globex, nil), 404, "not_found")
		wantProblem(t, aliceC.Do("GET", "/v1/users?tenant_id="+globex, nil), 403, "forbidden")
		wantProblem(t, aliceC.Do("POST", "/v1/tenants", map[string]any{"name": "Mine"}), 403, "forbidden")
		wantProblem(t, aliceC.Do("PUT", "/v1/products/defaults", map[string]any{"CDN": true}), 403, "forbidden")
		wantProblem(t, aliceC.Do("PATCH", "/v1/tenants/"+acme, map[string]any{"is_test": false}), 403, "forbidden")
		aliceC.Do("PATCH", "/v1/tenants/"+acme, map[string]any{"email": "admin@acme.example"}).Want(t, 200)
		var l struct{ Items []map[string]any }
		aliceC.Do("GET", "/v1/users?limit=1000", nil).Want(t, 200).JSON(t, &l)
		for _, u := range l.Items {
			in := false
			for _, mm := range u["memberships"].([]any) {
				in = in || str(mm.(map[string]any), "tenant_id") == acme
			}
			if !in {
				t.Fatalf("tenant admin sees a user outside her tenant: %v", u)
			}
		}
		// A user who is also in another tenant is not hers to change.
		shared := e.user(t, admin, map[string]any{"email": "shared@acme.example", "tenant_id": acme})
		admin.Do("PUT", "/v1/tenants/"+globex+"/members/"+str(shared, "id"), map[string]any{"roles": []string{"viewer"}}).Want(t, 200)
		wantProblem(t, aliceC.Do("PATCH", "/v1/users/"+str(shared, "id"), map[string]any{"email": "stolen@evil.example"}), 403, "forbidden")
		wantProblem(t, aliceC.Do("DELETE", "/v1/users/"+str(shared, "id"), nil), 403, "forbidden")
		// Globex's admin sees none of Acme.
		g := e.user(t, admin, map[string]any{"action": "register", "email": "gina@globex.example", "password": "globex admin passphrase",
			"tenant_id": globex, "roles": []string{"tenant-admin"}})
		gtok := admin.Do("POST", "/v1/auth/login", map[string]any{"email": "gina@globex.example", "password": "globex admin passphrase"}).Want(t, 200).Map(t)
		gina := e.anon.Bearer(str(gtok, "token"))
		wantProblem(t, gina.Do("GET", "/v1/users/"+str(alice, "id"), nil), 404, "not_found")
		wantProblem(t, gina.Do("PATCH", "/v1/users/"+str(bob, "id"), map[string]any{"name": "pwned"}), 404, "not_found")
		wantProblem(t, gina.Do("POST", "/v1/tenants/"+acme+"/resource-groups", map[string]any{"name": "x"}), 404, "not_found")
		wantProblem(t, gina.Do("PUT", "/v1/tenants/"+acme+"/members/"+str(g, "id"), map[string]any{"roles": []string{"tenant-admin"}}), 404, "not_found")
		// Nor can Acme's admin pull into Acme a user she cannot see: not
		// Globex's, nor one left in no tenant, whom she would then manage
		// alone (and could give a password she knows).
		wantProblem(t, aliceC.Do("PUT", "/v1/tenants/"+acme+"/members/"+str(g, "id"), map[string]any{"roles": []string{"viewer"}}), 404, "not_found")
		loner := e.user(t, admin, map[string]any{"email": "loner@globex.example", "tenant_id": globex})
		admin.Do("DELETE", "/v1/tenants/"+globex+"/members/"+str(loner, "id"), nil).Want(t, 204)
		wantProblem(t, aliceC.Do("PUT", "/v1/tenants/"+acme+"/members/"+str(loner, "id"), map[string]any{"roles": []string{"viewer"}}), 404, "not_found")
		wantProblem(t, aliceC.Do("PATCH", "/v1/users/"+str(loner, "id"), map[string]any{"name": "mine now"}), 404, "not_found")
		// A tenant user may read but not manage, and may change only their own profile.
		_, _, _ = e.key, gina, g
		readerKey, _, _ := e.key(t, admin, map[string]any{"name": "acme reader", "tenant_id": acme, "roles": []string{"viewer"}, "service": true})
		readerKey.Do("GET", "/v1/users?tenant_id="+acme, nil).Want(t, 200)
		// A reader of Acme sees a user's place in Acme, not in Globex.
		onlyAcme := func(u map[string]any) {
			t.Helper()
			ms := u["memberships"].([]any)
			if len(ms) != 1 || str(ms[0].(map[string]any), "tenant_id") != acme {
				t.Fatalf("a reader of Acme is shown the memberships %v", ms)
			}
		}
		onlyAcme(readerKey.Do("GET", "/v1/users/"+str(shared, "id"), nil).Want(t, 200).Map(t))
		for _, u := range readerKey.Do("GET", "/v1/users?q=shared@", nil).Want(t, 200).Map(t)["items"].([]any) {
			onlyAcme(u.(map[string]any))
		}
		if ms := admin.Do("GET", "/v1/users/"+str(shared, "id"), nil).Want(t, 200).Map(t)["memberships"].([]any); len(ms) != 2 {
			t.Fatalf("the provider administrator is shown %v", ms)
		}
		wantProblem(t, readerKey.Do("POST", "/v1/users", map[string]any{"email": "r2@acme.example", "tenant_id": acme}), 403, "forbidden")
		wantProblem(t, readerKey.Do("PATCH", "/v1/users/"+str(bob, "id"), map[string]any{"name": "x"}), 403, "forbidden")
		aliceC.Do("PATCH", "/v1/users/"+str(alice, "id"), map[string]any{"name": "Alice A."}).Want(t, 200)

		// Credentials: none, garbage, wrong scheme.
		r := wantProblem(t, e.anon.Do("GET", "/v1/users", nil), 401, "unauthenticated")
		_ = r
		if h := e.anon.Do("GET", "/v1/users", nil).Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
			t.Fatalf("WWW-Authenticate = %q", h)
		}
		wantProblem(t, e.anon.Bearer("rk_nonsense").Do("GET", "/v1/users", nil), 401, "unauthenticated")
		wantProblem(t, e.anon.With("Authorization", "Basic "+testsupport.AdminKey).Do("GET", "/v1/users", nil), 401, "unauthenticated")

		// Logout ends the session.
		aliceC.Do("POST", "/v1/auth/logout", nil).Want(t, 204)
		wantProblem(t, aliceC.Do("GET", "/v1/me", nil), 401, "unauthenticated")
		wantProblem(t, e.anon.Do("POST", "/v1/auth/login", map[string]any{"email": "alice@acme.example", "password": "wrong password here"}), 401, "unauthenticated")
	})

	t.Run("api keys", func(t *testing.T) {
		r := admin.Do("POST", "/v1/api-keys", map[string]any{"name": "ci", "roles": []string{"provider-viewer"}}).Want(t, 201)
		k := r.Map(t)
		secret := str(k, "key")
		if !strings.HasPrefix(secret, "rk_") || !strings.HasPrefix(secret, str(k, "prefix")) || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("created key: %s", r.Body)
		}
		viewer := e.anon.Bearer(secret)
		viewer.Do("GET", "/v1/users", nil).Want(t, 200)
		wantProblem(t, viewer.Do("POST", "/v1/tenants", map[string]any{"name": "nope"}), 403, "forbidden")
		// Listing never shows secrets.
		l := admin.Do("GET", "/v1/api-keys", nil).Want(t, 200)
		if strings.Contains(string(l.Body), secret) || strings.Contains(string(l.Body), `"key"`) {
			t.Fatalf("key listing leaks a secret: %s", l.Body)
		}
		// Revoked keys stop working.
		admin.Do("DELETE", "/v1/api-keys/"+str(k, "id"), nil).Want(t, 204)
		wantProblem(t, viewer.Do("GET", "/v1/users", nil), 401, "unauthenticated")
		wantProblem(t, admin.Do("DELETE", "/v1/api-keys/"+str(k, "id"), nil), 404, "not_found")
		// Expired keys stop working.
		exp := testsupport.Epoch.Add(time.Hour).Format(time.RFC3339)
		short, _, _ := e.key(t, admin, map[string]any{"name": "short-lived", "roles": []string{"provider-viewer"}, "expires_at": exp})
		short.Do("GET", "/v1/users", nil).Want(t, 200)
		e.ManualClock().Advance(2 * time.Hour)
		wantProblem(t, short.Do("GET", "/v1/users", nil), 401, "unauthenticated")
		wantProblem(t, admin.Do("POST", "/v1/api-keys", map[string]any{"name": "past", "expires_at": exp}), 400, "invalid")
		// Tenant service keys act in their tenant only and cannot carry provider roles.
		tk, _, _ := e.key(t, admin, map[string]any{"name": "acme automation", "tenant_id": acme, "roles": []string{"tenant-admin"}, "service": true})
		tk.Do("POST", "/v1/users", map[string]any{"email": "robot-made@acme.example", "tenant_id": acme}).Want(t, 201)
		wantProblem(t, tk.Do("POST", "/v1/users", map[string]any{"email": "robot-made@globex.example", "tenant_id": globex}), 403, "forbidden")
		wantProblem(t, tk.Do("POST", "/v1/api-keys", map[string]any{"name": "escalate", "roles": []string{"provider-admin"}, "service": true}), 403, "forbidden")
		wantProblem(t, admin.Do("POST", "/v1/api-keys", map[string]any{"name": "mixed", "tenant_id": acme, "roles": []string{"provider-admin"}, "service": true}), 400, "role_invalid")
		var keys struct{ Items []map[string]any }
		tk.Do("GET", "/v1/api-keys?tenant_id="+acme, nil).Want(t, 200).JSON(t, &keys)
		if len(keys.Items) < 2 {
			t.Fatalf("acme keys: %v", keys.Items)
		}
		wantProblem(t, tk.Do("GET", "/v1/api-keys?tenant_id="+globex, nil), 403, "forbidden")
		// A user's own key cannot carry a role the user lacks.
		tok := admin.Do("POST", "/v1/auth/login", map[string]any{"username": "alice", "password": "Tangerine-Kayak41"}).Want(t, 200).Map(t)
		aliceC := e.anon.Bearer(str(tok, "token"))
		wantProblem(t, aliceC.Do("POST", "/v1/api-keys", map[string]any{"name": "mine", "tenant_id": acme, "roles": []string{"engineer"}}), 403, "role_forbidden")
		own, _, _ := e.key(t, aliceC, map[string]any{"name": "mine", "tenant_id": acme})
		own.Do("GET", "/v1/users?tenant_id="+acme, nil).Want(t, 200)
		// When the owner loses the role, so does the key.
		admin.Do("PUT", "/v1/tenants/"+acme+"/members/"+str(alice, "id"), map[string]any{"roles": []string{"viewer"}}).Want(t, 200)
		wantProblem(t, own.Do("POST", "/v1/users", map[string]any{"email": "late@acme.example", "tenant_id": acme}), 403, "forbidden")
		admin.Do("PUT", "/v1/tenants/"+acme+"/members/"+str(alice, "id"), map[string]any{"roles": []string{"tenant-admin"}}).Want(t, 200)
		// Disabling the owner disables the key.
		admin.Do("PATCH", "/v1/users/"+str(alice, "id"), map[string]any{"status": "disabled"}).Want(t, 200)
		wantProblem(t, own.Do("GET", "/v1/me", nil), 401, "unauthenticated")
		admin.Do("PATCH", "/v1/users/"+str(alice, "id"), map[string]any{"status": "active"}).Want(t, 200)
		own.Do("GET", "/v1/me", nil).Want(t, 200)
		// Her sessions ended with the disable and stay ended.
		wantProblem(t, aliceC.Do("GET", "/v1/me", nil), 401, "unauthenticated")
		tok = admin.Do("POST", "/v1/auth/login", map[string]any{"username": "alice", "password": "Tangerine-Kayak41"}).Want(t, 200).Map(t)
		aliceC = e.anon.Bearer(str(tok, "token"))

		// A key made for one tenant acts only there, though it names no
		// roles and its owner administers another tenant too.
		admin.Do("PUT", "/v1/tenants/"+globex+"/members/"+str(alice, "id"), map[string]any{"roles": []string{"tenant-admin"}}).Want(t, 200)
		defer func() { admin.Do("DELETE", "/v1/tenants/"+globex+"/members/"+str(alice, "id"), nil).Want(t, 204) }()
		aliceC.Do("POST", "/v1/users", map[string]any{"email": "by-session@globex.example", "tenant_id": globex}).Want(t, 201)
		wantProblem(t, own.Do("POST", "/v1/users", map[string]any{"email": "by-acme-key@globex.example", "tenant_id": globex}), 403, "forbidden")
		wantProblem(t, own.Do("GET", "/v1/tenants/"+globex, nil), 404, "not_found")

		// A restricted key makes keys within its own bounds only: without
		// roles the new key gets the caller's, never the owner's all.
		admin.Do("PUT", "/v1/tenants/"+acme+"/members/"+str(alice, "id"), map[string]any{"roles": []string{"tenant-admin", "viewer"}}).Want(t, 200)
		defer func() {
			admin.Do("PUT", "/v1/tenants/"+acme+"/members/"+str(alice, "id"), map[string]any{"roles": []string{"tenant-admin"}}).Want(t, 200)
		}()
		ro, _, _ := e.key(t, aliceC, map[string]any{"name": "read only", "tenant_id": acme, "roles": []string{"viewer"}})
		wantProblem(t, ro.Do("POST", "/v1/users", map[string]any{"email": "by-ro@acme.example", "tenant_id": acme}), 403, "forbidden")
		wantProblem(t, ro.Do("POST", "/v1/api-keys", map[string]any{"name": "everything"}), 403, "forbidden")
		wantProblem(t, ro.Do("POST", "/v1/api-keys", map[string]any{"name": "admin", "tenant_id": acme, "roles": []string{"tenant-admin"}}), 403, "role_forbidden")
		wantProblem(t, ro.Do("POST", "/v1/api-keys", map[string]any{"name": "elsewhere", "tenant_id": globex}), 400, "invalid")
		r = ro.Do("POST", "/v1/api-keys", map[string]any{"name": "child", "tenant_id": acme}).Want(t, 201)
		if roles := r.Map(t)["roles"]; fmt.Sprint(roles) != "[viewer]" {
			t.Fatalf("a restricted key's child key has roles %v, want the caller's [viewer]", roles)
		}
		child := e.anon.Bearer(str(r.Map(t), "key"))
		child.Do("GET", "/v1/users?tenant_id="+acme, nil).Want(t, 200)
		wantProblem(t, child.Do("POST", "/v1/users", map[string]any{"email": "by-child@acme.example", "tenant_id": acme}), 403, "forbidden")

		// A key that expires cannot make one that outlives it.
		until := e.ManualClock().Now().Add(time.Hour).UTC().Truncate(time.Second)
		brief, _, _ := e.key(t, aliceC, map[string]any{"name": "brief", "tenant_id": acme, "expires_at": until.Format(time.RFC3339)})
		m := wantProblem(t, brief.Do("POST", "/v1/api-keys", map[string]any{"name": "longer", "tenant_id": acme,
			"expires_at": until.Add(time.Minute).Format(time.RFC3339)}), 400, "invalid")
		if got := fieldErrors(m); fmt.Sprint(got) != "[expires_at:after_own]" {
			t.Fatalf("field errors %v", got)
		}
		r = brief.Do("POST", "/v1/api-keys", map[string]any{"name": "inherits", "tenant_id": acme}).Want(t, 201)
		if got, _ := time.Parse(time.RFC3339, str(r.Map(t), "expires_at")); !got.Equal(until) {
			t.Fatalf("child of an expiring key expires at %q, want %v", str(r.Map(t), "expires_at"), until)
		}
	})

	t.Run("elevation", func(t *testing.T) {
		r := admin.Do("POST", "/v1/auth/elevate", nil).Want(t, 200).Map(t)
		if str(r, "elevated_until") == "" {
			t.Fatalf("elevate: %v", r)
		}
		admin.Do("DELETE", "/v1/auth/elevate", nil).Want(t, 204)
	})

	t.Run("delete tenant", func(t *testing.T) {
		doomed := e.tenant(t, "Doomed")
		k, _, _ := e.key(t, admin, map[string]any{"name": "doomed key", "tenant_id": doomed, "roles": []string{"tenant-admin"}, "service": true})
		k.Do("GET", "/v1/tenants/"+doomed, nil).Want(t, 200)
		e.user(t, admin, map[string]any{"action": "register", "email": "dora@doomed.example", "password": "doomed admin passphrase",
			"tenant_id": doomed, "roles": []string{"tenant-admin"}})
		tok := admin.Do("POST", "/v1/auth/login", map[string]any{"email": "dora@doomed.example", "password": "doomed admin passphrase"}).Want(t, 200).Map(t)
		dora := e.anon.Bearer(str(tok, "token"))
		invitee := e.user(t, dora, map[string]any{"email": "ivan@doomed.example", "tenant_id": doomed})
		admin.Do("DELETE", "/v1/tenants/"+doomed, nil).Want(t, 204)
		wantProblem(t, k.Do("GET", "/v1/tenants/"+doomed, nil), 401, "unauthenticated")
		// Its administrators no longer act there: they cannot send its
		// revoked invitations again, and nobody can.
		wantProblem(t, dora.Do("GET", "/v1/tenants/"+doomed, nil), 404, "not_found")
		wantProblem(t, dora.Do("POST", "/v1/users/"+str(invitee, "id")+"/invitations", nil), 404, "not_found")
		wantProblem(t, dora.Do("POST", "/v1/users", map[string]any{"email": "late@doomed.example", "tenant_id": doomed}), 403, "forbidden")
		m := wantProblem(t, admin.Do("POST", "/v1/users/"+str(invitee, "id")+"/invitations", nil), 400, "invalid")
		if got := fieldErrors(m); fmt.Sprint(got) != "[tenant_id:inactive]" {
			t.Fatalf("resend into a deleted tenant: %v", got)
		}
		wantProblem(t, admin.Do("POST", "/v1/users", map[string]any{"email": "late@doomed.example", "tenant_id": doomed}), 400, "invalid")
		var l struct{ Items []map[string]any }
		admin.Do("GET", "/v1/tenants?deleted=only", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 || str(l.Items[0], "id") != doomed {
			t.Fatalf("deleted tenants: %v", l.Items)
		}
		wantProblem(t, admin.Do("DELETE", "/v1/tenants/"+doomed, nil), 404, "not_found")
	})

	t.Run("unknown routes", func(t *testing.T) {
		r := e.raw.Do("PUT", "/v1/users", nil)
		if r.Status != 405 || r.Header.Get("Allow") == "" || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("405: %d %v %s", r.Status, r.Header, r.Body)
		}
		r = e.raw.Do("GET", "/v1/nothing-here", nil)
		if r.Status != 404 || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("404: %d %s", r.Status, r.Body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// A method a client makes up is counted as OTHER, not as a series
		// of its own name.
		for i := range 3 {
			e.raw.Do(fmt.Sprintf("M%dXXXX", i), "/healthz", nil)
		}
		m := string(e.raw.Do("GET", "/metrics", nil).Want(t, 200).Body)
		if strings.Contains(m, "M0XXXX") || !strings.Contains(m, `method="OTHER"`) {
			t.Errorf("made-up methods in the metrics: %v", strings.Contains(m, "M0XXXX"))
		}
		for _, want := range []string{`roster_http_requests_total{method="POST",route="POST /v1/users",status="201"}`,
			"roster_http_request_duration_seconds_bucket", "roster_password_pool_size 4", "roster_password_pool_queue",
			"roster_password_pool_wait_seconds_count"} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("logs hold no secrets", func(t *testing.T) {
		logs := e.Logs()
		for _, secret := range []string{testsupport.AdminKey, "Tangerine-Kayak41", "globex admin passphrase", "rk_", "rs_"} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain %q", secret)
			}
		}
		if !strings.Contains(logs, "user created") {
			t.Error("logs lack the user created line; the check above would prove nothing")
		}
	})

	if missing := e.anon.Contract.Unchecked(); len(missing) > 0 {
		t.Errorf("operations of /openapi.json never exercised: %v", missing)
	}
}

// Forty concurrent creates of one email: one wins, the rest get 409.
func TestConcurrentCreateSameEmail(t *testing.T) {
	testsupport.EachBackend(t, func(t *testing.T, b testsupport.Backend) {
		testConcurrentCreateSameEmail(t, startNative(t, testsupport.Options{Store: b.Open(t)}))
	})
}

func testConcurrentCreateSameEmail(t *testing.T, e *nativeEnv) {
	tenant := e.tenant(t, "Race")
	const n = 40
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := map[string]any{"action": "register", "email": "race@example.com", "tenant_id": tenant,
				"password": fmt.Sprintf("racing passphrase %d", i)}
			statuses[i] = e.admin.Do("POST", "/v1/users", body).Status
		}(i)
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 {
		t.Fatalf("statuses = %v, want one 201 and %d 409", count, n-1)
	}
	var l struct{ Items []map[string]any }
	e.admin.Do("GET", "/v1/users?q=race@", nil).Want(t, 200).JSON(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("%d users with the raced email", len(l.Items))
	}
}

// A create that fails half-way leaves nothing behind: here the tenant
// would be created, but the user's email is taken.
func TestCreateIsAtomic(t *testing.T) {
	testsupport.EachBackend(t, func(t *testing.T, b testsupport.Backend) {
		testCreateIsAtomic(t, startNative(t, testsupport.Options{Store: b.Open(t)}))
	})
}

func testCreateIsAtomic(t *testing.T, e *nativeEnv) {
	acme := e.tenant(t, "Acme")
	e.user(t, e.admin, map[string]any{"email": "taken@example.com", "tenant_id": acme})
	wantProblem(t, e.admin.Do("POST", "/v1/users", map[string]any{"email": "taken@example.com",
		"tenant": map[string]any{"name": "Never Made"}}), 409, "conflict")
	var l struct{ Items []map[string]any }
	e.admin.Do("GET", "/v1/tenants?q=never", nil).Want(t, 200).JSON(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("the tenant of a failed create exists: %v", l.Items)
	}
}

// A saturated hashing pool answers 503 with Retry-After instead of queueing
// without bound.
func TestOverloadedPoolAnswers503(t *testing.T) {
	// Hashes slow enough (about 20 ms) that two dozen requests queue.
	slow := password.Params{Memory: 16 << 10, Time: 2, Threads: 1}
	e := startNative(t, testsupport.Options{PoolSize: 1, HashMaxWait: time.Millisecond, Params: &slow})
	tenant := e.tenant(t, "Busy")
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	var retryAfter string
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := e.admin.Do("POST", "/v1/users", map[string]any{"action": "register", "email": fmt.Sprintf("busy%d@example.com", i),
				"tenant_id": tenant, "password": "a perfectly fine passphrase"})
			mu.Lock()
			defer mu.Unlock()
			got[r.Status]++
			if r.Status == 503 {
				retryAfter = r.Header.Get("Retry-After")
				if !strings.Contains(string(r.Body), `"overloaded"`) {
					t.Errorf("503 body: %s", r.Body)
				}
			}
		}(i)
	}
	wg.Wait()
	if got[201] == 0 || got[503] == 0 || got[201]+got[503] != 24 || retryAfter == "" {
		t.Fatalf("statuses %v, Retry-After %q: want some 201 and some 503 with Retry-After", got, retryAfter)
	}
}
