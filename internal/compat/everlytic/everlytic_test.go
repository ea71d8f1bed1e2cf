package everlytic_test

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"roster/internal/compat"
	"roster/internal/compat/everlytic"
	"roster/internal/service"
	"roster/internal/testsupport"
)

const prefix = "/compat/everlytic"

type env struct {
	*testsupport.Env
	// admin speaks Everlytic as the built-in admin; native speaks /v1.
	admin  *testsupport.Client
	native *testsupport.Client
	anon   *testsupport.Client
}

func basic(username, key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+key))
}

func start(t *testing.T, opts testsupport.Options) *env {
	t.Helper()
	opts.Dialects = func(svc *service.Service, log *slog.Logger) []compat.Dialect {
		return []compat.Dialect{everlytic.New(svc, log)}
	}
	e := testsupport.Start(t, opts)
	anon := testsupport.NewClient(t, e.URL+prefix, nil)
	return &env{Env: e, anon: anon, admin: anon.With("Authorization", basic("admin", testsupport.AdminKey)),
		native: testsupport.NewClient(t, e.URL, nil).Bearer(testsupport.AdminKey)}
}

// The shapes Everlytic documents. Every answer of these tests is checked
// member by member against them: exact members, exact JSON types.

type evLink struct {
	Title string `json:"title" xml:"title"`
	Rel   string `json:"rel" xml:"rel"`
	Href  string `json:"href" xml:"href"`
}

type evUser struct {
	ID               int64  `json:"id"`
	Hash             string `json:"hash"`
	EnterpriseID     int64  `json:"enterprise_id"`
	CustomerID       int64  `json:"customer_id"`
	Language         string `json:"language"`
	Name             string `json:"name"`
	Email            string `json:"email"`
	Username         string `json:"username"`
	CanCustomerAdmin string `json:"can_customer_admin"`
}

