package gpcn_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"roster/internal/core"
	"roster/internal/store"
	"roster/internal/testsupport"
)

// seedBody is the request of seed 004 (GPCN's "Create a new user" page) as
// its curl example sends it, with the placeholders filled in.
func seedBody(action, email, password, firstName, lastName, role, group, entity string) string {
	return `{
"email": "` + email + `",
"password": "` + password + `",
"firstName": "` + firstName + `",
"lastName": "` + lastName + `",
"roleNames": [
"` + role + `"
],
"resourceGroupIds": [
"` + group + `"
],
"entityId": "` + entity + `",
"action": "` + action + `"
}`
}

// checkSeedAnswer holds an answer to the seed's example response:
// {"success": true, "message": "User created successfully", "data": {"id",
// "email"}, "meta": null}.
func checkSeedAnswer(t *testing.T, r *testsupport.Resp, email string) string {
	t.Helper()
	r.Want(t, 201)
	var m map[string]json.RawMessage
	r.JSON(t, &m)
	var d map[string]any
	if err := json.Unmarshal(m["data"], &d); err != nil {
		t.Fatalf("data: %s", r.Body)
	}
	if string(m["success"]) != "true" || string(m["meta"]) != "null" || !sameKeys(m, "success", "message", "data", "meta") ||
		!sameKeys(d, "id", "email") || !core.ValidID(str(d, "id")) || str(d, "email") != email {
		t.Fatalf("answer does not have the seed's shape: %s", r.Body)
	}
	return str(d, "id")
}

// TestSeedRequests sends seed 004's example request with both actions, with
// only the base URL and the key changed, and checks the seed's answer and
// that the users are ordinary roster users.
func TestSeedRequests(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme := e.tenant(t, "Acme Cloud")
	team := e.team(t, acme, "Engineering")

	t.Run("register", func(t *testing.T) {
		r := e.admin.Do(t, "POST", "/v1/users", seedBody("register", "hello@example.com", strongPassword, "Hello", "Example", "tenant-user", team, acme))
		id := checkSeedAnswer(t, r, "hello@example.com")
		if msg := str(r.Map(t), "message"); msg != "User created successfully" {
			t.Fatalf("message %q", msg)
		}
		// Visible through the native API: active at once, with its password,
		// entity, role and resource group.
		e.native.T = t
		u := e.native.Do("GET", "/v1/users/"+id, nil).Want(t, 200).Map(t)
		ms := u["memberships"].([]any)
		m := ms[0].(map[string]any)
		if str(u, "status") != "active" || u["has_password"] != true || str(u, "first_name") != "Hello" || str(u, "last_name") != "Example" ||
			len(ms) != 1 || str(m, "tenant_id") != acme || !slices.Equal(strs(m["roles"]), []string{"tenant-user"}) ||
			!slices.Equal(strs(m["resource_group_ids"]), []string{team}) {
			t.Fatalf("native view of the registered user: %v", u)
		}
		// No invitation: register sends no email.
		invs, err := e.Store.ListInvitations(context.Background(), store.InvitationFilter{UserID: id})
		if err != nil || len(invs) != 0 {
			t.Fatalf("a registered user has invitations: %v %v", invs, err)
		}
		// The user can log in with the password at once.
		e.native.Do("POST", "/v1/auth/login", map[string]any{"email": "hello@example.com", "password": strongPassword}).Want(t, 200)
	})

	t.Run("invite", func(t *testing.T) {
		// The same request with action invite and no password (the invitee
		// sets it), sent with Authorization: Bearer this time.
		body := `{
"email": "invitee@example.com",
"firstName": "Ivy",
"lastName": "Invitee",
"roleNames": [
"vm-operator"
],
"resourceGroupIds": [
"` + team + `"
],
"entityId": "` + acme + `",
"action": "invite"
}`
		r := e.anon.with("Authorization", "Bearer "+testsupport.AdminKey).Do(t, "POST", "/v1/users", body)
		id := checkSeedAnswer(t, r, "invitee@example.com")
		e.native.T = t
		u := e.native.Do("GET", "/v1/users/"+id, nil).Want(t, 200).Map(t)
		m := u["memberships"].([]any)[0].(map[string]any)
		if str(u, "status") != "invited" || u["has_password"] != false || str(m, "tenant_id") != acme ||
			!slices.Equal(strs(m["roles"]), []string{"vm-operator"}) || !slices.Equal(strs(m["resource_group_ids"]), []string{team}) {
			t.Fatalf("native view of the invited user: %v", u)
		}
		invs, err := e.Store.ListInvitations(context.Background(), store.InvitationFilter{UserID: id})
		if err != nil || len(invs) != 1 || invs[0].State != core.InvitationPending || invs[0].TenantID != acme {
			t.Fatalf("the invited user's invitations: %v %v", invs, err)
		}
		// GPCN shows it pending, with its expiry.
		g := e.user(t, id)
		if str(g, "inviteStatus") != "pending" || str(g, "inviteExpiresAt") != "2026-06-04T09:00:00.000Z" {
			t.Fatalf("GPCN view of the invited user: %v", g)
		}
	})

	t.Run("the example as printed", func(t *testing.T) {
		// The page's example with its placeholders left empty is refused:
		// roles are checked first, and "" is no role.
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users", seedBody("register", "", "", "", "", "", "", "")), 400, "VALIDATION_ERROR")
		if got := details(m); !slices.Equal(got, []string{"roleNames[0]:unknown"}) {
			t.Fatalf("details: %v", got)
		}
		// With a role, every remaining problem is named at once.
		m = wantError(t, e.admin.Do(t, "POST", "/v1/users", seedBody("register", "", "", "", "", "tenant-user", "", acme)), 400, "VALIDATION_ERROR")
		want := []string{"email:required", "firstName:required", "lastName:required", "password:required", "resourceGroupIds[0]:invalid"}
		if got := details(m); !slices.Equal(got, want) {
			t.Fatalf("details: %v, want %v", got, want)
		}
	})

	t.Run("listed natively", func(t *testing.T) {
		var l struct{ Items []map[string]any }
		e.native.T = t
		e.native.Do("GET", "/v1/users?tenant_id="+acme, nil).Want(t, 200).JSON(t, &l)
		var emails []string
		for _, u := range l.Items {
			emails = append(emails, str(u, "email"))
		}
		slices.Sort(emails)
		if !slices.Equal(emails, []string{"hello@example.com", "invitee@example.com"}) {
			t.Fatalf("native listing of the entity: %v", emails)
		}
	})
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
