package gpcn_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"roster/internal/compat"
	"roster/internal/compat/gpcn"
	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/testsupport"
)

// documented is GPCN's error table as docs/dialects/gpcn.md gives it: every
// error body the dialect sends uses one of these codes with this status.
var documented = map[string]int{
	gpcn.CodeValidation:         400,
	gpcn.CodeBadRequest:         400,
	gpcn.CodeUnauthorized:       401,
	gpcn.CodeForbidden:          403,
	gpcn.CodeNotFound:           404,
	gpcn.CodeMethodNotAllowed:   405,
	gpcn.CodeUserExists:         409,
	gpcn.CodeConflict:           409,
	gpcn.CodePayloadTooLarge:    413,
	gpcn.CodeIdempotencyReused:  422,
	gpcn.CodeRateLimited:        429,
	gpcn.CodeInternal:           500,
	gpcn.CodeServiceUnavailable: 503,
}

type gpcnEnv struct {
	*testsupport.Env
	// admin speaks GPCN with the bootstrap key in X-API-Key.
	admin *client
	// anon speaks GPCN without a credential.
	anon *client
	// native is the native API, for setting up tenants and keys and for
	// checking that GPCN's users are ordinary roster users.
	native *testsupport.Client
}

func start(t *testing.T, opts testsupport.Options) *gpcnEnv {
	t.Helper()
	if opts.Config.RateLimit == 0 {
		opts.Config.RateLimit = 100_000 // the manual clock never ends a window by itself
	}
	opts.Dialects = func(svc *service.Service, log *slog.Logger) []compat.Dialect {
		return []compat.Dialect{gpcn.New(svc, log)}
	}
	env := testsupport.Start(t, opts)
	raw := testsupport.NewClient(t, env.URL, nil)
	anon := &client{c: raw}
	return &gpcnEnv{Env: env, anon: anon, admin: anon.with("X-API-Key", testsupport.AdminKey),
		native: raw.Bearer(testsupport.AdminKey)}
}

// client speaks GPCN below /compat/gpcn and checks every answer against
// GPCN's documented shape.
type client struct {
	c *testsupport.Client
}

func (c *client) with(k, v string) *client { return &client{c: c.c.With(k, v)} }

// key returns a client that authenticates with secret in X-API-Key.
func (e *gpcnEnv) key(secret string) *client { return e.anon.with("X-API-Key", secret) }

func (c *client) Do(t *testing.T, method, path string, body any, opts ...testsupport.Opt) *testsupport.Resp {
	t.Helper()
	c.c.T = t
	r := c.c.Do(method, gpcnPrefix+path, body, opts...)
	checkShape(t, method+" "+path, r)
	return r
}

const gpcnPrefix = "/compat/gpcn"

// checkShape holds every answer to GPCN's conventions: rate-limit headers
// always; 204 without a body; otherwise JSON that is either the envelope
// {success: true, message, data, meta} or the error {success: false,
// error, message} with a documented code and its status.
func checkShape(t *testing.T, what string, r *testsupport.Resp) {
	t.Helper()
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if _, err := strconv.ParseInt(r.Header.Get(h), 10, 64); err != nil {
			t.Fatalf("%s: header %s is %q", what, h, r.Header.Get(h))
		}
	}
	if r.Status == 429 && r.Header.Get("Retry-After") == "" {
		t.Fatalf("%s: 429 without Retry-After", what)
	}
	if r.Status == http.StatusNoContent {
		if len(r.Body) != 0 {
			t.Fatalf("%s: 204 with a body: %s", what, r.Body)
		}
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: content type %q: %s", what, ct, r.Body)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s: not a JSON object: %s", what, r.Body)
	}
	var success bool
	if err := json.Unmarshal(m["success"], &success); err != nil {
		t.Fatalf("%s: success is not a boolean: %s", what, r.Body)
	}
	var message string
	if err := json.Unmarshal(m["message"], &message); err != nil {
		t.Fatalf("%s: message is not a string: %s", what, r.Body)
	}
	if success {
		if r.Status >= 300 || !sameKeys(m, "success", "message", "data", "meta") {
			t.Fatalf("%s: success envelope %d: %s", what, r.Status, r.Body)
		}
		if string(m["meta"]) != "null" {
			var meta map[string]json.RawMessage
			if err := json.Unmarshal(m["meta"], &meta); err != nil ||
				!sameKeys(meta, "total", "page", "pageSize", "totalPages", "hasNextPage", "hasPreviousPage") {
				t.Fatalf("%s: meta: %s", what, m["meta"])
			}
		}
		return
	}
	var code string
	if err := json.Unmarshal(m["error"], &code); err != nil {
		t.Fatalf("%s: error is not a string: %s", what, r.Body)
	}
	keys := slices.Collect(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if k != "success" && k != "error" && k != "message" && k != "details" {
			t.Fatalf("%s: unexpected member %q in error: %s", what, k, r.Body)
		}
	}
	status, ok := documented[code]
	if !ok || status != r.Status || message == "" {
		t.Fatalf("%s: error %q with status %d is not documented so: %s", what, code, r.Status, r.Body)
	}
}

