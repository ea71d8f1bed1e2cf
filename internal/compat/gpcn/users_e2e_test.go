package gpcn_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/compat/gpcn"
	"roster/internal/core"
	"roster/internal/store"
	"roster/internal/testsupport"
)

func TestAuth(t *testing.T) {
	e := start(t, testsupport.Options{})
	r := e.anon.Do(t, "GET", "/v1/users", nil)
	m := wantError(t, r, 401, gpcn.CodeUnauthorized)
	if r.Header.Get("WWW-Authenticate") == "" || !strings.Contains(str(m, "message"), "X-API-Key") {
		t.Fatalf("401 without a key: %v %s", r.Header, r.Body)
	}
	wantError(t, e.key("rk_not-a-key").Do(t, "GET", "/v1/users", nil), 401, gpcn.CodeUnauthorized)
	wantError(t, e.anon.with("Authorization", "Bearer rk_not-a-key").Do(t, "GET", "/v1/users", nil), 401, gpcn.CodeUnauthorized)
	// Only Bearer is GPCN's scheme.
	wantError(t, e.anon.with("Authorization", "ApiKey "+testsupport.AdminKey).Do(t, "GET", "/v1/users", nil), 401, gpcn.CodeUnauthorized)
	e.admin.Do(t, "GET", "/v1/users", nil).Want(t, 200)
	e.anon.with("Authorization", "Bearer "+testsupport.AdminKey).Do(t, "GET", "/v1/users", nil).Want(t, 200)
	e.anon.with("Authorization", "bearer "+testsupport.AdminKey).Do(t, "GET", "/v1/users", nil).Want(t, 200)
	// A session token from the native login works as a Bearer too.
	acme := e.tenant(t, "Acme")
	e.register(t, e.admin, map[string]any{"email": "admin@acme.example", "entityId": acme, "roleNames": []string{"tenant-admin"}})
	tok := e.native.Do("POST", "/v1/auth/login", map[string]any{"email": "admin@acme.example", "password": strongPassword}).Want(t, 200).Map(t)
	e.anon.with("Authorization", "Bearer "+str(tok, "token")).Do(t, "GET", "/v1/users", nil).Want(t, 200)
}

