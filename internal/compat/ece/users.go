package ece

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// The wire types: ECE's User, UserSecurity, UserSecurityRealm, UserMetadata
// and UserList.

type userJSON struct {
	UserName string       `json:"user_name"`
	FullName string       `json:"full_name,omitempty"`
	Email    string       `json:"email,omitempty"`
	Builtin  bool         `json:"builtin"`
	Security securityJSON `json:"security"`
	Metadata metadataJSON `json:"metadata"`
}

type securityJSON struct {
	Roles         []string  `json:"roles"`
	Enabled       bool      `json:"enabled"`
	SecurityRealm realmJSON `json:"security_realm"`
}

type realmJSON struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type metadataJSON struct {
	CreatedAt    time.Time  `json:"created_at"`
	CreatedBy    string     `json:"created_by,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
	UpdatedBy    string     `json:"updated_by,omitempty"`
	FirstLoginAt *time.Time `json:"first_login_at,omitempty"`
	LastLoginAt  *time.Time `json:"last_login_at,omitempty"`
}

type userListJSON struct {
	Users []userJSON `json:"users"`
}

// nativeRealm is the only security realm roster has.
var nativeRealm = realmJSON{ID: "native", Type: "native"}

// userName is a user's ECE id: the username, or the email of a user who
// has none (users made through other surfaces may lack a username).
func userName(u core.User) string {
	if u.Username != "" {
		return u.Username
	}
	return u.Email
}

// enabled is ECE's security.enabled: every user that is not disabled.
// Invited users (made through other surfaces) show as enabled; they log in
// once they have accepted their invitation.
func enabled(u core.User) bool { return u.Status != core.UserDisabled }

func fullName(u core.User) string {
	if u.Name != "" {
		return u.Name
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// actorNames turns the actors recorded in created_by/updated_by (user ids,
// key:<id>, system) into ECE's terms: a user's id becomes its user name when
// the caller may see that user. One per request, with a cache.
type actorNames struct {
	ctx   context.Context
	svc   *service.Service
	p     *core.Principal
	cache map[string]string
}

func (d *Dialect) actorNames(ctx context.Context, p *core.Principal) *actorNames {
	return &actorNames{ctx: ctx, svc: d.svc, p: p, cache: map[string]string{}}
}

func (a *actorNames) name(actor string) string {
	if !core.ValidID(actor) {
		return actor
	}
	if n, ok := a.cache[actor]; ok {
		return n
	}
	n := actor
	if u, err := a.svc.GetUser(a.ctx, a.p, core.UserRef{ID: actor}); err == nil && userName(u) != "" {
		n = userName(u)
	}
	a.cache[actor] = n
	return n
}

func toUser(u core.User, names *actorNames) userJSON {
	realm := nativeRealm
	if u.SecurityRealm != "" && u.SecurityRealm != "native" {
		realm = realmJSON{ID: u.SecurityRealm, Type: u.SecurityRealm}
	}
	return userJSON{
		UserName: userName(u), FullName: fullName(u), Email: u.Email, Builtin: u.Builtin,
		Security: securityJSON{Roles: rolesToECE(u.ProviderRoles), Enabled: enabled(u), SecurityRealm: realm},
		Metadata: metadataJSON{CreatedAt: u.CreatedAt.UTC(), CreatedBy: names.name(u.CreatedBy),
			UpdatedAt: u.UpdatedAt.UTC(), UpdatedBy: names.name(u.UpdatedBy),
			FirstLoginAt: utc(u.FirstLoginAt), LastLoginAt: utc(u.LastLoginAt)},
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// realmName turns ECE's security_realm into roster's realm name: the native
// realm is "native"; anything else keeps its type (and id) so that the
// service, which knows only the native realm, refuses it.
func realmName(r realmJSON) string {
	switch {
	case r.Type == "native" && (r.ID == "" || r.ID == "native"):
		return "native"
	case r.ID == "" || r.ID == r.Type:
		return r.Type
	}
	return r.Type + ":" + r.ID
}

func restricted(fields ...core.FieldError) error {
	return &core.Error{Code: core.CodeRestrictedField, Message: "trying to set a restricted field", Fields: fields}
}

func restrictedField(field, message string) core.FieldError {
	return core.FieldError{Field: field, Code: "restricted", Message: message}
}

// createBody is ECE's User as a create request. security.permissions and
// security.elevated_permissions describe a user's state; they are not
// requests, and are ignored like every other field ECE's User lacks.
type createBody struct {
	UserName *string         `json:"user_name"`
	FullName string          `json:"full_name"`
	Email    string          `json:"email"`
	Builtin  *bool           `json:"builtin"`
	Metadata json.RawMessage `json:"metadata"`
	Security *struct {
		Roles         []string   `json:"roles"`
		Password      string     `json:"password"`
		Enabled       *bool      `json:"enabled"`
		SecurityRealm *realmJSON `json:"security_realm"`
	} `json:"security"`
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// POST /api/v1/users
func (d *Dialect) createUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	body, err := httpx.ReadBody(r)
	if err != nil {
		return err
	}
	var b createBody
	// Like ECE, fields it does not know are ignored.
	if err := httpx.DecodeJSONBytes(body, &b, false); err != nil {
		return err
	}
	var rf []core.FieldError
	if b.Builtin != nil && *b.Builtin {
		rf = append(rf, restrictedField("builtin", "built-in users are made by the platform, not through the API"))
	}
	if !isNull(b.Metadata) {
		rf = append(rf, restrictedField("metadata", "is recorded by the platform and cannot be set"))
	}
	if rf != nil {
		return restricted(rf...)
	}
	if b.UserName == nil || strings.TrimSpace(*b.UserName) == "" {
		return core.FieldInvalid("user_name", "required", "must not be empty: the user name identifies the user")
	}
	if strings.EqualFold(strings.TrimSpace(*b.UserName), "auth") {
		// /users/auth is ECE's authentication API, not a user's path.
		return core.FieldInvalid("user_name", "reserved", "auth is reserved: /users/auth is the authentication API")
	}
	in := service.CreateUserInput{Action: service.ActionRegister, Username: *b.UserName, Email: b.Email,
		Name: b.FullName, Roles: []string{}, RoleRules: service.RoleRulesECE}
	if s := b.Security; s != nil {
		if in.Roles, err = rolesToRoster("security.roles", s.Roles); err != nil {
			return err
		}
		in.Password = s.Password
		in.Disabled = s.Enabled != nil && !*s.Enabled
		if s.SecurityRealm != nil {
			in.SecurityRealm = realmName(*s.SecurityRealm)
		}
	}
	res, err := d.svc.CreateUser(r.Context(), p, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "", toUser(res.User, d.actorNames(r.Context(), p)))
	return nil
}

// GET /api/v1/users lists ECE's platform users: those holding at least one
// provider-level role (ECE's four roles), not deleted, and not disabled
// unless include_disabled=true. ECE does not page this listing; neither
// does the dialect, which follows the service's pages to the end.
func (d *Dialect) listUsers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	includeDisabled := false
	if s := r.URL.Query().Get("include_disabled"); s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return core.FieldInvalid("include_disabled", "invalid", "must be true or false")
		}
		includeDisabled = v
	}
	q := service.UserQuery{Roles: rosterRoles, Statuses: []core.UserStatus{core.UserInvited, core.UserActive},
		Limit: service.MaxPageSize}
	if includeDisabled {
		q.Statuses = append(q.Statuses, core.UserDisabled)
	}
	names := d.actorNames(r.Context(), p)
	out := userListJSON{Users: []userJSON{}}
	for {
		page, err := d.svc.ListUsers(r.Context(), p, q)
		if err != nil {
			return err
		}
		for _, u := range page.Users {
			out.Users = append(out.Users, toUser(u, names))
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	httpx.WriteJSON(w, http.StatusOK, "", out)
	return nil
}

// lookup finds the user that an ECE user name names: by username, or by
// email for a user who has no username (which is how such a user's
// user_name is shown).
func (d *Dialect) lookup(ctx context.Context, p *core.Principal, name string) (core.User, error) {
	u, err := d.svc.GetUser(ctx, p, core.UserRef{Username: name})
	if err == nil || core.ErrorCode(err) != core.CodeNotFound || !strings.Contains(name, "@") {
		return u, err
	}
	byEmail, err2 := d.svc.GetUser(ctx, p, core.UserRef{Email: name})
	if err2 != nil || byEmail.Username != "" {
		return core.User{}, err
	}
	return byEmail, nil
}

// GET /api/v1/users/{user_name}
func (d *Dialect) getUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := d.lookup(r.Context(), p, r.PathValue("user_name"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "", toUser(u, d.actorNames(r.Context(), p)))
	return nil
}

// GET /api/v1/user
func (d *Dialect) getCurrentUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := d.svc.Me(r.Context(), p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "", toUser(u, d.actorNames(r.Context(), p)))
	return nil
}

// PATCH /api/v1/users/{user_name}
func (d *Dialect) patchUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := d.lookup(r.Context(), p, r.PathValue("user_name"))
	if err != nil {
		return err
	}
	return d.patch(w, r, p, u)
}

// PATCH /api/v1/user
func (d *Dialect) patchCurrentUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := d.svc.Me(r.Context(), p)
	if err != nil {
		return err
	}
	return d.patch(w, r, p, u)
}

func (d *Dialect) patch(w http.ResponseWriter, r *http.Request, p *core.Principal, u core.User) error {
	body, err := httpx.ReadBody(r)
	if err != nil {
		return err
	}
	in, err := decodePatch(body, u)
	if err != nil {
		return err
	}
	updated, err := d.svc.UpdateUser(r.Context(), p, core.UserRef{ID: u.ID}, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "", toUser(updated, d.actorNames(r.Context(), p)))
	return nil
}

// decodePatch reads a JSON merge patch (RFC 7396) of ECE's User into the
// service's update. ECE's document declares the body as a string, so a
// body that is a JSON string holding the patch is accepted too.
//
// What ECE's User shows but a caller may not change answers
// user.restricted_field: user_name (the id), builtin, metadata,
// security.security_realm, and removing the password. A field set to the
// value it already has is not a change. security.permissions and
// security.elevated_permissions are state, not requests, and are ignored;
// so are fields ECE's User does not have.
func decodePatch(body []byte, u core.User) (service.UpdateUserInput, error) {
	in := service.UpdateUserInput{RoleRules: service.RoleRulesECE}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var inner string
		if err := httpx.DecodeJSONBytes(trimmed, &inner, true); err != nil {
			return in, err
		}
		trimmed = []byte(inner)
	}
	var top map[string]json.RawMessage
	if err := httpx.DecodeJSONBytes(trimmed, &top, false); err != nil {
		return in, err
	}
	if top == nil {
		return in, &core.Error{Code: core.CodeMalformed, Message: "the body must be a JSON object: a JSON merge patch of the user"}
	}
	var rf []core.FieldError
	for _, key := range sortedKeys(top) {
		raw := top[key]
		switch key {
		case "user_name":
			var name *string
			if err := decodeField(key, raw, &name); err != nil {
				return in, err
			}
			if name == nil || *name != userName(u) {
				rf = append(rf, restrictedField(key, "the user name identifies the user and cannot be changed"))
			}
		case "full_name":
			var v *string
			if err := decodeField(key, raw, &v); err != nil {
				return in, err
			}
			in.Name = orEmpty(v)
		case "email":
			var v *string
			if err := decodeField(key, raw, &v); err != nil {
				return in, err
			}
			in.Email = orEmpty(v)
		case "builtin":
			var v *bool
			if err := decodeField(key, raw, &v); err != nil {
				return in, err
			}
			if v == nil || *v != u.Builtin {
				rf = append(rf, restrictedField(key, "is decided by the platform and cannot be changed"))
			}
		case "metadata":
			rf = append(rf, restrictedField(key, "is recorded by the platform and cannot be set"))
		case "security":
			if isNull(raw) {
				rf = append(rf, restrictedField(key, "cannot be removed"))
				continue
			}
			var sec map[string]json.RawMessage
			if err := decodeField(key, raw, &sec); err != nil {
				return in, err
			}
			more, err := decodeSecurityPatch(sec, u, &in)
			if err != nil {
				return in, err
			}
			rf = append(rf, more...)
		}
	}
	if rf != nil {
		return in, restricted(rf...)
	}
	return in, nil
}

func decodeSecurityPatch(sec map[string]json.RawMessage, u core.User, in *service.UpdateUserInput) ([]core.FieldError, error) {
	var rf []core.FieldError
	for _, key := range sortedKeys(sec) {
		raw, field := sec[key], "security."+key
		switch key {
		case "roles":
			var names []string
			if err := decodeField(field, raw, &names); err != nil {
				return nil, err
			}
			// null reverts to the default, which is no role; ECE's rules
			// then ask for one.
			roles, err := rolesToRoster(field, names)
			if err != nil {
				return nil, err
			}
			in.ProviderRoles = &roles
		case "password":
			var v *string
			if err := decodeField(field, raw, &v); err != nil {
				return nil, err
			}
			if v == nil {
				rf = append(rf, restrictedField(field, "a password cannot be removed"))
				continue
			}
			in.Password = v
		case "enabled":
			var v *bool
			if err := decodeField(field, raw, &v); err != nil {
				return nil, err
			}
			want := v == nil || *v // null reverts to the default: enabled
			if want != enabled(u) {
				st := core.UserDisabled
				if want {
					st = core.UserActive
				}
				in.Status = &st
			}
		case "security_realm":
			var v *realmJSON
			if err := decodeField(field, raw, &v); err != nil {
				return nil, err
			}
			current := u.SecurityRealm
			if current == "" {
				current = "native"
			}
			if v != nil && realmName(*v) != current {
				rf = append(rf, restrictedField(field, "a user's security realm cannot be changed"))
			}
		}
	}
	return rf, nil
}

// decodeField decodes one member of a patch; a value of the wrong type is
// reported under its ECE path.
func decodeField(field string, raw json.RawMessage, dst any) error {
	if err := json.Unmarshal(raw, dst); err != nil {
		return core.FieldInvalid(field, "type", "has the wrong type: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func orEmpty(v *string) *string {
	if v == nil {
		empty := ""
		return &empty
	}
	return v
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DELETE /api/v1/users/{user_name}
func (d *Dialect) deleteUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := d.lookup(r.Context(), p, r.PathValue("user_name"))
	if err != nil {
		return err
	}
	if _, err := d.svc.DeleteUser(r.Context(), p, core.UserRef{ID: u.ID}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "", struct{}{})
	return nil
}
