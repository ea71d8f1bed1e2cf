package gpcn_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"roster/internal/compat/gpcn"
	"roster/internal/core"
	"roster/internal/store"
	"roster/internal/testsupport"
)

func TestTeams(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme, globex := e.tenant(t, "Acme"), e.tenant(t, "Globex")
	acmeKey := e.serviceKey(t, acme, "tenant-admin")

	// Create: in the entity named, or the key's own.
	r := e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": "Platform", "description": "Runs the platform", "entityId": acme}).Want(t, 201)
	platform := data(t, r)
	checkTeam(t, platform)
	if str(r.Map(t), "message") != "Team created successfully" || str(platform, "name") != "Platform" ||
		str(platform, "entityId") != acme || platform["memberCount"] != 0.0 || str(platform, "description") != "Runs the platform" {
		t.Fatalf("created team: %s", r.Body)
	}
	pid := str(platform, "teamId")
	web := str(data(t, acmeKey.Do(t, "POST", "/v1/teams", map[string]any{"name": "web"}).Want(t, 201)), "id")
	globexTeam := e.team(t, globex, "Globex ops")
	m := wantError(t, e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": "Nowhere"}), 400, gpcn.CodeValidation)
	if !slices.Equal(details(m), []string{"entityId:required"}) {
		t.Fatalf("team without an entity: %v", m)
	}
	m = wantError(t, e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": "Child", "entityId": acme, "parentTeamId": 1}), 400, gpcn.CodeValidation)
	if !slices.Equal(details(m), []string{"parentTeamId:unsupported"}) {
		t.Fatalf("nested team: %v", m)
	}
	e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": "Flat", "entityId": acme, "parentTeamId": nil}).Want(t, 201)
	m = wantError(t, e.admin.Do(t, "POST", "/v1/teams", map[string]any{"entityId": acme}), 400, gpcn.CodeValidation)
	if !slices.Equal(details(m), []string{"name:required"}) {
		t.Fatalf("team without a name: %v", m)
	}
	wantError(t, e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": "platform", "entityId": acme}), 409, gpcn.CodeConflict)
	wantError(t, acmeKey.Do(t, "POST", "/v1/teams", map[string]any{"name": "Theirs", "entityId": globex}), 404, gpcn.CodeNotFound)

	t.Run("list", func(t *testing.T) {
		items, meta := list(t, e.admin.Do(t, "GET", "/v1/teams", nil).Want(t, 200))
		var names []string
		for _, it := range items {
			checkTeam(t, it)
			names = append(names, str(it, "name"))
		}
		if !slices.Equal(names, []string{"Flat", "Globex ops", "Platform", "web"}) || meta["total"] != 4.0 {
			t.Fatalf("teams by name: %v %v", names, meta)
		}
		items, meta = list(t, e.admin.Do(t, "GET", "/v1/teams?filter[entityId]="+acme+"&sort=name:desc&limit=2&page=1", nil).Want(t, 200))
		if !slices.Equal(ids(items)[:1], []string{web}) || meta["total"] != 3.0 || meta["totalPages"] != 2.0 || meta["hasNextPage"] != true {
			t.Fatalf("acme's teams: %v %v", ids(items), meta)
		}
		items, _ = list(t, e.admin.Do(t, "GET", "/v1/teams?search=OPS", nil).Want(t, 200))
		if !slices.Equal(ids(items), []string{globexTeam}) {
			t.Fatalf("search: %v", ids(items))
		}
		items, _ = list(t, acmeKey.Do(t, "GET", "/v1/teams", nil).Want(t, 200))
		if len(items) != 3 || slices.Contains(ids(items), globexTeam) {
			t.Fatalf("acme's key sees %v", ids(items))
		}
		wantError(t, e.admin.Do(t, "GET", "/v1/teams?sort=size", nil), 400, gpcn.CodeValidation)
		wantError(t, acmeKey.Do(t, "GET", "/v1/teams?entityId="+globex, nil), 404, gpcn.CodeNotFound)
	})

	t.Run("members", func(t *testing.T) {
		var users []string
		for i := 0; i < 3; i++ {
			users = append(users, e.invite(t, e.admin, map[string]any{"email": fmt.Sprintf("m%d@acme.example", i), "entityId": acme,
				"firstName": fmt.Sprintf("Member%d", i), "lastName": "Acme"}))
		}
		outsider := e.invite(t, e.admin, map[string]any{"email": "out@globex.example", "entityId": globex})
		for _, u := range users {
			r := e.admin.Do(t, "POST", "/v1/teams/"+pid+"/members", map[string]any{"userId": u}).Want(t, 201)
			if d := data(t, r); str(d, "teamId") != pid || str(d, "userId") != u {
				t.Fatalf("add member: %s", r.Body)
			}
		}
		m := wantError(t, e.admin.Do(t, "POST", "/v1/teams/"+pid+"/members", map[string]any{"userId": outsider}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"userId:not_member"}) {
			t.Fatalf("outsider: %v", m)
		}
		m = wantError(t, e.admin.Do(t, "POST", "/v1/teams/"+pid+"/members", map[string]any{}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"userId:required"}) {
			t.Fatalf("no user: %v", m)
		}
		wantError(t, e.admin.Do(t, "POST", "/v1/teams/"+core.NewID()+"/members", map[string]any{"userId": users[0]}), 404, gpcn.CodeNotFound)

		// The team with a page of members.
		r := e.admin.Do(t, "GET", "/v1/teams/"+pid+"?limit=2&sort=firstName:desc", nil).Want(t, 200)
		var detail struct {
			Data map[string]any
			Meta map[string]any
		}
		r.JSON(t, &detail)
		var members []map[string]any
		for _, x := range detail.Data["members"].([]any) {
			members = append(members, x.(map[string]any))
			checkUser(t, x.(map[string]any))
		}
		delete(detail.Data, "members")
		checkTeam(t, detail.Data)
		if detail.Data["memberCount"] != 3.0 || !slices.Equal(ids(members), []string{users[2], users[1]}) ||
			detail.Meta["total"] != 3.0 || detail.Meta["hasNextPage"] != true {
			t.Fatalf("team detail: %s", r.Body)
		}
		items, meta := list(t, e.admin.Do(t, "GET", "/v1/teams/"+pid+"/members?search=member1", nil).Want(t, 200))
		if !slices.Equal(ids(items), []string{users[1]}) || meta["total"] != 1.0 {
			t.Fatalf("member search: %v", ids(items))
		}
		// Users list their teams.
		items, _ = list(t, e.admin.Do(t, "GET", "/v1/users/"+users[0]+"/resource-groups", nil).Want(t, 200))
		if len(items) != 1 || str(items[0], "id") != pid || str(items[0], "name") != "Platform" ||
			!sameKeys(items[0], "id", "name", "entityId", "roles") || str(items[0]["roles"].([]any)[0].(map[string]any), "name") != "tenant-user" {
			t.Fatalf("user's teams: %v", items)
		}
		wantIDs := func(query string, want ...string) {
			t.Helper()
			items, _ := list(t, e.admin.Do(t, "GET", "/v1/users?resourceGroupId="+pid+query, nil).Want(t, 200))
			got := ids(items)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("members by filter: %v, want %v", got, want)
			}
		}
		wantIDs("", users...)

		e.admin.Do(t, "DELETE", "/v1/teams/"+pid+"/members/"+users[1], nil).Want(t, 204)
		wantIDs("", users[0], users[2])
		wantError(t, e.admin.Do(t, "DELETE", "/v1/teams/"+pid+"/members/not-a-user", nil), 404, gpcn.CodeNotFound)

		// Bulk: every user into every team, each pair on its own.
		r = e.admin.Do(t, "POST", "/v1/teams/bulk/add-members", map[string]any{"userIds": []string{users[1], outsider},
			"teamIds": []string{pid, web}}).Want(t, 200)
		d := data(t, r)
		s := d["summary"].(map[string]any)
		if s["total"] != 4.0 || s["succeeded"] != 2.0 || s["failed"] != 2.0 {
			t.Fatalf("bulk add: %s", r.Body)
		}
		for _, x := range d["results"].([]any) {
			res := x.(map[string]any)
			if (str(res, "userId") == outsider) != (res["success"] == false) || !sameKeys(res, "teamId", "userId", "success") && res["success"] == true {
				t.Fatalf("bulk add result: %v", res)
			}
		}
		wantIDs("", users...)
		m = wantError(t, e.admin.Do(t, "POST", "/v1/teams/bulk/add-members", map[string]any{"userIds": []string{}}), 400, gpcn.CodeValidation)
		if !slices.Equal(details(m), []string{"userIds:out_of_range", "teamIds:out_of_range"}) {
			t.Fatalf("empty bulk add: %v", m)
		}
	})

	t.Run("update and delete", func(t *testing.T) {
		r := e.admin.Do(t, "PUT", "/v1/teams/"+pid, map[string]any{"name": "Platform Engineering"}).Want(t, 200)
		g := data(t, r)
		checkTeam(t, g)
		if str(g, "name") != "Platform Engineering" || str(g, "description") != "Runs the platform" || g["memberCount"] != 3.0 {
			t.Fatalf("renamed: %v", g)
		}
		g = data(t, e.admin.Do(t, "PATCH", "/v1/teams/"+pid, map[string]any{"description": ""}).Want(t, 200))
		if g["description"] != nil {
			t.Fatalf("description cleared: %v", g)
		}
		wantError(t, e.admin.Do(t, "PUT", "/v1/teams/"+pid, map[string]any{"parentTeamId": "x"}), 400, gpcn.CodeValidation)
		wantError(t, e.admin.Do(t, "PUT", "/v1/teams/"+pid, map[string]any{"name": ""}), 400, gpcn.CodeValidation)
		wantError(t, acmeKey.Do(t, "PUT", "/v1/teams/"+globexTeam, map[string]any{"name": "Mine"}), 404, gpcn.CodeNotFound)
		viewer := e.serviceKey(t, acme, "tenant-user")
		viewer.Do(t, "GET", "/v1/teams/"+pid, nil).Want(t, 200)
		wantError(t, viewer.Do(t, "DELETE", "/v1/teams/"+pid, nil), 403, gpcn.CodeForbidden)

		e.admin.Do(t, "DELETE", "/v1/teams/"+pid, nil).Want(t, 204)
		wantError(t, e.admin.Do(t, "GET", "/v1/teams/"+pid, nil), 404, gpcn.CodeNotFound)
		wantError(t, e.admin.Do(t, "DELETE", "/v1/teams/"+pid, nil), 404, gpcn.CodeNotFound)

		r = e.admin.Do(t, "POST", "/v1/teams/bulk/delete", map[string]any{"ids": []string{web, pid, "nope"}}).Want(t, 200)
		d := data(t, r)
		s := d["summary"].(map[string]any)
		if s["total"] != 3.0 || s["succeeded"] != 1.0 || s["failed"] != 2.0 {
			t.Fatalf("bulk delete: %s", r.Body)
		}
		items, _ := list(t, e.admin.Do(t, "GET", "/v1/teams?entityId="+acme, nil).Want(t, 200))
		if len(items) != 1 {
			t.Fatalf("acme's teams after deleting: %v", items)
		}
		// At most 50 ids, a repeated one counted once.
		var ids []string
		for i := range 51 {
			ids = append(ids, fmt.Sprintf("id-%d", i))
		}
		wantError(t, e.admin.Do(t, "POST", "/v1/teams/bulk/delete", map[string]any{"ids": ids}), 400, gpcn.CodeValidation)
		r = e.admin.Do(t, "POST", "/v1/teams/bulk/delete", map[string]any{"ids": append(ids[:50:50], ids[0])}).Want(t, 200)
		if s := data(t, r)["summary"].(map[string]any); s["total"] != 50.0 {
			t.Fatalf("50 ids and a repeat: %s", r.Body)
		}
	})
}

// An entity's key cannot tell through a team whether another entity's
// user exists; a deleted user leaves its team's count; a deleted entity's
// teams went with it.
func TestTeamsHideWhatIsNotTheCallers(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme, globex := e.tenant(t, "Acme"), e.tenant(t, "Globex")
	acmeKey := e.serviceKey(t, acme, "tenant-admin")
	team := str(data(t, e.admin.Do(t, "POST", "/v1/teams", map[string]any{"name": "Ops", "entityId": acme}).Want(t, 201)), "id")
	outsider := e.invite(t, e.admin, map[string]any{"email": "out@globex.example", "entityId": globex})
	var answers []string
	for _, id := range []string{outsider, core.NewID()} {
		m := wantError(t, acmeKey.Do(t, "POST", "/v1/teams/"+team+"/members", map[string]any{"userId": id}), 400, gpcn.CodeValidation)
		r := wantError(t, acmeKey.Do(t, "DELETE", "/v1/teams/"+team+"/members/"+id, nil), 404, gpcn.CodeNotFound)
		answers = append(answers, fmt.Sprint(details(m), str(m, "message"), str(r, "message")))
	}
	if answers[0] != answers[1] || !strings.Contains(answers[0], "userId:not_found") {
		t.Fatalf("another entity's user answers %q, an unknown id %q", answers[0], answers[1])
	}

	a1 := e.invite(t, e.admin, map[string]any{"email": "a1@acme.example", "entityId": acme})
	a2 := e.invite(t, e.admin, map[string]any{"email": "a2@acme.example", "entityId": acme})
	for _, u := range []string{a1, a2} {
		e.admin.Do(t, "POST", "/v1/teams/"+team+"/members", map[string]any{"userId": u}).Want(t, 201)
	}
	e.admin.Do(t, "DELETE", "/v1/users/"+a2, nil).Want(t, 204)
	if n := data(t, e.admin.Do(t, "GET", "/v1/teams/"+team, nil).Want(t, 200))["memberCount"]; n != 1.0 {
		t.Fatalf("memberCount %v after one of two members was deleted", n)
	}

	e.native.T = t
	e.native.Do("DELETE", "/v1/tenants/"+acme, nil).Want(t, 204)
	wantError(t, e.admin.Do(t, "GET", "/v1/teams/"+team, nil), 404, gpcn.CodeNotFound)
	wantError(t, e.admin.Do(t, "PUT", "/v1/teams/"+team, map[string]any{"name": "renamed"}), 404, gpcn.CodeNotFound)
	wantError(t, e.admin.Do(t, "GET", "/v1/teams?entityId="+acme, nil), 404, gpcn.CodeNotFound)
}

// Users are filtered only by teams of the entities the caller reads:
// another entity's team is refused exactly as an unknown id is, in GPCN's
// error format, and so is more than a hundred.
func TestUserFilterTakesOnlyVisibleTeams(t *testing.T) {
	e := start(t, testsupport.Options{})
	acme, globex := e.tenant(t, "Acme"), e.tenant(t, "Globex")
	acmeKey := e.serviceKey(t, acme, "tenant-admin")
	acmeTeam, globexTeam := e.team(t, acme, "Acme ops"), e.team(t, globex, "Globex ops")

	acmeKey.Do(t, "GET", "/v1/users?resourceGroupId="+acmeTeam, nil).Want(t, 200)
	theirs := wantError(t, acmeKey.Do(t, "GET", "/v1/users?resourceGroupId="+globexTeam, nil), 400, gpcn.CodeValidation)
	unknown := wantError(t, acmeKey.Do(t, "GET", "/v1/users?resourceGroupId="+core.NewID(), nil), 400, gpcn.CodeValidation)
	if !slices.Equal(details(theirs), []string{"resourceGroupId[0]:not_found"}) || theirs["message"] != unknown["message"] ||
		!slices.Equal(details(theirs), details(unknown)) {
		t.Fatalf("another entity's team: %v; an unknown one: %v", theirs, unknown)
	}
	many := wantError(t, acmeKey.Do(t, "GET", "/v1/users?resourceGroupId="+strings.Repeat(acmeTeam+",", 101), nil), 400, gpcn.CodeValidation)
	if !slices.Equal(details(many), []string{"resourceGroupId:too_many"}) {
		t.Fatalf("101 teams: %v", many)
	}
	// The operator reads both entities' teams.
	e.admin.Do(t, "GET", "/v1/users?resourceGroupId="+globexTeam, nil).Want(t, 200)
}

// goneAfterFirstRead answers for one group once, then as though it had
// been deleted: a team deleted between the two reads of a member listing.
type goneAfterFirstRead struct {
	store.Store
	mu    sync.Mutex // the server reads as the test sets
	id    string
	reads int
}

func (s *goneAfterFirstRead) GetResourceGroup(ctx context.Context, id string) (core.ResourceGroup, error) {
	s.mu.Lock()
	gone := id == s.id && s.reads > 0
	if id == s.id {
		s.reads++
	}
	s.mu.Unlock()
	if gone {
		return core.ResourceGroup{}, core.Errorf(core.CodeNotFound, "resource group not found")
	}
	return s.Store.GetResourceGroup(ctx, id)
}

// A team deleted while its members are being listed is not found (404),
// not a 400 about a parameter the caller never sent.
func TestTeamGoneWhileListingMembers(t *testing.T) {
	st := &goneAfterFirstRead{Store: testsupport.OpenDefault(t)}
	e := start(t, testsupport.Options{Store: st})
	id := e.team(t, e.tenant(t, "Acme"), "Short-lived")
	st.mu.Lock()
	st.id = id
	st.mu.Unlock()
	wantError(t, e.admin.Do(t, "GET", "/v1/teams/"+id+"/members", nil), 404, gpcn.CodeNotFound)
}
