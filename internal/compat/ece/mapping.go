package ece

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"roster/internal/core"
)

// ECE's platform roles and the roster provider-level roles they are.
const (
	RolePlatformAdmin     = "ece_platform_admin"
	RolePlatformViewer    = "ece_platform_viewer"
	RoleDeploymentManager = "ece_deployment_manager"
	RoleDeploymentViewer  = "ece_deployment_viewer"
)

// roleToRoster maps ECE role names onto the catalogue.
var roleToRoster = map[string]string{
	RolePlatformAdmin:     core.RoleProviderAdmin,
	RolePlatformViewer:    core.RoleProviderViewer,
	RoleDeploymentManager: core.RoleDeploymentManager,
	RoleDeploymentViewer:  core.RoleDeploymentViewer,
}

// roleToECE is the inverse of roleToRoster.
var roleToECE = func() map[string]string {
	m := make(map[string]string, len(roleToRoster))
	for ece, roster := range roleToRoster {
		m[roster] = ece
	}
	return m
}()

// eceRoles lists ECE's role names in the order its documentation gives.
var eceRoles = []string{RolePlatformAdmin, RolePlatformViewer, RoleDeploymentManager, RoleDeploymentViewer}

// rosterRoles are the roster roles that make a user an ECE platform user:
// GET /users lists the users that hold at least one of them.
var rosterRoles = []string{core.RoleProviderAdmin, core.RoleProviderViewer, core.RoleDeploymentManager, core.RoleDeploymentViewer}

