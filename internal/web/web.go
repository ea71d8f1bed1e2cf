// Package web serves roster's pages for people: accepting an invitation,
// signing in and out, and resetting a forgotten password. The pages are
// server-rendered from embedded templates, work without JavaScript, and
// carry no inline style or script, so that the Content-Security-Policy can
// forbid both.
//
// Like every surface, the pages decide nothing: each handler decodes a
// form, calls one service method and renders the answer.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Security headers of every page. The pages load only their own stylesheet
// and icon, and post forms only to themselves.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// maxFormBytes bounds a form body: the largest has a name and a password.
const maxFormBytes = 64 << 10

// Pages is the web surface.
type Pages struct {
	svc *service.Service
	log *slog.Logger
	// tmpl holds one template set per page, each with the shared layout.
	tmpl map[string]*template.Template
	// httpsPublic is true when people reach roster over https (through a
	// proxy that terminates TLS): cookies are then Secure even though the
	// request reached roster in plain HTTP.
	httpsPublic bool
	// assets are the embedded files by name, and their version for cache
	// busting.
	assets  map[string][]byte
	version string
}

// New builds the pages over the service.
func New(svc *service.Service, log *slog.Logger) *Pages {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pages{svc: svc, log: log, tmpl: map[string]*template.Template{}, assets: map[string][]byte{}}
	if u, err := url.Parse(svc.Config().PublicURL); err == nil && u.Scheme == "https" {
		p.httpsPublic = true
	}
	h := sha256.New()
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		data, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		p.assets[e.Name()] = data
		h.Write(data)
	}
	p.version = hex.EncodeToString(h.Sum(nil))[:12]
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	for _, name := range []string{"invite", "login", "account", "forgot", "reset", "message"} {
		t := template.Must(layout.Clone())
		p.tmpl[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return p
}

var funcs = template.FuncMap{"utc": utc}

// utc words an instant for people, unambiguously.
func utc(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

// view is everything a template may show.
type view struct {
	Title string
	// Brand is the provider's name, shown at the top of every page.
	Brand string
	// CSS and Icon are the paths of the stylesheet and icon.
	CSS, Icon string
	// CSRF is the anti-forgery token of the page's forms.
	CSRF string
	// Action is where the page's form posts.
	Action string
	// Alert is a message about the whole form, announced to screen readers.
	Alert string
	// Problems summarise the field errors at the top, each linking to its
	// field.
	Problems []problem
	fields   map[string][]string
	// Values are the fields to fill in again after an error (never a
	// password).
	Values map[string]string
	// Policy describes the password rule that applies.
	Policy  string
	Invite  *service.InvitationView
	Account *accountView
	Message *message
	// Email is the account a reset link belongs to.
	Email string
}

type problem struct{ Field, Text string }

// Errors returns the messages about one field.
func (v *view) Errors(field string) []string { return v.fields[field] }

// fieldMessages are one field's errors, for the "errors" template.
type fieldMessages struct {
	Field    string
	Messages []string
}

// Field returns one field's errors with its name.
func (v *view) Field(name string) fieldMessages {
	return fieldMessages{Field: name, Messages: v.fields[name]}
}

// Value returns the value to show again in a field.
func (v *view) Value(field string) string { return v.Values[field] }

// message is a page that only says something: a status, a confirmation, a
// refusal.
type message struct {
	Heading string
	// Alert marks the message as an error, announced at once.
	Alert      bool
	Paragraphs []string
	Links      []link
}

type link struct{ Href, Text string }

type accountView struct {
	Name, Email, Username string
	Tenants               []tenantRoles
	ProviderRoles         string
}

type tenantRoles struct{ Name, Roles string }

// labels name the fields in error messages.
var labels = map[string]string{
	"name": "Name", "password": "Password", "login": "Email or username", "email": "Email",
}

// withFieldErrors fills the error summary and the per-field messages from a
// validation error of the service.
func (v *view) withFieldErrors(e *core.Error) {
	v.fields = map[string][]string{}
	for _, f := range e.Fields {
		label, ok := labels[f.Field]
		if !ok {
			label = f.Field
		}
		text := label + " " + f.Message + "."
		v.fields[f.Field] = append(v.fields[f.Field], text)
		v.Problems = append(v.Problems, problem{Field: f.Field, Text: text})
	}
}

// secure reports whether cookies must be Secure: the request came over TLS
// or the public URL is https.
func (p *Pages) secure(r *http.Request) bool { return r.TLS != nil || p.httpsPublic }

// page wraps a handler with the security headers every answer carries, and
// a bounded body for forms.
func (p *Pages) page(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		if p.secure(r) {
			hdr.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		h(w, r)
	}
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	v.CSS = "/assets/roster.css?v=" + p.version
	v.Icon = "/assets/icon.svg?v=" + p.version
	if v.Brand == "" {
		brand, err := p.svc.ProviderName(r.Context())
		if err != nil {
			p.log.WarnContext(r.Context(), "reading the provider's name", "error", err)
			brand = "roster"
		}
		v.Brand = brand
	}
	var buf bytes.Buffer
	if err := p.tmpl[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		p.log.ErrorContext(r.Context(), "rendering a page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// say renders a message page.
func (p *Pages) say(w http.ResponseWriter, r *http.Request, status int, title string, m *message) {
	p.render(w, r, status, "message", &view{Title: title, Message: m})
}

// fail renders an error the service returned that no page handles on its
// own: busy, unavailable, or unexpected.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := core.AsError(err)
	switch e.Code {
	case core.CodeOverloaded, core.CodeUnavailable:
		retry := max(e.RetryAfter, 1)
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		p.say(w, r, http.StatusServiceUnavailable, "Try again in a moment", &message{Heading: "Try again in a moment", Alert: true,
			Paragraphs: []string{"The service is busy right now. Go back and send the form again in " + seconds(retry) + "; nothing was changed."}})
	default:
		p.log.ErrorContext(r.Context(), "page failed", "path", r.Pattern, "error", err)
		p.say(w, r, http.StatusInternalServerError, "Something went wrong", &message{Heading: "Something went wrong", Alert: true,
			Paragraphs: []string{"Something went wrong on our side. Go back and try again; if it keeps happening, tell the administrators this reference: " +
				httpx.RequestID(r.Context()) + "."}})
	}
}

// formError turns a service error into what a form page shows again: the
// status, an alert and field errors. ok is false for errors the form cannot
// show (render them with fail).
func formError(w http.ResponseWriter, err error, v *view) (status int, ok bool) {
	e := core.AsError(err)
	switch e.Code {
	case core.CodeInvalid, core.CodeMalformed:
		v.withFieldErrors(e)
		if len(e.Fields) == 0 {
			v.Alert = e.Message
		}
		return http.StatusUnprocessableEntity, true
	case core.CodeOverloaded, core.CodeUnavailable:
		retry := max(e.RetryAfter, 1)
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		v.Alert = "The service is busy right now. Send the form again in " + seconds(retry) + "; nothing was changed."
		return http.StatusServiceUnavailable, true
	}
	return 0, false
}

// seconds words a wait.
func seconds(n int) string {
	switch {
	case n <= 1:
		return "a second"
	case n < 120:
		return fmt.Sprintf("%d seconds", n)
	default:
		return fmt.Sprintf("%d minutes", (n+59)/60)
	}
}

// duration words a configured lifetime (an hour, 30 minutes, 3 days).
func duration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return d.String()
}

// asset serves an embedded file. Its URL carries the content's version, so
// it may be cached.
func (p *Pages) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	data, ok := p.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	ct := "text/css; charset=utf-8"
	if strings.HasSuffix(name, ".svg") {
		ct = "image/svg+xml"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(data)
}
