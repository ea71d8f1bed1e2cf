package ece_test

import (
	"strings"
	"testing"
	"time"

	"roster/internal/testsupport"
)

// TestCurrentDocument walks every operation the dialect serves that ECE's
// current document still has, checked against that document: its token
// answers require session_expiration_time, which 3.5.2's did not.
func TestCurrentDocument(t *testing.T) {
	env := testsupport.Start(t, testsupport.Options{Dialects: dialects})
	e := newEnv(t, env, env.URL+"/compat/ece", "/compat/ece/api/v1", specCurrent)
	admin := e.admin

	admin.Do("POST", "/api/v1/users", newUser("current1", "ece_platform_viewer")).Want(t, 200)
	readUser(t, admin.Do("GET", "/api/v1/users/current1", nil).Want(t, 200))
	admin.Do("GET", "/api/v1/users", nil).Want(t, 200)
	admin.Do("PATCH", "/api/v1/users/current1", stringBody(t, map[string]any{"full_name": "Current One"})).Want(t, 200)

	var tok struct {
		Token   string    `json:"token"`
		Expires time.Time `json:"session_expiration_time"`
	}
	r := e.anon.Do("POST", "/api/v1/users/auth/_login", map[string]any{"username": "current1",
		"password": "long enough passphrase current1"}).Want(t, 200)
	r.JSON(t, &tok)
	if want := e.ManualClock().Now().Add(12 * time.Hour); !tok.Expires.Equal(want) || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login answer %s (Cache-Control %q), want the session to expire at %v", r.Body, r.Header.Get("Cache-Control"), want)
	}
	user := e.anon.Bearer(tok.Token)
	readUser(t, user.Do("GET", "/api/v1/user", nil).Want(t, 200))
	user.Do("PATCH", "/api/v1/user", stringBody(t, map[string]any{"full_name": "Current Uno"})).Want(t, 200)
	e.ManualClock().Advance(time.Hour)
	r = user.Do("POST", "/api/v1/users/auth/_refresh", nil).Want(t, 200)
	r.JSON(t, &tok)
	if want := e.ManualClock().Now().Add(12 * time.Hour); !tok.Expires.Equal(want) || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("refresh answer %s, want the session to expire at %v", r.Body, want)
	}
	admin.Do("DELETE", "/api/v1/users/current1", nil).Want(t, 200)

	unchecked := e.anon.Contract.Unchecked()
	for _, op := range served {
		if strings.HasSuffix(op, "/_elevate") {
			continue
		}
		for _, u := range unchecked {
			if u == op {
				t.Errorf("no exchange of %s was checked against ECE's current document", op)
			}
		}
	}
}
