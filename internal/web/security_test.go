package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"roster/internal/server"
	"roster/internal/service"
	"roster/internal/testsupport"
	"roster/internal/web"
)

const wantCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders fails unless the answer carries every header the pages
// promise; hsts says whether Strict-Transport-Security is expected.
func securityHeaders(t *testing.T, what string, h http.Header, hsts bool) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": wantCSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
	if got := h.Get("Strict-Transport-Security"); (got != "") != hsts {
		t.Errorf("%s: Strict-Transport-Security %q, want it: %v", what, got, hsts)
	}
}

var (
	inputRE = regexp.MustCompile(`<input [^>]*>`)
	idRE    = regexp.MustCompile(`\bid="([^"]+)"`)
)

// accessible fails unless the page has a language, no inline style or
// script, and a label for every visible input.
func accessible(t *testing.T, what, body string) {
	t.Helper()
	if !strings.Contains(body, `<html lang="en">`) {
		t.Errorf("%s: no <html lang>", what)
	}
	for _, bad := range []string{"<script", "<style", " style=", " onclick=", " onsubmit=", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Errorf("%s: inline %q", what, bad)
		}
	}
	for _, in := range inputRE.FindAllString(body, -1) {
		if strings.Contains(in, `type="hidden"`) || strings.Contains(in, " hidden>") {
			continue
		}
		id := idRE.FindStringSubmatch(in)
		if id == nil || !strings.Contains(body, `<label for="`+id[1]+`">`) {
			t.Errorf("%s: input without a label: %s", what, in)
		}
	}
}

