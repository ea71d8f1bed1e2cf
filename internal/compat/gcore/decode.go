package gcore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"roster/internal/core"
	"roster/internal/httpx"
)

// jsonParseError starts the message of every malformed-JSON answer, as in
// Gcore's documented `JSON parse error - Expecting ',' delimiter: line 3
// column 33 (char 77)`.
const jsonParseError = "JSON parse error - "

// decode reads the body into dst the way Gcore (Django REST framework)
// does: unknown and read-only fields are ignored, an empty body is an empty
// object, a syntax error is a JSON parse error naming line, column and
// character, and a value of the wrong type is a validation error of its
// field.
func decode(r *http.Request, dst any) error {
	body, err := httpx.ReadBody(r)
	if err != nil {
		return err
	}
	return decodeBytes(body, dst)
}

func decodeBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return decodeError(body, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		at := skipSpace(body, end)
		line, col := httpx.Position(body, at)
		return malformed(fmt.Sprintf("Extra data: line %d column %d (char %d)", line, col, at))
	}
	return nil
}

// skipSpace returns the offset of the first character at or after at that
// is not JSON white space.
func skipSpace(body []byte, at int64) int64 {
	for at < int64(len(body)) && strings.IndexByte(" \t\r\n", body[at]) >= 0 {
		at++
	}
	return at
}

func malformed(msg string) error {
	return &core.Error{Code: core.CodeMalformed, Message: jsonParseError + msg}
}

func decodeError(body []byte, err error) error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		// Go counts the offending character as read; Python, whose
		// messages Gcore shows, points at it (0-based char, 1-based
		// line and column).
		at := max(syntax.Offset-1, 0)
		line, col := httpx.Position(body, at)
		return malformed(fmt.Sprintf("%s: line %d column %d (char %d)", strings.TrimPrefix(syntax.Error(), "json: "), line, col, at))
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := httpx.Position(body, int64(len(body)))
		return malformed(fmt.Sprintf("Expecting value: line %d column %d (char %d)", line, col, len(body)))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return core.FieldInvalid("body", "type", "Invalid data. Expected a dictionary, but got "+jsonKind(typeErr.Value)+".")
		}
		if i := strings.IndexByte(field, '.'); i >= 0 {
			field = field[:i]
		}
		return core.FieldInvalid(field, "type", typeMessage(typeErr.Type, typeErr.Value))
	}
	return httpx.JSONError(body, err)
}

// typeMessage is Django REST framework's complaint about a value of the
// wrong type.
func typeMessage(t reflect.Type, got string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "Not a valid string."
	case reflect.Bool:
		return "Must be a valid boolean."
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "A valid integer is required."
	case reflect.Float32, reflect.Float64:
		return "A valid number is required."
	case reflect.Slice, reflect.Array:
		return fmt.Sprintf("Expected a list of items but got type \"%s\".", got)
	}
	return "Invalid data. Expected a dictionary, but got " + jsonKind(got) + "."
}

func jsonKind(v string) string {
	switch v {
	case "array":
		return "list"
	case "string":
		return "str"
	case "number":
		return "int"
	case "bool":
		return "bool"
	}
	return v
}
