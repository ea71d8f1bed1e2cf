package compat_test

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"roster/internal/compat"
	"roster/internal/compat/ece"
	"roster/internal/compat/everlytic"
	"roster/internal/compat/gcore"
	"roster/internal/compat/gpcn"
	"roster/internal/service"
	"roster/internal/testsupport"
)

func TestMain(m *testing.M) { os.Exit(testsupport.MainOnEachBackend(m)) }

// made is a user created through one dialect, with the ids each vendor's
// API addresses it by.
type made struct {
	via      string
	email    string
	id       string // roster's UUID (native, GPCN)
	number   int64  // Gcore, Everlytic
	username string // ECE (by email when the user has no username)
}

// TestUserCreatedThroughAnyDialectIsSeenEverywhere creates a user through
// each dialect and reads every one back through the native API and through
// each dialect that can address it.
func TestUserCreatedThroughAnyDialectIsSeenEverywhere(t *testing.T) {
	env := testsupport.Start(t, testsupport.Options{
		Dialects: func(svc *service.Service, log *slog.Logger) []compat.Dialect {
			return []compat.Dialect{ece.New(svc, log), everlytic.New(svc, log), gcore.New(svc, log), gpcn.New(svc, log)}
		},
	})
	key := testsupport.AdminKey
	native := testsupport.NewClient(t, env.URL, nil).Bearer(key)
	gc := testsupport.NewClient(t, env.URL+"/compat/gcore", nil).With("Authorization", "apikey "+key)
	ec := testsupport.NewClient(t, env.URL+"/compat/ece/api/v1", nil).With("Authorization", "ApiKey "+key)
	ev := testsupport.NewClient(t, env.URL+"/compat/everlytic/api/2.0", nil).
		With("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:"+key)))
	gp := testsupport.NewClient(t, env.URL+"/compat/gpcn", nil).With("X-API-Key", key)

	// A tenant everyone can put users in: Gcore makes it with its user.
	g := gc.Do("POST", "/iam/users", map[string]any{"email": "gina@cross.example", "password": "gcore passphrase 1",
		"company": "Cross Corp", "name": "Gina", "user_type": "common"}).Want(t, 201).Map(t)
	clientNumber := int64(g["client"].(float64))
	var tenantID string
	for _, m := range native.Do("GET", "/v1/users/"+uuidOf(t, native, "gina@cross.example"), nil).Want(t, 200).Map(t)["memberships"].([]any) {
		tenantID = m.(map[string]any)["tenant_id"].(string)
	}
	users := []made{{via: "gcore", email: "gina@cross.example", number: int64(g["id"].(float64))}}

	e := ec.Do("POST", "/users", map[string]any{"user_name": "eddie", "email": "eddie@cross.example", "full_name": "Eddie",
		"security": map[string]any{"roles": []string{"ece_platform_viewer"}, "password": "ece passphrase 12"}}).Want(t, 200).Map(t)
	users = append(users, made{via: "ece", email: "eddie@cross.example", username: e["user_name"].(string)})

	v := ev.Do("POST", "/users", map[string]any{"name": "Vera", "email": "vera@cross.example", "username": "vera",
		"customer_id": clientNumber}).Want(t, 201).Map(t)["item"].(map[string]any)
	users = append(users, made{via: "everlytic", email: "vera@cross.example", number: int64(v["id"].(float64)), username: "vera"})

	p := gp.Do("POST", "/v1/users", map[string]any{"action": "register", "email": "paul@cross.example", "firstName": "Paul",
		"lastName": "Pine", "password": "Gpcn-Passphrase-1!", "entityId": tenantID}).Want(t, 201).Map(t)
	users = append(users, made{via: "gpcn", email: "paul@cross.example", id: p["data"].(map[string]any)["id"].(string)})

	for i := range users {
		u := &users[i]
		// The native API sees everyone, by email, with both ids.
		var l struct{ Items []map[string]any }
		native.Do("GET", "/v1/users?q="+u.email, nil).Want(t, 200).JSON(t, &l)
		if len(l.Items) != 1 {
			t.Fatalf("the native API does not see %s's user %s", u.via, u.email)
		}
		nu := l.Items[0]
		if u.id == "" {
			u.id = nu["id"].(string)
		}
		if nu["id"] != u.id {
			t.Fatalf("%s: native id %v, dialect id %s", u.via, nu["id"], u.id)
		}
		u.number = int64(nu["number"].(float64))
	}

	for _, u := range users {
		t.Run("made through "+u.via, func(t *testing.T) {
			if got := gc.Do("GET", fmt.Sprintf("/iam/users/%d", u.number), nil).Want(t, 200).Map(t); got["email"] != u.email {
				t.Errorf("Gcore sees %v", got["email"])
			}
			if got := gp.Do("GET", "/v1/users/"+u.id, nil).Want(t, 200).Map(t)["data"].(map[string]any); got["email"] != u.email {
				t.Errorf("GPCN sees %v", got["email"])
			}
			if got := ev.Do("GET", fmt.Sprintf("/users/%d", u.number), nil).Want(t, 200).Map(t)["item"].(map[string]any); got["email"] != u.email {
				t.Errorf("Everlytic sees %v", got["email"])
			}
			// ECE addresses users by user name; one without a username goes
			// by its email there.
			name := u.username
			if name == "" {
				name = u.email
			}
			if got := ec.Do("GET", "/users/"+name, nil).Want(t, 200).Map(t); got["email"] != u.email {
				t.Errorf("ECE sees %v", got["email"])
			}
		})
	}
}

func uuidOf(t *testing.T, c *testsupport.Client, email string) string {
	t.Helper()
	var l struct{ Items []map[string]any }
	c.Do("GET", "/v1/users?q="+email, nil).Want(t, 200).JSON(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("no user %s", email)
	}
	return l.Items[0]["id"].(string)
}
