package api

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPIDocument is the served OpenAPI 3.1 description of /v1.
func OpenAPIDocument() []byte { return openAPIDoc }

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDoc)
}

// The docs page is rendered on the server from the same document, so it
// works without JavaScript and cannot drift from /openapi.json.
type docOperation struct {
	Method, Path, Summary, Description, Anchor string
	Params                                     []docParam
	Body                                       string
	Responses                                  []docResponse
}

type docParam struct{ Name, In, Description string }

type docResponse struct{ Status, Description, Schema string }

type docSchema struct {
	Name   string
	Fields []docField
}

type docField struct{ Name, Type, Description string }

type docPage struct {
	Title, Description string
	Operations         []docOperation
	Schemas            []docSchema
	Problems           []docProblem
}

type docProblem struct{ Code, Status, Meaning string }

var problemMeanings = []docProblem{
	{"invalid", "400", "A field failed validation; errors[] names each field."},
	{"malformed", "400", "The body is not JSON, or not the JSON expected; the detail names the line and column."},
	{"role_invalid", "400", "A role is unknown, or not held where it was given."},
	{"restricted_field", "400", "A read-only field was set."},
	{"invitation_invalid", "400", "The invitation token is unknown, used, expired or revoked."},
	{"unauthenticated", "401", "No credential, or one that is unknown, revoked or expired."},
	{"forbidden", "403", "The credential may not do this."},
	{"role_forbidden", "403", "The request grants a role above the caller's own."},
	{"elevation_required", "403", "The operation needs elevated permissions (POST /v1/auth/elevate)."},
	{"not_found", "404", "No such resource, or it is not visible to the caller."},
	{"conflict", "409", "A uniqueness rule was violated: email, username, resource group name."},
	{"already_active", "409", "The user has already accepted the invitation."},
	{"idempotency_pending", "409", "The first request with this Idempotency-Key is still running; retry after Retry-After."},
	{"idempotency_withheld", "409", "The first request with this Idempotency-Key succeeded, and its answer held a secret (a new API key), which is shown only once and was not kept."},
	{"too_large", "413", "The body is over 1 MiB."},
	{"idempotency_mismatch", "422", "This Idempotency-Key was used with a different request."},
	{"rate_limited", "429", "Too many requests; retry after Retry-After."},
	{"overloaded", "503", "Too many password operations at once; retry after Retry-After."},
	{"unavailable", "503", "The database cannot be reached; retry after Retry-After."},
	{"internal", "500", "Something failed inside roster; quote the request_id."},
}