type evCustomer struct {
	ID           int64  `json:"id"`
	EnterpriseID int64  `json:"enterprise_id"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Language     string `json:"language"`
}

var (
	userShape = map[string]string{"id": "integer", "hash": "string", "enterprise_id": "integer",
		"customer_id": "integer", "language": "string", "name": "string", "email": "string",
		"username": "string", "can_customer_admin": "string"}
	customerShape = map[string]string{"id": "integer", "enterprise_id": "integer", "name": "string",
		"email": "string", "language": "string"}
	linkShape = map[string]string{"title": "string", "rel": "string", "href": "string"}
	hashRE    = regexp.MustCompile(`^[A-Za-z0-9]{16}$`)
)

// checkShape fails unless obj has exactly the members of shape, each of
// its JSON type.
func checkShape(t *testing.T, what string, obj any, shape map[string]string) {
	t.Helper()
	m, ok := obj.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want an object", what, obj)
	}
	var got, want []string
	for k := range m {
		got = append(got, k)
	}
	for k := range shape {
		want = append(want, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s has members %v, want %v", what, got, want)
	}
	for k, typ := range shape {
		switch v := m[k].(type) {
		case string:
			if typ != "string" {
				t.Fatalf("%s.%s is a string, want %s", what, k, typ)
			}
		case float64:
			if typ != "integer" || v != float64(int64(v)) {
				t.Fatalf("%s.%s is %v, want %s", what, k, v, typ)
			}
		default:
			t.Fatalf("%s.%s is %T, want %s", what, k, v, typ)
		}
	}
}

// checkEnvelope checks {"links":[…], <body>: …} (only links when body is
// empty) and returns the links.
func checkEnvelope(t *testing.T, r *testsupport.Resp, body string) (map[string]any, []evLink) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q, want application/json; body %s", ct, r.Body)
	}
	m := r.Map(t)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{body, "links"}
	if body == "" {
		want = []string{"links"}
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("answer has members %v, want %v: %s", keys, want, r.Body)
	}
	raw, ok := m["links"].([]any)
	if !ok || len(raw) < 2 {
		t.Fatalf("links: %s", r.Body)
	}
	var links []evLink
	for i, l := range raw {
		checkShape(t, fmt.Sprintf("links[%d]", i), l, linkShape)
		lm := l.(map[string]any)
		links = append(links, evLink{Title: lm["title"].(string), Rel: lm["rel"].(string), Href: lm["href"].(string)})
	}
	return m, links
}

func href(links []evLink, rel string) string {
	for _, l := range links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

// checkLinks checks that self is the requested URL and home the API's root,
// both on this server below the prefix.
func (e *env) checkLinks(t *testing.T, links []evLink, self string) {
	t.Helper()
	if links[0] != (evLink{Title: "Self", Rel: "self", Href: e.URL + prefix + self}) {
		t.Fatalf("self link %+v, want %s", links[0], e.URL+prefix+self)
	}
	if links[1] != (evLink{Title: "Home", Rel: "home", Href: e.URL + prefix + "/api/2.0/"}) {
		t.Fatalf("home link %+v", links[1])
	}
}

func (e *env) userItem(t *testing.T, r *testsupport.Resp, self string) evUser {
	t.Helper()
	m, links := checkEnvelope(t, r, "item")
	e.checkLinks(t, links, self)
	checkShape(t, "item", m["item"], userShape)
	var out struct {
		Item evUser `json:"item"`
	}
	r.JSON(t, &out)
	u := out.Item
	if !hashRE.MatchString(u.Hash) || u.EnterpriseID != everlytic.EnterpriseID || u.ID < 1 ||
		(u.CanCustomerAdmin != "yes" && u.CanCustomerAdmin != "no") {
		t.Fatalf("user item: %+v", u)
	}
	return u
}

func (e *env) customerItem(t *testing.T, r *testsupport.Resp, self string) evCustomer {
	t.Helper()
	m, links := checkEnvelope(t, r, "item")
	e.checkLinks(t, links, self)
	checkShape(t, "item", m["item"], customerShape)
	var out struct {
		Item evCustomer `json:"item"`
	}
	r.JSON(t, &out)
	if out.Item.EnterpriseID != everlytic.EnterpriseID || out.Item.ID < 1 {
		t.Fatalf("customer item: %+v", out.Item)
	}
	return out.Item
}

func (e *env) userList(t *testing.T, r *testsupport.Resp, self string) ([]evUser, []evLink) {
	t.Helper()
	m, links := checkEnvelope(t, r, "collection")
	e.checkLinks(t, links, self)
	items, ok := m["collection"].([]any)
	if !ok {
		t.Fatalf("collection is not an array: %s", r.Body)
	}
	for i, it := range items {
		checkShape(t, fmt.Sprintf("collection[%d]", i), it, userShape)
	}
	var out struct {
		Collection []evUser `json:"collection"`
	}
	r.JSON(t, &out)
	return out.Collection, links
}

func (e *env) customerList(t *testing.T, r *testsupport.Resp, self string) ([]evCustomer, []evLink) {
	t.Helper()
	m, links := checkEnvelope(t, r, "collection")
	e.checkLinks(t, links, self)
	items, ok := m["collection"].([]any)
	if !ok {
		t.Fatalf("collection is not an array: %s", r.Body)
	}
	for i, it := range items {
		checkShape(t, fmt.Sprintf("collection[%d]", i), it, customerShape)
	}
	var out struct {
		Collection []evCustomer `json:"collection"`
	}
	r.JSON(t, &out)
	return out.Collection, links
}

// wantError checks Everlytic's error object: status, the JSON shape
// {"error":{"message":…}} and nothing else, and the message's content.
func wantError(t *testing.T, r *testsupport.Resp, status int, contains ...string) string {
	t.Helper()
	r.Want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error content type %q: %s", ct, r.Body)
	}
	m := r.Map(t)
	errObj, ok := m["error"].(map[string]any)
	if len(m) != 1 || !ok || len(errObj) != 1 {
		t.Fatalf("error body is not {\"error\":{\"message\":…}}: %s", r.Body)
	}
	msg, ok := errObj["message"].(string)
	if !ok || msg == "" {
		t.Fatalf("error message: %s", r.Body)
	}
	for _, c := range contains {
		if !strings.Contains(msg, c) {
			t.Fatalf("error message %q lacks %q", msg, c)
		}
	}
	return msg
}

func (e *env) createCustomer(t *testing.T, name, email string) evCustomer {
	t.Helper()
	return e.customerItem(t, e.admin.Do("POST", "/api/2.0/customers", map[string]any{"name": name, "email": email}).Want(t, 201),
		"/api/2.0/customers")
}

func (e *env) createUser(t *testing.T, c *testsupport.Client, body map[string]any) evUser {
	t.Helper()
	return e.userItem(t, c.Do("POST", "/api/2.0/users", body).Want(t, 201), "/api/2.0/users")
}

// nativeUser finds a user through the native API by its number.
func (e *env) nativeUser(t *testing.T, number int64) map[string]any {
	t.Helper()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	e.native.Do("GET", "/v1/users?limit=1000", nil).Want(t, 200).JSON(t, &page)
	for _, u := range page.Items {
		if int64(u["number"].(float64)) == number {
			return u
		}
	}
	t.Fatalf("user %d is not visible in GET /v1/users", number)
	return nil
}

// userKey gives a natively registered user an API key of their own and
// returns an Everlytic client that authenticates as them.
func (e *env) userKey(t *testing.T, username, password string) *testsupport.Client {
	t.Helper()
	raw := testsupport.NewClient(t, e.URL, nil)
	tok := raw.Do("POST", "/v1/auth/login", map[string]any{"username": username, "password": password}).Want(t, 200).Map(t)
	key := raw.Bearer(tok["token"].(string)).Do("POST", "/v1/api-keys", map[string]any{"name": "everlytic"}).Want(t, 201).Map(t)
	return e.anon.With("Authorization", basic(username, key["key"].(string)))
}

// TestSeedRequest sends the documentation's example request — the same
// method, path (with its trailing slash), headers and JSON body, with only
// the base URL and the credentials replaced — and checks the documented
// answer.
func TestSeedRequest(t *testing.T) {
	e := start(t, testsupport.Options{})
	// The example adds the user to customer 1.
	if c := e.createCustomer(t, "Example Customer", "accounts@example.com"); c.ID != 1 {
		t.Fatalf("first customer has id %d", c.ID)
	}

	// As the PHP example builds it: base64(username:apiKey), JSON body.
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin"+":"+testsupport.AdminKey))
	body := `{"name":"Test User","email":"test.user@example.com","username":"test.user@example.com","customer_id":1}`
	seed := testsupport.NewClient(t, e.URL, nil)
	r := seed.Do("POST", prefix+"/api/2.0/users/", body,
		testsupport.Header("Authorization", auth), testsupport.Header("Content-Type", "application/json")).Want(t, 201)

	u := e.userItem(t, r, "/api/2.0/users/")
	want := evUser{ID: 2, Hash: u.Hash, EnterpriseID: 1, CustomerID: 1, Language: "default", Name: "Test User",
		Email: "test.user@example.com", Username: "test.user@example.com", CanCustomerAdmin: "no"}
	if u != want {
		t.Fatalf("created user %+v, want %+v", u, want)
	}
	if loc := r.Header.Get("Location"); loc != e.URL+prefix+"/api/2.0/users/2" {
		t.Fatalf("Location %q", loc)
	}

	// self and home resolve on roster.
	_, links := checkEnvelope(t, r, "item")
	for _, rel := range []string{"self", "home"} {
		e.anon.With("Authorization", auth).Do("GET", strings.TrimPrefix(href(links, rel), e.URL+prefix), nil).Want(t, 200)
	}

	// The user is an ordinary roster user: invited (Everlytic's create
	// takes no password), a tenant-user of the tenant that is customer 1.
	n := e.nativeUser(t, 2)
	ms := n["memberships"].([]any)
	if n["status"] != "invited" || n["email"] != "test.user@example.com" || n["username"] != "test.user@example.com" ||
		n["lang"] != "en" || len(ms) != 1 || ms[0].(map[string]any)["tenant_number"].(float64) != 1 ||
		fmt.Sprint(ms[0].(map[string]any)["roles"]) != "[tenant-user]" {
		t.Fatalf("native view of the created user: %v", n)
	}
	e.native.Do("GET", "/v1/users/"+n["id"].(string), nil).Want(t, 200)
}

func TestUsers(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme := e.createCustomer(t, "Acme", "ops@acme.example")
	globex := e.createCustomer(t, "Globex", "ops@globex.example")

	alice := e.createUser(t, e.admin, map[string]any{"name": "Alice", "email": "alice@acme.example",
		"username": "alice", "customer_id": acme.ID, "can_customer_admin": "yes", "language": "de"})
	if alice.CanCustomerAdmin != "yes" || alice.Language != "de" || alice.CustomerID != acme.ID {
		t.Fatalf("alice: %+v", alice)
	}
	n := e.nativeUser(t, alice.ID)
	if fmt.Sprint(n["memberships"].([]any)[0].(map[string]any)["roles"]) != "[tenant-admin]" || n["lang"] != "de" {
		t.Fatalf("alice natively: %v", n)
	}

	t.Run("get one", func(t *testing.T) {
		for _, path := range []string{"/api/2.0/users/%d", "/api/2.0/users/%d/"} {
			p := fmt.Sprintf(path, alice.ID)
			if got := e.userItem(t, e.admin.Do("GET", p, nil).Want(t, 200), p); got != alice {
				t.Fatalf("GET %s: %+v, want %+v", p, got, alice)
			}
		}
		// The hash is stable: the same on every read, different per user.
		admin := e.userItem(t, e.admin.Do("GET", "/api/2.0/users/1", nil).Want(t, 200), "/api/2.0/users/1")
		if admin.Hash == alice.Hash || admin.Username != "admin" || admin.CustomerID != 0 || admin.CanCustomerAdmin != "no" {
			t.Fatalf("admin: %+v", admin)
		}
	})

	t.Run("customer_id and can_customer_admin as PHP forms send them", func(t *testing.T) {
		// A string of digits for customer_id, and a form body.
		bob := e.createUser(t, e.admin, map[string]any{"name": "Bob", "email": "bob@globex.example",
			"username": "bob", "customer_id": fmt.Sprint(globex.ID), "can_customer_admin": "no"})
		if bob.CustomerID != globex.ID || bob.CanCustomerAdmin != "no" || bob.Language != "default" {
			t.Fatalf("bob: %+v", bob)
		}
		form := fmt.Sprintf("name=Carol&email=carol%%40globex.example&username=carol&customer_id=%d&can_customer_admin=yes", globex.ID)
		carol := e.userItem(t, e.admin.Do("POST", "/api/2.0/users", form,
			testsupport.ContentType("application/x-www-form-urlencoded")).Want(t, 201), "/api/2.0/users")
		if carol.Username != "carol" || carol.CanCustomerAdmin != "yes" || carol.CustomerID != globex.ID {
			t.Fatalf("carol: %+v", carol)
		}
		mp := "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nDave\r\n" +
			"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\ndave@globex.example\r\n" +
			"--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\ndave\r\n" +
			fmt.Sprintf("--XyZ\r\nContent-Disposition: form-data; name=\"customer_id\"\r\n\r\n%d\r\n", globex.ID) +
			"--XyZ--\r\n"
		dave := e.userItem(t, e.admin.Do("POST", "/api/2.0/users", mp,
			testsupport.ContentType("multipart/form-data; boundary=XyZ")).Want(t, 201), "/api/2.0/users")
		if dave.Name != "Dave" || dave.CustomerID != globex.ID {
			t.Fatalf("dave: %+v", dave)
		}
		// curl -d '{…}' without -H 'Content-Type: application/json' labels
		// JSON as a form.
		erin := e.userItem(t, e.admin.Do("POST", "/api/2.0/users",
			fmt.Sprintf(`{"name": "Erin", "email": "erin@globex.example", "username": "erin", "customer_id": %d}`, globex.ID),
			testsupport.ContentType("application/x-www-form-urlencoded")).Want(t, 201), "/api/2.0/users")
		if erin.Name != "Erin" || erin.CustomerID != globex.ID {
			t.Fatalf("erin: %+v", erin)
		}
	})

	t.Run("pages", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			e.createUser(t, e.admin, map[string]any{"name": fmt.Sprintf("Paged %d", i), "email": fmt.Sprintf("paged%d@acme.example", i),
				"username": fmt.Sprintf("paged%d", i), "customer_id": acme.ID})
		}
		// Everyone: admin, alice, bob, carol, dave, erin, 5 paged = 11.
		all, links := e.userList(t, e.admin.Do("GET", "/api/2.0/users?count=100", nil).Want(t, 200), "/api/2.0/users?count=100")
		if len(all) != 11 || href(links, "next") != "" || href(links, "previous") != "" {
			t.Fatalf("all users: %d, links %+v", len(all), links)
		}
		var seen []int64
		path := "/api/2.0/users/?count=4"
		for pages := 0; path != ""; pages++ {
			items, links := e.userList(t, e.admin.Do("GET", path, nil).Want(t, 200), path)
			for _, u := range items {
				seen = append(seen, u.ID)
			}
			if pages > 0 && href(links, "previous") == "" {
				t.Fatalf("page %d has no previous link: %+v", pages+1, links)
			}
			next := href(links, "next")
			if next == "" && len(seen) < 11 {
				t.Fatalf("no next link after %d users", len(seen))
			}
			path = strings.TrimPrefix(next, e.URL+prefix)
			if pages > 3 {
				t.Fatal("too many pages")
			}
		}
		if len(seen) != 11 || !slices.IsSorted(seen) {
			t.Fatalf("paged users %v", seen)
		}
		// Past the end: empty, with a way back.
		items, links := e.userList(t, e.admin.Do("GET", "/api/2.0/users?page=9&count=4", nil).Want(t, 200), "/api/2.0/users?page=9&count=4")
		if len(items) != 0 || !strings.HasSuffix(href(links, "previous"), "page=8") || href(links, "next") != "" {
			t.Fatalf("past the end: %v %+v", items, links)
		}
		// Default page size 20; one customer's users.
		items, _ = e.userList(t, e.admin.Do("GET", fmt.Sprintf("/api/2.0/users?customer_id=%d", globex.ID), nil).Want(t, 200),
			fmt.Sprintf("/api/2.0/users?customer_id=%d", globex.ID))
		if len(items) != 4 {
			t.Fatalf("globex users: %+v", items)
		}
		for _, u := range items {
			if u.CustomerID != globex.ID {
				t.Fatalf("globex listing holds %+v", u)
			}
		}
	})

	t.Run("a user in two tenants shows the filtered one", func(t *testing.T) {
		nat := e.nativeUser(t, alice.ID)
		var gx map[string]any
		var tenants struct {
			Items []map[string]any `json:"items"`
		}
		e.native.Do("GET", "/v1/tenants?limit=100", nil).Want(t, 200).JSON(t, &tenants)
		for _, tn := range tenants.Items {
			if int64(tn["number"].(float64)) == globex.ID {
				gx = tn
			}
		}
		e.native.Do("PUT", "/v1/tenants/"+gx["id"].(string)+"/members/"+nat["id"].(string),
			map[string]any{"roles": []string{"viewer"}}).Want(t, 200)
		items, _ := e.userList(t, e.admin.Do("GET", fmt.Sprintf("/api/2.0/users?customer_id=%d&count=100", globex.ID), nil).Want(t, 200),
			fmt.Sprintf("/api/2.0/users?customer_id=%d&count=100", globex.ID))
		found := false
		for _, u := range items {
			if u.ID == alice.ID {
				found = true
				if u.CustomerID != globex.ID || u.CanCustomerAdmin != "no" {
					t.Fatalf("alice in globex: %+v", u)
				}
			}
		}
		if !found {
			t.Fatal("alice missing from globex's users")
		}
		// Without a filter, her first customer.
		if got := e.userItem(t, e.admin.Do("GET", fmt.Sprintf("/api/2.0/users/%d", alice.ID), nil).Want(t, 200),
			fmt.Sprintf("/api/2.0/users/%d", alice.ID)); got.CustomerID != acme.ID || got.CanCustomerAdmin != "yes" {
			t.Fatalf("alice: %+v", got)
		}
	})

	t.Run("deleted users are gone", func(t *testing.T) {
		eve := e.createUser(t, e.admin, map[string]any{"name": "Eve", "email": "eve@acme.example", "username": "eve", "customer_id": acme.ID})
		e.native.Do("DELETE", "/v1/users/"+e.nativeUser(t, eve.ID)["id"].(string), nil).Want(t, 204)
		wantError(t, e.admin.Do("GET", fmt.Sprintf("/api/2.0/users/%d", eve.ID), nil), 404, "user not found")
		items, _ := e.userList(t, e.admin.Do("GET", "/api/2.0/users?count=1000", nil).Want(t, 200), "/api/2.0/users?count=1000")
		for _, u := range items {
			if u.ID == eve.ID {
				t.Fatal("a deleted user is listed")
			}
		}
		// Her email and username are free again.
		e.createUser(t, e.admin, map[string]any{"name": "Eve 2", "email": "eve@acme.example", "username": "eve", "customer_id": acme.ID})
	})

	t.Run("a customer administrator", func(t *testing.T) {
		// Frank administers Acme; his own key works with his username.
		var acmeID string
		var tenants struct {
			Items []map[string]any `json:"items"`
		}
		e.native.Do("GET", "/v1/tenants?limit=100", nil).Want(t, 200).JSON(t, &tenants)
		for _, tn := range tenants.Items {
			if int64(tn["number"].(float64)) == acme.ID {
				acmeID = tn["id"].(string)
			}
		}
		e.native.Do("POST", "/v1/users", map[string]any{"action": "register", "email": "frank@acme.example", "username": "frank",
			"password": "frank's long passphrase", "tenant_id": acmeID, "roles": []string{"tenant-admin"}}).Want(t, 201)
		frank := e.userKey(t, "frank", "frank's long passphrase")
		g := e.createUser(t, frank, map[string]any{"name": "Gina", "email": "gina@acme.example", "username": "gina",
			"customer_id": acme.ID, "can_customer_admin": "yes"})
		if g.CanCustomerAdmin != "yes" {
			t.Fatalf("gina: %+v", g)
		}
		// He sees Acme's users only, and Acme among the customers.
		items, _ := e.userList(t, frank.Do("GET", "/api/2.0/users?count=100", nil).Want(t, 200), "/api/2.0/users?count=100")
		for _, u := range items {
			if u.CustomerID != acme.ID {
				t.Fatalf("frank sees %+v", u)
			}
		}
		cs, _ := e.customerList(t, frank.Do("GET", "/api/2.0/customers", nil).Want(t, 200), "/api/2.0/customers")
		if len(cs) != 1 || cs[0].ID != acme.ID {
			t.Fatalf("frank's customers: %+v", cs)
		}
		// Globex is not his to see nor to add to.
		wantError(t, frank.Do("POST", "/api/2.0/users", map[string]any{"name": "Hal", "email": "hal@globex.example",
			"username": "hal", "customer_id": globex.ID}), 400, "customer_id: no such customer")
		wantError(t, frank.Do("GET", fmt.Sprintf("/api/2.0/customers/%d", globex.ID), nil), 404, "customer not found")
		wantError(t, frank.Do("GET", "/api/2.0/users/1", nil), 404, "user not found")
		// Creating customers is the provider's.
		wantError(t, frank.Do("POST", "/api/2.0/customers", map[string]any{"name": "Initech", "email": "ops@initech.example"}),
			403, "only provider administrators create tenants")
	})
}

func TestCustomers(t *testing.T) {
	e := start(t, testsupport.Options{})
	r := e.admin.Do("POST", "/api/2.0/customers/", map[string]any{"name": "Acme", "email": "ops@acme.example", "language": "de"}).Want(t, 201)
	acme := e.customerItem(t, r, "/api/2.0/customers/")
	if acme != (evCustomer{ID: 1, EnterpriseID: 1, Name: "Acme", Email: "ops@acme.example", Language: "de"}) {
		t.Fatalf("acme: %+v", acme)
	}
	if r.Header.Get("Location") != e.URL+prefix+"/api/2.0/customers/1" {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	form := "name=Globex&email=ops%40globex.example"
	globex := e.customerItem(t, e.admin.Do("POST", "/api/2.0/customers", form,
		testsupport.ContentType("application/x-www-form-urlencoded")).Want(t, 201), "/api/2.0/customers")
	if globex.ID != 2 || globex.Language != "default" {
		t.Fatalf("globex: %+v", globex)
	}
	for _, path := range []string{"/api/2.0/customers/1", "/api/2.0/customers/1/"} {
		if got := e.customerItem(t, e.admin.Do("GET", path, nil).Want(t, 200), path); got != acme {
			t.Fatalf("GET %s: %+v", path, got)
		}
	}
	// Visible natively.
	var tenants struct {
		Items []map[string]any `json:"items"`
	}
	e.native.Do("GET", "/v1/tenants", nil).Want(t, 200).JSON(t, &tenants)
	if len(tenants.Items) != 2 || tenants.Items[0]["name"] != "Acme" || tenants.Items[0]["lang"] != "de" ||
		tenants.Items[0]["email"] != "ops@acme.example" {
		t.Fatalf("native tenants: %v", tenants.Items)
	}

	for i := 3; i <= 7; i++ {
		e.createCustomer(t, fmt.Sprintf("Customer %d", i), fmt.Sprintf("c%d@example.com", i))
	}
	items, links := e.customerList(t, e.admin.Do("GET", "/api/2.0/customers?page=2&count=3", nil).Want(t, 200), "/api/2.0/customers?page=2&count=3")
	if len(items) != 3 || items[0].ID != 4 || items[2].ID != 6 {
		t.Fatalf("page 2: %+v", items)
	}
	if href(links, "next") != e.URL+prefix+"/api/2.0/customers?count=3&page=3" ||
		href(links, "previous") != e.URL+prefix+"/api/2.0/customers?count=3&page=1" {
		t.Fatalf("links: %+v", links)
	}
	last, links := e.customerList(t, e.admin.Do("GET", "/api/2.0/customers?count=3&page=3", nil).Want(t, 200), "/api/2.0/customers?count=3&page=3")
	if len(last) != 1 || last[0].ID != 7 || href(links, "next") != "" {
		t.Fatalf("last page: %+v %+v", last, links)
	}
	all, _ := e.customerList(t, e.admin.Do("GET", "/api/2.0/customers", nil).Want(t, 200), "/api/2.0/customers")
	if len(all) != 7 {
		t.Fatalf("all customers: %d", len(all))
	}

	// A deleted customer is gone, and nobody can be added to it.
	e.native.Do("DELETE", "/v1/tenants/"+tenants.Items[1]["id"].(string), nil).Want(t, 204)
	wantError(t, e.admin.Do("GET", "/api/2.0/customers/2", nil), 404, "customer not found")
	wantError(t, e.admin.Do("POST", "/api/2.0/users", map[string]any{"name": "X", "email": "x@example.com", "username": "x",
		"customer_id": 2}), 400, "customer_id: no such customer")
	wantError(t, e.admin.Do("GET", "/api/2.0/users?customer_id=2", nil), 400, "customer_id: no such customer")
	all, _ = e.customerList(t, e.admin.Do("GET", "/api/2.0/customers", nil).Want(t, 200), "/api/2.0/customers")
	if len(all) != 6 {
		t.Fatalf("customers after delete: %d", len(all))
	}
}

func TestHome(t *testing.T) {
	e := start(t, testsupport.Options{})
	for _, path := range []string{"/api/2.0", "/api/2.0/"} {
		r := e.admin.Do("GET", path, nil).Want(t, 200)
		_, links := checkEnvelope(t, r, "")
		e.checkLinks(t, links, path)
		if href(links, "users") != e.URL+prefix+"/api/2.0/users" || href(links, "customers") != e.URL+prefix+"/api/2.0/customers" {
			t.Fatalf("home links: %+v", links)
		}
	}
}

// TestXML: with Accept asking for XML the same content comes as XML.
func TestXML(t *testing.T) {
	e := start(t, testsupport.Options{})
	e.createCustomer(t, "Acme", "ops@acme.example")
	u := e.createUser(t, e.admin, map[string]any{"name": "Alice & Co", "email": "alice@acme.example", "username": "alice", "customer_id": 1})

	type xmlResponse struct {
		XMLName xml.Name `xml:"response"`
		Links   []evLink `xml:"links>link"`
		Item    *struct {
			ID               int64  `xml:"id"`
			Hash             string `xml:"hash"`
			EnterpriseID     int64  `xml:"enterprise_id"`
			CustomerID       int64  `xml:"customer_id"`
			Language         string `xml:"language"`
			Name             string `xml:"name"`
			Email            string `xml:"email"`
			Username         string `xml:"username"`
			CanCustomerAdmin string `xml:"can_customer_admin"`
		} `xml:"item"`
		Collection *struct {
			Items []struct {
				ID int64 `xml:"id"`
			} `xml:"item"`
		} `xml:"collection"`
		Error *struct {
			Message string `xml:"message"`
		} `xml:"error"`
	}
	decode := func(t *testing.T, r *testsupport.Resp, ct string) xmlResponse {
		t.Helper()
		if got := r.Header.Get("Content-Type"); got != ct+"; charset=utf-8" {
			t.Fatalf("content type %q, want %s: %s", got, ct, r.Body)
		}
		if !strings.HasPrefix(string(r.Body), `<?xml version="1.0" encoding="UTF-8"?>`) {
			t.Fatalf("no XML declaration: %s", r.Body)
		}
		var out xmlResponse
		if err := xml.Unmarshal(r.Body, &out); err != nil {
			t.Fatalf("decode XML: %v: %s", err, r.Body)
		}
		return out
	}

	for _, accept := range []string{"application/xml", "text/xml", "application/json;q=0.5, application/xml",
		"text/html, application/xml;q=0.9, */*;q=0.8", "application/json;q=0, */*",
		// Equal quality: the type named explicitly wins over a wildcard.
		"application/xml;q=0.5, */*;q=0.5"} {
		t.Run(accept, func(t *testing.T) {
			ct := "application/xml"
			if strings.HasPrefix(accept, "text/xml") {
				ct = "text/xml"
			}
			r := e.admin.Do("GET", "/api/2.0/users/2", nil, testsupport.Header("Accept", accept)).Want(t, 200)
			if !strings.Contains(r.Header.Get("Vary"), "Accept") {
				t.Fatalf("Vary: %q", r.Header.Get("Vary"))
			}
			x := decode(t, r, ct)
			if x.Item == nil || x.Item.ID != u.ID || x.Item.Hash != u.Hash || x.Item.EnterpriseID != 1 || x.Item.CustomerID != 1 ||
				x.Item.Language != "default" || x.Item.Name != "Alice & Co" || x.Item.Email != u.Email ||
				x.Item.Username != "alice" || x.Item.CanCustomerAdmin != "no" {
				t.Fatalf("XML item: %+v", x.Item)
			}
			if len(x.Links) != 2 || x.Links[0] != (evLink{"Self", "self", e.URL + prefix + "/api/2.0/users/2"}) ||
				x.Links[1] != (evLink{"Home", "home", e.URL + prefix + "/api/2.0/"}) {
				t.Fatalf("XML links: %+v", x.Links)
			}
		})
	}
	t.Run("JSON stays the default", func(t *testing.T) {
		for _, accept := range []string{"", "*/*", "application/json", "application/*", "text/html", "application/xml;q=0.4, application/json;q=0.6"} {
			r := e.admin.Do("GET", "/api/2.0/users/2", nil, testsupport.Header("Accept", accept)).Want(t, 200)
			e.userItem(t, r, "/api/2.0/users/2")
		}
	})
	t.Run("collections and creation", func(t *testing.T) {
		x := decode(t, e.admin.Do("GET", "/api/2.0/users", nil, testsupport.Header("Accept", "application/xml")).Want(t, 200), "application/xml")
		if x.Collection == nil || len(x.Collection.Items) != 2 || x.Collection.Items[1].ID != u.ID {
			t.Fatalf("XML collection: %+v", x.Collection)
		}
		x = decode(t, e.admin.Do("GET", "/api/2.0/users?page=5", nil, testsupport.Header("Accept", "application/xml")).Want(t, 200), "application/xml")
		if x.Collection == nil || len(x.Collection.Items) != 0 {
			t.Fatalf("empty XML collection: %+v", x)
		}
		x = decode(t, e.admin.Do("POST", "/api/2.0/customers", map[string]any{"name": "Globex", "email": "ops@globex.example"},
			testsupport.Header("Accept", "text/xml")).Want(t, 201), "text/xml")
		if len(x.Links) != 2 || x.Item == nil || x.Item.ID != 2 {
			t.Fatalf("XML created customer: %+v", x)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			r      *testsupport.Resp
			status int
			msg    string
		}{
			{e.anon.Do("GET", "/api/2.0/users", nil, testsupport.Header("Accept", "application/xml")), 401, "authentication required"},
			{e.admin.Do("GET", "/api/2.0/users/99", nil, testsupport.Header("Accept", "application/xml")), 404, "user not found"},
			{e.admin.Do("POST", "/api/2.0/users", map[string]any{"name": "Bob"}, testsupport.Header("Accept", "application/xml")), 400, "customer_id: is required"},
			{e.admin.Do("GET", "/api/2.0/nothing", nil, testsupport.Header("Accept", "application/xml")), 404, "no such endpoint"},
		} {
			c.r.Want(t, c.status)
			x := decode(t, c.r, "application/xml")
			if x.Error == nil || !strings.Contains(x.Error.Message, c.msg) || x.Item != nil || len(x.Links) != 0 {
				t.Fatalf("XML error: %s", c.r.Body)
			}
		}
	})
}