func TestCreateUser(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme, globex := e.tenant(t, "Acme"), e.tenant(t, "Globex")
	acmeAdmin := e.serviceKey(t, acme, "tenant-admin")

	t.Run("invite is the default, tenant-user the default role", func(t *testing.T) {
		r := e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "default@acme.example", "entityId": acme}).Want(t, 201)
		if str(r.Map(t), "message") != "User invited successfully" {
			t.Fatalf("message: %s", r.Body)
		}
		u := e.user(t, str(data(t, r), "id"))
		if str(u, "status") != "invited" || str(u, "inviteStatus") != "pending" || str(u, "entityId") != acme ||
			!slices.Equal(roleNamesOf(u), []string{"tenant-user@" + acme}) || u["firstName"] != nil {
			t.Fatalf("defaulted user: %v", u)
		}
	})

	t.Run("the caller's entity is the default", func(t *testing.T) {
		id := e.invite(t, acmeAdmin, map[string]any{"email": "homed@acme.example", "firstName": "Hom", "lastName": "Ed"})
		u := e.user(t, id)
		if str(u, "entityId") != acme || str(u, "firstName") != "Hom" {
			t.Fatalf("user made by the entity's key: %v", u)
		}
		// A provider key has no entity of its own: the field to fix is
		// entityId, not the (default) role.
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "nowhere@example.com"}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"entityId:required"}) || !strings.Contains(str(m, "message"), "entityId") {
			t.Fatalf("create without an entity: %v", m)
		}
	})

	t.Run("register checks GPCN's password rule and names, all at once", func(t *testing.T) {
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"action": "register", "email": "weak@acme.example",
			"password": "all lowercase", "entityId": acme}), 400, gpcn.CodeValidation)
		want := []string{"firstName:required", "lastName:required", "password:has_space", "password:no_upper", "password:no_digit", "password:no_special"}
		if !slices.Equal(details(m), want) {
			t.Fatalf("details %v, want %v", details(m), want)
		}
		if !strings.HasPrefix(str(m, "message"), "Validation failed: firstName is required; lastName is required; password must not contain spaces") {
			t.Fatalf("message: %q", str(m, "message"))
		}
		m = wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"action": "register", "email": "long@acme.example",
			"firstName": "L", "lastName": "Ong", "password": "Xylophone9Quartz!Mango7Falcon$Ribbon4Harbor#Tulip2Cedar8Lantern"[:51], "entityId": acme}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"password:too_long"}) {
			t.Fatalf("51 characters: %v", details(m))
		}
		wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"action": "register", "email": "nopass@acme.example",
			"firstName": "N", "lastName": "P", "entityId": acme}), 400, gpcn.CodeValidation)
		// Every special character of GPCN's pattern counts.
		for i, special := range strings.Split("`!@#$%^&*()_+-=[]{};':\"\\|,.<>/?~", "") {
			e.register(t, e.admin, map[string]any{"email": fmt.Sprintf("special%d@acme.example", i), "entityId": acme,
				"password": "Xylophone9Quartz" + special})
		}
		// Invite takes no password: the invitee chooses it.
		m = wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"action": "invite", "email": "pw@acme.example",
			"password": strongPassword, "entityId": acme}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"password:not_allowed"}) {
			t.Fatalf("invite with a password: %v", details(m))
		}
		wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"action": "signup", "email": "a@acme.example", "entityId": acme}), 400, gpcn.CodeValidation)
	})

	t.Run("roles", func(t *testing.T) {
		id := e.invite(t, e.admin, map[string]any{"email": "roles@acme.example", "entityId": acme,
			"roleNames": []string{"vm-operator", "entity-admin"}})
		if got := roleNamesOf(e.user(t, id)); !slices.Equal(got, []string{"tenant-admin@" + acme, "vm-operator@" + acme}) {
			t.Fatalf("roles by name and alias: %v", got)
		}
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "r2@acme.example", "entityId": acme,
			"roleNames": []string{"tenant-user", "team-admin"}}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"roleNames[1]:unknown"}) {
			t.Fatalf("unknown role: %v", m)
		}
		// A member holds a role in its entity: provider roles alone make none.
		m = wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "r6@acme.example", "entityId": acme,
			"roleNames": []string{"provider-viewer"}}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"roleNames:required"}) {
			t.Fatalf("provider roles alone in an entity: %v", m)
		}
		// Nobody grants a role above their own.
		wantError(t, acmeAdmin.Do(t, "POST", "/v1/users", map[string]any{"email": "r3@acme.example",
			"roleNames": []string{"provider-admin"}}), 403, gpcn.CodeForbidden)
		viewer := e.serviceKey(t, acme, "tenant-user")
		wantError(t, viewer.Do(t, "POST", "/v1/users", map[string]any{"email": "r4@acme.example"}), 403, gpcn.CodeForbidden)
		wantError(t, acmeAdmin.Do(t, "POST", "/v1/users", map[string]any{"email": "r5@globex.example", "entityId": globex}), 403, gpcn.CodeForbidden)
	})

	t.Run("resource groups", func(t *testing.T) {
		team := e.team(t, acme, "Ops")
		other := e.team(t, globex, "Elsewhere")
		id := e.invite(t, e.admin, map[string]any{"email": "grouped@acme.example", "entityId": acme, "resourceGroupIds": []string{team}})
		if got := strs(e.user(t, id)["resourceGroupIds"]); !slices.Equal(got, []string{team}) {
			t.Fatalf("resource groups: %v", got)
		}
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "g2@acme.example", "entityId": acme,
			"resourceGroupIds": []string{team, other}}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"resourceGroupIds[1]:not_found"}) || strings.Contains(str(m, "message"), "tenant") {
			t.Fatalf("a group of another entity: %v", m)
		}
	})

	t.Run("duplicates", func(t *testing.T) {
		e.invite(t, e.admin, map[string]any{"email": "twice@acme.example", "entityId": acme})
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "TWICE@acme.example", "entityId": globex}), 409, gpcn.CodeUserExists)
		if !slices.Equal(details(m), []string{"email:taken"}) {
			t.Fatalf("duplicate: %v", m)
		}
	})

	t.Run("an unknown entity", func(t *testing.T) {
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "x@nowhere.example", "entityId": core.NewID()}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"entityId:not_found"}) || !strings.Contains(str(m, "message"), "no such entity") {
			t.Fatalf("unknown entity: %v", m)
		}
		m = wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "x@nowhere.example", "entityId": "acme"}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"entityId:invalid"}) {
			t.Fatalf("entity that is not a UUID: %v", m)
		}
	})

	t.Run("bodies", func(t *testing.T) {
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users", `{"email": "broken@acme.example",`, testsupport.Invalid()), 400, gpcn.CodeBadRequest)
		if !strings.Contains(str(m, "message"), "line 1") {
			t.Fatalf("malformed JSON: %v", m)
		}
		m = wantError(t, e.admin.Do(t, "POST", "/v1/users", `{"email": 42}`), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"email:type"}) {
			t.Fatalf("wrong type: %v", m)
		}
		// Members GPCN does not know are ignored, as GPCN does.
		e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "extra@acme.example", "entityId": acme, "nickname": "x"}).Want(t, 201)
		wantError(t, e.admin.Do(t, "POST", "/v1/users", `{"email": "`+strings.Repeat("a", 1<<20)+`"}`), 413, gpcn.CodePayloadTooLarge)
	})

	t.Run("idempotency", func(t *testing.T) {
		body := map[string]any{"email": "once@acme.example", "entityId": acme}
		first := e.admin.Do(t, "POST", "/v1/users", body, testsupport.Header("Idempotency-Key", "k1")).Want(t, 201)
		again := e.admin.Do(t, "POST", "/v1/users", body, testsupport.Header("Idempotency-Key", "k1")).Want(t, 201)
		if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %s / %s", first.Body, again.Body)
		}
		wantError(t, e.admin.Do(t, "POST", "/v1/users", map[string]any{"email": "other@acme.example", "entityId": acme},
			testsupport.Header("Idempotency-Key", "k1")), 422, gpcn.CodeIdempotencyReused)
	})
}