func sameKeys[V any](m map[string]V, keys ...string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// wantError checks an error answer's status and code.
func wantError(t *testing.T, r *testsupport.Resp, status int, code string) map[string]any {
	t.Helper()
	r.Want(t, status)
	m := r.Map(t)
	if m["error"] != code {
		t.Fatalf("error %v, want %s: %s", m["error"], code, r.Body)
	}
	return m
}

// details lists "field:code" of an error's details.
func details(m map[string]any) []string {
	var out []string
	ds, _ := m["details"].([]any)
	for _, d := range ds {
		f := d.(map[string]any)
		out = append(out, str(f, "field")+":"+str(f, "code"))
	}
	return out
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// data is the envelope's data as an object.
func data(t *testing.T, r *testsupport.Resp) map[string]any {
	t.Helper()
	m, ok := r.Map(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("data is not an object: %s", r.Body)
	}
	return m
}

// list is the envelope's data as a list, with its meta.
func list(t *testing.T, r *testsupport.Resp) ([]map[string]any, map[string]any) {
	t.Helper()
	var env struct {
		Data []map[string]any
		Meta map[string]any
	}
	r.JSON(t, &env)
	if env.Data == nil || env.Meta == nil {
		t.Fatalf("not a list with meta: %s", r.Body)
	}
	return env.Data, env.Meta
}

func ids(items []map[string]any) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, str(it, "id"))
	}
	return out
}

// userKeys are the members of a user as the dialect shows it.
var userKeys = []string{"id", "email", "firstName", "lastName", "entityId", "status", "roles", "resourceGroupIds",
	"createdAt", "updatedAt", "deletedAt", "lastLoginAt", "inviteStatus", "inviteExpiresAt"}

var teamKeys = []string{"id", "teamId", "name", "description", "entityId", "parentTeamId", "memberCount", "createdAt", "updatedAt"}

func checkUser(t *testing.T, u map[string]any) {
	t.Helper()
	if !sameKeys(u, userKeys...) || !core.ValidID(str(u, "id")) {
		t.Fatalf("user shape: %v", u)
	}
	for _, k := range []string{"createdAt", "updatedAt"} {
		if !strings.HasSuffix(str(u, k), "Z") || len(str(u, k)) != len("2026-01-10T09:00:00.000Z") {
			t.Fatalf("user %s is %q, want GPCN's 2026-01-10T09:00:00.000Z form", k, str(u, k))
		}
	}
	for _, role := range u["roles"].([]any) {
		if !sameKeys(role.(map[string]any), "id", "name", "displayName", "entityId") {
			t.Fatalf("role shape: %v", role)
		}
	}
}

func checkTeam(t *testing.T, g map[string]any) {
	t.Helper()
	if !sameKeys(g, teamKeys...) || str(g, "id") != str(g, "teamId") || g["parentTeamId"] != nil {
		t.Fatalf("team shape: %v", g)
	}
}

// roleNamesOf lists "name@entity" of a user's roles.
func roleNamesOf(u map[string]any) []string {
	var out []string
	for _, r := range u["roles"].([]any) {
		role := r.(map[string]any)
		entity, _ := role["entityId"].(string)
		out = append(out, str(role, "name")+"@"+entity)
	}
	slices.Sort(out)
	return out
}

func (e *gpcnEnv) tenant(t *testing.T, name string) string {
	t.Helper()
	e.native.T = t
	return str(e.native.Do("POST", "/v1/tenants", map[string]any{"name": name}).Want(t, 201).Map(t), "id")
}

// serviceKey makes a tenant service key with roles and returns a GPCN
// client that uses it.
func (e *gpcnEnv) serviceKey(t *testing.T, tenant string, roles ...string) *client {
	t.Helper()
	e.native.T = t
	m := e.native.Do("POST", "/v1/api-keys", map[string]any{"name": "gpcn " + strings.Join(roles, ","),
		"tenant_id": tenant, "roles": roles, "service": true}).Want(t, 201).Map(t)
	return e.key(str(m, "key"))
}

func (e *gpcnEnv) team(t *testing.T, entity, name string) string {
	t.Helper()
	return str(data(t, e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": name, "entityId": entity}).Want(t, 201)), "id")
}

// invite creates a user with action invite and returns its id.
func (e *gpcnEnv) invite(t *testing.T, c *client, body map[string]any) string {
	t.Helper()
	body["action"] = "invite"
	return str(data(t, c.Do(t, "POST", "/v1/users", body).Want(t, 201)), "id")
}

// register creates a user with action register and returns its id.
func (e *gpcnEnv) register(t *testing.T, c *client, body map[string]any) string {
	t.Helper()
	body["action"] = "register"
	if _, ok := body["password"]; !ok {
		body["password"] = strongPassword
	}
	for _, k := range []string{"firstName", "lastName"} {
		if _, ok := body[k]; !ok {
			body[k] = "Test"
		}
	}
	return str(data(t, c.Do(t, "POST", "/v1/users", body).Want(t, 201)), "id")
}

// strongPassword meets GPCN's rule and roster's default (NIST) policy.
const strongPassword = "Tr0ub4dor&3-Horse"

func (e *gpcnEnv) user(t *testing.T, id string) map[string]any {
	t.Helper()
	u := data(t, e.admin.Do(t, "GET", "/v1/users/"+id, nil).Want(t, 200))
	checkUser(t, u)
	return u
}
