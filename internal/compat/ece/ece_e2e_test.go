package ece_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/internal/service"
	"roster/internal/testsupport"
)

// seed002 is the request body of shared/seeds/002 (ECE's "Creates a new
// user" page), verbatim: every value is the documentation's placeholder,
// and it sets builtin and metadata, which ECE reserves to itself.
const seed002 = ` { "builtin" : true, "email" : "string", "full_name" : "string", "metadata" : { "created_at" : "2019-01-01T00:00:00Z", "created_by" : "string", "first_login_at" : "2019-01-01T00:00:00Z", "last_login_at" : "2019-01-01T00:00:00Z", "updated_at" : "2019-01-01T00:00:00Z", "updated_by" : "string" }, "security" : { "elevated_permissions" : { "enabled" : true, "expires_at" : "2019-01-01T00:00:00Z" }, "enabled" : true, "password" : "string", "permissions" : [ "string" ], "roles" : [ "string" ], "security_realm" : { "id" : "string", "type" : "string" } }, "user_name" : "string" } `

// seedWithout returns the seed's body without builtin and metadata, its
// placeholders filled with real values (ecctl's own example user), and
// security.permissions and security.elevated_permissions left as the seed
// has them.
func seedWithout(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(seed002), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "builtin")
	delete(m, "metadata")
	m["user_name"] = "sam89"
	m["email"] = "sam89@example.com"
	m["full_name"] = "Sam Eighty-Nine"
	sec := m["security"].(map[string]any)
	sec["password"] = "correct horse battery staple"
	sec["roles"] = []string{"ece_platform_viewer", "ece_deployment_viewer"}
	sec["security_realm"] = map[string]any{"id": "native", "type": "native"}
	return m
}

func newUser(name string, roles ...string) map[string]any {
	return map[string]any{"user_name": name, "email": name + "@example.com", "full_name": "User " + name,
		"security": map[string]any{"password": "long enough passphrase " + name, "roles": roles, "enabled": true}}
}

// TestSeed002 sends the seed's own request with only the base URL and the
// key changed.
func TestSeed002(t *testing.T) {
	e := startECE(t, service.Config{})

	t.Run("as published: builtin and metadata are restricted", func(t *testing.T) {
		// The seed's security_realm.type "string" is outside the document's
		// enum, so only the answer is checked against the document.
		r := e.admin.Do("POST", "/api/v1/users", seed002, testsupport.Invalid())
		els := e.wantErr(t, r, 400, "user.restricted_field")
		wantFields(t, els[0], "builtin", "metadata")
		// Nothing was created.
		e.wantErr(t, e.admin.Do("GET", "/api/v1/users/string", nil), 404, "user.not_found")
	})

	t.Run("without builtin and metadata", func(t *testing.T) {
		r := e.admin.Do("POST", "/api/v1/users", seedWithout(t)).Want(t, 200)
		u := readUser(t, r)
		if u.UserName != "sam89" || u.Email != "sam89@example.com" || u.FullName != "Sam Eighty-Nine" || *u.Builtin {
			t.Fatalf("created user: %s", r.Body)
		}
		if !slices.Equal(u.Security.Roles, []string{"ece_deployment_viewer", "ece_platform_viewer"}) || !*u.Security.Enabled {
			t.Fatalf("roles or enabled: %s", r.Body)
		}
		// permissions are not taken from a request.
		if u.Security.Permissions != nil {
			t.Fatalf("permissions echoed: %s", r.Body)
		}
		epoch := testsupport.Epoch.Format(time.RFC3339)
		if u.Metadata.CreatedAt != epoch || u.Metadata.UpdatedAt != epoch || u.Metadata.CreatedBy != "admin" ||
			u.Metadata.UpdatedBy != "admin" || u.Metadata.FirstLoginAt != "" || u.Metadata.LastLoginAt != "" {
			t.Fatalf("metadata: %s", r.Body)
		}

		// An ordinary roster user: visible through the native API.
		list := e.native.Do("GET", "/v1/users?q=sam89", nil).Want(t, 200).Map(t)
		items, _ := list["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("native listing: %v", list)
		}
		nu := items[0].(map[string]any)
		if nu["username"] != "sam89" || nu["email"] != "sam89@example.com" || nu["status"] != "active" ||
			nu["security_realm"] != "native" || nu["has_password"] != true || len(nu["memberships"].([]any)) != 0 {
			t.Fatalf("native view: %v", nu)
		}
		if roles := nu["provider_roles"].([]any); len(roles) != 2 || roles[0] != "deployment-viewer" || roles[1] != "provider-viewer" {
			t.Fatalf("native provider roles: %v", roles)
		}
		// And it logs in with its password.
		tok := e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "sam89",
			"password": "correct horse battery staple"}).Want(t, 200).Map(t)["token"].(string)
		me := readUser(t, e.anon.Bearer(tok).Do("GET", "/api/v1/user", nil).Want(t, 200))
		if me.UserName != "sam89" || me.Metadata.FirstLoginAt != epoch || me.Metadata.LastLoginAt != epoch {
			t.Fatalf("current user after login: %+v", me.Metadata)
		}
	})
}