func TestListUsers(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme, globex := e.tenant(t, "Acme"), e.tenant(t, "Globex")
	ops := e.team(t, acme, "Ops")
	var acmeIDs []string
	for i := 0; i < 5; i++ {
		body := map[string]any{"email": fmt.Sprintf("user%d@acme.example", i), "entityId": acme}
		if i%2 == 0 {
			body["resourceGroupIds"] = []string{ops}
		}
		if i == 4 {
			body["roleNames"] = []string{"vm-operator"}
		}
		if i < 2 {
			acmeIDs = append(acmeIDs, e.register(t, e.admin, body))
		} else {
			acmeIDs = append(acmeIDs, e.invite(t, e.admin, body))
		}
	}
	globexUser := e.register(t, e.admin, map[string]any{"email": "zed@globex.example", "entityId": globex, "firstName": "Zed", "lastName": "Zulu"})

	get := func(t *testing.T, query string) ([]map[string]any, map[string]any) {
		t.Helper()
		items, meta := list(t, e.admin.Do(t, "GET", "/v1/users?"+query, nil).Want(t, 200))
		for _, u := range items {
			checkUser(t, u)
		}
		return items, meta
	}
	wantIDs := func(t *testing.T, query string, want ...string) {
		t.Helper()
		items, meta := get(t, query)
		got := ids(items)
		slices.Sort(got)
		want = slices.Clone(want)
		slices.Sort(want)
		if !slices.Equal(got, want) || int(meta["total"].(float64)) != len(want) {
			t.Fatalf("?%s: %v (total %v), want %v", query, got, meta["total"], want)
		}
	}

	t.Run("pages", func(t *testing.T) {
		items, meta := get(t, "entityId="+acme+"&limit=2&page=2&sort=email:asc")
		if !slices.Equal(ids(items), acmeIDs[2:4]) {
			t.Fatalf("page 2 by email: %v, want %v", ids(items), acmeIDs[2:4])
		}
		want := map[string]any{"total": 5.0, "page": 2.0, "pageSize": 2.0, "totalPages": 3.0, "hasNextPage": true, "hasPreviousPage": true}
		for k, v := range want {
			if meta[k] != v {
				t.Fatalf("meta %v, want %v", meta, want)
			}
		}
		items, meta = get(t, "entityId="+acme+"&limit=2&page=3&sort=email")
		if len(items) != 1 || meta["hasNextPage"] != false || meta["hasPreviousPage"] != true {
			t.Fatalf("last page: %v %v", ids(items), meta)
		}
		items, meta = get(t, "entityId="+acme+"&page=9")
		if len(items) != 0 || meta["total"] != 5.0 || meta["pageSize"] != 10.0 {
			t.Fatalf("past the end: %v %v", ids(items), meta)
		}
		items, _ = get(t, "entityId="+acme+"&sort=email:desc&limit=1")
		if ids(items)[0] != acmeIDs[4] {
			t.Fatalf("email descending: %v", ids(items))
		}
		// The default is newest first.
		items, _ = get(t, "limit=1")
		if ids(items)[0] != globexUser {
			t.Fatalf("default order: %v", ids(items))
		}
	})

	t.Run("filters", func(t *testing.T) {
		wantIDs(t, "entityId="+globex, globexUser)
		wantIDs(t, "filter[entityId]="+globex, globexUser)
		wantIDs(t, "search=user3", acmeIDs[3])
		wantIDs(t, "search=ZED", globexUser)
		if m := wantError(t, e.admin.Do(t, "GET", "/v1/users?search=%00x", nil), 400, gpcn.CodeValidation); !slices.Equal(details(m), []string{"search:invalid"}) {
			t.Fatalf("a search with NUL: %v", m)
		}
		wantIDs(t, "entityId="+acme+"&inviteStatus=activated", acmeIDs[:2]...)
		wantIDs(t, "entityId="+acme+"&inviteStatus=pending", acmeIDs[2:]...)
		wantIDs(t, "entityId="+acme+"&inviteStatus=expired")
		wantIDs(t, "entityId="+acme+"&inviteStatus=pending&inviteStatus=expired&inviteStatus=activated", acmeIDs...)
		wantIDs(t, "entityId="+acme+"&inviteStatus[]=pending,expired", acmeIDs[2:]...)
		wantIDs(t, "resourceGroupId="+ops, acmeIDs[0], acmeIDs[2], acmeIDs[4])
		wantIDs(t, "roleId="+gpcn.RoleID("vm-operator"), acmeIDs[4])
		wantIDs(t, "roleId="+gpcn.RoleID("vm-operator")+"&roleId="+gpcn.RoleID("tenant-user")+"&entityId="+globex, globexUser)
		// Invite statuses in the answer.
		for _, u := range func() []map[string]any { items, _ := get(t, "entityId="+acme); return items }() {
			want := "pending"
			if slices.Contains(acmeIDs[:2], str(u, "id")) {
				want = "activated"
			}
			if str(u, "inviteStatus") != want || (want == "pending") != (u["inviteExpiresAt"] != nil) {
				t.Fatalf("invite status of %s: %v", str(u, "email"), u)
			}
		}
	})

	t.Run("deleted", func(t *testing.T) {
		e.admin.Do(t, "DELETE", "/v1/users/"+acmeIDs[1], nil).Want(t, 204)
		wantIDs(t, "entityId="+acme+"&deletedFilter=only", acmeIDs[1])
		wantIDs(t, "entityId="+acme+"&deletedFilter=include&inviteStatus=activated", acmeIDs[:2]...)
		wantIDs(t, "entityId="+acme, append([]string{acmeIDs[0]}, acmeIDs[2:]...)...)
		u := e.user(t, acmeIDs[1])
		if u["deletedAt"] == nil || str(u, "status") != "deleted" || str(u, "inviteStatus") != "activated" {
			t.Fatalf("deleted user: %v", u)
		}
		wantError(t, e.admin.Do(t, "DELETE", "/v1/users/"+acmeIDs[1], nil), 404, gpcn.CodeNotFound)
		wantError(t, e.admin.Do(t, "PUT", "/v1/users/"+acmeIDs[1], map[string]any{"firstName": "Lazarus"}), 404, gpcn.CodeNotFound)
	})

	t.Run("what is refused", func(t *testing.T) {
		for query, field := range map[string]string{
			"limit=101":                      "limit:out_of_range",
			"limit=0":                        "limit:out_of_range",
			"page=0":                         "page:invalid",
			"page=two":                       "page:invalid",
			"sort=createdAt:desc,email:asc":  "sort:unsupported",
			"sort=shoeSize":                  "sort:invalid",
			"sort=email:sideways":            "sort:invalid",
			"deletedFilter=maybe":            "deletedFilter:invalid",
			"inviteStatus=lost":              "inviteStatus[0]:invalid",
			"inviteStatus=activated,pending": "inviteStatus:unsupported",
			"roleId=0":                       "roleId[0]:unsupported",
			"roleId=" + core.NewID():         "roleId[0]:unknown",
			"resourceGroupId=0":              "resourceGroupId[0]:unsupported",
			"noRole=true":                    "noRole:unsupported",
			"noResourceGroup=true":           "noResourceGroup:unsupported",
			"excludeResourceGroupId=" + ops:  "excludeResourceGroupId:unsupported",
			"entityId=acme":                  "entityId:invalid",
		} {
			m := wantError(t, e.admin.Do(t, "GET", "/v1/users?"+query, nil), 400, gpcn.CodeValidation)
			if !slices.Equal(details(m), []string{field}) {
				t.Errorf("?%s: %v, want %s", query, details(m), field)
			}
		}
		// An entity's key sees its own entity only.
		acmeKey := e.serviceKey(t, acme, "tenant-admin")
		items, _ := list(t, acmeKey.Do(t, "GET", "/v1/users", nil).Want(t, 200))
		if slices.Contains(ids(items), globexUser) || len(items) != 4 {
			t.Fatalf("acme's key lists %v", ids(items))
		}
		wantError(t, acmeKey.Do(t, "GET", "/v1/users?entityId="+globex, nil), 403, gpcn.CodeForbidden)
	})
}