// Every page, and every kind of answer (form, error, message, redirect),
// carries the security headers; cookies carry their flags; pages are
// accessible and free of inline code.
func TestSecurityHeadersAndCookies(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	e.invite(t, tenant, email(2))
	invite := pathOf(t, e.mailTo(t, email(2), 1, "/invite/"))
	b := newBrowserless(t, e.URL)

	for _, path := range []string{"/login", "/forgot-password", invite, "/invite/unknown", "/reset/unknown"} {
		p := b.get(path)
		securityHeaders(t, "GET "+path, p.Header, false)
		accessible(t, "GET "+path, p.Body)
		if ct := p.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
	}
	// The anti-forgery cookie.
	res := rawGet(t, e.URL+"/login")
	csrf := cookieNamed(res, "roster_csrf")
	if csrf == nil || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Path != "/" || csrf.Secure {
		t.Fatalf("csrf cookie over http: %+v", csrf)
	}
	// Errors, refusals and redirects carry the headers too.
	p := b.post("/login", "", nil)
	securityHeaders(t, "refused POST /login", p.Header, false)
	accessible(t, "refused POST", p.Body)
	p = b.submit("/login", fieldsOf("login", email(1), "password", "wrong-wrong-wrong"))
	securityHeaders(t, "failed POST /login", p.Header, false)
	accessible(t, "failed POST /login", p.Body)
	p = b.submit(invite, fieldsOf("name", "", "password", "x"))
	accessible(t, "invitation form with errors", p.Body)

	// The session cookie, as a browser receives it.
	login := b.get("/login")
	form := url.Values{"csrf_token": {login.csrf(t)}, "login": {email(1)}, "password": {goodPassword}}
	req, _ := http.NewRequest("POST", e.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "roster_csrf", Value: b.cookie("roster_csrf")})
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	securityHeaders(t, "redirect after sign-in", res.Header, false)
	sess := cookieNamed(res, web.SessionCookie)
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Secure ||
		sess.MaxAge != 12*3600 || !strings.HasPrefix(sess.Value, "rs_") {
		t.Fatalf("session cookie over http: %+v", sess)
	}
	b.jar.SetCookies(mustURL(t, e.URL), []*http.Cookie{sess})
	account := b.get("/account")
	securityHeaders(t, "GET /account", account.Header, false)
	accessible(t, "GET /account", account.Body)

	// The stylesheet and icon are served, and may be cached.
	css := regexp.MustCompile(`href="(/assets/roster\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(account.Body)
	if css == nil {
		t.Fatal("no stylesheet link")
	}
	res = rawGet(t, e.URL+css[1])
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(res.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("stylesheet: %d %v", res.StatusCode, res.Header)
	}
	if res := rawGet(t, e.URL+"/assets/nothing.css"); res.StatusCode != 404 {
		t.Fatalf("unknown asset: %d", res.StatusCode)
	}
}

// Over TLS the pages add HSTS, the cookies are Secure, and the anti-forgery
// cookie takes the __Host- prefix.
func TestSecureCookiesOverTLS(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	ts := httptest.NewTLSServer(server.New(server.Options{Service: e.Service, Surfaces: []server.Surface{web.New(e.Service, nil)}}))
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := ts.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Get(ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	securityHeaders(t, "GET /login over TLS", res.Header, true)
	csrf := cookieNamed(res, "__Host-roster_csrf")
	if csrf == nil || !csrf.Secure || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Path != "/" || csrf.Domain != "" {
		t.Fatalf("csrf cookie over TLS: %+v", res.Cookies())
	}
	token := csrfRE.FindStringSubmatch(string(body))[1]
	// A session under the plain name, from before the __Host- one: signing
	// in ends it and removes its cookie.
	_, plain, err := e.Service.Login(context.Background(), service.LoginInput{Login: email(1), Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := url.Parse(ts.URL)
	jar.SetCookies(site, []*http.Cookie{{Name: web.SessionCookie, Value: plain, Path: "/", Secure: true, HttpOnly: true}})
	res, err = c.PostForm(ts.URL+"/login", url.Values{"csrf_token": {token}, "login": {email(1)}, "password": {goodPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if _, err := e.Service.Authenticate(context.Background(), plain); err == nil || slices.ContainsFunc(jar.Cookies(site),
		func(c *http.Cookie) bool { return c.Name == web.SessionCookie }) {
		t.Fatalf("the plain session after signing in: %v; cookies %v", err, jar.Cookies(site))
	}
	sess := cookieNamed(res, web.SecureSessionCookie)
	if res.StatusCode != http.StatusSeeOther || sess == nil || !sess.Secure || !sess.HttpOnly || sess.Path != "/" || sess.Domain != "" {
		t.Fatalf("sign-in over TLS: %d %+v", res.StatusCode, res.Cookies())
	}
	// The prefixed cookie is the one read.
	if res, err = c.Get(ts.URL + "/account"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the account page with the secure session cookie: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
}

// Behind a proxy that terminates TLS, an https public URL makes cookies
// Secure although the request reached roster in plain HTTP.
func TestSecureCookiesBehindAnHTTPSProxy(t *testing.T) {
	e := testsupport.Start(t, testsupport.Options{Web: true, Config: service.Config{PublicURL: "https://id.example.com"}})
	res := rawGet(t, e.URL+"/login")
	securityHeaders(t, "GET /login behind https", res.Header, true)
	if c := cookieNamed(res, "__Host-roster_csrf"); c == nil || !c.Secure {
		t.Fatalf("cookies behind an https proxy: %+v", res.Cookies())
	}
}

// The server's logs hold the route pattern of a link, never its token.
func TestNoTokenInLogs(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.invite(t, tenant, email(1))
	link := e.mailTo(t, email(1), 1, "/invite/")
	b := newBrowserless(t, e.URL)
	b.get(pathOf(t, link)).want(t, 200)
	b.submit(pathOf(t, link), fieldsOf("name", "Ada", "password", "short")).want(t, 422)
	b.submit(pathOf(t, link), fieldsOf("name", "Ada", "password", goodPassword))
	b.submit("/forgot-password", fieldsOf("email", email(1)))
	reset := e.mailTo(t, email(1), 2, "/reset/")
	b.submit(pathOf(t, reset), fieldsOf("password", "Brand-New-Passphrase-2")).want(t, 200)
	logs := e.Logs()
	for _, want := range []string{`route="GET /invite/{token}" path="GET /invite/{token}"`, `path="POST /reset/{token}"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %s", want)
		}
	}
	e.noSecretsLogged(t, tokenOf(link), tokenOf(reset), b.cookie("roster_csrf"))
}

func rawGet(t *testing.T, u string) *http.Response {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func cookieNamed(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
