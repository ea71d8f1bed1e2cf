package testsupport

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Client speaks HTTP to a test server and checks every exchange against a
// contract when one is set.
type Client struct {
	T    testing.TB
	Base string
	// Header is sent with every request (the credential, usually).
	Header http.Header
	// Contract, when set, validates every response (and every request
	// not marked Invalid).
	Contract *Contract
	HTTP     *http.Client
}

// NewClient returns a client for base with the given headers.
func NewClient(t testing.TB, base string, header http.Header) *Client {
	if header == nil {
		header = http.Header{}
	}
	return &Client{T: t, Base: base, Header: header, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Bearer returns a copy of c that authenticates with token.
func (c *Client) Bearer(token string) *Client {
	return c.With("Authorization", "Bearer "+token)
}

// With returns a copy of c that sends one more header (or replaces it).
func (c *Client) With(key, value string) *Client {
	cp := *c
	cp.Header = c.Header.Clone()
	if value == "" {
		cp.Header.Del(key)
	} else {
		cp.Header.Set(key, value)
	}
	return &cp
}

// Resp is a response read whole.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// Opt changes one request.
type Opt func(*reqOpts)

type reqOpts struct {
	header      http.Header
	invalid     bool
	contentType string
}

// Header adds a header to one request.
func Header(k, v string) Opt { return func(o *reqOpts) { o.header.Set(k, v) } }

// Invalid marks a request that breaks the contract on purpose (a negative
// test): only its response is checked.
func Invalid() Opt { return func(o *reqOpts) { o.invalid = true } }

// ContentType sets the request's content type.
func ContentType(ct string) Opt { return func(o *reqOpts) { o.contentType = ct } }

// Do sends a request. body may be nil, a string or []byte (sent as is), or
// any value (sent as JSON).
func (c *Client) Do(method, path string, body any, opts ...Opt) *Resp {
	c.T.Helper()
	o := reqOpts{header: http.Header{}, contentType: "application/json"}
	for _, opt := range opts {
		opt(&o)
	}
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.T.Fatalf("encode body: %v", err)
		}
	}
	req, err := http.NewRequest(method, c.Base+path, bytes.NewReader(raw))
	if err != nil {
		c.T.Fatalf("new request: %v", err)
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	for k, vs := range o.header {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", o.contentType)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.T.Fatalf("read %s %s: %v", method, path, err)
	}
	if c.Contract != nil {
		req.Body = io.NopCloser(bytes.NewReader(raw))
		c.Contract.Check(c.T, req, raw, !o.invalid, res, data)
	}
	return &Resp{Status: res.StatusCode, Header: res.Header, Body: data}
}

// JSON decodes the body into v.
func (r *Resp) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Resp) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Want fails the test unless the status is want.
func (r *Resp) Want(t testing.TB, want int) *Resp {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	return r
}

// String returns the body as text.
func (r *Resp) String() string { return strings.TrimSpace(string(r.Body)) }