// TestECE walks every endpoint, provokes every documented error, and ends
// by checking that every served operation was checked against the document.
func TestECE(t *testing.T) {
	e := startECE(t, service.Config{})
	admin := e.admin

	t.Run("create and read", func(t *testing.T) {
		r := admin.Do("POST", "/api/v1/users", newUser("viewer1", "ece_platform_viewer")).Want(t, 200)
		if u := readUser(t, r); u.UserName != "viewer1" || !slices.Equal(u.Security.Roles, []string{"ece_platform_viewer"}) {
			t.Fatalf("created: %s", r.Body)
		}
		// Disabled from the start.
		body := newUser("dormant", "ece_deployment_manager")
		body["security"].(map[string]any)["enabled"] = false
		if u := readUser(t, admin.Do("POST", "/api/v1/users", body).Want(t, 200)); *u.Security.Enabled {
			t.Fatalf("created enabled despite enabled=false")
		}
		// Without email and full name, as ECE allows.
		min := map[string]any{"user_name": "bare", "security": map[string]any{"password": "bare user passphrase",
			"roles": []string{"ece_deployment_viewer"}}}
		if u := readUser(t, admin.Do("POST", "/api/v1/users", min).Want(t, 200)); u.Email != "" || u.FullName != "" || !*u.Security.Enabled {
			t.Fatalf("minimal user: %+v", u)
		}

		got := readUser(t, admin.Do("GET", "/api/v1/users/viewer1", nil).Want(t, 200))
		if got.Email != "viewer1@example.com" || got.FullName != "User viewer1" || got.Metadata.CreatedBy != "admin" {
			t.Fatalf("get: %+v", got)
		}
		// User names compare without case, as roster's usernames do.
		readUser(t, admin.Do("GET", "/api/v1/users/VIEWER1", nil).Want(t, 200))

		// The built-in administrator is ECE's built-in admin user.
		a := readUser(t, admin.Do("GET", "/api/v1/users/admin", nil).Want(t, 200))
		if !*a.Builtin || !slices.Equal(a.Security.Roles, []string{"ece_platform_admin"}) {
			t.Fatalf("admin: %+v", a)
		}
		// The key's own user.
		if me := readUser(t, admin.Do("GET", "/api/v1/user", nil).Want(t, 200)); me.UserName != "admin" {
			t.Fatalf("current user: %+v", me)
		}
	})

	t.Run("list", func(t *testing.T) {
		// A tenant user made through the native API holds no ECE role and
		// is not an ECE platform user.
		tenant := e.native.Do("POST", "/v1/tenants", map[string]any{"name": "Acme"}).Want(t, 201).Map(t)["id"]
		e.native.Do("POST", "/v1/users", map[string]any{"action": "register", "email": "tenant.user@acme.example",
			"username": "tenantuser", "password": "tenant user passphrase", "tenant_id": tenant}).Want(t, 201)

		names := func(r *testsupport.Resp) []string {
			var l struct {
				Users []user `json:"users"`
			}
			r.JSON(t, &l)
			var out []string
			for _, u := range l.Users {
				checkUser(t, u, string(r.Body))
				out = append(out, u.UserName)
			}
			return out
		}
		got := names(admin.Do("GET", "/api/v1/users", nil).Want(t, 200))
		if !slices.Equal(got, []string{"admin", "viewer1", "bare"}) {
			t.Fatalf("users: %v", got)
		}
		got = names(admin.Do("GET", "/api/v1/users?include_disabled=true", nil).Want(t, 200))
		if !slices.Equal(got, []string{"admin", "viewer1", "dormant", "bare"}) {
			t.Fatalf("users with disabled: %v", got)
		}
		// The tenant user can still be read by name: user names are unique
		// across roster, so this explains a conflict.
		if u := readUser(t, admin.Do("GET", "/api/v1/users/tenantuser", nil).Want(t, 200)); len(u.Security.Roles) != 0 {
			t.Fatalf("tenant user's ECE roles: %v", u.Security.Roles)
		}
		e.wantErr(t, e.raw.Do("GET", "/api/v1/users?include_disabled=maybe", nil), 400, "root.invalid_data")
	})

	t.Run("user_name invalid", func(t *testing.T) {
		for _, name := range []string{"", "   ", "has space", "semi;colon", ".", "..", "..."} {
			body := newUser(name, "ece_platform_viewer")
			body["email"] = "valid@example.com"
			els := e.wantErr(t, admin.Do("POST", "/api/v1/users", body), 400, "user.user_name.invalid")
			wantFields(t, els[0], "user_name")
		}
		body := newUser("x", "ece_platform_viewer")
		delete(body, "user_name")
		e.wantErr(t, admin.Do("POST", "/api/v1/users", body, testsupport.Invalid()), 400, "user.user_name.invalid")
	})

	t.Run("roles invalid", func(t *testing.T) {
		for _, c := range []struct {
			roles []string
			field string
			say   string
		}{
			{[]string{"string"}, "security.roles[0]", `unknown role "string"`},
			{[]string{"ece_platform_viewer", "provider-admin"}, "security.roles[1]", `unknown role "provider-admin"`}, // roster's names are not ECE's
			{[]string{"ece_platform_admin", "ece_platform_viewer"}, "security.roles", "ece_platform_admin cannot be combined"},
			{[]string{"ece_deployment_manager", "ece_deployment_viewer"}, "security.roles", "only one of ece_deployment_manager, ece_deployment_viewer"},
			{[]string{}, "security.roles", "at least one role"},
		} {
			els := e.wantErr(t, admin.Do("POST", "/api/v1/users", newUser("roles1", c.roles...)), 400, "user.roles.invalid")
			wantFields(t, els[0], c.field)
			if !strings.Contains(els[0].Message, c.say) {
				t.Errorf("roles %v: message %q does not say %q", c.roles, els[0].Message, c.say)
			}
		}
		// No security at all: no role.
		e.wantErr(t, admin.Do("POST", "/api/v1/users", map[string]any{"user_name": "nosec"}, testsupport.Invalid()),
			400, "user.roles.invalid")
		// Allowed combinations, and a role named twice.
		for i, roles := range [][]string{
			{"ece_platform_viewer", "ece_deployment_manager"},
			{"ece_platform_viewer", "ece_deployment_viewer"},
			{"ece_platform_admin", "ece_platform_admin"},
		} {
			name := "combo" + string(rune('a'+i))
			u := readUser(t, admin.Do("POST", "/api/v1/users", newUser(name, roles...)).Want(t, 200))
			if !slices.Equal(u.Security.Roles, slices.Compact(slices.Sorted(slices.Values(roles)))) {
				t.Errorf("roles %v stored as %v", roles, u.Security.Roles)
			}
		}
	})

	var viewerToken string
	t.Run("roles forbidden", func(t *testing.T) {
		viewerToken = e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "viewer1",
			"password": "long enough passphrase viewer1"}).Want(t, 200).Map(t)["token"].(string)
		viewer := e.anon.Bearer(viewerToken)
		els := e.wantErr(t, viewer.Do("POST", "/api/v1/users", newUser("byviewer", "ece_platform_admin")), 400, "user.roles.forbidden")
		wantFields(t, els[0], "security.roles[0]")
		if !strings.Contains(els[0].Message, "ece_platform_admin") {
			t.Errorf("message does not name the role in ECE's terms: %s", els[0].Message)
		}
		// What a viewer may not do at all is RBAC's 403 (not in the
		// document's list for these operations).
		rawViewer := e.raw.With("Authorization", "Bearer "+viewerToken)
		e.wantErr(t, rawViewer.Do("DELETE", "/api/v1/users/bare", nil), 403, "root.unauthorized.rbac")
		e.wantErr(t, rawViewer.Do("PATCH", "/api/v1/users/bare", map[string]any{"full_name": "x"}), 403, "root.unauthorized.rbac")
		// But a viewer reads.
		readUser(t, viewer.Do("GET", "/api/v1/users/bare", nil).Want(t, 200))
	})

	t.Run("restricted fields", func(t *testing.T) {
		body := newUser("restr", "ece_platform_viewer")
		body["builtin"] = true
		els := e.wantErr(t, admin.Do("POST", "/api/v1/users", body), 400, "user.restricted_field")
		wantFields(t, els[0], "builtin")
		body = newUser("restr", "ece_platform_viewer")
		body["metadata"] = map[string]any{"created_by": "someone"}
		wantFields(t, e.wantErr(t, admin.Do("POST", "/api/v1/users", body), 400, "user.restricted_field")[0], "metadata")
		// builtin false is what every created user is: not a restriction.
		body = newUser("restr", "ece_platform_viewer")
		body["builtin"] = false
		readUser(t, admin.Do("POST", "/api/v1/users", body).Want(t, 200))
		// Only the native realm exists.
		body = newUser("ldapuser", "ece_platform_viewer")
		body["security"].(map[string]any)["security_realm"] = map[string]any{"id": "corp-ldap", "type": "ldap"}
		els = e.wantErr(t, admin.Do("POST", "/api/v1/users", body), 400, "user.restricted_field")
		wantFields(t, els[0], "security.security_realm")
	})

	t.Run("user_name conflict", func(t *testing.T) {
		els := e.wantErr(t, admin.Do("POST", "/api/v1/users", newUser("Viewer1", "ece_platform_viewer")), 409, "user.user_name.conflict")
		wantFields(t, els[0], "user_name")
		// A tenant user's username is taken too.
		e.wantErr(t, admin.Do("POST", "/api/v1/users", newUser("tenantuser", "ece_platform_viewer")), 409, "user.user_name.conflict")
		// Emails are unique as well: roster's own code, which the document
		// does not list.
		body := newUser("other", "ece_platform_viewer")
		body["email"] = "viewer1@example.com"
		wantFields(t, e.wantErr(t, e.raw.Do("POST", "/api/v1/users", body), 409, "user.email.conflict")[0], "email")
	})

	t.Run("roster's own validation", func(t *testing.T) {
		// ECE documents no code for these; roster answers 400 with
		// user.<field>.invalid in ECE's naming.
		weak := newUser("weakpw", "ece_platform_viewer")
		weak["security"].(map[string]any)["password"] = "short"
		wantFields(t, e.wantErr(t, e.raw.Do("POST", "/api/v1/users", weak), 400, "user.password.invalid")[0], "security.password")
		nopw := newUser("nopw", "ece_platform_viewer")
		delete(nopw["security"].(map[string]any), "password")
		e.wantErr(t, e.raw.Do("POST", "/api/v1/users", nopw), 400, "user.password.invalid")
		bad := newUser("bademail", "ece_platform_viewer")
		bad["email"] = "not an email"
		wantFields(t, e.wantErr(t, e.raw.Do("POST", "/api/v1/users", bad), 400, "user.email.invalid")[0], "email")
		// Several problems at once: one element per code.
		both := newUser("two", "ece_platform_viewer")
		both["email"] = "nope"
		both["security"].(map[string]any)["password"] = "short"
		e.wantErr(t, e.raw.Do("POST", "/api/v1/users", both), 400, "user.email.invalid", "user.password.invalid")
		// Malformed JSON and wrong types: ECE's root.invalid_json_request.
		els := e.wantErr(t, e.raw.Do("POST", "/api/v1/users", `{"user_name": "x",`), 400, "root.invalid_json_request")
		if !strings.Contains(els[0].Message, "line 1") {
			t.Errorf("parse error does not say where: %s", els[0].Message)
		}
		els = e.wantErr(t, e.raw.Do("POST", "/api/v1/users", `{"user_name": "x", "security": {"enabled": "yes"}}`), 400, "root.invalid_json_request")
		wantFields(t, els[0], "security.enabled")
		e.wantErr(t, e.raw.Do("POST", "/api/v1/users", ""), 400, "root.invalid_json_request")
	})

	t.Run("patch", func(t *testing.T) {
		// The document's form: the merge patch as a JSON string.
		r := admin.Do("PATCH", "/api/v1/users/viewer1", stringBody(t, map[string]any{"full_name": "Vera Viewer",
			"email": "vera@example.com"})).Want(t, 200)
		u := readUser(t, r)
		if u.FullName != "Vera Viewer" || u.Email != "vera@example.com" || !slices.Equal(u.Security.Roles, []string{"ece_platform_viewer"}) {
			t.Fatalf("patched: %s", r.Body)
		}
		// The usual form, an object (the document declares a string body,
		// so only the answers of these are checked).
		obj := testsupport.Invalid()
		u = readUser(t, admin.Do("PATCH", "/api/v1/users/viewer1", map[string]any{"email": nil}, obj).Want(t, 200))
		if u.Email != "" || u.FullName != "Vera Viewer" {
			t.Fatalf("null did not remove the email: %+v", u)
		}
		// What Elastic's Go SDK sends for `ecctl user update`: the user
		// name again, and the roles.
		sdk := map[string]any{"user_name": "viewer1", "security": map[string]any{"roles": []string{"ece_platform_viewer", "ece_deployment_manager"}}}
		u = readUser(t, admin.Do("PATCH", "/api/v1/users/viewer1", sdk, obj).Want(t, 200))
		if !slices.Equal(u.Security.Roles, []string{"ece_deployment_manager", "ece_platform_viewer"}) {
			t.Fatalf("roles after patch: %v", u.Security.Roles)
		}
		// `ecctl user disable`: security.enabled only.
		u = readUser(t, admin.Do("PATCH", "/api/v1/users/viewer1", map[string]any{"user_name": "viewer1",
			"security": map[string]any{"enabled": false}}, obj).Want(t, 200))
		if *u.Security.Enabled {
			t.Fatal("still enabled")
		}
		// A disabled user's token stops working.
		e.wantErr(t, e.raw.With("Authorization", "Bearer "+viewerToken).Do("GET", "/api/v1/user", nil), 401, "root.unauthorized")
		u = readUser(t, admin.Do("PATCH", "/api/v1/users/viewer1", map[string]any{"security": map[string]any{"enabled": nil}}, obj).Want(t, 200))
		if !*u.Security.Enabled {
			t.Fatal("null did not revert enabled to its default, true")
		}
		// A new password works at once.
		admin.Do("PATCH", "/api/v1/users/viewer1", map[string]any{"security": map[string]any{"password": "a brand new passphrase"}}, obj).Want(t, 200)
		e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "viewer1", "password": "a brand new passphrase"}).Want(t, 200)
		// Fields that describe the user but are not changed by a patch are
		// ignored; values equal to the current ones are no change.
		same := map[string]any{"user_name": "viewer1", "builtin": false, "security": map[string]any{
			"security_realm": map[string]any{"id": "native", "type": "native"}, "permissions": []string{"x"},
			"elevated_permissions": map[string]any{"enabled": true}}}
		readUser(t, admin.Do("PATCH", "/api/v1/users/viewer1", same, obj).Want(t, 200))

		// Errors.
		for field, patch := range map[string]map[string]any{
			"user_name":               {"user_name": "renamed"},
			"builtin":                 {"builtin": true},
			"metadata":                {"metadata": map[string]any{"created_by": "me"}},
			"security":                {"security": nil},
			"security.password":       {"security": map[string]any{"password": nil}},
			"security.security_realm": {"security": map[string]any{"security_realm": map[string]any{"id": "x", "type": "saml"}}},
		} {
			els := e.wantErr(t, admin.Do("PATCH", "/api/v1/users/viewer1", stringBody(t, patch)), 400, "user.restricted_field")
			wantFields(t, els[0], field)
		}
		for _, roles := range []any{[]string{"ece_platform_admin", "ece_platform_viewer"}, []string{"nope"}, []string{}, nil} {
			e.wantErr(t, admin.Do("PATCH", "/api/v1/users/viewer1", stringBody(t, map[string]any{"security": map[string]any{"roles": roles}})),
				400, "user.roles.invalid")
		}
		// Nothing of a refused patch is applied: valid roles with a bad
		// email change neither.
		e.wantErr(t, e.raw.Do("PATCH", "/api/v1/users/viewer1", map[string]any{"full_name": "Half", "email": "not-an-email",
			"security": map[string]any{"roles": []string{"ece_deployment_viewer"}}}), 400, "user.email.invalid")
		if u := readUser(t, admin.Do("GET", "/api/v1/users/viewer1", nil).Want(t, 200)); u.FullName != "Vera Viewer" ||
			!slices.Equal(u.Security.Roles, []string{"ece_deployment_manager", "ece_platform_viewer"}) {
			t.Fatalf("a refused patch changed the user: %+v", u)
		}
		e.wantErr(t, e.raw.Do("PATCH", "/api/v1/users/viewer1", `[1, 2]`), 400, "root.invalid_json_request")
		e.wantErr(t, e.raw.Do("PATCH", "/api/v1/users/viewer1", `{"full_name": 5}`), 400, "root.invalid_json_request")

		// The built-in administrator cannot lose what makes it one.
		e.wantErr(t, admin.Do("PATCH", "/api/v1/users/admin", stringBody(t, map[string]any{"security": map[string]any{"roles": []string{"ece_platform_viewer"}}})),
			400, "user.cannot_modify")
		e.wantErr(t, admin.Do("PATCH", "/api/v1/users/admin", stringBody(t, map[string]any{"security": map[string]any{"enabled": false}})),
			400, "user.cannot_modify")
		// Its name may change, as roster's API allows.
		readUser(t, admin.Do("PATCH", "/api/v1/users/admin", stringBody(t, map[string]any{"full_name": "Platform Administrator"})).Want(t, 200))
	})

	t.Run("current user", func(t *testing.T) {
		tok := e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "bare",
			"password": "bare user passphrase"}).Want(t, 200).Map(t)["token"].(string)
		me := e.anon.Bearer(tok)
		u := readUser(t, me.Do("PATCH", "/api/v1/user", stringBody(t, map[string]any{"full_name": "Bare Bones"})).Want(t, 200))
		if u.UserName != "bare" || u.FullName != "Bare Bones" || u.Metadata.UpdatedBy != "bare" {
			t.Fatalf("self patch: %+v", u)
		}
		// Roles are not one's own to change.
		e.wantErr(t, e.raw.With("Authorization", "Bearer "+tok).Do("PATCH", "/api/v1/user",
			map[string]any{"security": map[string]any{"roles": []string{"ece_platform_admin"}}}), 403, "root.unauthorized.rbac")
		// A key that belongs to no user has no current user.
		svcKey := e.native.Do("POST", "/v1/api-keys", map[string]any{"name": "robot", "service": true,
			"roles": []string{"provider-viewer"}}).Want(t, 201).Map(t)["key"].(string)
		e.wantErr(t, e.anon.With("Authorization", "ApiKey "+svcKey).Do("GET", "/api/v1/user", nil), 404, "user.not_found")
	})

	t.Run("login, refresh, elevate", func(t *testing.T) {
		e.wantErr(t, e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "bare", "password": "wrong password here"}),
			401, "root.unauthenticated")
		e.wantErr(t, e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "nobody", "password": "whatever it is"}),
			401, "root.unauthenticated")
		// login_state (a redirect for ECE's web console) is ignored.
		tok := e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "bare", "password": "bare user passphrase",
			"login_state": map[string]any{"path": "/deployments"}}).Want(t, 200)
		token := tok.Map(t)["token"].(string)
		sess := e.anon.Bearer(token)

		// _refresh extends the session past its original end.
		clock := e.ManualClock()
		clock.Advance(11 * time.Hour)
		if got := sess.Do("POST", "/api/v1/users/auth/_refresh", nil).Want(t, 200).Map(t)["token"]; got != token {
			t.Fatalf("refresh answered %v", got)
		}
		clock.Advance(2 * time.Hour) // 13h after login; the session lasts 12h from the refresh
		readUser(t, sess.Do("GET", "/api/v1/user", nil).Want(t, 200))
		// An API key is not a session.
		e.wantErr(t, e.raw.Do("POST", "/api/v1/users/auth/_refresh", nil), 400, "root.invalid_data")
		// Elevation is open to platform admins only.
		e.wantErr(t, e.raw.With("Authorization", "Bearer "+token).Do("POST", "/api/v1/users/auth/_elevate", nil), 403, "root.unauthorized.rbac")
		// Without elevation being required, elevating still answers.
		if got := admin.Do("POST", "/api/v1/users/auth/_elevate", map[string]any{"token": "123456"}).Want(t, 200).Map(t)["token"]; got != testsupport.AdminKey {
			t.Fatalf("elevate answered %v", got)
		}
		admin.Do("DELETE", "/api/v1/users/auth/_elevate", nil).Want(t, 200)
		e.wantErr(t, e.anon.Do("POST", "/api/v1/users/auth/_elevate", nil), 401, "root.unauthorized")
		e.wantErr(t, e.anon.Do("DELETE", "/api/v1/users/auth/_elevate", nil), 401, "root.unauthorized")
		e.wantErr(t, e.anon.Do("POST", "/api/v1/users/auth/_refresh", nil), 401, "root.unauthorized")
	})

	t.Run("delete", func(t *testing.T) {
		r := admin.Do("DELETE", "/api/v1/users/bare", nil).Want(t, 200)
		if r.String() != "{}" {
			t.Fatalf("delete answered %s", r.Body)
		}
		e.wantErr(t, admin.Do("GET", "/api/v1/users/bare", nil), 404, "user.not_found")
		e.wantErr(t, admin.Do("DELETE", "/api/v1/users/bare", nil), 404, "user.not_found")
		e.wantErr(t, admin.Do("PATCH", "/api/v1/users/bare", stringBody(t, map[string]any{"full_name": "x"})), 404, "user.not_found")
		// Deletion is soft: the native API still has the row.
		list := e.native.Do("GET", "/v1/users?q=bare&deleted=only", nil).Want(t, 200).Map(t)
		if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["status"] != "deleted" {
			t.Fatalf("native view of the deleted user: %v", list)
		}
		// The name is free again.
		readUser(t, admin.Do("POST", "/api/v1/users", newUser("bare", "ece_deployment_viewer")).Want(t, 200))
		// The built-in administrator stays.
		e.wantErr(t, admin.Do("DELETE", "/api/v1/users/admin", nil), 400, "user.cannot_modify")
	})

	t.Run("credentials", func(t *testing.T) {
		for name, c := range map[string]*testsupport.Client{
			"none":          e.raw.With("Authorization", ""),
			"wrong key":     e.raw.With("Authorization", "ApiKey rk_not-a-key"),
			"wrong token":   e.raw.With("Authorization", "Bearer rs_not-a-session"),
			"other scheme":  e.raw.With("Authorization", "Token "+testsupport.AdminKey),
			"basic":         e.raw.With("Authorization", "Basic YWRtaW46cGFzc3dvcmQ="),
			"empty api key": e.raw.With("Authorization", "ApiKey "),
		} {
			for _, call := range [][2]string{{"GET", "/api/v1/users"}, {"POST", "/api/v1/users"}, {"GET", "/api/v1/users/admin"},
				{"PATCH", "/api/v1/users/admin"}, {"DELETE", "/api/v1/users/admin"}, {"GET", "/api/v1/user"}} {
				els := e.wantErr(t, c.Do(call[0], call[1], nil), 401, "root.unauthorized")
				if name == "basic" && !strings.Contains(els[0].Message, "_login") {
					t.Errorf("basic auth refusal does not point to _login: %s", els[0].Message)
				}
			}
		}
		// The scheme is matched without case.
		e.raw.With("Authorization", "apikey "+testsupport.AdminKey).Do("GET", "/api/v1/users", nil).Want(t, 200)
		// Roster's bearer form of a key works too.
		admin.Bearer(testsupport.AdminKey).Do("GET", "/api/v1/users", nil).Want(t, 200)
	})

	t.Run("idempotency", func(t *testing.T) {
		key := testsupport.Header("Idempotency-Key", "create-idem-1")
		first := admin.Do("POST", "/api/v1/users", newUser("idem", "ece_platform_viewer"), key).Want(t, 200)
		again := admin.Do("POST", "/api/v1/users", newUser("idem", "ece_platform_viewer"), key).Want(t, 200)
		if again.Header.Get("Idempotent-Replayed") != "true" || again.String() != first.String() {
			t.Fatalf("retry was not replayed: %s", again.Body)
		}
		e.wantErr(t, e.raw.Do("POST", "/api/v1/users", newUser("idem2", "ece_platform_viewer"), key), 422, "root.idempotency_key_reused")
		// An answer holding a token is not kept for a retry.
		elevate := testsupport.Header("Idempotency-Key", "elevate-idem-1")
		admin.Do("POST", "/api/v1/users/auth/_elevate", nil, elevate).Want(t, 200)
		e.wantErr(t, e.raw.Do("POST", "/api/v1/users/auth/_elevate", nil, elevate), 409, "root.idempotency_answer_withheld")
	})

	t.Run("unknown routes", func(t *testing.T) {
		e.wantErr(t, e.raw.Do("GET", "/api/v1/deployments", nil), 404, "root.resource_not_found")
		e.wantErr(t, e.raw.Do("GET", "/api/v1/users/auth/methods", nil), 404, "root.resource_not_found")
		// ECE's /users/auth is its authentication API, never a user named
		// "auth", which cannot be made either.
		for _, method := range []string{"GET", "DELETE"} {
			e.wantErr(t, e.raw.Do(method, "/api/v1/users/auth", nil), 404, "root.resource_not_found")
		}
		e.wantErr(t, admin.Do("POST", "/api/v1/users", newUser("Auth", "ece_platform_viewer"), testsupport.Invalid()), 400, "user.user_name.invalid")
		r := e.raw.Do("PUT", "/api/v1/users/admin", "{}")
		e.wantErr(t, r, 405, "root.method_not_allowed")
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "PATCH") {
			t.Errorf("Allow: %q", allow)
		}
	})

	wantAllServedChecked(t, admin.Contract)
	if strings.Contains(e.Logs(), testsupport.AdminKey) || strings.Contains(e.Logs(), "passphrase") {
		t.Error("a secret reached the log")
	}
}

// Sign-ins through ECE count against the caller's address as well as the
// account, as the native API's do: guessing at many accounts from one
// address is stopped. (ECE's document lists no 429 for _login; a throttled
// sign-in gets it, with Retry-After, in ECE's error format.)
func TestECELoginThrottlesTheAddress(t *testing.T) {
	e := startECE(t, service.Config{LoginFreeFailuresIP: 3})
	e.admin.Do("POST", "/api/v1/users", newUser("thr", "ece_platform_viewer")).Want(t, 200)
	raw := testsupport.NewClient(t, e.URL+"/compat/ece", nil) // not held to the document: 429 is not in it
	throttled := false
	for i := 0; i < 10 && !throttled; i++ {
		r := raw.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": fmt.Sprintf("nobody%d", i), "password": "wrong"})
		if throttled = r.Status == 429; !throttled {
			r.Want(t, 401)
		}
	}
	if !throttled {
		t.Fatal("ten failed sign-ins for ten accounts from one address were never throttled")
	}
	r := raw.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "thr", "password": "long enough passphrase thr"})
	e.wantErr(t, r, 429, "root.too_many_requests")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}