func TestGetUpdateDeleteUser(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme, globex := e.tenant(t, "Acme"), e.tenant(t, "Globex")
	ops := e.team(t, acme, "Ops")
	id := e.register(t, e.admin, map[string]any{"email": "mover@acme.example", "entityId": acme, "firstName": "Mo", "lastName": "Ver",
		"roleNames": []string{"vm-operator", "viewer"}, "resourceGroupIds": []string{ops}})

	u := e.user(t, id)
	if str(u, "email") != "mover@acme.example" || str(u, "status") != "active" || str(u, "inviteStatus") != "activated" ||
		u["inviteExpiresAt"] != nil || str(u, "createdAt") != "2026-06-01T09:00:00.000Z" {
		t.Fatalf("user: %v", u)
	}
	for _, role := range u["roles"].([]any) {
		r := role.(map[string]any)
		if str(r, "id") != gpcn.RoleID(str(r, "name")) || str(r, "entityId") != acme {
			t.Fatalf("role: %v", r)
		}
	}
	wantError(t, e.admin.Do(t, "GET", "/v1/users/"+core.NewID(), nil), 404, gpcn.CodeNotFound)
	wantError(t, e.admin.Do(t, "GET", "/v1/users/not-a-uuid", nil), 404, gpcn.CodeNotFound)

	// PUT changes names; what is left out stays.
	r := e.admin.Do(t, "PUT", "/v1/users/"+id, map[string]any{"firstName": "Moe"}).Want(t, 200)
	if str(r.Map(t), "message") != "User updated successfully" {
		t.Fatalf("update message: %s", r.Body)
	}
	u = data(t, r)
	checkUser(t, u)
	if str(u, "firstName") != "Moe" || str(u, "lastName") != "Ver" {
		t.Fatalf("updated: %v", u)
	}
	e.native.T = t
	if n := e.native.Do("GET", "/v1/users/"+id, nil).Want(t, 200).Map(t); str(n, "name") != "Moe Ver" {
		t.Fatalf("native name after update: %v", n)
	}
	wantError(t, e.admin.Do(t, "PUT", "/v1/users/"+id, map[string]any{"firstName": strings.Repeat("x", 201)}), 400, gpcn.CodeValidation)
	// PATCH is the same update.
	if u := data(t, e.admin.Do(t, "PATCH", "/v1/users/"+id, map[string]any{"lastName": "Vera"}).Want(t, 200)); str(u, "firstName") != "Moe" ||
		str(u, "lastName") != "Vera" {
		t.Fatalf("patched: %v", u)
	}
	e.admin.Do(t, "PATCH", "/v1/users/"+id, map[string]any{"lastName": "Ver"}).Want(t, 200)
	// A refused update changes nothing, not the entity either.
	wantError(t, e.admin.Do(t, "PUT", "/v1/users/"+id, map[string]any{"entityId": globex, "firstName": strings.Repeat("x", 201)}), 400, gpcn.CodeValidation)
	if u := e.user(t, id); str(u, "entityId") != acme {
		t.Fatalf("a refused update moved the user: %v", u)
	}

	// entityId moves the user with its roles; it leaves the old entity's groups.
	u = data(t, e.admin.Do(t, "PUT", "/v1/users/"+id, map[string]any{"entityId": globex, "lastName": "Moved"}).Want(t, 200))
	if str(u, "entityId") != globex || str(u, "lastName") != "Moved" ||
		!slices.Equal(roleNamesOf(u), []string{"viewer@" + globex, "vm-operator@" + globex}) || len(u["resourceGroupIds"].([]any)) != 0 {
		t.Fatalf("moved: %v", u)
	}
	// Moving where it already is changes nothing.
	e.admin.Do(t, "PUT", "/v1/users/"+id, map[string]any{"entityId": globex}).Want(t, 200)
	// An entity's key cannot move its users out of its entity.
	globexKey := e.serviceKey(t, globex, "tenant-admin")
	wantError(t, globexKey.Do(t, "PUT", "/v1/users/"+id, map[string]any{"entityId": acme}), 404, gpcn.CodeNotFound)
	wantError(t, e.admin.Do(t, "PUT", "/v1/users/"+id, map[string]any{"entityId": core.NewID()}), 404, gpcn.CodeNotFound)

	// A user in two entities cannot be moved by entityId.
	e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "viewer", "entityId": acme}).Want(t, 201)
	third := e.tenant(t, "Initech")
	m := wantError(t, e.admin.Do(t, "PUT", "/v1/users/"+id, map[string]any{"entityId": third}), 400, gpcn.CodeValidation)
	if !slices.Equal(details(m), []string{"entityId:ambiguous"}) {
		t.Fatalf("ambiguous move: %v", m)
	}

	// Delete is soft.
	wantError(t, globexKey.Do(t, "DELETE", "/v1/users/"+id, nil), 403, gpcn.CodeForbidden)
	e.admin.Do(t, "DELETE", "/v1/users/"+id, nil).Want(t, 204)
	if u = e.user(t, id); u["deletedAt"] == nil {
		t.Fatalf("deleted: %v", u)
	}
}

