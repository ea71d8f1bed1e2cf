package gpcn

import (
	"errors"
	"net/http"
	"strings"
	"unicode"

	"roster/internal/core"
	"roster/internal/httpx"
)

// Error codes of the GPCN dialect: the "error" member of every error body.
// They never change meaning; docs/dialects/gpcn.md lists them.
const (
	CodeValidation         = "VALIDATION_ERROR"     // 400: a field is missing or wrong
	CodeBadRequest         = "BAD_REQUEST"          // 400: the body is not JSON
	CodeUnauthorized       = "UNAUTHORIZED"         // 401: no API key, or not a valid one
	CodeForbidden          = "FORBIDDEN"            // 403: the key may not do this
	CodeNotFound           = "NOT_FOUND"            // 404: no such user, team, role or endpoint
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"   // 405: the path exists, the method does not
	CodeUserExists         = "USER_EXISTS"          // 409: the email belongs to another user
	CodeConflict           = "CONFLICT"             // 409: the state forbids it (already activated, already a member)
	CodePayloadTooLarge    = "PAYLOAD_TOO_LARGE"    // 413: the body is over 1 MiB
	CodeIdempotencyReused  = "IDEMPOTENCY_MISMATCH" // 422: an Idempotency-Key reused for another request
	CodeRateLimited        = "RATE_LIMITED"         // 429: past the key's rate limit
	CodeInternal           = "INTERNAL_ERROR"       // 500: anything unexpected; details stay in the log
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"  // 503: overloaded or the database is unreachable
)

type errorMapping struct {
	status int
	code   string
}

// errorTable maps the core's error codes to GPCN's status and code.
var errorTable = map[core.Code]errorMapping{
	core.CodeInvalid:             {http.StatusBadRequest, CodeValidation},
	core.CodeRoleInvalid:         {http.StatusBadRequest, CodeValidation},
	core.CodeRestrictedField:     {http.StatusBadRequest, CodeValidation},
	core.CodeInvitationInvalid:   {http.StatusBadRequest, CodeValidation},
	core.CodeMalformed:           {http.StatusBadRequest, CodeBadRequest},
	core.CodeUnauthenticated:     {http.StatusUnauthorized, CodeUnauthorized},
	core.CodeForbidden:           {http.StatusForbidden, CodeForbidden},
	core.CodeRoleForbidden:       {http.StatusForbidden, CodeForbidden},
	core.CodeElevationRequired:   {http.StatusForbidden, CodeForbidden},
	core.CodeNotFound:            {http.StatusNotFound, CodeNotFound},
	core.CodeConflict:            {http.StatusConflict, CodeConflict},
	core.CodeAlreadyActive:       {http.StatusConflict, CodeConflict},
	core.CodeIdempotencyPending:  {http.StatusConflict, CodeConflict},
	core.CodeIdempotencyWithheld: {http.StatusConflict, CodeConflict},
	core.CodeIdempotencyMismatch: {http.StatusUnprocessableEntity, CodeIdempotencyReused},
	core.CodeTooLarge:            {http.StatusRequestEntityTooLarge, CodePayloadTooLarge},
	core.CodeRateLimited:         {http.StatusTooManyRequests, CodeRateLimited},
	core.CodeOverloaded:          {http.StatusServiceUnavailable, CodeServiceUnavailable},
	core.CodeUnavailable:         {http.StatusServiceUnavailable, CodeServiceUnavailable},
	core.CodeInternal:            {http.StatusInternalServerError, CodeInternal},
}

// errorBody is GPCN's error format. Details is roster's addition: the
// fields at fault, in GPCN's names, for clients that want to point at them.
type errorBody struct {
	Success bool          `json:"success"`
	Error   string        `json:"error"`
	Message string        `json:"message"`
	Details []fieldDetail `json:"details,omitempty"`
}

type fieldDetail struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// fieldNames renames the core's field names into GPCN's. An index suffix
// ("roles[2]") is kept.
var fieldNames = map[string]string{
	"first_name":         "firstName",
	"last_name":          "lastName",
	"tenant_id":          "entityId",
	"roles":              "roleNames",
	"resource_group_ids": "resourceGroupIds",
	"resource_group_id":  "resourceGroupId",
	"user_id":            "userId",
	"offset":             "page",
	"cursor":             "page",
	"role":               "roleId",
	"q":                  "search",
}

