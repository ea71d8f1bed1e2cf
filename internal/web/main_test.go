package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"roster/internal/compat"
	"roster/internal/compat/gcore"
	"roster/internal/compat/gpcn"
	"roster/internal/service"
	"roster/internal/testsupport"
)

func TestMain(m *testing.M) { os.Exit(testsupport.MainOnEachBackend(m)) }

// goodPassword meets both policies (NIST and complex).
const goodPassword = "Tangerine-Kayak-41"

// env is a server with the pages, the Gcore and GPCN dialects, and a real
// SMTP server that receives its emails.
type env struct {
	*testsupport.Env
	smtp  *testsupport.SMTPServer
	admin *testsupport.Client
}

func start(t *testing.T, cfg service.Config) *env {
	t.Helper()
	smtp := testsupport.StartSMTP(t)
	e := testsupport.Start(t, testsupport.Options{SMTPURL: smtp.URL(), Web: true, Config: cfg,
		Dialects: func(svc *service.Service, log *slog.Logger) []compat.Dialect {
			return []compat.Dialect{gcore.New(svc, log), gpcn.New(svc, log)}
		}})
	return &env{Env: e, smtp: smtp, admin: testsupport.NewClient(t, e.URL, nil).Bearer(testsupport.AdminKey)}
}

// tenant creates a tenant and returns its id and number.
func (e *env) tenant(t *testing.T, name string) (string, int64) {
	t.Helper()
	m := e.admin.Do("POST", "/v1/tenants", map[string]any{"name": name}).Want(t, 201).Map(t)
	return m["id"].(string), int64(m["number"].(float64))
}

// invite invites email into the tenant through the native API and returns
// the user's id.
func (e *env) invite(t *testing.T, tenantID, email string) string {
	t.Helper()
	return e.admin.Do("POST", "/v1/users", map[string]any{"email": email, "tenant_id": tenantID}).Want(t, 201).Map(t)["id"].(string)
}

// register makes an active user with a password.
func (e *env) register(t *testing.T, tenantID, email, password string) string {
	t.Helper()
	return e.admin.Do("POST", "/v1/users", map[string]any{"action": "register", "email": email, "name": "Alice Example",
		"password": password, "tenant_id": tenantID}).Want(t, 201).Map(t)["id"].(string)
}

// mailTo waits for the n-th email (counting from 1) to arrive for rcpt and
// returns its only link, which must start with prefix.
func (e *env) mailTo(t *testing.T, rcpt string, n int, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got []testsupport.Received
		for _, m := range e.smtp.Messages() {
			if len(m.To) == 1 && m.To[0] == rcpt {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			links := got[n-1].Links()
			if len(links) != 1 || !strings.HasPrefix(links[0], e.URL+prefix) {
				t.Fatalf("email %d to %s has links %v, want one under %s", n, rcpt, links, prefix)
			}
			return links[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emails to %s arrived, want %d", len(got), rcpt, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// invitation returns the tenant's invitation for email as the API shows it.
func (e *env) invitation(t *testing.T, tenantID, email string) map[string]any {
	t.Helper()
	var out map[string]any
	for _, item := range e.admin.Do("GET", "/v1/invitations?tenant_id="+tenantID, nil).Want(t, 200).Map(t)["items"].([]any) {
		inv := item.(map[string]any)
		if inv["email"] == email {
			out = inv // the newest comes last
		}
	}
	if out == nil {
		t.Fatalf("no invitation for %s", email)
	}
	return out
}

// apiLogin answers POST /v1/auth/login.
func (e *env) apiLogin(t *testing.T, login, password string) *testsupport.Resp {
	t.Helper()
	return testsupport.NewClient(t, e.URL, nil).Do("POST", "/v1/auth/login", map[string]any{"email": login, "password": password})
}

// noSecretsLogged fails when any of the secrets appears in the server's
// logs.
func (e *env) noSecretsLogged(t *testing.T, secrets ...string) {
	t.Helper()
	logs := e.Logs()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the server logged a secret (%.8s…)", s)
		}
	}
}

// tokenOf is the secret at the end of a link.
func tokenOf(link string) string { return link[strings.LastIndex(link, "/")+1:] }

// pathOf is a link without its scheme and host.
func pathOf(t *testing.T, link string) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// browserless is what a person's browser does, in plain HTTP: it keeps
// cookies and does not follow redirects, so tests see every answer.
type browserless struct {
	t    *testing.T
	base string
	jar  *cookiejar.Jar
	http *http.Client
}

func newBrowserless(t *testing.T, base string) *browserless {
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, base: base, jar: jar, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browserless) do(method, path string, form url.Values) *page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return &page{Status: res.StatusCode, Header: res.Header, Body: string(data)}
}

func (b *browserless) get(path string) *page { return b.do("GET", path, nil) }

// submit posts the form of the page at path, as a browser does: with the
// page's anti-forgery token and the given fields.
func (b *browserless) submit(path string, fields map[string]string) *page {
	b.t.Helper()
	form := b.get(path)
	token := form.csrf(b.t)
	return b.post(path, token, fields)
}

// post sends a form with the given anti-forgery token (empty: none).
func (b *browserless) post(path, csrf string, fields map[string]string) *page {
	b.t.Helper()
	vals := url.Values{}
	if csrf != "" {
		vals.Set("csrf_token", csrf)
	}
	for k, v := range fields {
		vals.Set(k, v)
	}
	return b.do("POST", path, vals)
}

// cookie returns the value of the browser's cookie, or "".
func (b *browserless) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the anti-forgery token of the page's form.
func (p *page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no form with a token on the page (status %d):\n%s", p.Status, p.Body)
	}
	return m[1]
}

// want fails unless the page has the status and contains every text.
func (p *page) want(t *testing.T, status int, texts ...string) *page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d:\n%s", p.Status, status, p.Body)
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("the page (status %d) lacks %q:\n%s", p.Status, s, p.Body)
		}
	}
	return p
}

// hasForm reports whether the page shows a form that posts.
func (p *page) hasForm() bool { return strings.Contains(p.Body, `<form method="post"`) }

func fieldsOf(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func email(n int) string { return fmt.Sprintf("person%d@initech.example", n) }
