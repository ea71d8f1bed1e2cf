package testsupport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Contract checks requests and responses against an OpenAPI document, the
// status code included.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
	// StripPrefix is removed from request paths before routing, for
	// documents that describe a vendor API mounted under a prefix.
	StripPrefix string

	mu      sync.Mutex
	checked map[string]int // operation → responses checked
}

func init() {
	// NDJSON bodies (imports) are checked as text: the document describes
	// their lines in prose and schemas, not as one JSON value.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
	// Formats the documents name are checked too (kin-openapi leaves
	// "email" out unless defined): a client validating its models would
	// refuse an empty or malformed address.
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
}

// NewContract loads an OpenAPI 3 document.
func NewContract(t testing.TB, spec []byte) *Contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	return NewContractFromDoc(t, doc)
}

// NewContractFromDoc wraps an already loaded document.
func NewContractFromDoc(t testing.TB, doc *openapi3.T) *Contract {
	t.Helper()
	// Examples are documentation: a vendor's wrong example (ECE has some)
	// says nothing about the exchanges checked here.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	// Route by path only: servers in vendor documents name their hosts.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &Contract{doc: doc, router: router, checked: map[string]int{}}
}

// Check validates one exchange; failures fail the test.
func (c *Contract) Check(t testing.TB, req *http.Request, reqBody []byte, checkRequest bool, res *http.Response, resBody []byte) {
	t.Helper()
	routed := req.Clone(context.Background())
	routed.URL.Path = strings.TrimPrefix(routed.URL.Path, c.StripPrefix)
	routed.URL.Host, routed.URL.Scheme, routed.Host = "", "", ""
	route, params, err := c.router.FindRoute(routed)
	if err != nil {
		t.Errorf("contract: %s %s is not in the document: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: routed, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if checkRequest {
		routed.Body = io.NopCloser(bytes.NewReader(reqBody))
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("contract: request %s %s breaks the document: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode,
		Header: res.Header, Body: io.NopCloser(bytes.NewReader(resBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("contract: response %d to %s %s breaks the document: %v\nbody: %s", res.StatusCode, req.Method, req.URL.Path, err, resBody)
	}
	c.mu.Lock()
	c.checked[route.Method+" "+route.Path]++
	c.mu.Unlock()
}

// Unchecked lists the document's operations that no exchange exercised.
func (c *Contract) Unchecked() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			if c.checked[method+" "+path] == 0 {
				out = append(out, method+" "+path)
			}
		}
	}
	return out
}
