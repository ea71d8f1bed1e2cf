package gpcn

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/internal/core"
)

func TestVocabulary(t *testing.T) {
	for in, want := range map[string]string{
		"no such tenant":                                  "no such entity",
		"you may not read this tenant's users":            "you may not read this entity's users",
		"only provider administrators create tenants":     "only provider administrators create entities",
		"role tenant-admin is above your own":             "role tenant-admin is above your own",
		"unknown role tenant-userx":                       "unknown role tenant-userx",
		"give tenant_id":                                  "give entityId",
		"tenant":                                          "entity",
		"Tenants and multitenant":                         "Tenants and multitenant",
		"resource_group_ids belong to an existing tenant": "resourceGroupIds belong to an existing entity",
	} {
		if got := vocabulary(in); got != want {
			t.Errorf("vocabulary(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenameField(t *testing.T) {
	for in, want := range map[string]string{
		"first_name": "firstName", "roles[2]": "roleNames[2]", "resource_group_ids[0]": "resourceGroupIds[0]",
		"resource_group_id[1]": "resourceGroupId[1]",
		"tenant_id":            "entityId", "email": "email", "password": "password", "limit": "limit",
	} {
		if got := renameField(in); got != want {
			t.Errorf("renameField(%q) = %q, want %q", in, got, want)
		}
	}
}

// An internal error is a 500 INTERNAL_ERROR whose body tells nothing of
// its cause; the cause goes to the log.
func TestInternalErrorRendering(t *testing.T) {
	var logs strings.Builder
	d := &Dialect{log: slog.New(slog.NewTextHandler(&logs, nil))}
	w := httptest.NewRecorder()
	d.writeError(w, httptest.NewRequest("GET", "/v1/users", nil), core.Internal(errors.New("disk on fire at /var/lib/secret")))
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if w.Code != 500 || body["success"] != false || body["error"] != CodeInternal || strings.Contains(w.Body.String(), "fire") ||
		!strings.Contains(body["message"].(string), "X-Request-Id") || len(body) != 3 {
		t.Fatalf("500: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Fatalf("the cause is not logged: %s", logs.String())
	}
	// Unavailable carries Retry-After.
	w = httptest.NewRecorder()
	d.writeError(w, httptest.NewRequest("GET", "/v1/users", nil), &core.Error{Code: core.CodeUnavailable, Message: "the database is not available", RetryAfter: 1})
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), CodeServiceUnavailable) {
		t.Fatalf("503: %d %v %s", w.Code, w.Header(), w.Body)
	}
	// Every core code has a GPCN code.
	for _, code := range []core.Code{core.CodeInvalid, core.CodeMalformed, core.CodeUnauthenticated, core.CodeForbidden,
		core.CodeRoleForbidden, core.CodeRoleInvalid, core.CodeRestrictedField, core.CodeNotFound, core.CodeConflict,
		core.CodeIdempotencyMismatch, core.CodeIdempotencyPending, core.CodeIdempotencyWithheld, core.CodeTooLarge, core.CodeRateLimited,
		core.CodeElevationRequired, core.CodeOverloaded, core.CodeUnavailable, core.CodeAlreadyActive,
		core.CodeInvitationInvalid, core.CodeInternal} {
		if _, ok := errorTable[code]; !ok {
			t.Errorf("core code %s has no GPCN mapping", code)
		}
	}
}

func TestInviteState(t *testing.T) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	soon, past := now.Add(time.Hour), now.Add(-time.Hour)
	pending := &core.Invitation{State: core.InvitationPending, ExpiresAt: soon}
	expired := &core.Invitation{State: core.InvitationPending, ExpiresAt: past}
	revoked := &core.Invitation{State: core.InvitationRevoked, ExpiresAt: soon}
	accepted := &core.Invitation{State: core.InvitationAccepted, ExpiresAt: soon}
	for _, c := range []struct {
		user    core.User
		inv     *core.Invitation
		status  string
		expires *time.Time
	}{
		{core.User{Status: core.UserActive}, nil, "activated", nil},
		{core.User{Status: core.UserDisabled}, accepted, "activated", nil},
		{core.User{Status: core.UserInvited}, pending, "pending", &soon},
		{core.User{Status: core.UserInvited}, expired, "expired", &past},
		{core.User{Status: core.UserInvited}, revoked, "revoked", nil},
		{core.User{Status: core.UserInvited}, nil, "", nil},
		{core.User{Status: core.UserDeleted, HasPassword: true}, nil, "activated", nil},
		{core.User{Status: core.UserDeleted}, revoked, "revoked", nil},
	} {
		status, expires := inviteState(c.user, c.inv, now)
		if status != c.status || (expires == nil) != (c.expires == nil) || (expires != nil && !expires.Equal(*c.expires)) {
			t.Errorf("%s user with %+v: %q %v, want %q %v", c.user.Status, c.inv, status, expires, c.status, c.expires)
		}
		if needsInvitation(c.user) != (c.user.Status == core.UserInvited || (c.user.Status == core.UserDeleted && !c.user.HasPassword)) {
			t.Errorf("needsInvitation(%+v)", c.user)
		}
	}
}

func TestInviteFilter(t *testing.T) {
	for _, c := range []struct {
		values   []string
		deleted  core.DeletedFilter
		statuses []core.UserStatus
		invs     []core.InvitationStatus
		problem  string
	}{
		{nil, core.ExcludeDeleted, nil, nil, ""},
		{[]string{"activated"}, core.ExcludeDeleted, []core.UserStatus{core.UserActive, core.UserDisabled}, nil, ""},
		{[]string{"activated"}, core.OnlyDeleted, []core.UserStatus{core.UserActive, core.UserDisabled, core.UserDeleted}, nil, ""},
		{[]string{"pending", "expired", "pending"}, core.ExcludeDeleted, []core.UserStatus{core.UserInvited},
			[]core.InvitationStatus{core.InvitationPending, core.InvitationExpired}, ""},
		{[]string{"activated", "pending", "expired"}, core.ExcludeDeleted, nil, nil, ""},
		{[]string{"activated", "expired"}, core.ExcludeDeleted, nil, nil, "inviteStatus:unsupported"},
		{[]string{"pending", "gone"}, core.ExcludeDeleted, nil, nil, "inviteStatus[1]:invalid"},
	} {
		v := &core.Validation{}
		st, invs := inviteFilter(v, c.values, c.deleted)
		problem := ""
		if err := v.Err(); err != nil {
			f := err.(*core.Error).Fields[0]
			problem = f.Field + ":" + f.Code
		}
		if !slices.Equal(st, c.statuses) || !slices.Equal(invs, c.invs) || problem != c.problem {
			t.Errorf("%v: %v %v %q, want %v %v %q", c.values, st, invs, problem, c.statuses, c.invs, c.problem)
		}
	}
}

func TestSortKey(t *testing.T) {
	for in, want := range map[string]string{"createdAt": "created_at asc", "createdAt:desc": "created_at desc",
		"firstName:ASC": "name asc", "email:desc": "email desc", "lastName": "!sort:invalid", "name:up": "!sort:invalid",
		"name,email": "!sort:unsupported"} {
		v := &core.Validation{}
		field, desc := sortKey(v, in, userSortFields)
		got := field + " asc"
		if desc {
			got = field + " desc"
		}
		if err := v.Err(); err != nil {
			f := err.(*core.Error).Fields[0]
			got = "!" + f.Field + ":" + f.Code
		}
		if got != want {
			t.Errorf("sortKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLookupRole(t *testing.T) {
	for in, want := range map[string]string{"tenant-user": "tenant-user", "entity-admin": "tenant-admin",
		"tenant-power-user": "engineer", RoleID("vm-operator"): "vm-operator",
		strings.ToUpper(RoleID("viewer")): "viewer", "team-admin": "", "": ""} {
		r, ok := lookupRole(in)
		if r.Name != want || ok != (want != "") {
			t.Errorf("lookupRole(%q) = %q %v, want %q", in, r.Name, ok, want)
		}
	}
}

// The documentation lists every role with its id, and every alias.
func TestDocsListRoleIDs(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/dialects/gpcn.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range core.Catalogue {
		row := "| `" + r.Name + "` | `" + RoleID(r.Name) + "` |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/dialects/gpcn.md lacks the row %s", row)
		}
	}
	for alias, name := range roleAliases {
		if !strings.Contains(string(doc), "| `"+alias+"` | `"+name+"` |") {
			t.Errorf("docs/dialects/gpcn.md lacks the alias %s → %s", alias, name)
		}
	}
}

func TestPageMeta(t *testing.T) {
	for _, c := range []struct {
		total, page, limit int
		want               pageMeta
	}{
		{0, 1, 10, pageMeta{0, 1, 10, 0, false, false}},
		{10, 1, 10, pageMeta{10, 1, 10, 1, false, false}},
		{11, 1, 10, pageMeta{11, 1, 10, 2, true, false}},
		{11, 2, 10, pageMeta{11, 2, 10, 2, false, true}},
		{11, 5, 10, pageMeta{11, 5, 10, 2, false, true}},
	} {
		if got := newMeta(c.total, pageQuery{c.page, c.limit}); got != c.want {
			t.Errorf("%+v: %+v", c, got)
		}
	}
	if got := pageOf([]int{1, 2, 3, 4, 5}, pageQuery{2, 2}); !slices.Equal(got, []int{3, 4}) {
		t.Errorf("page 2: %v", got)
	}
	if got := pageOf([]int{1, 2, 3}, pageQuery{3, 2}); len(got) != 0 {
		t.Errorf("past the end: %v", got)
	}
}