func TestInvitations(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme := e.tenant(t, "Acme")
	pending := e.invite(t, e.admin, map[string]any{"email": "pending@acme.example", "entityId": acme})
	other := e.invite(t, e.admin, map[string]any{"email": "other@acme.example", "entityId": acme})
	active := e.register(t, e.admin, map[string]any{"email": "active@acme.example", "entityId": acme})
	invitations := func(id string) []core.Invitation {
		invs, err := e.Store.ListInvitations(context.Background(), store.InvitationFilter{UserID: id})
		if err != nil {
			t.Fatal(err)
		}
		return invs
	}
	clock := e.ManualClock()

	// Two days on, a resend gives a new token with a new expiry, and the
	// old one stops working.
	clock.Advance(48 * time.Hour)
	before := invitations(pending)
	r := e.admin.Do(t, "POST", "/v1/users/"+pending+"/resend-invite", nil).Want(t, 200)
	d := data(t, r)
	if !sameKeys(d, "message", "expiresAt") || str(d, "message") != "Invitation resent successfully" ||
		str(d, "expiresAt") != "2026-06-06T09:00:00.000Z" {
		t.Fatalf("resend: %s", r.Body)
	}
	after := invitations(pending)
	if len(before) != 1 || len(after) != 2 {
		t.Fatalf("invitations before %v, after %v", before, after)
	}
	for _, inv := range after {
		switch inv.ID {
		case before[0].ID:
			if inv.State != core.InvitationRevoked {
				t.Fatalf("the old invitation is %s", inv.State)
			}
		default:
			if inv.State != core.InvitationPending || inv.TokenHash == before[0].TokenHash {
				t.Fatalf("the new invitation: %+v", inv)
			}
		}
	}
	if u := e.user(t, pending); str(u, "inviteExpiresAt") != "2026-06-06T09:00:00.000Z" || str(u, "inviteStatus") != "pending" {
		t.Fatalf("after resend: %v", u)
	}
	// Another two days and the first user's sibling invitation has expired.
	clock.Advance(48 * time.Hour)
	if u := e.user(t, other); str(u, "inviteStatus") != "expired" || str(u, "inviteExpiresAt") != "2026-06-04T09:00:00.000Z" {
		t.Fatalf("expired: %v", u)
	}
	items, _ := list(t, e.admin.Do(t, "GET", "/v1/users?inviteStatus=expired", nil).Want(t, 200))
	if !slices.Equal(ids(items), []string{other}) {
		t.Fatalf("expired users: %v", ids(items))
	}
	// An activated user has nothing to resend.
	wantError(t, e.admin.Do(t, "POST", "/v1/users/"+active+"/resend-invite", nil), 409, gpcn.CodeConflict)
	wantError(t, e.admin.Do(t, "POST", "/v1/users/"+core.NewID()+"/resend-invite", nil), 404, gpcn.CodeNotFound)
	viewer := e.serviceKey(t, acme, "tenant-user")
	wantError(t, viewer.Do(t, "POST", "/v1/users/"+other+"/resend-invite", nil), 403, gpcn.CodeForbidden)

	t.Run("bulk", func(t *testing.T) {
		unknown := core.NewID()
		r := e.admin.Do(t, "POST", "/v1/users/bulk/resend-invite", map[string]any{
			"ids": []string{pending, other, active, unknown, "nope", pending}}).Want(t, 200)
		m := r.Map(t)
		if m["success"] != true || str(m, "message") != "Bulk resend invite completed" {
			t.Fatalf("bulk: %s", r.Body)
		}
		d := data(t, r)
		var results []map[string]any
		for _, x := range d["results"].([]any) {
			results = append(results, x.(map[string]any))
		}
		summary := d["summary"].(map[string]any)
		if !sameKeys(d, "results", "summary") || len(results) != 5 ||
			summary["total"] != 5.0 || summary["succeeded"] != 2.0 || summary["failed"] != 3.0 {
			t.Fatalf("bulk answer: %s", r.Body)
		}
		want := []struct {
			id, code string
			ok       bool
		}{{pending, "", true}, {other, "", true}, {active, gpcn.CodeConflict, false}, {unknown, gpcn.CodeNotFound, false}, {"nope", gpcn.CodeNotFound, false}}
		for i, w := range want {
			res := results[i]
			if str(res, "id") != w.id || res["success"] != w.ok || str(res, "code") != w.code ||
				(w.ok && res["expiresAt"] == nil) || (!w.ok && str(res, "error") == "") {
				t.Fatalf("result %d: %v, want %+v", i, res, w)
			}
		}
		if u := e.user(t, other); str(u, "inviteStatus") != "pending" {
			t.Fatalf("re-invited user: %v", u)
		}
		var tooMany []string
		for i := range 51 {
			tooMany = append(tooMany, fmt.Sprintf("id-%d", i))
		}
		for _, body := range []any{map[string]any{"ids": []string{}}, map[string]any{}, map[string]any{"ids": tooMany}} {
			m := wantError(t, e.admin.Do(t, "POST", "/v1/users/bulk/resend-invite", body), 400, gpcn.CodeValidation)
			if !slices.Equal(details(m), []string{"ids:out_of_range"}) {
				t.Fatalf("bulk size: %v", m)
			}
		}
	})
}

