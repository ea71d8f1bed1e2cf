package ece

import (
	"net/http"
	"slices"
	"testing"

	"roster/internal/core"
)

func TestRoleTables(t *testing.T) {
	if len(roleToRoster) != len(roleToECE) || len(eceRoles) != len(roleToRoster) || len(rosterRoles) != len(roleToRoster) {
		t.Fatal("the role tables disagree")
	}
	for ece, roster := range roleToRoster {
		r, ok := core.LookupRole(roster)
		if !ok || r.Scope != core.ScopeProvider {
			t.Errorf("%s maps to %s, which is not a provider role of the catalogue", ece, roster)
		}
		if roleToECE[roster] != ece || !slices.Contains(rosterRoles, roster) || !slices.Contains(eceRoles, ece) {
			t.Errorf("%s ↔ %s is not in every table", ece, roster)
		}
	}
	got, err := rolesToRoster("security.roles", []string{RolePlatformViewer, RoleDeploymentManager})
	if err != nil || !slices.Equal(got, []string{core.RoleProviderViewer, core.RoleDeploymentManager}) {
		t.Fatalf("rolesToRoster: %v %v", got, err)
	}
	_, err = rolesToRoster("security.roles", []string{RolePlatformViewer, core.RoleProviderAdmin, "x"})
	ce := core.AsError(err)
	if ce.Code != core.CodeRoleInvalid || len(ce.Fields) != 2 || ce.Fields[0].Field != "security.roles[1]" || ce.Fields[1].Field != "security.roles[2]" {
		t.Fatalf("unknown names: %v", err)
	}
	if got := rolesToECE([]string{core.RoleProviderViewer, core.RoleDeploymentViewer, core.RoleTenantAdmin}); !slices.Equal(got,
		[]string{RoleDeploymentViewer, RolePlatformViewer}) {
		t.Fatalf("rolesToECE: %v", got)
	}
	if got := rolesToECE(nil); got == nil || len(got) != 0 {
		t.Fatalf("no roles must be an empty array, not null: %#v", got)
	}
}

func TestTranslate(t *testing.T) {
	for _, c := range []struct {
		err    *core.Error
		sc     scope
		status int
		codes  []string
		fields [][]string
	}{
		{core.FieldInvalid("username", "invalid", "bad"), scopeUser, 400, []string{codeUserNameInvalid}, [][]string{{"user_name"}}},
		{core.FieldInvalid("name", "too_long", "long"), scopeUser, 400, []string{codeFullNameInvalid}, [][]string{{"full_name"}}},
		{core.FieldInvalid("security.enabled", "type", "must be true or false"), scopeUser, 400, []string{codeInvalidJSON}, [][]string{{"security.enabled"}}},
		{core.FieldInvalid("security_realm", "invalid", "x"), scopeUser, 400, []string{codeRestrictedField}, [][]string{{"security.security_realm"}}},
		{core.FieldInvalid("status", "builtin", "x"), scopeUser, 400, []string{codeCannotModify}, [][]string{{"security.enabled"}}},
		{core.FieldInvalid("lang", "invalid", "x"), scopeUser, 400, []string{codeInvalidData}, [][]string{{"lang"}}},
		{&core.Error{Code: core.CodeInvalid, Fields: []core.FieldError{{Field: "email", Code: "invalid"}, {Field: "password", Code: "too_short"},
			{Field: "password", Code: "common"}}}, scopeUser, 400, []string{codeEmailInvalid, codePasswordInvalid},
			[][]string{{"email"}, {"security.password"}}},
		{&core.Error{Code: core.CodeRoleInvalid, Fields: []core.FieldError{{Field: "roles[0]"}, {Field: "roles"}}}, scopeUser, 400,
			[]string{codeRolesInvalid}, [][]string{{"security.roles[0]", "security.roles"}}},
		{&core.Error{Code: core.CodeRoleForbidden, Message: "m", Fields: []core.FieldError{{Field: "roles[1]"}}}, scopeUser, 400,
			[]string{codeRolesForbidden}, [][]string{{"security.roles[1]"}}},
		{&core.Error{Code: core.CodeConflict, Fields: []core.FieldError{{Field: "username", Code: "taken"}}}, scopeUser, 409,
			[]string{codeUserNameConflict}, [][]string{{"user_name"}}},
		{&core.Error{Code: core.CodeConflict, Fields: []core.FieldError{{Field: "email", Code: "taken"}}}, scopeUser, 409,
			[]string{codeEmailConflict}, [][]string{{"email"}}},
		{&core.Error{Code: core.CodeMalformed, Message: "bad json"}, scopeUser, 400, []string{codeInvalidJSON}, [][]string{nil}},
		{&core.Error{Code: core.CodeForbidden, Message: "no"}, scopeUser, 403, []string{codeRBAC}, [][]string{nil}},
		{&core.Error{Code: core.CodeForbidden, Message: "keeps", Fields: []core.FieldError{{Field: "roles", Code: "builtin"}}}, scopeUser, 400,
			[]string{codeCannotModify}, [][]string{nil}},
		{&core.Error{Code: core.CodeUnauthenticated}, scopeUser, 401, []string{codeUnauthorized}, [][]string{nil}},
		{&core.Error{Code: core.CodeUnauthenticated}, scopeLogin, 401, []string{codeUnauthenticated}, [][]string{nil}},
		{&core.Error{Code: core.CodeNotFound}, scopeUser, 404, []string{codeUserNotFound}, [][]string{nil}},
		{&core.Error{Code: core.CodeNotFound}, scopeRoute, 404, []string{codeNotFound}, [][]string{nil}},
		{&core.Error{Code: core.CodeElevationRequired}, scopeUser, 449, []string{codeElevationRequired}, [][]string{nil}},
		{&core.Error{Code: core.CodeOverloaded, RetryAfter: 1}, scopeUser, 503, []string{codeUnavailable}, [][]string{nil}},
		{&core.Error{Code: core.CodeTooLarge}, scopeUser, 413, []string{codeTooLarge}, [][]string{nil}},
		{core.Internal(nil), scopeUser, http.StatusInternalServerError, []string{codeInternal}, [][]string{nil}},
	} {
		status, els := translate(c.err, c.sc)
		var codes []string
		var fields [][]string
		for _, el := range els {
			codes = append(codes, el.Code)
			fields = append(fields, el.Fields)
			if el.Message == "" {
				t.Errorf("%v: element %s without a message", c.err, el.Code)
			}
		}
		if status != c.status || !slices.Equal(codes, c.codes) || !slices.EqualFunc(fields, c.fields, slices.Equal) {
			t.Errorf("%v (scope %d): %d %v %v, want %d %v %v", c.err, c.sc, status, codes, fields, c.status, c.codes, c.fields)
		}
	}
	// Role names in the service's messages are ECE's in the answer.
	_, els := translate(&core.Error{Code: core.CodeRoleInvalid, Fields: []core.FieldError{{Field: "roles", Code: "combination",
		Message: "only one of deployment-manager, deployment-viewer may be given"}}}, scopeUser)
	if els[0].Message != "security.roles: only one of ece_deployment_manager, ece_deployment_viewer may be given" {
		t.Errorf("message: %q", els[0].Message)
	}
}

