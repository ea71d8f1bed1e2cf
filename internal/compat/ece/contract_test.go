package ece_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"roster/internal/compat"
	"roster/internal/compat/ece"
	"roster/internal/service"
	"roster/internal/testsupport"
)

// eceSpec is one of ECE's Swagger 2.0 documents, an unmodified copy of
// the file of that name in shared/specs (elastic/cloud-sdk-go's
// api/apidocs.json), with the digest shared/specs/SOURCES.md records.
type eceSpec struct{ file, sha256 string }

var (
	// spec352 is ECE 3.5.2's, the version that still has
	// /users/auth/_elevate and its 449 answers: the dialect's contract.
	spec352 = eceSpec{"testdata/ece-apidocs-3.5.2.json", "47e26369eaf8bc0f1d09aecd220bee2c4eeb3abadfde1408ba14b4078e57e1a8"}
	// specCurrent is the latest, without _elevate; it requires
	// session_expiration_time in token answers.
	specCurrent = eceSpec{"testdata/ece-apidocs.json", "d265be4b4f6b92dd6ebbf2b3c4f04fd4f51019b8b410230d3315b125a2c5ecde"}
)

var (
	specMu    sync.Mutex
	specBytes = map[eceSpec][]byte{}
)

func readSpec(t *testing.T, spec eceSpec) []byte {
	t.Helper()
	specMu.Lock()
	defer specMu.Unlock()
	if b, ok := specBytes[spec]; ok {
		return b
	}
	b, err := os.ReadFile(spec.file)
	if err != nil {
		t.Fatalf("read %s: %v", spec.file, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != spec.sha256 {
		t.Fatalf("%s has SHA-256 %s, not the vendor's copy %s", spec.file, got, spec.sha256)
	}
	specBytes[spec] = b
	return b
}

// loadSpec converts ECE's Swagger 2.0 document to OpenAPI 3 with
// kin-openapi's openapi2conv. Its paths are relative to basePath /api/v1.
//
// The document as published does not pass openapi3 validation because of
// an operation this dialect does not serve (GET
// /billing/costs/{organization_id}/charts declares the default "Daily" for
// an enum of "daily" and "monthly"). The contract therefore keeps the
// operations under /user and /users, every one of them, unchanged.
func loadSpec(t *testing.T, spec eceSpec) *openapi3.T {
	t.Helper()
	var v2 openapi2.T
	if err := json.Unmarshal(readSpec(t, spec), &v2); err != nil {
		t.Fatalf("parse the Swagger document: %v", err)
	}
	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		t.Fatalf("convert to OpenAPI 3: %v", err)
	}
	for path := range doc.Paths.Map() {
		if path != "/user" && !strings.HasPrefix(path, "/users") {
			doc.Paths.Delete(path)
		}
	}
	return doc
}

// eceEnv is a roster server with the ECE dialect, and clients for it.
type eceEnv struct {
	*testsupport.Env
	doc *openapi3.T
	// anon checks every exchange against ECE's document; admin is anon
	// with the bootstrap key in ECE's "Authorization: ApiKey" form.
	anon, admin *testsupport.Client
	// raw checks no contract: for answers the document does not list for
	// the operation (401 and 403 on most operations, roster's own
	// validation codes, unknown routes). wantErr checks their bodies
	// against the document's BasicFailedReply instead.
	raw *testsupport.Client
	// native speaks roster's own /v1 API.
	native *testsupport.Client
}

func dialects(svc *service.Service, log *slog.Logger) []compat.Dialect {
	return []compat.Dialect{ece.New(svc, log)}
}

func startECE(t *testing.T, cfg service.Config) *eceEnv {
	t.Helper()
	env := testsupport.Start(t, testsupport.Options{Config: cfg, Dialects: dialects})
	return newEnv(t, env, env.URL+"/compat/ece", "/compat/ece/api/v1", spec352)
}

func newEnv(t *testing.T, env *testsupport.Env, base, strip string, spec eceSpec) *eceEnv {
	t.Helper()
	doc := loadSpec(t, spec)
	contract := testsupport.NewContractFromDoc(t, doc)
	contract.StripPrefix = strip
	anon := testsupport.NewClient(t, base, nil)
	anon.Contract = contract
	return &eceEnv{Env: env, doc: doc, anon: anon, admin: anon.With("Authorization", "ApiKey "+testsupport.AdminKey),
		raw:    testsupport.NewClient(t, base, nil).With("Authorization", "ApiKey "+testsupport.AdminKey),
		native: testsupport.NewClient(t, env.URL, nil).Bearer(testsupport.AdminKey)}
}

// errorElement is ECE's BasicFailedReplyElement.
type errorElement struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Fields  []string `json:"fields"`
}