func TestRoles(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme, globex := e.tenant(t, "Acme"), e.tenant(t, "Globex")

	items, meta := list(t, e.admin.Do(t, "GET", "/v1/roles", nil).Want(t, 200))
	if len(items) != len(core.Catalogue) || meta["total"] != float64(len(core.Catalogue)) {
		t.Fatalf("roles: %v", items)
	}
	for i, r := range items {
		role := core.Catalogue[i]
		if !sameKeys(r, "id", "name", "displayName", "description", "scope") || str(r, "name") != role.Name ||
			str(r, "id") != gpcn.RoleID(role.Name) || str(r, "displayName") != role.Title {
			t.Fatalf("role %d: %v", i, r)
		}
	}
	// Role ids never change: they are derived from the names.
	if gpcn.RoleID("tenant-user") != "9701b258-26bf-536d-b997-0bf077f6b198" {
		t.Fatalf("tenant-user's id changed: %s", gpcn.RoleID("tenant-user"))
	}
	r := data(t, e.admin.Do(t, "GET", "/v1/roles/"+gpcn.RoleID("vm-operator"), nil).Want(t, 200))
	if str(r, "name") != "vm-operator" || str(r, "scope") != "entity" {
		t.Fatalf("role by id: %v", r)
	}
	e.admin.Do(t, "GET", "/v1/roles/provider-admin", nil).Want(t, 200)
	wantError(t, e.admin.Do(t, "GET", "/v1/roles/"+core.NewID(), nil), 404, gpcn.CodeNotFound)

	id := e.register(t, e.admin, map[string]any{"email": "roles@acme.example", "entityId": acme})
	t.Run("assign", func(t *testing.T) {
		r := e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "vm-operator"}).Want(t, 201)
		d := data(t, r)
		role := d["role"].(map[string]any)
		if str(r.Map(t), "message") != "Role assigned successfully" || str(d, "userId") != id || str(role, "name") != "vm-operator" ||
			str(role, "entityId") != acme || str(role, "id") != gpcn.RoleID("vm-operator") {
			t.Fatalf("assign: %s", r.Body)
		}
		// By alias, and again (nothing changes).
		e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "tenant-power-user", "entityId": acme}).Want(t, 201)
		e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "vm-operator"}).Want(t, 201)
		if got := roleNamesOf(e.user(t, id)); !slices.Equal(got, []string{"engineer@" + acme, "tenant-user@" + acme, "vm-operator@" + acme}) {
			t.Fatalf("roles: %v", got)
		}
		// In another entity: the user joins it.
		e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "viewer", "entityId": globex}).Want(t, 201)
		// Provider roles are held at the provider level.
		e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "provider-viewer"}).Want(t, 201)
		if got := roleNamesOf(e.user(t, id)); !slices.Equal(got, []string{"engineer@" + acme, "provider-viewer@", "tenant-user@" + acme,
			"viewer@" + globex, "vm-operator@" + acme}) {
			t.Fatalf("roles: %v", got)
		}
		// Now in two entities, the entity must be named.
		m := wantError(t, e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "viewer"}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"entityId:required"}) {
			t.Fatalf("no entity: %v", m)
		}
		wantError(t, e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "team-admin", "entityId": acme}), 404, gpcn.CodeNotFound)
		m = wantError(t, e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"roleName:required"}) {
			t.Fatalf("no role: %v", m)
		}
		m = wantError(t, e.admin.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "viewer", "entityId": acme,
			"resourceGroupId": core.NewID()}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"resourceGroupId:unsupported"}) {
			t.Fatalf("group scope: %v", m)
		}
		// Nobody grants above their own role.
		acmeViewer := e.serviceKey(t, acme, "tenant-admin")
		m = wantError(t, acmeViewer.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "provider-admin"}), 403, gpcn.CodeForbidden)
		if len(details(m)) > 1 {
			t.Fatalf("forbidden: %v", m)
		}
		engineer := e.serviceKey(t, acme, "engineer")
		wantError(t, engineer.Do(t, "POST", "/v1/users/"+id+"/roles", map[string]any{"roleName": "viewer"}), 403, gpcn.CodeForbidden)
	})

	t.Run("revoke", func(t *testing.T) {
		e.admin.Do(t, "DELETE", "/v1/users/"+id+"/roles/"+gpcn.RoleID("vm-operator")+"?entityId="+acme, nil).Want(t, 204)
		e.admin.Do(t, "DELETE", "/v1/users/"+id+"/roles/engineer?entityId="+acme, nil).Want(t, 204)
		e.admin.Do(t, "DELETE", "/v1/users/"+id+"/roles/provider-viewer", nil).Want(t, 204)
		if got := roleNamesOf(e.user(t, id)); !slices.Equal(got, []string{"tenant-user@" + acme, "viewer@" + globex}) {
			t.Fatalf("after revoking: %v", got)
		}
		wantError(t, e.admin.Do(t, "DELETE", "/v1/users/"+id+"/roles/vm-operator?entityId="+acme, nil), 404, gpcn.CodeNotFound)
		wantError(t, e.admin.Do(t, "DELETE", "/v1/users/"+id+"/roles/nonsense?entityId="+acme, nil), 404, gpcn.CodeNotFound)
		// A user keeps at least one role in each entity.
		m := wantError(t, e.admin.Do(t, "DELETE", "/v1/users/"+id+"/roles/tenant-user?entityId="+acme, nil), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"roleName:required"}) {
			t.Fatalf("last role: %v", m)
		}
	})
}

