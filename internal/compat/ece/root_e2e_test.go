package ece_test

import (
	"log/slog"
	"testing"

	"roster/internal/compat"
	"roster/internal/compat/ece"
	"roster/internal/service"
	"roster/internal/testsupport"
)

// TestAtRoot serves the dialect at the root of a listener of its own, as
// `roster serve --compat-listen ece=HOST:PORT` does: Elastic's Go SDK and
// ecctl always call /api/v1 below the host they are given.
func TestAtRoot(t *testing.T) {
	env := testsupport.Start(t, testsupport.Options{})
	base := env.ServeAtRoot(t, func(svc *service.Service, log *slog.Logger) compat.Dialect { return ece.New(svc, log) })
	e := newEnv(t, env, base, "/api/v1", spec352)

	u := readUser(t, e.admin.Do("POST", "/api/v1/users", newUser("rooted", "ece_platform_viewer")).Want(t, 200))
	if u.UserName != "rooted" {
		t.Fatalf("created: %+v", u)
	}
	readUser(t, e.admin.Do("GET", "/api/v1/users/rooted", nil).Want(t, 200))
	e.admin.Do("GET", "/api/v1/users", nil).Want(t, 200)
	tok := e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "rooted",
		"password": "long enough passphrase rooted"}).Want(t, 200).Map(t)["token"].(string)
	readUser(t, e.anon.Bearer(tok).Do("GET", "/api/v1/user", nil).Want(t, 200))
	e.wantErr(t, e.raw.With("Authorization", "").Do("GET", "/api/v1/users", nil), 401, "root.unauthorized")

	// Everything else on this listener answers in ECE's format: the native
	// API and the other dialects are not served here.
	e.wantErr(t, e.raw.Do("GET", "/v1/users", nil), 404, "root.resource_not_found")
	e.wantErr(t, e.raw.Do("GET", "/compat/ece/api/v1/users", nil), 404, "root.resource_not_found")
	e.wantErr(t, e.raw.Do("GET", "/metrics", nil), 404, "root.resource_not_found")
	// Health checks stay.
	e.raw.Do("GET", "/healthz", nil).Want(t, 200)

	// The same user, on the main listener's native API.
	l := e.native.Do("GET", "/v1/users?q=rooted", nil).Want(t, 200).Map(t)
	if items := l["items"].([]any); len(items) != 1 {
		t.Fatalf("native listing: %v", l)
	}
}
