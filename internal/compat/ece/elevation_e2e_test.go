package ece_test

import (
	"testing"
	"time"

	"roster/internal/service"
	"roster/internal/testsupport"
)

// TestElevationRequired runs with elevated permissions switched on
// (--require-elevation): granting ece_platform_admin and deleting users
// need an unexpired elevation from _elevate, else 449.
func TestElevationRequired(t *testing.T) {
	ttl := 10 * time.Minute
	e := startECE(t, service.Config{RequireElevation: true, ElevationTTL: ttl})
	admin := e.admin
	clock := e.ManualClock()
	const code = "root.unauthorized.rbac.elevated_permissions_required"

	// What grants no admin role needs no elevation.
	readUser(t, admin.Do("POST", "/api/v1/users", newUser("plain", "ece_platform_viewer")).Want(t, 200))
	readUser(t, admin.Do("PATCH", "/api/v1/users/plain", stringBody(t, map[string]any{"full_name": "Plain"})).Want(t, 200))

	// Without an elevation: 449, and nothing happens.
	e.wantErr(t, admin.Do("POST", "/api/v1/users", newUser("boss", "ece_platform_admin")), 449, code)
	e.wantErr(t, admin.Do("GET", "/api/v1/users/boss", nil), 404, "user.not_found")
	e.wantErr(t, admin.Do("PATCH", "/api/v1/users/plain", stringBody(t, map[string]any{"full_name": "Promoted",
		"security": map[string]any{"roles": []string{"ece_platform_admin"}}})), 449, code)
	if u := readUser(t, admin.Do("GET", "/api/v1/users/plain", nil).Want(t, 200)); u.FullName != "Plain" || u.Security.Roles[0] != "ece_platform_viewer" {
		t.Fatalf("a refused patch changed the user: %+v", u)
	}
	e.wantErr(t, admin.Do("DELETE", "/api/v1/users/plain", nil), 449, code)

	// Elevated, with the API key.
	tok := admin.Do("POST", "/api/v1/users/auth/_elevate", nil).Want(t, 200).Map(t)["token"].(string)
	if tok != testsupport.AdminKey {
		t.Fatalf("elevate answered another token")
	}
	// The answered token works as a bearer token, as ECE's clients use it.
	elevated := e.anon.Bearer(tok)
	readUser(t, elevated.Do("POST", "/api/v1/users", newUser("boss", "ece_platform_admin")).Want(t, 200))
	u := readUser(t, admin.Do("PATCH", "/api/v1/users/plain", stringBody(t, map[string]any{
		"security": map[string]any{"roles": []string{"ece_platform_admin"}}})).Want(t, 200))
	if u.Security.Roles[0] != "ece_platform_admin" {
		t.Fatalf("roles: %v", u.Security.Roles)
	}
	// Keeping ece_platform_admin is not granting it.
	clock.Advance(ttl)
	readUser(t, admin.Do("PATCH", "/api/v1/users/plain", stringBody(t, map[string]any{"full_name": "Still admin",
		"security": map[string]any{"roles": []string{"ece_platform_admin"}}})).Want(t, 200))

	// The elevation has expired.
	e.wantErr(t, admin.Do("DELETE", "/api/v1/users/plain", nil), 449, code)
	admin.Do("POST", "/api/v1/users/auth/_elevate", nil).Want(t, 200)
	clock.Advance(ttl - time.Second)
	admin.Do("DELETE", "/api/v1/users/plain", nil).Want(t, 200)
	// Ended early.
	admin.Do("DELETE", "/api/v1/users/auth/_elevate", nil).Want(t, 200)
	e.wantErr(t, admin.Do("DELETE", "/api/v1/users/boss", nil), 449, code)

	// A login session elevates itself, not the user's other credentials.
	login := e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "boss",
		"password": "long enough passphrase boss"}).Want(t, 200).Map(t)["token"].(string)
	sess := e.anon.Bearer(login)
	e.wantErr(t, sess.Do("POST", "/api/v1/users", newUser("boss2", "ece_platform_admin")), 449, code)
	if got := sess.Do("POST", "/api/v1/users/auth/_elevate", nil).Want(t, 200).Map(t)["token"]; got != login {
		t.Fatalf("session elevate answered %v", got)
	}
	readUser(t, sess.Do("POST", "/api/v1/users", newUser("boss2", "ece_platform_admin")).Want(t, 200))
	e.wantErr(t, admin.Do("DELETE", "/api/v1/users/boss2", nil), 449, code)
	sess.Do("DELETE", "/api/v1/users/boss2", nil).Want(t, 200)
	// _refresh keeps the elevation's own end.
	clock.Advance(ttl)
	sess.Do("POST", "/api/v1/users/auth/_refresh", nil).Want(t, 200)
	e.wantErr(t, sess.Do("DELETE", "/api/v1/users/boss", nil), 449, code)
}

// TestElevationNotRequired is the default: the same operations need no
// elevation.
func TestElevationNotRequired(t *testing.T) {
	e := startECE(t, service.Config{})
	admin := e.admin
	readUser(t, admin.Do("POST", "/api/v1/users", newUser("boss", "ece_platform_admin")).Want(t, 200))
	readUser(t, admin.Do("POST", "/api/v1/users", newUser("plain", "ece_platform_viewer")).Want(t, 200))
	readUser(t, admin.Do("PATCH", "/api/v1/users/plain", stringBody(t, map[string]any{
		"security": map[string]any{"roles": []string{"ece_platform_admin"}}})).Want(t, 200))
	admin.Do("DELETE", "/api/v1/users/plain", nil).Want(t, 200)
	admin.Do("DELETE", "/api/v1/users/boss", nil).Want(t, 200)
}
