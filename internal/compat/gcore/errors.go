package gcore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"unicode"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// Gcore's errors come in two shapes (its API is built on Django REST
// framework, with the "detail" key renamed "message"):
//
//	400 {"errors": {"field": ["message", …]}}   validation, a taken email included
//	4xx {"message": "…"}                          everything else, JSON parse errors included
//
// and, for invite_user, a bare JSON array of messages.

// statusOf is Gcore's status for a core error code: the native API's,
// except that Gcore reports a taken email (and an account already
// activated) as a validation error.
func statusOf(code core.Code) int {
	switch code {
	case core.CodeConflict, core.CodeAlreadyActive:
		return http.StatusBadRequest
	}
	return httpx.StatusOf(code)
}

// messages are Gcore's (Django REST framework's) words for answers that
// carry a message of their own.
const (
	msgNotAuthenticated = "Authentication credentials were not provided."
	msgBadToken         = "Given token not valid for any token type"
	msgForbidden        = "You do not have permission to perform this action."
	msgNotFound         = "Not found."
	msgAlreadyActivated = "This user already activated."
	msgMultipleAccounts = "Cannot delete user with multiple accounts.\nUse /clients/:client_id/client-users/:user_id to delete the user from a specific account."
	msgRequired         = "This field is required."
	msgServerError      = "A server error occurred."
)

// fieldNames renames the core's field names into Gcore's. Fields of a
// tenant created with the user ("tenant.…") are the user's fields in
// Gcore's create-user body; roles are groups.
var fieldNames = map[string]string{
	"tenant.name":         "company",
	"tenant.email":        "email",
	"tenant.phone":        "phone",
	"tenant.country_code": "country_code",
	"tenant.lang":         "lang",
	"tenant.custom_id":    "custom_id",
	"tenant.seller":       "seller",
	"tenant.products":     "services",
	"name":                "name",
	"roles":               "groups",
	"tenant_id":           "client_id",
	"seller":              "seller",
	"body":                "non_field_errors",
}

// fieldIndex strips list indexes: Gcore reports roles[1] as groups.
var fieldIndex = regexp.MustCompile(`\[\d+\]`)

// gcoreField renames a core field for one endpoint; rename holds the
// endpoint's own renames (tried first).
func gcoreField(field string, rename map[string]string) string {
	field = fieldIndex.ReplaceAllString(field, "")
	if n, ok := rename[field]; ok {
		return n
	}
	if n, ok := fieldNames[field]; ok {
		return n
	}
	if strings.HasPrefix(field, "tenant.products.") {
		return "services"
	}
	return field
}

// fieldMessage words a core field error as Django REST framework would.
func fieldMessage(fe core.FieldError) string {
	switch fe.Code {
	case "required":
		return msgRequired
	case "taken":
		if fe.Field == "email" {
			return "user with this email already exists."
		}
		return "This value is already taken."
	}
	if fe.Field == "email" && fe.Code == "invalid" {
		return "Enter a valid email address."
	}
	return sentence(fe.Message)
}

// sentence turns "must be common" into "Must be common.".
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	s = string(r)
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// validationBody is {"errors": {field: [messages]}}.
//
// The account made with a user takes the user's email, phone and language:
// a problem with one of them is reported once, as the user's.
func validationBody(fields []core.FieldError, rename map[string]string) map[string]any {
	errs := map[string][]string{}
	var ofTenant []core.FieldError
	for _, fe := range fields {
		if strings.HasPrefix(fe.Field, "tenant.") {
			ofTenant = append(ofTenant, fe)
			continue
		}
		name := gcoreField(fe.Field, rename)
		errs[name] = append(errs[name], fieldMessage(fe))
	}
	for _, fe := range ofTenant {
		name := gcoreField(fe.Field, rename)
		if _, dup := errs[name]; dup {
			continue
		}
		msg := fieldMessage(fe)
		if fe.Code != "required" && fe.Code != "taken" {
			// Say that the message is about the account.
			msg = sentence("client's " + strings.TrimPrefix(fe.Field, "tenant.") + " " + fe.Message)
		}
		errs[name] = append(errs[name], msg)
	}
	return map[string]any{"errors": errs}
}

// renderer writes errors in Gcore's format; rename adapts field names to
// the endpoint being served.
type renderer struct {
	log    *slog.Logger
	rename map[string]string
}

func (e renderer) render(w http.ResponseWriter, r *http.Request, err error) {
	ce := core.AsError(err)
	if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
		return // the client went away
	}
	status := statusOf(ce.Code)
	if w.Header().Get("Allow") != "" {
		// The server found the path but not the method.
		status = http.StatusMethodNotAllowed
		httpx.WriteJSON(w, status, "", map[string]any{"message": fmt.Sprintf("Method \"%s\" not allowed.", r.Method)})
		return
	}
	if status >= 500 && ce.Code != core.CodeOverloaded {
		e.log.ErrorContext(r.Context(), "request failed", "code", ce.Code, "error", err.Error())
	}
	httpx.RetryAfter(w, ce)
	var body any
	switch {
	case ce.Code == core.CodeUnauthenticated:
		w.Header().Set("WWW-Authenticate", `APIKey realm="api"`)
		body = map[string]any{"message": ce.Message}
	case (ce.Code == core.CodeInvalid || ce.Code == core.CodeRoleInvalid || ce.Code == core.CodeRestrictedField ||
		ce.Code == core.CodeConflict) && len(ce.Fields) > 0:
		body = validationBody(ce.Fields, e.rename)
	case ce.Code == core.CodeMalformed:
		msg := ce.Message
		if !strings.HasPrefix(msg, jsonParseError) {
			msg = jsonParseError + msg
		}
		body = map[string]any{"message": msg}
	case ce.Code == core.CodeAlreadyActive:
		body = map[string]any{"message": msgAlreadyActivated}
	case ce.Code == core.CodeForbidden && len(ce.Fields) > 0 && ce.Fields[0].Code == service.CodeMultipleTenants:
		body = map[string]any{"message": msgMultipleAccounts}
	case ce.Code == core.CodeForbidden || ce.Code == core.CodeRoleForbidden || ce.Code == core.CodeElevationRequired:
		body = map[string]any{"message": msgForbidden + " " + sentence(ce.Message)}
	case ce.Code == core.CodeNotFound:
		body = map[string]any{"message": msgNotFound}
	case ce.Code == core.CodeInternal:
		body = map[string]any{"message": msgServerError}
	default:
		body = map[string]any{"message": sentence(ce.Message)}
	}
	httpx.WriteJSON(w, status, "", body)
}
