package gcore

import (
	"errors"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"roster/internal/core"
)

func TestGroupsMapOntoRolesBothWays(t *testing.T) {
	want := map[int64]string{1: core.RoleTenantAdmin, 2: core.RoleTenantUser, 5: core.RoleEngineer,
		3009: core.RolePurgeOnly, 3022: core.RolePurgeOnlyAPI}
	for id, role := range want {
		got, ok := roleOfGroup(Group{ID: id})
		if !ok || got != role {
			t.Errorf("group %d → %q, want %q", id, got, role)
		}
		if _, ok := core.LookupRole(role); !ok {
			t.Errorf("role %q is not in the catalogue", role)
		}
		gs := groupsOfRoles([]string{role})
		if len(gs) != 1 || gs[0].ID != id {
			t.Errorf("role %q → %v", role, gs)
		}
		// By name alone, as Gcore accepts.
		if got, ok := roleOfGroup(Group{Name: gs[0].Name}); !ok || got != role {
			t.Errorf("group %q → %q", gs[0].Name, got)
		}
	}
	if _, ok := roleOfGroup(Group{ID: 100, Name: "Administrators"}); ok {
		t.Error("an unknown id must not fall back to the name")
	}
	if gs := groupsOfRoles([]string{core.RoleViewer, core.RoleProviderAdmin}); len(gs) != 0 {
		t.Errorf("roles without a Gcore group: %v", gs)
	}
}

func TestValidationBodyNamesGcoreFields(t *testing.T) {
	fields := []core.FieldError{
		{Field: "tenant.name", Code: "required", Message: "is required"},
		{Field: "tenant.email", Code: "invalid", Message: "must be an email address"},
		{Field: "email", Code: "invalid", Message: "must be an email address"},
		{Field: "tenant.country_code", Code: "invalid", Message: "must be a two-letter ISO 3166-1 country code in upper case"},
		{Field: "roles[1]", Code: "unknown", Message: "unknown role x"},
		{Field: "user_type", Code: "invalid", Message: "must be common"},
	}
	got := validationBody(fields, nil)["errors"]
	want := map[string][]string{
		"company":      {"This field is required."},
		"email":        {"Enter a valid email address."},
		"country_code": {"Client's country_code must be a two-letter ISO 3166-1 country code in upper case."},
		"groups":       {"Unknown role x."},
		"user_type":    {"Must be common."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %v\nwant     %v", got, want)
	}
	got = validationBody([]core.FieldError{{Field: "roles", Code: "required", Message: "x"}}, map[string]string{"roles": "user_role"})["errors"]
	if !reflect.DeepEqual(got, map[string][]string{"user_role": {"This field is required."}}) {
		t.Errorf("renamed: %v", got)
	}
}

func TestDecodeErrorsLikePython(t *testing.T) {
	var v map[string]any
	for body, want := range map[string]string{
		// Python: json.loads('{\n"a": 1\n"b": 2}') → Expecting ',' delimiter: line 3 column 1 (char 9)
		"{\n\"a\": 1\n\"b\": 2}": "line 3 column 1 (char 9)",
		`{"a": 1`:                "Expecting value: line 1 column 8 (char 7)",
		`{} []`:                  "Extra data: line 1 column 4 (char 3)",
	} {
		err := decodeBytes([]byte(body), &v)
		ce := core.AsError(err)
		if ce.Code != core.CodeMalformed || len(ce.Message) < len(want) || ce.Message[len(ce.Message)-len(want):] != want {
			t.Errorf("%q: %v, want …%s", body, err, want)
		}
	}
	if err := decodeBytes([]byte("  "), &v); err != nil {
		t.Errorf("an empty body is an empty object: %v", err)
	}
}

func TestRenderStatusesAndHeaders(t *testing.T) {
	cases := []struct {
		err    *core.Error
		status int
		body   string
		header [2]string
	}{
		{&core.Error{Code: core.CodeOverloaded, Message: "the password hashing pool is busy", RetryAfter: 2}, 503,
			`{"message":"The password hashing pool is busy."}`, [2]string{"Retry-After", "2"}},
		{&core.Error{Code: core.CodeRateLimited, Message: "too many requests", RetryAfter: 5}, 429,
			`{"message":"Too many requests."}`, [2]string{"Retry-After", "5"}},
		{&core.Error{Code: core.CodeUnauthenticated, Message: msgBadToken}, 401,
			`{"message":"Given token not valid for any token type"}`, [2]string{"WWW-Authenticate", `APIKey realm="api"`}},
		{core.Internal(errors.New("secret detail")), 500, `{"message":"A server error occurred."}`, [2]string{"Content-Type", "application/json"}},
		{&core.Error{Code: core.CodeTooLarge, Message: "the body is larger than 1048576 bytes"}, 413,
			`{"message":"The body is larger than 1048576 bytes."}`, [2]string{"Content-Type", "application/json"}},
		{&core.Error{Code: core.CodeAlreadyActive, Message: "x"}, 400, `{"message":"This user already activated."}`, [2]string{"Content-Type", "application/json"}},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/iam/users", nil)
		renderer{log: slog.New(slog.DiscardHandler)}.render(w, r, c.err)
		if w.Code != c.status || strings.TrimSpace(w.Body.String()) != c.body || w.Header().Get(c.header[0]) != c.header[1] {
			t.Errorf("%s: %d %s %v, want %d %s %s: %s", c.err.Code, w.Code, w.Body, w.Header(), c.status, c.body, c.header[0], c.header[1])
		}
		if strings.Contains(w.Body.String(), "secret") {
			t.Errorf("internal detail leaked: %s", w.Body)
		}
	}
}