// rolesToECE names a user's provider-level roles in ECE's terms; roles
// without an ECE name (none today) are left out.
func rolesToECE(roles []string) []string {
	out := []string{}
	for _, r := range roles {
		if e, ok := roleToECE[r]; ok {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// rolesToRoster maps ECE role names, keeping their order so that the
// service's field errors (roles[i]) point at the client's own positions.
// Names that are not ECE roles are reported as user.roles.invalid; they are
// never passed on, so that a roster role name cannot be smuggled in.
func rolesToRoster(field string, roles []string) ([]string, error) {
	out := make([]string, 0, len(roles))
	var bad []core.FieldError
	for i, name := range roles {
		r, ok := roleToRoster[name]
		if !ok {
			bad = append(bad, core.FieldError{Field: field + "[" + strconv.Itoa(i) + "]", Code: codeNotECERole,
				Message: "unknown role " + strconv.Quote(name) + "; the roles are " + strings.Join(eceRoles, ", ")})
			continue
		}
		out = append(out, r)
	}
	if bad != nil {
		return nil, &core.Error{Code: core.CodeRoleInvalid, Message: "some of the provided roles are invalid", Fields: bad}
	}
	return out, nil
}

// codeNotECERole marks the dialect's own field errors for role names it
// cannot map; their messages quote the client and are not rewritten.
const codeNotECERole = "not_an_ece_role"

// roleNames rewrites roster role names in service messages into ECE's.
var roleNames = strings.NewReplacer(
	core.RoleProviderAdmin, RolePlatformAdmin,
	core.RoleProviderViewer, RolePlatformViewer,
	core.RoleDeploymentManager, RoleDeploymentManager,
	core.RoleDeploymentViewer, RoleDeploymentViewer,
)

// fieldToECE renames the core's field names (see core.FieldError) into
// the paths of ECE's User object. Names not listed are ECE's already (the
// dialect's own errors) or have no ECE counterpart and pass unchanged.
var fieldToECE = map[string]string{
	"username":       "user_name",
	"email":          "email",
	"name":           "full_name",
	"first_name":     "full_name",
	"last_name":      "full_name",
	"password":       "security.password",
	"roles":          "security.roles",
	"status":         "security.enabled",
	"security_realm": "security.security_realm",
}

// eceField renames one core field, keeping an index: roles[2] becomes
// security.roles[2].
func eceField(field string) string {
	base, index := field, ""
	if i := strings.IndexByte(field, '['); i > 0 {
		base, index = field[:i], field[i:]
	}
	if e, ok := fieldToECE[base]; ok {
		return e + index
	}
	return field
}

// ECE error codes. The user.* codes for roles, user name, restricted
// fields, conflicts and not found, and the root.* codes for credentials,
// RBAC and elevation, are ECE's documented ones. ECE documents no code for
// a bad email, full name or password (its own checks are looser); roster
// uses user.<field>.invalid for them, in ECE's naming scheme.
const (
	codeUserNameInvalid   = "user.user_name.invalid"
	codeUserNameConflict  = "user.user_name.conflict"
	codeRolesInvalid      = "user.roles.invalid"
	codeRolesForbidden    = "user.roles.forbidden"
	codeRestrictedField   = "user.restricted_field"
	codeCannotModify      = "user.cannot_modify"
	codeUserNotFound      = "user.not_found"
	codeEmailInvalid      = "user.email.invalid"
	codeEmailConflict     = "user.email.conflict"
	codeFullNameInvalid   = "user.full_name.invalid"
	codePasswordInvalid   = "user.password.invalid"
	codeElevationRequired = "root.unauthorized.rbac.elevated_permissions_required"
	codeUnauthorized      = "root.unauthorized"
	codeUnauthenticated   = "root.unauthenticated"
	codeRBAC              = "root.unauthorized.rbac"
	codeInvalidJSON       = "root.invalid_json_request"
	codeInvalidData       = "root.invalid_data"
	codeNotFound          = "root.resource_not_found"
	codeMethodNotAllowed  = "root.method_not_allowed"
	codeConflict          = "root.conflict"
	codeIdempotency       = "root.idempotency_key_reused"
	codeIdempotencyBusy   = "root.idempotency_key_in_use"
	codeIdempotencySecret = "root.idempotency_answer_withheld"
	codeTooLarge          = "root.request_too_large"
	codeRateLimited       = "root.too_many_requests"
	codeUnavailable       = "root.service_unavailable"
	codeInternal          = "internal.server.error"
)

// StatusElevationRequired is ECE's status for a missing elevation.
const StatusElevationRequired = 449

// scope says what kind of route an error comes from: it decides which
// not-found and unauthenticated codes apply.
type scope int

const (
	scopeUser  scope = iota // /users/{user_name}, /user, /users
	scopeAuth               // /users/auth/_elevate, _refresh
	scopeLogin              // /users/auth/_login
	scopeRoute              // no route matched
)

// translate maps a core error to ECE's status and error elements.
func translate(ce *core.Error, sc scope) (int, []errorElement) {
	switch ce.Code {
	case core.CodeInvalid, core.CodeMalformed, core.CodeRoleInvalid, core.CodeRoleForbidden,
		core.CodeRestrictedField, core.CodeInvitationInvalid:
		return http.StatusBadRequest, fieldElements(ce)
	case core.CodeForbidden:
		if isBuiltinRefusal(ce) {
			return http.StatusBadRequest, []errorElement{{Code: codeCannotModify, Message: "built-in users cannot be modified: " + ce.Message}}
		}
		return http.StatusForbidden, one(codeRBAC, ce.Message)
	case core.CodeUnauthenticated:
		if sc == scopeLogin {
			return http.StatusUnauthorized, one(codeUnauthenticated, ce.Message)
		}
		return http.StatusUnauthorized, one(codeUnauthorized, ce.Message)
	case core.CodeNotFound:
		if sc == scopeUser {
			return http.StatusNotFound, one(codeUserNotFound, "user not found")
		}
		return http.StatusNotFound, one(codeNotFound, ce.Message)
	case core.CodeConflict, core.CodeAlreadyActive:
		els := fieldElements(ce)
		// ECE documents one code for a create that clashes: the user
		// name's. It names the user; a clashing email comes second.
		for _, el := range els {
			if el.Code == codeUserNameConflict {
				return http.StatusConflict, []errorElement{el}
			}
		}
		return http.StatusConflict, els
	case core.CodeElevationRequired:
		return StatusElevationRequired, one(codeElevationRequired, "elevated permissions are required; call POST /api/v1/users/auth/_elevate first")
	case core.CodeIdempotencyMismatch:
		return http.StatusUnprocessableEntity, one(codeIdempotency, ce.Message)
	case core.CodeIdempotencyPending:
		return http.StatusConflict, one(codeIdempotencyBusy, ce.Message)
	case core.CodeIdempotencyWithheld:
		return http.StatusConflict, one(codeIdempotencySecret, ce.Message)
	case core.CodeTooLarge:
		return http.StatusRequestEntityTooLarge, one(codeTooLarge, ce.Message)
	case core.CodeRateLimited:
		return http.StatusTooManyRequests, one(codeRateLimited, ce.Message)
	case core.CodeOverloaded, core.CodeUnavailable:
		return http.StatusServiceUnavailable, one(codeUnavailable, ce.Message)
	}
	return http.StatusInternalServerError, one(codeInternal, "there was an internal server error")
}

func one(code, message string) []errorElement {
	if message == "" {
		message = "the request failed: " + code
	}
	return []errorElement{{Code: code, Message: roleNames.Replace(message)}}
}

// isBuiltinRefusal recognises the service's refusals to change what the
// built-in administrator must keep (field error code "builtin").
func isBuiltinRefusal(ce *core.Error) bool {
	for _, f := range ce.Fields {
		if f.Code == "builtin" {
			return true
		}
	}
	return false
}

// fieldElements turns a core error with field errors into one element per
// ECE code, each naming its fields; an error without fields is one element.
func fieldElements(ce *core.Error) []errorElement {
	if len(ce.Fields) == 0 {
		return one(fieldCode(ce.Code, core.FieldError{}, ""), ce.Message)
	}
	var out []errorElement
	index := map[string]int{}
	for _, f := range ce.Fields {
		field := eceField(f.Field)
		code := fieldCode(ce.Code, f, field)
		msg := f.Message
		if f.Code != codeNotECERole {
			msg = roleNames.Replace(msg)
		}
		if field != "" {
			msg = field + ": " + msg
		}
		i, ok := index[code]
		if !ok {
			i = len(out)
			index[code] = i
			out = append(out, errorElement{Code: code, Message: msg})
		} else {
			out[i].Message += "; " + msg
		}
		if field != "" && !slices.Contains(out[i].Fields, field) {
			out[i].Fields = append(out[i].Fields, field)
		}
	}
	return out
}

// fieldCode picks the ECE code for one field error of a core error.
func fieldCode(code core.Code, f core.FieldError, field string) string {
	base := field
	if i := strings.IndexByte(base, '['); i > 0 {
		base = base[:i]
	}
	switch code {
	case core.CodeRoleInvalid:
		return codeRolesInvalid
	case core.CodeRoleForbidden:
		return codeRolesForbidden
	case core.CodeRestrictedField:
		return codeRestrictedField
	case core.CodeMalformed:
		return codeInvalidJSON
	case core.CodeConflict:
		switch base {
		case "user_name":
			return codeUserNameConflict
		case "email":
			return codeEmailConflict
		}
		return codeConflict
	case core.CodeAlreadyActive:
		return codeConflict
	}
	// CodeInvalid (and anything else with fields): by field.
	switch {
	case f.Code == "builtin":
		return codeCannotModify
	case f.Code == "type" || f.Code == "unknown_field":
		return codeInvalidJSON
	}
	switch base {
	case "user_name":
		return codeUserNameInvalid
	case "security.roles":
		return codeRolesInvalid
	case "security.security_realm":
		return codeRestrictedField
	case "email":
		return codeEmailInvalid
	case "full_name":
		return codeFullNameInvalid
	case "security.password":
		return codePasswordInvalid
	}
	return codeInvalidData
}