func buildDocPage() (docPage, error) {
	var doc struct {
		Info struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"info"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Type        any    `json:"type"`
					Ref         string `json:"$ref"`
					Description string `json:"description"`
					Enum        []any  `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		return docPage{}, err
	}
	page := docPage{Title: doc.Info.Title, Description: doc.Info.Description, Problems: problemMeanings}
	type rawOp struct {
		Summary     string `json:"summary"`
		Description string `json:"description"`
		Parameters  []struct {
			Ref         string `json:"$ref"`
			Name        string `json:"name"`
			In          string `json:"in"`
			Description string `json:"description"`
		} `json:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema struct {
					Ref string `json:"$ref"`
				} `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]struct {
			Ref         string `json:"$ref"`
			Description string `json:"description"`
			Content     map[string]struct {
				Schema struct {
					Ref string `json:"$ref"`
				} `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	}
	methods := []string{"get", "post", "put", "patch", "delete"}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths[path]
		var shared []docParam
		if raw, ok := item["parameters"]; ok {
			var ps []docParam
			_ = json.Unmarshal(raw, &ps)
			shared = ps
		}
		for _, m := range methods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			var o rawOp
			if err := json.Unmarshal(raw, &o); err != nil {
				return docPage{}, err
			}
			op := docOperation{Method: strings.ToUpper(m), Path: path, Summary: o.Summary, Description: o.Description,
				Anchor: m + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(path), Params: shared}
			for _, p := range o.Parameters {
				if p.Ref != "" {
					op.Params = append(op.Params, docParam{Name: "Idempotency-Key", In: "header",
						Description: "Retry safely: the same key and request return the first answer."})
					continue
				}
				op.Params = append(op.Params, docParam{Name: p.Name, In: p.In, Description: p.Description})
			}
			if o.RequestBody != nil {
				for _, c := range o.RequestBody.Content {
					op.Body = refName(c.Schema.Ref)
				}
			}
			statuses := make([]string, 0, len(o.Responses))
			for s := range o.Responses {
				statuses = append(statuses, s)
			}
			sort.Strings(statuses)
			for _, s := range statuses {
				resp := o.Responses[s]
				dr := docResponse{Status: s, Description: resp.Description}
				if resp.Ref != "" {
					dr.Schema, dr.Description = "Problem", refName(resp.Ref)
				}
				for _, c := range resp.Content {
					dr.Schema = refName(c.Schema.Ref)
				}
				op.Responses = append(op.Responses, dr)
			}
			page.Operations = append(page.Operations, op)
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := docSchema{Name: n}
		fields := make([]string, 0)
		for f := range doc.Components.Schemas[n].Properties {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			p := doc.Components.Schemas[n].Properties[f]
			typ := refName(p.Ref)
			if typ == "" {
				b, _ := json.Marshal(p.Type)
				typ = strings.Trim(string(b), `"`)
			}
			if len(p.Enum) > 0 {
				b, _ := json.Marshal(p.Enum)
				typ += " " + string(b)
			}
			s.Fields = append(s.Fields, docField{Name: f, Type: typ, Description: p.Description})
		}
		page.Schemas = append(page.Schemas, s)
	}
	return page, nil
}

func refName(ref string) string { return ref[strings.LastIndexByte(ref, '/')+1:] }

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
code,pre{font:13px ui-monospace,monospace;background:#f3f4f6;padding:.1rem .3rem;border-radius:3px}
h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4rem;font-weight:700}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border-bottom:1px solid #eee;text-align:left;padding:.2rem .5rem;vertical-align:top}
nav a{margin-right:1rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Description}}</p>
<nav><a href="/openapi.json">openapi.json</a><a href="#operations">Operations</a><a href="#schemas">Schemas</a><a href="#problems">Problems</a></nav>
<h2 id="operations">Operations</h2>
{{range .Operations}}<section class="op" id="{{.Anchor}}">
<h3><span class="m">{{.Method}}</span> <code>{{.Path}}</code> — {{.Summary}}</h3>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Params}}<table><tr><th>Parameter</th><th>In</th><th>Meaning</th></tr>{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<p>Body: <a href="#schema-{{.Body}}">{{.Body}}</a></p>{{end}}
<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>{{range .Responses}}<tr><td>{{.Status}}</td><td>{{.Description}}</td><td>{{if .Schema}}<a href="#schema-{{.Schema}}">{{.Schema}}</a>{{end}}</td></tr>{{end}}</table>
</section>{{end}}
<h2 id="schemas">Schemas</h2>
{{range .Schemas}}<section id="schema-{{.Name}}"><h3>{{.Name}}</h3>
{{if .Fields}}<table><tr><th>Field</th><th>Type</th><th>Meaning</th></tr>{{range .Fields}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{else}}<p>A map; see openapi.json.</p>{{end}}
</section>{{end}}
<h2 id="problems">Problems</h2>
<p>Errors are <code>application/problem+json</code> (RFC 9457). <code>code</code> is stable; <code>errors</code> lists fields.</p>
<table><tr><th>code</th><th>Status</th><th>Meaning</th></tr>{{range .Problems}}<tr id="problem-{{.Code}}"><td><code>{{.Code}}</code></td><td>{{.Status}}</td><td>{{.Meaning}}</td></tr>{{end}}</table>
</body>
</html>
`))

func (a *API) docs(w http.ResponseWriter, r *http.Request) {
	page, err := buildDocPage()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = docsTemplate.Execute(w, page)
}
