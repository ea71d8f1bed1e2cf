package gcore_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"roster/internal/compat"
	"roster/internal/compat/gcore"
	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/testsupport"
)

// gcoreEnv is a server with the Gcore dialect and clients for it.
type gcoreEnv struct {
	*testsupport.Env
	t         *testing.T
	contracts *contracts
	// admin speaks Gcore with the bootstrap key; every exchange is
	// checked against the Gcore document of its path.
	admin *gcoreClient
	// native speaks roster's own /v1 API, to see what the dialect did.
	native *testsupport.Client
	// raw checks no contract: for answers to paths or methods that Gcore's
	// documents do not have.
	raw *testsupport.Client
}

func startGcore(t *testing.T) *gcoreEnv {
	t.Helper()
	env := testsupport.Start(t, testsupport.Options{Dialects: func(svc *service.Service, log *slog.Logger) []compat.Dialect {
		return []compat.Dialect{gcore.New(svc, log)}
	}})
	e := &gcoreEnv{Env: env, t: t, contracts: newContracts(t), raw: testsupport.NewClient(t, env.URL, nil),
		native: testsupport.NewClient(t, env.URL, nil).Bearer(testsupport.AdminKey)}
	e.admin = e.client("apikey " + testsupport.AdminKey)
	return e
}

// gcoreClient sends Gcore requests below /compat/gcore with one
// Authorization header ("" for none), checking each against its document.
type gcoreClient struct {
	e    *gcoreEnv
	auth string
}

func (e *gcoreEnv) client(auth string) *gcoreClient { return &gcoreClient{e: e, auth: auth} }

func (c *gcoreClient) Do(method, path string, body any, opts ...testsupport.Opt) *testsupport.Resp {
	c.e.t.Helper()
	cl := testsupport.NewClient(c.e.t, c.e.URL, nil).With("Authorization", c.auth)
	cl.Contract = c.e.contracts.pick(c.e.t, method, path)
	return cl.Do(method, prefix+path, body, opts...)
}

