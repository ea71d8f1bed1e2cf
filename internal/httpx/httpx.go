// Package httpx holds the HTTP plumbing that every surface shares: strict
// JSON decoding with precise errors, the Idempotency-Key protocol, request
// ids and client addresses. It decides no business rule.
package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"roster/internal/core"
)

// MaxBody is the largest request body roster reads.
const MaxBody = 1 << 20

type ctxKey int

const requestIDKey ctxKey = iota

// WithRequestID stores the request id in ctx.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the id of the request being served.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// DecodeJSON reads one JSON value from the body into dst. Unknown fields,
// trailing data, an empty body and a body over MaxBody are errors; syntax
// errors name the line and column.
func DecodeJSON(r *http.Request, dst any) error {
	body, err := ReadBody(r)
	if err != nil {
		return err
	}
	return DecodeJSONBytes(body, dst, true)
}

// ReadBody reads the whole body, bounded by MaxBody, and leaves a copy in
// r.Body for whoever reads next.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &core.Error{Code: core.CodeTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", MaxBody)}
		}
		return nil, &core.Error{Code: core.CodeMalformed, Message: "the body could not be read", Cause: err}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// DecodeJSONBytes is DecodeJSON over bytes already read. With strict,
// unknown object fields are refused. A number bound for a value of any
// type (a user's free-form attributes) keeps its digits as given
// (json.Number): as a float64 an integer past 2^53 would lose some.
func DecodeJSONBytes(body []byte, dst any, strict bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &core.Error{Code: core.CodeMalformed, Message: "the body is empty; a JSON object is expected"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return JSONError(body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &core.Error{Code: core.CodeMalformed, Message: "the body holds more than one JSON value"}
	}
	return nil
}

// JSONError turns an encoding/json error into a core error that says where
// and what.
func JSONError(body []byte, err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		ce        *core.Error
		fieldName string
	)
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &syntax):
		line, col := Position(body, syntax.Offset)
		return &core.Error{Code: core.CodeMalformed,
			Message: fmt.Sprintf("invalid JSON at line %d, column %d (byte %d): %s", line, col, syntax.Offset, syntax.Error())}
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := Position(body, int64(len(body)))
		return &core.Error{Code: core.CodeMalformed,
			Message: fmt.Sprintf("invalid JSON: the body ends early, at line %d, column %d", line, col)}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return core.FieldInvalid(field, "type", fmt.Sprintf("must be %s, not %s", jsonTypeName(typeErr.Type.String()), typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		fieldName = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(fieldName) > maxQuotedField {
			// The name is the client's; the answer need not carry all of it.
			fieldName = strings.ToValidUTF8(fieldName[:maxQuotedField], "") + "…"
		}
		return core.FieldInvalid(fieldName, "unknown_field", "is not a known field")
	}
	return &core.Error{Code: core.CodeMalformed, Message: "invalid JSON: " + err.Error()}
}

// maxQuotedField bounds how much of an unknown field's name an error quotes.
const maxQuotedField = 128

// jsonTypeName names a Go type the way a JSON client thinks of it.
func jsonTypeName(goType string) string {
	switch {
	case goType == "string" || strings.HasSuffix(goType, "Status") || strings.HasSuffix(goType, "Product"):
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint") || strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map[") || strings.HasPrefix(goType, "struct"):
		return "an object"
	}
	return "of another type"
}

// Position converts a byte offset into a 1-based line and column.
func Position(body []byte, offset int64) (line, col int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	line, col = 1, 1
	for _, b := range body[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// WriteJSON writes v as the JSON body of a response.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) {
	if contentType == "" {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// BearerToken returns the credential of "Authorization: <scheme> <token>"
// when the scheme matches, ignoring case.
func BearerToken(r *http.Request, scheme string) string {
	h := r.Header.Get("Authorization")
	if len(h) <= len(scheme)+1 || !strings.EqualFold(h[:len(scheme)], scheme) || h[len(scheme)] != ' ' {
		return ""
	}
	return strings.TrimSpace(h[len(scheme)+1:])
}

// ClientIP is the address of the peer. Forwarded headers are not read
// here: the server puts the client's address in RemoteAddr when the peer
// is one of its TrustedProxies.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// RequestHash identifies a request for the Idempotency-Key protocol: the
// same key is only replayed for the same method, path, query and body.
func RequestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s?%s\n", r.Method, r.URL.Path, r.URL.RawQuery)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// statuses maps core error codes to the HTTP statuses that the native API
// and Everlytic use; Gcore, ECE and GPCN keep maps of their own where the
// vendor differs.
var statuses = map[core.Code]int{
	core.CodeInvalid:             http.StatusBadRequest,
	core.CodeMalformed:           http.StatusBadRequest,
	core.CodeRoleInvalid:         http.StatusBadRequest,
	core.CodeRestrictedField:     http.StatusBadRequest,
	core.CodeInvitationInvalid:   http.StatusBadRequest,
	core.CodeUnauthenticated:     http.StatusUnauthorized,
	core.CodeForbidden:           http.StatusForbidden,
	core.CodeRoleForbidden:       http.StatusForbidden,
	core.CodeElevationRequired:   http.StatusForbidden,
	core.CodeNotFound:            http.StatusNotFound,
	core.CodeConflict:            http.StatusConflict,
	core.CodeAlreadyActive:       http.StatusConflict,
	core.CodeIdempotencyPending:  http.StatusConflict,
	core.CodeIdempotencyWithheld: http.StatusConflict,
	core.CodeIdempotencyMismatch: http.StatusUnprocessableEntity,
	core.CodeTooLarge:            http.StatusRequestEntityTooLarge,
	core.CodeRateLimited:         http.StatusTooManyRequests,
	core.CodeOverloaded:          http.StatusServiceUnavailable,
	core.CodeUnavailable:         http.StatusServiceUnavailable,
	core.CodeInternal:            http.StatusInternalServerError,
}

// StatusOf is the HTTP status of a core error code; an unknown code is a 500.
func StatusOf(code core.Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
