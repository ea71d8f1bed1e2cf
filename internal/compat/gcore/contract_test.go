package gcore_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"roster/internal/compat"
	"roster/internal/compat/gcore"
	"roster/internal/testsupport"
)

// Gcore's two OpenAPI documents, as copied into shared/specs beside the
// repository. Each Gcore exchange of these tests is checked against the
// document that defines its path.
const (
	resellerSpec = "gcore-iam-reseller.openapi.yaml"
	iamSpec      = "gcore-iam.openapi.yaml"
)

var prefix = compat.Prefix(gcore.Name)

// specPath finds shared/specs/name in the directories above the package,
// where the repository's checkout keeps shared/ beside it.
func specPath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "specs", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("shared/specs/%s not found above the package: the Gcore contract tests need the vendor's documents", name)
		}
		dir = parent
	}
}

// loadSpec loads one of Gcore's documents and applies the readings that
// its own text asks for but its schemas do not say (all listed in
// docs/dialects/gcore.md):
//
//   - "nullable: true" allows null. The documents declare OpenAPI 3.1, where
//     nullable is no keyword and kin-openapi ignores it, but they use it
//     throughout in its 3.0 meaning (UserName, UserPhone, ClientSeller …).
//   - oneOf without a discriminator is read as anyOf. Gcore's alternatives
//     (ValidationError {errors} or JSONParseError {message}, and the like)
//     are objects whose properties are all optional, so every body matches
//     all of them and oneOf could never pass.
//   - A string enum whose values hold {placeholders} ("User {user ID} has
//     already been invited to client {account ID}") is a template: any
//     text in place of a placeholder matches.
//   - GET /iam/users answers a plain array of users when no limit is given,
//     as the operation's description says, besides the paginated object
//     that its schema names.
func loadSpec(t testing.TB, name string) *openapi3.T {
	t.Helper()
	data, err := os.ReadFile(specPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if s.Nullable && s.Type != nil && !s.Type.IncludesNull() {
			types := append(openapi3.Types{}, *s.Type...)
			types = append(types, openapi3.TypeNull)
			s.Type = &types
		}
		if tmpl := enumTemplates(s.Enum); tmpl != "" {
			s.Enum, s.Pattern = nil, tmpl
		}
		if len(s.OneOf) > 0 && s.Discriminator == nil {
			s.AnyOf, s.OneOf = append(s.AnyOf, s.OneOf...), nil
		}
		for _, list := range []openapi3.SchemaRefs{s.AnyOf, s.AllOf} {
			for _, r := range list {
				walk(r)
			}
		}
		walk(s.Items)
		walk(s.Not)
		for _, p := range s.Properties {
			walk(p)
		}
		if s.AdditionalProperties.Schema != nil {
			walk(s.AdditionalProperties.Schema)
		}
	}
	content := func(c openapi3.Content) {
		for _, mt := range c {
			walk(mt.Schema)
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
	for _, r := range doc.Components.Responses {
		if r.Value != nil {
			content(r.Value.Content)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				content(op.RequestBody.Value.Content)
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					content(r.Value.Content)
				}
			}
		}
	}
	if item := doc.Paths.Value("/iam/users"); item != nil && item.Get != nil {
		mt := item.Get.Responses.Status(200).Value.Content.Get("application/json")
		plain := openapi3.NewArraySchema().WithItems(doc.Components.Schemas["User"].Value)
		mt.Schema = openapi3.NewAnyOfSchema(mt.Schema.Value, plain).NewRef()
	}
	return doc
}

// placeholder is a {placeholder} in an enum template.
var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// enumTemplates turns string enum values with placeholders into one
// pattern; "" when there are none.
func enumTemplates(enum []any) string {
	var alts []string
	for _, v := range enum {
		s, ok := v.(string)
		if !ok || !placeholder.MatchString(s) {
			return ""
		}
		parts := placeholder.Split(s, -1)
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		alts = append(alts, strings.Join(parts, ".+"))
	}
	if len(alts) == 0 {
		return ""
	}
	return "^(" + strings.Join(alts, "|") + ")$"
}

// contracts checks each exchange against the Gcore document that defines
// its path.
type contracts struct {
	docs    []*openapi3.T
	routers []routers.Router
	checks  []*testsupport.Contract
}

func newContracts(t testing.TB) *contracts {
	c := &contracts{}
	for _, name := range []string{resellerSpec, iamSpec} {
		doc := loadSpec(t, name)
		check := testsupport.NewContractFromDoc(t, doc) // clears doc.Servers
		check.StripPrefix = prefix
		router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
		if err != nil {
			t.Fatal(err)
		}
		c.docs, c.routers, c.checks = append(c.docs, doc), append(c.routers, router), append(c.checks, check)
	}
	return c
}

// pick returns the contract of the document that has method and path.
func (c *contracts) pick(t testing.TB, method, path string) *testsupport.Contract {
	t.Helper()
	path, _, _ = strings.Cut(strings.TrimPrefix(path, prefix), "?")
	req, _ := http.NewRequest(method, path, nil)
	for i, r := range c.routers {
		if _, _, err := r.FindRoute(req); err == nil {
			return c.checks[i]
		}
	}
	t.Fatalf("%s %s is in neither Gcore document", method, path)
	return nil
}

// unchecked lists the operations of both documents that no exchange
// exercised, as "METHOD /path".
func (c *contracts) unchecked() []string {
	var out []string
	for _, check := range c.checks {
		out = append(out, check.Unchecked()...)
	}
	slices.Sort(out)
	return out
}