func num(m map[string]any, key string) int64 {
	f, _ := m[key].(float64)
	return int64(f)
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// wantMessage checks a {"message": …} error.
func wantMessage(t *testing.T, r *testsupport.Resp, status int, message string) {
	t.Helper()
	r.Want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	m := r.Map(t)
	if len(m) != 1 || !strings.HasPrefix(str(m, "message"), message) {
		t.Fatalf("body %s, want {\"message\": %q…}", r.Body, message)
	}
}

// wantErrors checks a {"errors": {field: [messages]}} error with exactly
// these fields, each with a message starting as given.
func wantErrors(t *testing.T, r *testsupport.Resp, want map[string]string) {
	t.Helper()
	r.Want(t, 400)
	var b struct {
		Errors map[string][]string `json:"errors"`
	}
	r.JSON(t, &b)
	if len(b.Errors) != len(want) {
		t.Fatalf("errors %s, want fields %v", r.Body, want)
	}
	for field, msg := range want {
		msgs := b.Errors[field]
		if len(msgs) == 0 || !strings.HasPrefix(msgs[0], msg) {
			t.Fatalf("errors %s: %s should start %q", r.Body, field, msg)
		}
	}
}

// seed000 is the request body of shared/seeds/000 (Gcore's "Create a new
// user" page), with its placeholders replaced by real values.
const seed000 = `{
"email": "jsmith@example.com",
"password": "Horse-battery-staple-42",
"company": "Smith Hosting",
"user_type": "common",
"name": "John Smith",
"phone": "+49 30 1234567",
"seller": 123,
"services": [
{
"product_name": "CDN",
"available": true
}
],
"lang": "de",
"custom_id": "crm-0042",
"country_code": "DE",
"is_test": true
}`

func TestSeed000CreateUser(t *testing.T) {
	e := startGcore(t)
	r := e.admin.Do("POST", "/iam/users", seed000).Want(t, 201)
	u := r.Map(t)
	for k, want := range map[string]any{"email": "jsmith@example.com", "name": "John Smith", "lang": "de",
		"phone": "+49 30 1234567", "company": "Smith Hosting", "reseller": 1.0, "deleted": false, "activated": true,
		"sso_auth": false, "two_fa": false, "user_type": "common", "is_active": true} {
		if u[k] != want {
			t.Errorf("%s = %v, want %v", k, u[k], want)
		}
	}
	id, client := num(u, "id"), num(u, "client")
	if id < 1 || client < 1 {
		t.Fatalf("ids: %s", r.Body)
	}
	if fmt.Sprint(u["groups"]) != "[map[id:1 name:Administrators]]" || fmt.Sprint(u["auth_types"]) != "[password]" {
		t.Fatalf("groups/auth_types: %s", r.Body)
	}
	car := u["client_and_roles"].([]any)
	if len(car) != 1 || fmt.Sprint(car[0]) != fmt.Sprintf("map[client_company_name:Smith Hosting client_id:%d user_id:%d user_roles:[1]]", client, id) {
		t.Fatalf("client_and_roles: %v", car)
	}

	// An ordinary roster user and tenant, visible natively.
	var l struct{ Items []map[string]any }
	e.native.Do("GET", "/v1/users?q=jsmith", nil).Want(t, 200).JSON(t, &l)
	if len(l.Items) != 1 || num(l.Items[0], "number") != id || str(l.Items[0], "status") != "active" ||
		l.Items[0]["email_confirmed"] != true {
		t.Fatalf("native users: %v", l.Items)
	}
	ms := l.Items[0]["memberships"].([]any)
	m := ms[0].(map[string]any)
	if len(ms) != 1 || num(m, "tenant_number") != client || fmt.Sprint(m["roles"]) != "[tenant-admin]" {
		t.Fatalf("native memberships: %v", ms)
	}
	tenant := e.native.Do("GET", "/v1/tenants/"+str(m, "tenant_id"), nil).Want(t, 200).Map(t)
	for k, want := range map[string]any{"name": "Smith Hosting", "email": "jsmith@example.com", "phone": "+49 30 1234567",
		"country_code": "DE", "lang": "de", "custom_id": "crm-0042", "is_test": true, "seller_id": 123.0, "status": "active"} {
		if tenant[k] != want {
			t.Errorf("tenant %s = %v, want %v", k, tenant[k], want)
		}
	}
	var products struct {
		Items []struct {
			Product  string `json:"product"`
			Override *bool  `json:"override"`
		} `json:"items"`
	}
	e.native.Do("GET", "/v1/tenants/"+str(m, "tenant_id")+"/products", nil).Want(t, 200).JSON(t, &products)
	for _, p := range products.Items {
		if (p.Product == "CDN") != (p.Override != nil && *p.Override) {
			t.Errorf("product %s override %v; only CDN was set, to true", p.Product, p.Override)
		}
	}
	// The password works.
	testsupport.NewClient(t, e.URL, nil).Do("POST", "/v1/auth/login",
		map[string]any{"email": "jsmith@example.com", "password": "Horse-battery-staple-42"}).Want(t, 200)

	// The same request again: the email is taken, a validation error.
	wantErrors(t, e.admin.Do("POST", "/iam/users", seed000), map[string]string{"email": "user with this email already exists."})
}

func TestCreateUserErrors(t *testing.T) {
	e := startGcore(t)
	base := map[string]any{"email": "a@example.com", "password": "Horse-battery-staple-42", "company": "A"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	t.Run("required fields", func(t *testing.T) {
		wantErrors(t, e.admin.Do("POST", "/iam/users", map[string]any{"name": "x"}, testsupport.Invalid()),
			map[string]string{"email": "This field is required.", "password": "This field is required.", "company": "This field is required."})
		wantErrors(t, e.admin.Do("POST", "/iam/users", "", testsupport.Invalid()),
			map[string]string{"email": "This field is required.", "password": "This field is required.", "company": "This field is required."})
	})
	t.Run("user_type must be common", func(t *testing.T) {
		wantErrors(t, e.admin.Do("POST", "/iam/users", with("user_type", "reseller"), testsupport.Invalid()),
			map[string]string{"user_type": "Must be common."})
	})
	t.Run("field values", func(t *testing.T) {
		wantErrors(t, e.admin.Do("POST", "/iam/users", with("email", "not-an-email"), testsupport.Invalid()),
			map[string]string{"email": "Enter a valid email address."})
		wantErrors(t, e.admin.Do("POST", "/iam/users", with("password", "short")),
			map[string]string{"password": "Must be at least 12 characters"})
		wantErrors(t, e.admin.Do("POST", "/iam/users", with("lang", "fr"), testsupport.Invalid()),
			map[string]string{"lang": "Must be one of"})
		wantErrors(t, e.admin.Do("POST", "/iam/users", with("country_code", "Germany")),
			map[string]string{"country_code": "Client's country_code must be a two-letter"})
		wantErrors(t, e.admin.Do("POST", "/iam/users", with("services", []any{map[string]any{"product_name": "FTP", "available": true}}), testsupport.Invalid()),
			map[string]string{"services": `"FTP" is not a valid choice.`})
		wantErrors(t, e.admin.Do("POST", "/iam/users", with("seller", "abc"), testsupport.Invalid()),
			map[string]string{"seller": "A valid integer is required."})
		wantErrors(t, e.admin.Do("POST", "/iam/users", `[1, 2]`, testsupport.Invalid()),
			map[string]string{"non_field_errors": "Invalid data. Expected a dictionary, but got list."})
	})
	t.Run("malformed JSON", func(t *testing.T) {
		r := e.admin.Do("POST", "/iam/users", "{\n\"email\": \"a@example.com\"\n\"password\": \"x\"}", testsupport.Invalid())
		wantMessage(t, r, 400, "JSON parse error - invalid character '\"' after object key:value pair: line 3 column 1 (char 27)")
		wantMessage(t, e.admin.Do("POST", "/iam/users", `{"email": "a@example.com"`, testsupport.Invalid()), 400, "JSON parse error - Expecting value: line 1 column 26")
		wantMessage(t, e.admin.Do("POST", "/iam/users", `{} {}`, testsupport.Invalid()), 400, "JSON parse error - Extra data")
	})
	t.Run("authentication", func(t *testing.T) {
		r := e.client("").Do("POST", "/iam/users", base)
		wantMessage(t, r, 401, "Authentication credentials were not provided.")
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		wantMessage(t, e.client("apikey wrong-key").Do("POST", "/iam/users", base), 401, "Given token not valid for any token type")
		wantMessage(t, e.client("Bearer wrong-key").Do("POST", "/iam/users", base), 401, "Given token not valid")
		wantMessage(t, e.client("Token "+testsupport.AdminKey).Do("POST", "/iam/users", base), 401, "Authentication credentials were not provided.")
		wantMessage(t, e.client("apikey").Do("POST", "/iam/users", base), 401, "Authentication credentials were not provided.")
		// The scheme is matched regardless of case; Bearer takes a key or
		// a session token, as Gcore's takes its JWTs.
		e.client("APIKey "+testsupport.AdminKey).Do("POST", "/iam/users", base).Want(t, 201)
		e.client("Bearer "+testsupport.AdminKey).Do("POST", "/iam/users", with("email", "b@example.com")).Want(t, 201)
	})
	t.Run("nothing is left behind by a failed create", func(t *testing.T) {
		var l struct{ Items []map[string]any }
		e.native.Do("GET", "/v1/tenants", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 2 { // the accounts of the two successful creates
			t.Fatalf("tenants after failed creates: %d", len(l.Items))
		}
	})
	t.Run("idempotency", func(t *testing.T) {
		body := with("email", "idem@example.com")
		first := e.admin.Do("POST", "/iam/users", body, testsupport.Header("Idempotency-Key", "k1")).Want(t, 201)
		again := e.admin.Do("POST", "/iam/users", body, testsupport.Header("Idempotency-Key", "k1")).Want(t, 201)
		if again.Header.Get("Idempotent-Replayed") != "true" || again.String() != first.String() {
			t.Fatalf("replay: %s / %s", again.Header, again.Body)
		}
	})
}

// A user may rename itself but not give itself groups; a PATCH asking for
// both is refused whole, the name left as it was.
func TestRefusedPatchChangesNothing(t *testing.T) {
	e := startGcore(t)
	ctx := context.Background()
	dave := e.admin.Do("POST", "/iam/users", map[string]any{"email": "dave@initech.example", "password": "Horse-battery-staple-43",
		"company": "Initech", "name": "Dave"}).Want(t, 201).Map(t)
	_, daveKey, err := e.Service.CreateAPIKey(ctx, e.principal(t, "dave@initech.example", "Horse-battery-staple-43"),
		service.CreateAPIKeyInput{Name: "dave's"})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/iam/users/%d", num(dave, "id"))
	// Dave starts as his account's administrator: make him a plain user.
	e.admin.Do("PATCH", path, map[string]any{"groups": []any{2}}).Want(t, 200)
	self := e.client("apikey " + daveKey)
	wantMessage(t, self.Do("PATCH", path, map[string]any{"name": "Dave the Admin", "groups": []any{1}}), 403,
		"You do not have permission to perform this action.")
	if got := self.Do("GET", path, nil).Want(t, 200).Map(t)["name"]; got != "Dave" {
		t.Fatalf("a refused PATCH renamed the user to %v", got)
	}
	self.Do("PATCH", path, map[string]any{"name": "Dave D."}).Want(t, 200)
}

// TestGcoreAPI walks every endpoint of the dialect with state that builds
// up, and ends by checking that every Gcore operation the dialect serves
// was exercised against its document.
func TestGcoreAPI(t *testing.T) {
	e := startGcore(t)
	admin := e.admin
	ctx := context.Background()
	create := func(t *testing.T, email, company string) map[string]any {
		t.Helper()
		return admin.Do("POST", "/iam/users", map[string]any{"email": email, "password": "Horse-battery-staple-42",
			"company": company, "name": strings.Split(email, "@")[0]}).Want(t, 201).Map(t)
	}
	alice := create(t, "alice@acme.example", "Acme")
	bob := create(t, "bob@globex.example", "Globex")
	acme, globex := num(alice, "client"), num(bob, "client")
	aliceID, bobID := num(alice, "id"), num(bob, "id")

	// Keys and sessions of other callers.
	adminP, err := e.Service.Authenticate(ctx, testsupport.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	tenantID := func(number int64) string {
		tn, err := e.Service.GetTenant(ctx, adminP, core.TenantRef{Number: number})
		if err != nil {
			t.Fatal(err)
		}
		return tn.ID
	}
	_, acmeKey, err := e.Service.CreateAPIKey(ctx, adminP, service.CreateAPIKeyInput{Name: "acme admin",
		TenantID: tenantID(acme), Roles: []string{core.RoleTenantAdmin}, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	acmeAdmin := e.client("apikey " + acmeKey)
	_, acmeUserKey, err := e.Service.CreateAPIKey(ctx, adminP, service.CreateAPIKeyInput{Name: "acme user",
		TenantID: tenantID(acme), Roles: []string{core.RoleTenantUser}, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	acmeUser := e.client("apikey " + acmeUserKey)
	_, _, err = e.Service.Login(ctx, service.LoginInput{Login: "alice@acme.example", Password: "Horse-battery-staple-42"})
	if err != nil {
		t.Fatal(err)
	}
	_, aliceToken, err := e.Service.Login(ctx, service.LoginInput{Login: "alice@acme.example", Password: "Horse-battery-staple-42"})
	if err != nil {
		t.Fatal(err)
	}
	aliceSession := e.client("Bearer " + aliceToken)

	t.Run("get user", func(t *testing.T) {
		u := admin.Do("GET", fmt.Sprintf("/iam/users/%d", aliceID), nil).Want(t, 200).Map(t)
		if num(u, "id") != aliceID || str(u, "email") != "alice@acme.example" || num(u, "client") != acme || str(u, "company") != "Acme" {
			t.Fatalf("user: %v", u)
		}
		wantMessage(t, admin.Do("GET", "/iam/users/999999", nil), 404, "Not found.")
		wantMessage(t, e.client("").Do("GET", fmt.Sprintf("/iam/users/%d", aliceID), nil), 401, "Authentication credentials")
		// Acme's administrator does not see Globex's users.
		wantMessage(t, acmeAdmin.Do("GET", fmt.Sprintf("/iam/users/%d", bobID), nil), 404, "Not found.")
		acmeAdmin.Do("GET", fmt.Sprintf("/iam/users/%d", aliceID), nil).Want(t, 200)
		// Not a number: no such user.
		wantMessage(t, admin.Do("GET", "/iam/users/alice", nil, testsupport.Invalid()), 404, "Not found.")
	})

	t.Run("list users", func(t *testing.T) {
		var all []map[string]any
		admin.Do("GET", "/iam/users", nil).Want(t, 200).JSON(t, &all)
		// Alice and Bob: the built-in administrator has no email, which
		// every Gcore user has, and is not shown, nor found by its id.
		if len(all) != 2 || num(all[0], "id") != aliceID || num(all[1], "id") != bobID {
			t.Fatalf("users: %v", all)
		}
		wantMessage(t, admin.Do("GET", "/iam/users/1", nil), 404, "Not found.")
		var pg struct {
			Count    int              `json:"count"`
			Next     *string          `json:"next"`
			Previous *string          `json:"previous"`
			Results  []map[string]any `json:"results"`
		}
		admin.Do("GET", "/iam/users?limit=1", nil).Want(t, 200).JSON(t, &pg)
		if pg.Count != 2 || len(pg.Results) != 1 || pg.Next == nil || pg.Previous != nil ||
			!strings.HasSuffix(*pg.Next, prefix+"/iam/users?limit=1&offset=1") || !strings.HasPrefix(*pg.Next, "http://") {
			t.Fatalf("first page: %+v", pg)
		}
		pg.Next = nil
		admin.Do("GET", "/iam/users?limit=1&offset=1", nil).Want(t, 200).JSON(t, &pg)
		if pg.Count != 2 || len(pg.Results) != 1 || num(pg.Results[0], "id") != bobID || pg.Next != nil || pg.Previous == nil ||
			!strings.HasSuffix(*pg.Previous, prefix+"/iam/users?limit=1") {
			t.Fatalf("second page: %+v", pg)
		}
		// A tenant's key sees its tenant's users only.
		acmeAdmin.Do("GET", "/iam/users", nil).Want(t, 200).JSON(t, &all)
		if len(all) != 1 || num(all[0], "id") != aliceID {
			t.Fatalf("acme's users: %v", all)
		}
		wantMessage(t, e.client("").Do("GET", "/iam/users", nil), 401, "Authentication credentials")
	})

	t.Run("patch user", func(t *testing.T) {
		path := fmt.Sprintf("/iam/users/%d", aliceID)
		u := admin.Do("PATCH", path, map[string]any{"name": "Alice Liddell", "phone": "+44 20 7946 0000", "lang": "ru"}).Want(t, 200).Map(t)
		if str(u, "name") != "Alice Liddell" || str(u, "phone") != "+44 20 7946 0000" || str(u, "lang") != "ru" {
			t.Fatalf("patched: %v", u)
		}
		u = admin.Do("PATCH", path, map[string]any{"phone": nil}).Want(t, 200).Map(t)
		if u["phone"] != nil || str(u, "name") != "Alice Liddell" {
			t.Fatalf("phone not cleared: %v", u)
		}
		// A whole user object sent back: read-only fields are ignored;
		// groups change the user's group in its account.
		u["groups"] = []any{map[string]any{"id": 5, "name": "Engineers"}}
		delete(u, "id")
		delete(u, "client_and_roles")
		for _, k := range []string{"reseller", "client", "deleted", "activated", "sso_auth", "two_fa", "auth_types", "user_type", "is_active", "company"} {
			delete(u, k) // read-only in the document: a request may not carry them
		}
		u = admin.Do("PATCH", path, u).Want(t, 200).Map(t)
		if fmt.Sprint(u["groups"]) != "[map[id:5 name:Engineers]]" {
			t.Fatalf("groups after patch: %v", u["groups"])
		}
		admin.Do("PATCH", path, map[string]any{"groups": []any{1}}).Want(t, 200)
		wantErrors(t, admin.Do("PATCH", path, map[string]any{"groups": []any{map[string]any{"id": 100}}}),
			map[string]string{"groups": "Group matching query does not exist."})
		wantErrors(t, admin.Do("PATCH", path, map[string]any{"email": "nope"}, testsupport.Invalid()),
			map[string]string{"email": "Enter a valid email address."})
		wantErrors(t, admin.Do("PATCH", path, map[string]any{"email": "bob@globex.example"}),
			map[string]string{"email": "user with this email already exists."})
		wantMessage(t, admin.Do("PATCH", path, "{", testsupport.Invalid()), 400, "JSON parse error - ")
		wantMessage(t, admin.Do("PATCH", "/iam/users/999999", map[string]any{"name": "x"}), 404, "Not found.")
		// A tenant administrator cannot touch another tenant's user: it
		// does not exist for them.
		wantMessage(t, acmeAdmin.Do("PATCH", fmt.Sprintf("/iam/users/%d", bobID), map[string]any{"name": "x"}), 404, "Not found.")
		// A plain user of Acme sees Alice but may not change her.
		acmeUser.Do("GET", path, nil).Want(t, 200)
		wantMessage(t, acmeUser.Do("PATCH", path, map[string]any{"name": "x"}), 403, "You do not have permission to perform this action.")
	})

	var carolID int64
	t.Run("invite user", func(t *testing.T) {
		r := admin.Do("POST", "/iam/clients/invite_user", map[string]any{"email": "carol@acme.example",
			"user_role": map[string]any{"id": 2, "name": "Users"}, "client_id": acme, "lang": "de", "name": "Carol"}).Want(t, 200)
		m := r.Map(t)
		carolID = num(m, "user_id")
		if str(m, "status") != "sent" || carolID < 1 || len(m) != 2 {
			t.Fatalf("invite: %s", r.Body)
		}
		u := admin.Do("GET", fmt.Sprintf("/iam/users/%d", carolID), nil).Want(t, 200).Map(t)
		if u["is_active"] != false || u["activated"] != false || num(u, "client") != acme || str(u, "lang") != "de" ||
			fmt.Sprint(u["groups"]) != "[map[id:2 name:Users]]" {
			t.Fatalf("invited user: %v", u)
		}
		inv, err := e.Service.LatestInvitation(ctx, adminP, core.UserRef{Number: carolID})
		if err != nil || inv.State != core.InvitationPending || inv.TenantID != tenantID(acme) {
			t.Fatalf("invitation: %+v, %v", inv, err)
		}
		// Acme's administrator cannot see Globex's Bob, so cannot add him.
		r = acmeAdmin.Do("POST", "/iam/clients/invite_user", map[string]any{"email": "bob@globex.example",
			"user_role": map[string]any{"id": 2}, "client_id": acme}).Want(t, 400)
		if r.String() != `["This user cannot be added to this client."]` {
			t.Fatalf("cannot be added: %s", r.Body)
		}
		// An existing user is given access to the account.
		m = admin.Do("POST", "/iam/clients/invite_user", map[string]any{"email": "bob@globex.example",
			"user_role": map[string]any{"id": 3022, "name": "Purge and Prefetch only (API)"}, "client_id": acme}).Want(t, 200).Map(t)
		if num(m, "user_id") != bobID {
			t.Fatalf("existing user invite: %v", m)
		}
		b := admin.Do("GET", fmt.Sprintf("/iam/users/%d", bobID), nil).Want(t, 200).Map(t)
		if len(b["client_and_roles"].([]any)) != 2 {
			t.Fatalf("bob's accounts: %v", b["client_and_roles"])
		}
		// Twice: already invited (Gcore answers a bare list).
		r = admin.Do("POST", "/iam/clients/invite_user", map[string]any{"email": "bob@globex.example",
			"user_role": map[string]any{"id": 2}, "client_id": acme}).Want(t, 400)
		if r.String() != fmt.Sprintf(`["User %d has already been invited to client %d"]`, bobID, acme) {
			t.Fatalf("already invited: %s", r.Body)
		}
		// Acme's administrator cannot see Globex's Bob: his email is taken.
		r = acmeAdmin.Do("POST", "/iam/clients/invite_user", map[string]any{"email": "BOB@globex.example",
			"user_role": map[string]any{"id": 2}, "client_id": globex}).Want(t, 400)
		wantErrors(t, r, map[string]string{"client_id": `Invalid pk "` + fmt.Sprint(globex) + `" - object does not exist.`})
		r = acmeAdmin.Do("POST", "/iam/clients/invite_user", map[string]any{"email": "someone@globex.example",
			"user_role": map[string]any{"id": 2}, "client_id": acme}).Want(t, 200)
		wantErrors(t, admin.Do("POST", "/iam/clients/invite_user", map[string]any{"lang": "de"}, testsupport.Invalid()),
			map[string]string{"user_role": "This field is required.", "client_id": "This field is required."})
		wantErrors(t, admin.Do("POST", "/iam/clients/invite_user", map[string]any{"user_role": map[string]any{"id": 2}, "client_id": acme}, testsupport.Invalid()),
			map[string]string{"email": "This field is required."})
		wantErrors(t, admin.Do("POST", "/iam/clients/invite_user", map[string]any{"email": "x@acme.example",
			"user_role": map[string]any{"id": 100, "name": "Fake role"}, "client_id": acme}, testsupport.Invalid()),
			map[string]string{"user_role": "Invalid role: {'id': 100, 'name': 'Fake role'}"})
		wantMessage(t, admin.Do("POST", "/iam/clients/invite_user", `{"email": }`, testsupport.Invalid()), 400, "JSON parse error - ")
		wantMessage(t, e.client("").Do("POST", "/iam/clients/invite_user", map[string]any{}, testsupport.Invalid()), 401, "Authentication credentials")
		// A plain user of Acme may not invite (403).
		_, userKey, err := e.Service.CreateAPIKey(ctx, adminP, service.CreateAPIKeyInput{Name: "acme user",
			TenantID: tenantID(acme), Roles: []string{core.RoleTenantUser}, Service: true})
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, e.client("apikey "+userKey).Do("POST", "/iam/clients/invite_user", map[string]any{"email": "dave@acme.example",
			"user_role": map[string]any{"id": 2}, "client_id": acme}), 403, "You do not have permission to perform this action.")
		// Nobody grants a group above their own.
		wantMessage(t, e.client("apikey "+userKey).Do("POST", "/iam/clients/invite_user", map[string]any{"email": "eve@acme.example",
			"user_role": map[string]any{"id": 1}, "client_id": acme}), 403, "You do not have permission to perform this action.")
	})

	t.Run("renew invitation", func(t *testing.T) {
		before, _ := e.Service.LatestInvitation(ctx, adminP, core.UserRef{Number: carolID})
		r := admin.Do("POST", "/iam/auth/renew_invitation", map[string]any{"email": "carol@acme.example"}).Want(t, 200)
		if len(r.Body) != 0 {
			t.Fatalf("renew body: %s", r.Body)
		}
		after, _ := e.Service.LatestInvitation(ctx, adminP, core.UserRef{Number: carolID})
		if after.ID == before.ID || after.State != core.InvitationPending {
			t.Fatalf("no new invitation: %+v", after)
		}
		wantMessage(t, admin.Do("POST", "/iam/auth/renew_invitation", map[string]any{"email": "alice@acme.example"}), 400, "This user already activated.")
		wantMessage(t, admin.Do("POST", "/iam/auth/renew_invitation", map[string]any{"email": "nobody@acme.example"}), 404, "Not found.")
		wantErrors(t, admin.Do("POST", "/iam/auth/renew_invitation", map[string]any{}, testsupport.Invalid()),
			map[string]string{"email": "This field is required."})
		wantMessage(t, e.client("").Do("POST", "/iam/auth/renew_invitation", map[string]any{"email": "carol@acme.example"}), 401, "Authentication credentials")
	})

	t.Run("clients", func(t *testing.T) {
		var all []map[string]any
		admin.Do("GET", "/iam/clients", nil).Want(t, 200).JSON(t, &all)
		if len(all) != 2 || num(all[0], "id") != acme || str(all[0], "companyName") != "Acme" ||
			num(all[0], "owner") != aliceID || str(all[0], "name") != "Alice Liddell" || all[0]["has_active_admin"] != true ||
			str(all[0], "status") != "active" || num(all[0], "resellers") != 1 || all[0]["users"] != nil {
			t.Fatalf("clients: %v", all)
		}
		var pg struct {
			Count   int              `json:"count"`
			Next    *string          `json:"next"`
			Results []map[string]any `json:"results"`
		}
		admin.Do("GET", "/iam/clients?limit=1&offset=1", nil).Want(t, 200).JSON(t, &pg)
		if pg.Count != 2 || len(pg.Results) != 1 || num(pg.Results[0], "id") != globex || pg.Next != nil {
			t.Fatalf("clients page: %+v", pg)
		}
		admin.Do("GET", "/iam/clients?companyName=glob", nil).Want(t, 200).JSON(t, &all)
		if len(all) != 1 || num(all[0], "id") != globex {
			t.Fatalf("companyName filter: %v", all)
		}
		admin.Do("GET", "/iam/clients?reseller_id=2", nil).Want(t, 200).JSON(t, &all)
		if len(all) != 0 {
			t.Fatalf("reseller_id=2: %v", all)
		}
		acmeAdmin.Do("GET", "/iam/clients", nil).Want(t, 200).JSON(t, &all)
		if len(all) != 1 || num(all[0], "id") != acme {
			t.Fatalf("acme sees: %v", all)
		}

		c := aliceSession.Do("GET", fmt.Sprintf("/iam/clients/%d", acme), nil).Want(t, 200).Map(t)
		users := c["users"].([]any)
		if num(c, "currentUser") != aliceID || len(users) != 4 || str(c, "email") != "alice@acme.example" {
			t.Fatalf("client: %v", c)
		}
		wantMessage(t, admin.Do("GET", "/iam/clients/999999", nil), 404, "Not found.")
		wantMessage(t, e.client("").Do("GET", fmt.Sprintf("/iam/clients/%d", acme), nil), 401, "Authentication credentials")
		wantMessage(t, e.client("").Do("GET", "/iam/clients", nil), 401, "Authentication credentials")

		path := fmt.Sprintf("/iam/clients/%d", acme)
		c = admin.Do("PATCH", path, map[string]any{"companyName": "Acme Cloud", "phone": "+49 30 555", "custom_id": "crm-1",
			"is_test": true, "seller": 7, "email": "ops@acme.example"}).Want(t, 200).Map(t)
		if str(c, "companyName") != "Acme Cloud" || str(c, "phone") != "+49 30 555" || str(c, "custom_id") != "crm-1" ||
			c["is_test"] != true || num(c, "seller") != 7 || str(c, "email") != "ops@acme.example" {
			t.Fatalf("patched client: %v", c)
		}
		c = admin.Do("PATCH", path, map[string]any{"custom_id": nil, "seller": nil}).Want(t, 200).Map(t)
		if c["custom_id"] != nil || c["seller"] != nil {
			t.Fatalf("cleared client: %v", c)
		}
		u := admin.Do("GET", fmt.Sprintf("/iam/users/%d", aliceID), nil).Want(t, 200).Map(t)
		if str(u, "company") != "Acme Cloud" {
			t.Fatalf("user's company after rename: %v", u["company"])
		}
		// Filters and ordering.
		ids := func(query string) string {
			t.Helper()
			var l []map[string]any
			admin.Do("GET", "/iam/clients"+query, nil).Want(t, 200).JSON(t, &l)
			var out []string
			for _, c := range l {
				out = append(out, fmt.Sprint(num(c, "id")))
			}
			return strings.Join(out, ",")
		}
		a, g := fmt.Sprint(acme), fmt.Sprint(globex)
		for query, want := range map[string]string{
			"?email=OPS@acme.example": a, "?is_test=false": g, "?is_test=true": a, "?name=liddell": a,
			"?users_email=carol": a, "?users_email=bob@": a + "," + g, "?users_name=BOB": a + "," + g,
			"?id__in__exclude=" + a: g, "?ordering=-id": g + "," + a, "?ordering=companyName": a + "," + g,
			"?companyName=CLOUD": a, "?country_code=null": a + "," + g, "?country_code=DE": "",
			"?cdn=active": "", "?client_type=reseller": "", "?reseller_id=1": a + "," + g, "?seller_id=7": "",
			"?created_at_gte=2000-01-01T00:00:00Z": a + "," + g, "?created_at_lte=2000-01-01T00:00:00Z": "", "?activated=true": a + "," + g,
			"?personal_product_availability=CDN": "", "?deleted=true": "", "?deleted=false": a + "," + g,
		} {
			if got := ids(query); got != want {
				t.Errorf("GET /iam/clients%s = [%s], want [%s]", query, got, want)
			}
		}
		admin.Do("GET", "/iam/clients?ordering=-id&limit=1", nil).Want(t, 200).JSON(t, &pg)
		if pg.Count != 2 || len(pg.Results) != 1 || num(pg.Results[0], "id") != globex || pg.Next == nil {
			t.Fatalf("ordered page: %+v", pg)
		}
		admin.Do("GET", "/iam/clients?users_email=carol&limit=10&offset=1", nil).Want(t, 200).JSON(t, &pg)
		if pg.Count != 1 || len(pg.Results) != 0 {
			t.Fatalf("filtered page past the end: %+v", pg)
		}

		wantErrors(t, admin.Do("PATCH", path, map[string]any{"name": "Someone"}), map[string]string{"name": "The account's name is its owner's name"})
		wantErrors(t, admin.Do("PATCH", path, map[string]any{"reseller": 2}), map[string]string{"reseller": `Invalid pk "2"`})
		wantErrors(t, admin.Do("PATCH", path, map[string]any{"companyName": ""}), map[string]string{"companyName": "This field is required."})
		wantErrors(t, admin.Do("PATCH", path, map[string]any{"email": "x"}, testsupport.Invalid()), map[string]string{"email": "Enter a valid email address."})
		wantMessage(t, admin.Do("PATCH", "/iam/clients/999999", map[string]any{"is_test": false}), 404, "Not found.")
		wantMessage(t, e.client("").Do("PATCH", path, map[string]any{"is_test": false}), 401, "Authentication credentials")
	})

	t.Run("product availability", func(t *testing.T) {
		var list []map[string]any
		admin.Do("GET", "/iam/products/availability/defaults", nil).Want(t, 200).JSON(t, &list)
		if len(list) != 6 || fmt.Sprint(list[0]) != "map[available:false product_name:CDN]" {
			t.Fatalf("defaults: %v", list)
		}
		d := admin.Do("PATCH", "/iam/products/availability/defaults", map[string]any{"product_name": "DNS", "available": true}).Want(t, 200).Map(t)
		if fmt.Sprint(d) != "map[available:true product_name:DNS]" {
			t.Fatalf("patched default: %v", d)
		}
		path := fmt.Sprintf("/iam/products/availability/clients/%d", acme)
		avail := func() map[string]bool {
			t.Helper()
			out := map[string]bool{}
			admin.Do("GET", path, nil).Want(t, 200).JSON(t, &list)
			for _, p := range list {
				out[str(p, "product_name")] = p["available"].(bool)
			}
			return out
		}
		if a := avail(); !a["DNS"] || a["CDN"] {
			t.Fatalf("acme inherits: %v", a)
		}
		d = admin.Do("PATCH", path, map[string]any{"product_name": "DNS", "available": false}).Want(t, 200).Map(t)
		if fmt.Sprint(d) != "map[available:false product_name:DNS]" || avail()["DNS"] {
			t.Fatalf("client override: %v", d)
		}
		admin.Do("PATCH", path, map[string]any{"product_name": "CDN", "available": true}).Want(t, 200)
		c := admin.Do("GET", fmt.Sprintf("/iam/clients/%d", acme), nil).Want(t, 200).Map(t)
		if fmt.Sprint(c["capabilities"]) != "[CDN]" {
			t.Fatalf("capabilities: %v", c["capabilities"])
		}
		admin.Do("DELETE", path, map[string]any{"product_names": []string{"DNS"}}).Want(t, 204)
		if a := avail(); !a["DNS"] || !a["CDN"] {
			t.Fatalf("after reset of DNS: %v", a)
		}
		admin.Do("DELETE", "/iam/products/availability/clients", map[string]any{"product_names": []string{"CDN", "DNS"}}).Want(t, 204)
		if a := avail(); !a["DNS"] || a["CDN"] {
			t.Fatalf("after reset of every client: %v", a)
		}
		wantErrors(t, admin.Do("PATCH", path, map[string]any{"product_name": "FTP"}, testsupport.Invalid()),
			map[string]string{"product_name": `"FTP" is not a valid choice.`, "available": "This field is required."})
		wantErrors(t, admin.Do("PATCH", "/iam/products/availability/defaults", map[string]any{}, testsupport.Invalid()),
			map[string]string{"product_name": "This field is required.", "available": "This field is required."})
		wantErrors(t, admin.Do("DELETE", path, map[string]any{}, testsupport.Invalid()), map[string]string{"product_names": "This field is required."})
		wantErrors(t, admin.Do("DELETE", "/iam/products/availability/clients", map[string]any{"product_names": []string{"FTP"}}, testsupport.Invalid()),
			map[string]string{"product_names": `"FTP" is not a valid choice.`})
		// Only the reseller changes availability.
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"PATCH", "/iam/products/availability/defaults", map[string]any{"product_name": "CDN", "available": true}},
			{"PATCH", path, map[string]any{"product_name": "CDN", "available": true}},
			{"DELETE", path, map[string]any{"product_names": []string{"CDN"}}},
			{"DELETE", "/iam/products/availability/clients", map[string]any{"product_names": []string{"CDN"}}},
		} {
			wantMessage(t, acmeAdmin.Do(req.method, req.path, req.body), 403, "You do not have permission to perform this action.")
		}
		acmeAdmin.Do("GET", path, nil).Want(t, 200)
		wantMessage(t, admin.Do("GET", "/iam/products/availability/clients/999999", nil), 404, "Not found.")
		for _, req := range [][2]string{{"GET", "/iam/products/availability/defaults"}, {"GET", path}} {
			wantMessage(t, e.client("").Do(req[0], req[1], nil), 401, "Authentication credentials")
		}
		for _, req := range [][2]string{{"PATCH", "/iam/products/availability/defaults"}, {"PATCH", path}, {"DELETE", path}, {"DELETE", "/iam/products/availability/clients"}} {
			wantMessage(t, e.client("").Do(req[0], req[1], map[string]any{}, testsupport.Invalid()), 401, "Authentication credentials")
		}
	})

	t.Run("client users", func(t *testing.T) {
		path := fmt.Sprintf("/iam/clients/%d/client-users/%d", acme, bobID)
		m := admin.Do("GET", path, nil).Want(t, 200).Map(t)
		if fmt.Sprint(m) != "map[user_role:map[id:3022 name:Purge and Prefetch only (API)]]" {
			t.Fatalf("bob in acme: %v", m)
		}
		admin.Do("PUT", path, map[string]any{"user_role": map[string]any{"id": 3009, "name": "Purge and Prefetch only (API+Web)"}}).Want(t, 204)
		m = admin.Do("GET", path, nil).Want(t, 200).Map(t)
		if fmt.Sprint(m) != "map[user_role:map[id:3009 name:Purge and Prefetch only (API+Web)]]" {
			t.Fatalf("bob in acme after put: %v", m)
		}
		r := admin.Do("PUT", path, map[string]any{"user_role": map[string]any{"id": 100, "name": "Fake role"}}, testsupport.Invalid()).Want(t, 400)
		wantErrors(t, r, map[string]string{"user_role": "Invalid role: {'id': 100, 'name': 'Fake role'}"})
		admin.Do("GET", fmt.Sprintf("/iam/clients/%d/client-users/%d", globex, aliceID), nil).Want(t, 404)
		admin.Do("PUT", fmt.Sprintf("/iam/clients/%d/client-users/%d", globex, aliceID), map[string]any{"user_role": map[string]any{"id": 2}}).Want(t, 404)
		// A tenant user may not change groups.
		_, viewerKey, err := e.Service.CreateAPIKey(ctx, adminP, service.CreateAPIKeyInput{Name: "acme engineer",
			TenantID: tenantID(acme), Roles: []string{core.RoleEngineer}, Service: true})
		if err != nil {
			t.Fatal(err)
		}
		e.client("apikey "+viewerKey).Do("PUT", path, map[string]any{"user_role": map[string]any{"id": 2}}).Want(t, 403)

		// Bob has two accounts: he cannot be deleted before losing one.
		wantMessage(t, admin.Do("DELETE", fmt.Sprintf("/iam/users/%d", bobID), nil), 403, "Cannot delete user with multiple accounts.")
		admin.Do("DELETE", path, nil).Want(t, 200)
		wantMessage(t, admin.Do("GET", path, nil), 404, "Not found.")
		wantMessage(t, admin.Do("DELETE", path, nil), 404, "Not found.")
		b := admin.Do("GET", fmt.Sprintf("/iam/users/%d", bobID), nil).Want(t, 200).Map(t)
		if len(b["client_and_roles"].([]any)) != 1 || b["deleted"] != false {
			t.Fatalf("bob after revoke: %v", b)
		}
		// Revoking Carol's only account deletes her.
		admin.Do("DELETE", fmt.Sprintf("/iam/clients/%d/client-users/%d", acme, carolID), nil).Want(t, 200)
		c := admin.Do("GET", fmt.Sprintf("/iam/users/%d", carolID), nil).Want(t, 200).Map(t)
		if c["deleted"] != true {
			t.Fatalf("carol after revoke: %v", c)
		}
		e.client("apikey "+viewerKey).Do("DELETE", fmt.Sprintf("/iam/clients/%d/client-users/%d", acme, aliceID), nil).Want(t, 403)
	})

	t.Run("delete user", func(t *testing.T) {
		path := fmt.Sprintf("/iam/users/%d", bobID)
		r := admin.Do("DELETE", path, nil).Want(t, 200)
		if len(r.Body) != 0 {
			t.Fatalf("delete body: %s", r.Body)
		}
		u := admin.Do("GET", path, nil).Want(t, 200).Map(t)
		if u["deleted"] != true || u["is_active"] != false {
			t.Fatalf("deleted user: %v", u)
		}
		wantMessage(t, admin.Do("DELETE", path, nil), 404, "Not found.")
		wantMessage(t, acmeAdmin.Do("DELETE", "/iam/users/1", nil), 404, "Not found.")
		// The built-in administrator has no email, so it is none of
		// Gcore's, as for GET and PATCH (and it cannot be deleted anyway).
		wantMessage(t, admin.Do("DELETE", "/iam/users/1", nil), 404, "Not found.")
		wantMessage(t, e.client("").Do("DELETE", path, nil), 401, "Authentication credentials")
		// Bob is gone from listings, natively too.
		var l struct{ Items []map[string]any }
		e.native.Do("GET", "/v1/users?q=bob", nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 0 {
			t.Fatalf("bob still listed: %v", l.Items)
		}
	})

	t.Run("outside the documents", func(t *testing.T) {
		// Unknown paths and methods answer in Gcore's format; Gcore's
		// documents describe neither, so they are checked here by hand.
		r := e.raw.With("Authorization", "apikey "+testsupport.AdminKey).Do("GET", prefix+"/iam/nothing-here", nil)
		wantMessage(t, r, 404, "Not found.")
		r = e.raw.With("Authorization", "apikey "+testsupport.AdminKey).Do("PUT", prefix+"/iam/users", nil)
		wantMessage(t, r, 405, `Method "PUT" not allowed.`)
		if !strings.Contains(r.Header.Get("Allow"), "GET") {
			t.Fatalf("Allow: %q", r.Header.Get("Allow"))
		}
		// Gcore documents no 404 for the availability changes; an unknown
		// account is not found all the same.
		r = e.raw.With("Authorization", "apikey "+testsupport.AdminKey).Do("PATCH", prefix+"/iam/products/availability/clients/999999",
			map[string]any{"product_name": "CDN", "available": true})
		wantMessage(t, r, 404, "Not found.")
		big := `{"email": "` + strings.Repeat("a", 2<<20) + `"}`
		wantMessage(t, e.raw.With("Authorization", "apikey "+testsupport.AdminKey).Do("POST", prefix+"/iam/users", big), 413, "The body is larger than")
	})

	// Every operation the dialect serves was checked against its document.
	served := []string{
		"POST /iam/users", "GET /iam/users", "GET /iam/users/{userId}", "PATCH /iam/users/{userId}", "DELETE /iam/users/{userId}",
		"POST /iam/clients/invite_user", "POST /iam/auth/renew_invitation",
		"GET /iam/clients/{clientId}/client-users/{userId}", "PUT /iam/clients/{clientId}/client-users/{userId}",
		"DELETE /iam/clients/{clientId}/client-users/{userId}",
		"GET /iam/clients", "GET /iam/clients/{clientId}", "PATCH /iam/clients/{clientId}",
		"GET /iam/products/availability/defaults", "PATCH /iam/products/availability/defaults",
		"GET /iam/products/availability/clients/{clientId}", "PATCH /iam/products/availability/clients/{clientId}",
		"DELETE /iam/products/availability/clients/{clientId}", "DELETE /iam/products/availability/clients",
	}
	unchecked := e.contracts.unchecked()
	for _, op := range served {
		if slices.Contains(unchecked, op) {
			t.Errorf("%s was never checked against Gcore's document", op)
		}
	}
}

// principal is the session principal of a user who signs in with password.
func (e *gcoreEnv) principal(t *testing.T, login, password string) *core.Principal {
	t.Helper()
	_, token, err := e.Service.Login(context.Background(), service.LoginInput{Login: login, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Service.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Every concurrent invite of one new email but one finds the user another
// has just made, and gets the answer an invite after it would get, never
// "cannot be added".
func TestConcurrentInvitesOfOneNewEmail(t *testing.T) {
	e := startGcore(t)
	ctx := context.Background()
	adminP, err := e.Service.Authenticate(ctx, testsupport.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	initech := num(e.admin.Do("POST", "/iam/users", map[string]any{"email": "ivan@initech.example", "password": "Horse-battery-staple-42",
		"company": "Initech"}).Want(t, 201).Map(t), "client")
	const n = 12
	answers := make([]*testsupport.Resp, n)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.admin.Do("POST", "/iam/clients/invite_user", map[string]any{"email": "frank@initech.example",
				"user_role": map[string]any{"id": 2}, "client_id": initech})
		}()
	}
	wg.Wait()
	frank, err := e.Service.GetUser(ctx, adminP, core.UserRef{Email: "frank@initech.example"})
	if err != nil {
		t.Fatal(err)
	}
	sent, already := 0, fmt.Sprintf(`["User %d has already been invited to client %d"]`, frank.Number, initech)
	for _, r := range answers {
		switch {
		case r.Status == 200 && num(r.Map(t), "user_id") == frank.Number:
			sent++
		case r.Status == 400 && r.String() == already:
		default:
			t.Errorf("concurrent invite: %d %s", r.Status, r.Body)
		}
	}
	if sent != 1 {
		t.Errorf("%d invites sent, want 1", sent)
	}
}

// A user without an email (a platform user made through ECE or the native
// API) is none of Gcore's: it can be neither read, changed nor deleted
// through the dialect.
func TestUserWithoutEmailIsNotGcores(t *testing.T) {
	e := startGcore(t)
	ctx := context.Background()
	admin, err := e.Service.Authenticate(ctx, testsupport.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Service.CreateUser(ctx, admin, service.CreateUserInput{Action: service.ActionRegister,
		Username: "opsviewer", Password: "long enough passphrase q", Roles: []string{core.RoleProviderViewer}})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/iam/users/%d", res.User.Number)
	wantMessage(t, e.admin.Do("GET", path, nil), 404, "Not found.")
	wantMessage(t, e.admin.Do("PATCH", path, map[string]any{"name": "x"}), 404, "Not found.")
	wantMessage(t, e.admin.Do("DELETE", path, nil), 404, "Not found.")
	if u, err := e.Service.GetUser(ctx, admin, core.UserRef{ID: res.User.ID}); err != nil || u.Status == core.UserDeleted {
		t.Fatalf("after the refused DELETE: %s, %v", u.Status, err)
	}
}

// Group ids are integers: 1.9 names no group, and is refused rather than
// read as group 1. (A group object may name its group by name alone.)
func TestGroupIDsAreIntegers(t *testing.T) {
	e := startGcore(t)
	a := e.admin.Do("POST", "/iam/users", map[string]any{"email": "a@acme.example", "password": "Horse-battery-staple-42",
		"company": "Acme"}).Want(t, 201).Map(t)
	path := fmt.Sprintf("/iam/users/%d", num(a, "id"))
	for _, body := range []string{`{"groups": [1.9]}`, `{"groups": [{"id": 2.5, "name": "Users"}]}`, `{"groups": [{"id": "2"}]}`} {
		r := e.admin.Do("PATCH", path, body, testsupport.Invalid())
		if r.Status != 400 || !strings.Contains(string(r.Body), "A valid integer is required.") {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	if groups := e.admin.Do("GET", path, nil).Want(t, 200).Map(t)["groups"]; fmt.Sprint(groups) != fmt.Sprint([]any{map[string]any{"id": float64(1), "name": "Administrators"}}) {
		t.Fatalf("the refused PATCHes changed the groups: %v", groups)
	}
}
