package core

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a stable, machine-readable error code. Every surface maps codes to
// its own status and wire format; the codes themselves never change meaning.
type Code string

const (
	CodeInvalid             Code = "invalid"              // a request field failed validation
	CodeMalformed           Code = "malformed"            // the body could not be decoded
	CodeUnauthenticated     Code = "unauthenticated"      // no credential, or a bad one
	CodeForbidden           Code = "forbidden"            // authenticated, but not allowed
	CodeRoleForbidden       Code = "role_forbidden"       // granting a role above the caller's own
	CodeRoleInvalid         Code = "role_invalid"         // a role that is not in the catalogue or not allowed here
	CodeRestrictedField     Code = "restricted_field"     // a read-only field was set by a caller
	CodeNotFound            Code = "not_found"            // the resource does not exist (or is invisible to the caller)
	CodeConflict            Code = "conflict"             // a uniqueness rule was violated
	CodeIdempotencyMismatch Code = "idempotency_mismatch" // an Idempotency-Key reused with a different request
	CodeIdempotencyPending  Code = "idempotency_pending"  // the first request with this key is still running
	CodeIdempotencyWithheld Code = "idempotency_withheld" // the first answer held a secret, shown once and not kept
	CodeTooLarge            Code = "too_large"            // the body is over the limit
	CodeRateLimited         Code = "rate_limited"         // too many requests for this caller
	CodeElevationRequired   Code = "elevation_required"   // the operation needs elevated permissions
	CodeOverloaded          Code = "overloaded"           // the password hashing pool is saturated
	CodeUnavailable         Code = "unavailable"          // the database cannot be reached
	CodeAlreadyActive       Code = "already_active"       // an invitation for a user who is already active
	CodeInvitationInvalid   Code = "invitation_invalid"   // an invitation token that is unknown, used, expired or revoked
	CodeInternal            Code = "internal"             // anything else; details stay in the log
)

// FieldError names one field of the request and what is wrong with it.
// Field uses the core's own names (first_name, tenant_id, roles[1]); a
// surface renames them into its vendor's vocabulary.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the one error type the service returns to surfaces.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// RetryAfter, in seconds, for overloaded, rate-limited and pending answers.
	RetryAfter int
	// Cause is kept for logs; it is never shown to a client.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldInvalid is a validation error about one field.
func FieldInvalid(field, code, message string) *Error {
	return &Error{Code: CodeInvalid, Message: "the request is not valid", Fields: []FieldError{{Field: field, Code: code, Message: message}}}
}

// Internal wraps an unexpected error; the cause goes to logs only.
func Internal(cause error) *Error {
	return &Error{Code: CodeInternal, Message: "internal error", Cause: cause}
}

// ErrorCode returns the code of err: empty for nil, CodeInternal for errors
// that are not core errors.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError turns any error into a core error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Validation collects field errors so that a caller gets every problem at
// once rather than one per round trip.
type Validation struct {
	fields []FieldError
}

// Add records a problem with field.
func (v *Validation) Add(field, code, message string) {
	v.fields = append(v.fields, FieldError{Field: field, Code: code, Message: message})
}

// Has reports whether field already has a problem recorded.
func (v *Validation) Has(field string) bool {
	for _, f := range v.fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Err returns nil when nothing was recorded.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: "the request is not valid", Fields: v.fields}
}