// Concurrent assignments of different roles to one user all stay, and so
// do concurrent revocations: each is one change of the roles held, not a
// write of a list read before another change.
func TestConcurrentRoleChanges(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme := e.tenant(t, "Acme")
	roles := []string{"engineer", "vm-operator", "viewer", "purge-only", "tenant-admin"}
	send := func(method, path string, body []byte) int {
		req, err := http.NewRequest(method, e.URL+gpcnPrefix+path, bytes.NewReader(body))
		if err != nil {
			return 0
		}
		req.Header.Set("X-API-Key", testsupport.AdminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	all := func(id, method string, path func(role string) string, body func(role string) []byte) []int {
		statuses := make([]int, len(roles))
		var wg sync.WaitGroup
		for i, role := range roles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = send(method, path(role), body(role))
			}()
		}
		wg.Wait()
		return statuses
	}
	for n := range 8 {
		id := e.register(t, e.admin, map[string]any{"email": fmt.Sprintf("busy%d@acme.example", n), "entityId": acme})
		statuses := all(id, "POST", func(string) string { return "/v1/users/" + id + "/roles" }, func(role string) []byte {
			return []byte(`{"roleName":"` + role + `","entityId":"` + acme + `"}`)
		})
		want := []string{"engineer@" + acme, "purge-only@" + acme, "tenant-admin@" + acme, "tenant-user@" + acme, "viewer@" + acme, "vm-operator@" + acme}
		if got := roleNamesOf(e.user(t, id)); !slices.Equal(got, want) {
			t.Fatalf("after concurrent assignments answered %v the user holds %v, want %v", statuses, got, want)
		}
		statuses = all(id, "DELETE", func(role string) string { return "/v1/users/" + id + "/roles/" + role + "?entityId=" + acme },
			func(string) []byte { return nil })
		if got := roleNamesOf(e.user(t, id)); !slices.Equal(got, []string{"tenant-user@" + acme}) {
			t.Fatalf("after concurrent revocations answered %v the user holds %v", statuses, got)
		}
	}
}