func TestRealmName(t *testing.T) {
	for in, want := range map[realmJSON]string{
		{ID: "native", Type: "native"}: "native", {Type: "native"}: "native", {ID: "corp", Type: "native"}: "native:corp",
		{ID: "ldap", Type: "ldap"}: "ldap", {ID: "corp", Type: "saml"}: "saml:corp",
	} {
		if got := realmName(in); got != want {
			t.Errorf("realmName(%+v) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodePatch(t *testing.T) {
	u := core.User{Username: "vera", Email: "v@example.com", Status: core.UserActive, ProviderRoles: []string{core.RoleProviderViewer}}
	// The same patch as an object and as a JSON string.
	for _, body := range []string{
		`{"full_name": "Vera", "email": null, "security": {"roles": ["ece_platform_viewer"], "enabled": false, "password": "p"}}`,
		`"{\"full_name\": \"Vera\", \"email\": null, \"security\": {\"roles\": [\"ece_platform_viewer\"], \"enabled\": false, \"password\": \"p\"}}"`,
	} {
		in, err := decodePatch([]byte(body), u)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if *in.Name != "Vera" || *in.Email != "" || *in.Status != core.UserDisabled || *in.Password != "p" ||
			!slices.Equal(*in.ProviderRoles, []string{core.RoleProviderViewer}) || in.RoleRules == "" {
			t.Fatalf("%s: %+v", body, in)
		}
		if in.Username != nil || in.Attributes != nil || in.EmailConfirmed != nil {
			t.Fatalf("%s changes what it does not name: %+v", body, in)
		}
	}
	// Unchanged values are no change.
	in, err := decodePatch([]byte(`{"user_name": "vera", "builtin": false, "security": {"enabled": true,
		"security_realm": {"id": "native", "type": "native"}, "permissions": ["a"]}}`), u)
	if err != nil || in.Status != nil || in.ProviderRoles != nil || in.Name != nil {
		t.Fatalf("no-op patch: %+v %v", in, err)
	}
	for body, code := range map[string]core.Code{
		`[]`:                             core.CodeInvalid, // a "type" error: root.invalid_json_request
		`null`:                           core.CodeMalformed,
		`"[1]"`:                          core.CodeInvalid,
		`{"email": 3}`:                   core.CodeInvalid,
		`{"security": []}`:               core.CodeInvalid,
		`{"user_name": "other"}`:         core.CodeRestrictedField,
		`{"metadata": null}`:             core.CodeRestrictedField,
		`{"security": {"roles": ["x"]}}`: core.CodeRoleInvalid,
	} {
		if _, err := decodePatch([]byte(body), u); core.ErrorCode(err) != code {
			t.Errorf("%s: %v, want %s", body, err, code)
		}
	}
}