// wantErr checks an ECE error answer: status, the codes in the body and in
// x-cloud-error-codes, a message in every element, and the body against the
// document's BasicFailedReply schema.
func (e *eceEnv) wantErr(t *testing.T, r *testsupport.Resp, status int, codes ...string) []errorElement {
	t.Helper()
	r.Want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q, want application/json", ct)
	}
	if got := r.Header.Get("x-cloud-error-codes"); got != strings.Join(codes, ",") {
		t.Errorf("x-cloud-error-codes %q, want %q; body: %s", got, strings.Join(codes, ","), r.Body)
	}
	var generic any
	r.JSON(t, &generic)
	if err := e.doc.Components.Schemas["BasicFailedReply"].Value.VisitJSON(generic); err != nil {
		t.Errorf("the error body is not a BasicFailedReply: %v\n%s", err, r.Body)
	}
	var body struct {
		Errors []errorElement `json:"errors"`
	}
	r.JSON(t, &body)
	var got []string
	for _, el := range body.Errors {
		got = append(got, el.Code)
		if el.Message == "" {
			t.Errorf("error %s without a message", el.Code)
		}
	}
	if !slices.Equal(got, codes) {
		t.Fatalf("error codes %v, want %v; body: %s", got, codes, r.Body)
	}
	return body.Errors
}

// wantFields checks the fields an error element names.
func wantFields(t *testing.T, el errorElement, fields ...string) {
	t.Helper()
	if !slices.Equal(el.Fields, fields) {
		t.Errorf("%s names fields %v, want %v (%s)", el.Code, el.Fields, fields, el.Message)
	}
}

// user is ECE's User as the tests read it.
type user struct {
	UserName string `json:"user_name"`
	FullName string `json:"full_name"`
	Email    string `json:"email"`
	Builtin  *bool  `json:"builtin"`
	Security *struct {
		Roles         []string `json:"roles"`
		Enabled       *bool    `json:"enabled"`
		Password      *string  `json:"password"`
		Permissions   []string `json:"permissions"`
		SecurityRealm *struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"security_realm"`
	} `json:"security"`
	Metadata *struct {
		CreatedAt    string `json:"created_at"`
		CreatedBy    string `json:"created_by"`
		UpdatedAt    string `json:"updated_at"`
		UpdatedBy    string `json:"updated_by"`
		FirstLoginAt string `json:"first_login_at"`
		LastLoginAt  string `json:"last_login_at"`
	} `json:"metadata"`
}

// readUser decodes a User and checks what every User the dialect sends
// must have: a name, security with roles, enabled and the native realm, no
// password, and metadata with both times.
func readUser(t *testing.T, r *testsupport.Resp) user {
	t.Helper()
	var u user
	r.JSON(t, &u)
	checkUser(t, u, string(r.Body))
	return u
}

func checkUser(t *testing.T, u user, raw string) {
	t.Helper()
	switch {
	case u.UserName == "", u.Builtin == nil, u.Security == nil, u.Metadata == nil:
		t.Fatalf("user lacks user_name, builtin, security or metadata: %s", raw)
	case u.Security.Roles == nil, u.Security.Enabled == nil, u.Security.SecurityRealm == nil:
		t.Fatalf("user.security lacks roles, enabled or security_realm: %s", raw)
	case u.Security.SecurityRealm.ID != "native" || u.Security.SecurityRealm.Type != "native":
		t.Fatalf("security_realm is not native: %s", raw)
	case u.Security.Password != nil || strings.Contains(raw, "password"):
		t.Fatalf("a user answer carries a password: %s", raw)
	case u.Metadata.CreatedAt == "" || u.Metadata.UpdatedAt == "":
		t.Fatalf("metadata lacks created_at or updated_at: %s", raw)
	}
}

func TestSpecCopy(t *testing.T) {
	// The operations the dialect serves are all in the vendor's document;
	// the current one lacks only _elevate.
	current := loadSpec(t, specCurrent)
	for _, op := range served {
		method, path, _ := strings.Cut(op, " ")
		item := current.Paths.Find(path)
		if missing := item == nil || item.GetOperation(method) == nil; missing != strings.HasSuffix(op, "/_elevate") {
			t.Errorf("%s: in ECE's current document %v", op, !missing)
		}
	}
	doc := loadSpec(t, spec352)
	for _, op := range served {
		method, path, _ := strings.Cut(op, " ")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s is not in ECE's document", op)
		}
	}
}

// served lists the dialect's operations as the document names them.
var served = []string{
	"POST /users", "GET /users", "GET /users/{user_name}", "PATCH /users/{user_name}", "DELETE /users/{user_name}",
	"GET /user", "PATCH /user",
	"POST /users/auth/_login", "POST /users/auth/_refresh", "POST /users/auth/_elevate", "DELETE /users/auth/_elevate",
}

// wantAllServedChecked fails unless every served operation had at least one
// exchange checked against the document.
func wantAllServedChecked(t *testing.T, c *testsupport.Contract) {
	t.Helper()
	unchecked := c.Unchecked()
	for _, op := range served {
		if slices.Contains(unchecked, op) {
			t.Errorf("no exchange of %s was checked against ECE's document", op)
		}
	}
}

// stringBody encodes a merge patch as a JSON string: ECE's document
// declares the PATCH body as {"type": "string"}, so this is the form that
// passes its request validation. The dialect accepts it and the plain
// object form alike.
func stringBody(t *testing.T, patch any) string {
	t.Helper()
	inner, err := json.Marshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := json.Marshal(string(inner))
	if err != nil {
		t.Fatal(err)
	}
	return string(outer)
}
