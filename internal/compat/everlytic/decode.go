package everlytic

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"roster/internal/core"
	"roster/internal/httpx"
)

// kind is the JSON type a request field takes.
type kind int

const (
	kindString kind = iota
	// kindInteger takes a JSON integer or a string of digits, as PHP
	// clients often send ids taken from forms.
	kindInteger
)

// fieldSpec is one field of a request body: its name, type, and whether
// Everlytic documents it as required.
type fieldSpec struct {
	name     string
	kind     kind
	required bool
}

// fields is a decoded request body: each field given, as text.
type fields map[string]string

// readFields decodes the body — JSON (the default), form-urlencoded or
// multipart form data, as Everlytic's PHP examples send — into fields,
// checking it against specs: unknown fields, wrong types and missing
// required fields are all reported at once. Checking that the body has the
// shape Everlytic documents is the dialect's work; what the values must be
// (an email address, a known language, a unique username) is the service's.
func readFields(r *http.Request, specs []fieldSpec) (fields, error) {
	body, err := httpx.ReadBody(r)
	if err != nil {
		return nil, err
	}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "application/json", nil
	}
	if err != nil {
		return nil, &statusError{status: http.StatusUnsupportedMediaType, message: "the Content-Type header cannot be parsed; send application/json"}
	}
	if mt == "application/x-www-form-urlencoded" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		// curl -d '{…}' labels JSON as a form unless told otherwise; no
		// form of these requests starts with "{", so the intent is plain.
		mt = "application/json"
	}
	known := map[string]fieldSpec{}
	for _, s := range specs {
		known[s.name] = s
	}
	v := &core.Validation{}
	out := fields{}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		raw := map[string]json.RawMessage{}
		if err := httpx.DecodeJSONBytes(body, &raw, false); err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(raw) {
			spec, ok := known[name]
			if !ok {
				v.Add(name, "unknown_field", "is not a field of this request")
				continue
			}
			if s, ok := jsonValue(v, spec, raw[name]); ok {
				out[name] = s
			}
		}
	case mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data":
		values, err := formValues(mt, params, body)
		if err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(values) {
			if _, ok := known[name]; !ok {
				v.Add(name, "unknown_field", "is not a field of this request")
				continue
			}
			if len(values[name]) > 1 {
				v.Add(name, "repeated", "is given more than once")
				continue
			}
			out[name] = values[name][0]
		}
	default:
		return nil, &statusError{status: http.StatusUnsupportedMediaType,
			message: "Content-Type " + mt + " is not supported; send application/json (or a form)"}
	}
	for _, s := range specs {
		val, given := out[s.name]
		switch {
		case s.required && strings.TrimSpace(val) == "" && !v.Has(s.name):
			v.Add(s.name, "required", "is required")
		case given && s.kind == kindInteger && !v.Has(s.name):
			if n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64); err != nil || n < 1 {
				v.Add(s.name, "invalid", "must be a positive integer")
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// jsonValue reads one JSON member as text; null counts as absent.
func jsonValue(v *core.Validation, spec fieldSpec, raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	if spec.kind == kindInteger {
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&n); err == nil {
			if _, err := n.Int64(); err == nil {
				return n.String(), true
			}
		}
		v.Add(spec.name, "type", "must be an integer")
		return "", false
	}
	v.Add(spec.name, "type", "must be a string")
	return "", false
}

// formValues parses a form body; files are not fields of any request.
func formValues(mt string, params map[string]string, body []byte) (url.Values, error) {
	malformed := func(err error) error {
		return &core.Error{Code: core.CodeMalformed, Message: "the form body cannot be parsed", Cause: err}
	}
	if mt == "application/x-www-form-urlencoded" {
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, malformed(err)
		}
		return values, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, malformed(errors.New("no boundary"))
	}
	form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(httpx.MaxBody)
	if err != nil {
		return nil, malformed(err)
	}
	defer func() { _ = form.RemoveAll() }()
	if len(form.File) > 0 {
		return nil, core.FieldInvalid(sortedKeys(form.File)[0], "type", "must be a text field, not a file")
	}
	return url.Values(form.Value), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// int64 reads an integer field that readFields has checked.
func (f fields) int64(name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(f[name]), 10, 64)
	return n
}