func TestUnmatchedRoutes(t *testing.T) {
	e := start(t, testsupport.Options{})
	m := wantError(t, e.admin.Do(t, "GET", "/v1/virtual-machines", nil), 404, gpcn.CodeNotFound)
	if !strings.Contains(str(m, "message"), "/v1/virtual-machines") {
		t.Fatalf("unknown endpoint: %v", m)
	}
	r := e.admin.Do(t, "DELETE", "/v1/users", nil)
	wantError(t, r, 405, gpcn.CodeMethodNotAllowed)
	if !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Fatalf("Allow: %v", r.Header)
	}
	wantError(t, e.anon.Do(t, "GET", "/v1/nothing", nil), 404, gpcn.CodeNotFound)
}

// A tenant admin's inviteStatus filter agrees with the inviteStatus the
// dialect shows that admin: it reads the user's newest invitation into the
// admin's tenants, not one into another tenant, whose state it must not
// tell.
func TestInviteStatusFilterReadsTheCallersInvitations(t *testing.T) {
	e := start(t, testsupport.Options{})
	e.native.T = t
	acme, globex := e.tenant(t, "Acme"), e.tenant(t, "Globex")
	u := str(e.native.Do("POST", "/v1/users", map[string]any{"email": "shared@example.com", "tenant_id": acme,
		"roles": []string{"tenant-user"}}).Want(t, 201).Map(t), "id")
	e.native.Do("PUT", "/v1/tenants/"+globex+"/members/"+u, map[string]any{"roles": []string{"tenant-user"}}).Want(t, 200)
	// Out of Acme (its invitation revoked), a resend goes to Globex; then
	// back into Acme.
	e.native.Do("DELETE", "/v1/tenants/"+acme+"/members/"+u, nil)
	e.ManualClock().Advance(time.Minute)
	e.native.Do("POST", "/v1/users/"+u+"/invitations", map[string]any{}).Want(t, 201)
	e.native.Do("PUT", "/v1/tenants/"+acme+"/members/"+u, map[string]any{"roles": []string{"tenant-user"}}).Want(t, 200)

	acmeAdmin := e.serviceKey(t, acme, "tenant-admin")
	shown := data(t, acmeAdmin.Do(t, "GET", "/v1/users/"+u, nil).Want(t, 200))
	if shown["inviteStatus"] != "revoked" {
		t.Fatalf("Acme's admin is shown inviteStatus %v, want revoked", shown["inviteStatus"])
	}
	for _, st := range []string{"pending", "revoked"} {
		items, _ := list(t, acmeAdmin.Do(t, "GET", "/v1/users?entityId="+acme+"&inviteStatus="+st, nil).Want(t, 200))
		if listed := slices.Contains(ids(items), u); listed != (st == "revoked") {
			t.Errorf("inviteStatus=%s lists the user: %v, but Acme's admin is shown revoked", st, listed)
		}
	}
}