// renameField gives a core field name its GPCN name, keeping an index
// suffix.
func renameField(field string) string {
	base, suffix := field, ""
	if i := strings.IndexByte(field, '['); i > 0 {
		base, suffix = field[:i], field[i:]
	}
	if to, ok := fieldNames[base]; ok {
		return to + suffix
	}
	return field
}

// fieldMessages replace the core's messages for codes whose wording names
// the core's fields.
var fieldMessages = map[string]string{
	"required":     "is required",
	"needs_tenant": "is held in an entity: give entityId",
}

// vocabulary speaks of entities where the core speaks of tenants, and of
// GPCN's fields where it names its own. Role names such as tenant-admin are
// left alone.
func vocabulary(msg string) string {
	msg = strings.ReplaceAll(msg, "tenant_id", "entityId")
	msg = strings.ReplaceAll(msg, "resource_group_ids", "resourceGroupIds")
	var b strings.Builder
	for i := 0; i < len(msg); {
		j := strings.Index(msg[i:], "tenant")
		if j < 0 {
			b.WriteString(msg[i:])
			break
		}
		j += i
		end := j + len("tenant")
		plural := end < len(msg) && msg[end] == 's'
		if plural {
			end++
		}
		wordStart := j == 0 || !isWordByte(msg[j-1])
		wordEnd := end == len(msg) || (!isWordByte(msg[end]) && msg[end] != '-')
		b.WriteString(msg[i:j])
		switch {
		case wordStart && wordEnd && plural:
			b.WriteString("entities")
		case wordStart && wordEnd:
			b.WriteString("entity")
		default:
			b.WriteString(msg[j:end])
		}
		i = end
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
}

// describe turns a core error into GPCN's message and details.
func describe(ce *core.Error) (string, []fieldDetail) {
	msg := vocabulary(ce.Message)
	if ce.Code == core.CodeInternal {
		msg = "An internal error occurred; quote the X-Request-Id header when reporting it"
	}
	if len(ce.Fields) == 0 {
		return capitalise(msg), nil
	}
	details := make([]fieldDetail, 0, len(ce.Fields))
	parts := make([]string, 0, len(ce.Fields))
	for _, f := range ce.Fields {
		name := renameField(f.Field)
		text := vocabulary(f.Message)
		if m, ok := fieldMessages[f.Code]; ok {
			text = m
		}
		details = append(details, fieldDetail{Field: name, Code: f.Code, Message: text})
		parts = append(parts, name+" "+text)
	}
	switch ce.Code {
	case core.CodeInvalid, core.CodeRoleInvalid, core.CodeRestrictedField:
		return "Validation failed: " + strings.Join(parts, "; "), details
	}
	return strings.Join(parts, "; "), details
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// userExists reports whether err is a clash with another user's email.
func userExists(ce *core.Error) bool {
	if ce.Code != core.CodeConflict {
		return false
	}
	for _, f := range ce.Fields {
		if f.Field == "email" || f.Field == "username" {
			return true
		}
	}
	return false
}

// renameFields returns err with its fields renamed by rename first, for an
// endpoint whose field names differ from the table (roleName for roles[i]);
// errors without fields are returned as they are.
func renameFields(err error, rename func(string) string) error {
	var ce *core.Error
	if !errors.As(err, &ce) || len(ce.Fields) == 0 {
		return err
	}
	cp := *ce
	cp.Fields = make([]core.FieldError, len(ce.Fields))
	for i, f := range ce.Fields {
		f.Field = rename(f.Field)
		cp.Fields[i] = f
	}
	return &cp
}

// writeError renders err in GPCN's format. Internal details are logged,
// never sent.
func (d *Dialect) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return // the client went away; nobody reads this answer
	}
	ce := core.AsError(err)
	m, ok := errorTable[ce.Code]
	if !ok {
		m = errorTable[core.CodeInternal]
	}
	if w.Header().Get("Allow") != "" {
		// The server found the path with other methods.
		m = errorMapping{http.StatusMethodNotAllowed, CodeMethodNotAllowed}
	}
	if m.status >= 500 && ce.Code != core.CodeOverloaded {
		d.log.ErrorContext(r.Context(), "request failed", "code", ce.Code, "error", err.Error())
	}
	msg, details := describe(ce)
	if userExists(ce) {
		m.code, msg = CodeUserExists, "A user with this email already exists"
	}
	httpx.RetryAfter(w, ce)
	httpx.WriteJSON(w, m.status, "", errorBody{Success: false, Error: m.code, Message: msg, Details: details})
}
