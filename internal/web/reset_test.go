package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/internal/service"
	"roster/internal/testsupport"
	"roster/internal/web"
)

// A forgotten password, end to end over SMTP: the request page answers
// alike for known and unknown emails, the email's link shows the form, the
// new password works and the old one does not, every other session ends,
// and the link works once.
func TestPasswordResetOverSMTP(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	other := e.apiLogin(t, email(1), goodPassword).Want(t, 200).Map(t)["token"].(string)

	b := newBrowserless(t, e.URL)
	b.get("/forgot-password").want(t, 200, `<label for="email">Email</label>`)
	b.submit("/forgot-password", fieldsOf("email", "not an email")).want(t, 422, "Email must be an email address such as name@example.com.")
	known := b.submit("/forgot-password", fieldsOf("email", email(1))).want(t, 200, "Check your email", "The link works once, for 1 hour.")
	unknown := b.submit("/forgot-password", fieldsOf("email", email(2))).want(t, 200)
	if k, u := strings.ReplaceAll(known.Body, email(1), "X"), strings.ReplaceAll(unknown.Body, email(2), "X"); k != u {
		t.Fatalf("the answers differ for a known and an unknown email:\n%s\n---\n%s", k, u)
	}
	link := e.mailTo(t, email(1), 1, "/reset/")
	path := pathOf(t, link)

	// Looking at the link, as a scanner does, uses nothing.
	b.get(path).want(t, 200, "Choose a new password", email(1), "At least 12 characters")
	b.get(path).want(t, 200, "Choose a new password")
	b.submit(path, fieldsOf("password", "short")).want(t, 422, "Password must be at least 12 characters.")
	b.submit(path, fieldsOf("password", email(1))).want(t, 422, "Password is too common")

	const newPassword = "Brand-New-Passphrase-2"
	form := b.get(path)
	b.post(path, form.csrf(t), fieldsOf("password", newPassword)).want(t, 200, "Your password has been changed", "every session of the account was signed out")
	e.apiLogin(t, email(1), newPassword).Want(t, 200)
	e.apiLogin(t, email(1), goodPassword).Want(t, 401)
	testsupport.NewClient(t, e.URL, nil).Bearer(other).Do("GET", "/v1/me", nil).Want(t, 401)

	// Single use: the link now says so, without a form, and the form of a
	// page opened before is refused.
	p := b.get(path).want(t, 410, "This password reset link has already been used", `href="/forgot-password"`)
	if p.hasForm() {
		t.Fatal("a used reset link shows a form")
	}
	b.post(path, form.csrf(t), fieldsOf("password", "Yet-Another-Passphrase-3")).want(t, 410, "already been used")
	e.apiLogin(t, email(1), "Yet-Another-Passphrase-3").Want(t, 401)
	b.get("/reset/no-such-token").want(t, 404, "This password reset link is not valid")
	e.noSecretsLogged(t, tokenOf(link), other)
}

// Whatever changes how an account is reached ends the links and sessions
// issued before it: a reset ends the other reset links; an administrator's
// new password ends the sessions and links; a new email ends the links
// mailed to the old one; a disable ends the sessions for good.
func TestAccountChangesEndEarlierLinksAndSessions(t *testing.T) {
	e := start(t, service.Config{ResetTTL: 3 * time.Hour})
	tenant, _ := e.tenant(t, "Initech")
	id := e.register(t, tenant, email(1), goodPassword)
	b := newBrowserless(t, e.URL)
	mails := 0
	requestReset := func(to string) string {
		t.Helper()
		b.submit("/forgot-password", fieldsOf("email", to)).want(t, 200)
		mails++
		return pathOf(t, e.mailTo(t, to, mails, "/reset/"))
	}
	session := func(password string) *testsupport.Client {
		t.Helper()
		tok := e.apiLogin(t, email(1), password).Want(t, 200).Map(t)["token"].(string)
		return testsupport.NewClient(t, e.URL, nil).Bearer(tok)
	}

	first, second := requestReset(email(1)), requestReset(email(1))
	b.submit(first, fieldsOf("password", "Brand-New-Passphrase-2")).want(t, 200, "Your password has been changed")
	if b.get(second).want(t, 410, "This password reset link has expired").hasForm() {
		t.Fatal("the second link still shows its form")
	}

	before, link := session("Brand-New-Passphrase-2"), requestReset(email(1))
	e.admin.Do("PATCH", "/v1/users/"+id, map[string]any{"password": "Set-By-The-Admin-4"}).Want(t, 200)
	before.Do("GET", "/v1/me", nil).Want(t, 401)
	b.get(link).want(t, 410, "expired")

	e.ManualClock().Advance(61 * time.Minute) // past the limit of three reset emails an hour
	link = requestReset(email(1))
	e.admin.Do("PATCH", "/v1/users/"+id, map[string]any{"email": "moved@initech.example"}).Want(t, 200)
	b.get(link).want(t, 410, "expired")

	before = testsupport.NewClient(t, e.URL, nil).Bearer(e.apiLogin(t, "moved@initech.example", "Set-By-The-Admin-4").Want(t, 200).Map(t)["token"].(string))
	e.admin.Do("PATCH", "/v1/users/"+id, map[string]any{"status": "disabled"}).Want(t, 200)
	e.admin.Do("PATCH", "/v1/users/"+id, map[string]any{"status": "active"}).Want(t, 200)
	before.Do("GET", "/v1/me", nil).Want(t, 401)
}

// A reset link expires; a reset signs out the browser that made it too.
func TestPasswordResetExpiresAndSignsOut(t *testing.T) {
	e := start(t, service.Config{ResetTTL: 30 * time.Minute})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	b := newBrowserless(t, e.URL)
	b.submit("/forgot-password", fieldsOf("email", email(1))).want(t, 200, "for 30 minutes")
	expiring := pathOf(t, e.mailTo(t, email(1), 1, "/reset/"))
	e.ManualClock().Advance(30 * time.Minute)
	p := b.get(expiring).want(t, 410, "This password reset link has expired", "Reset links work for 30 minutes")
	if p.hasForm() {
		t.Fatal("an expired link shows a form")
	}

	if p := b.submit("/login", fieldsOf("login", email(1), "password", goodPassword)); p.Status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.Status)
	}
	session := b.cookie(web.SessionCookie)
	b.submit("/forgot-password", fieldsOf("email", email(1))).want(t, 200)
	path := pathOf(t, e.mailTo(t, email(1), 2, "/reset/"))
	b.submit(path, fieldsOf("password", "Brand-New-Passphrase-2")).want(t, 200, "Your password has been changed")
	if b.cookie(web.SessionCookie) != "" {
		t.Fatal("the session cookie survived the reset")
	}
	testsupport.NewClient(t, e.URL, nil).Bearer(session).Do("GET", "/v1/me", nil).Want(t, 401)
}

// A user in a lax tenant and a strict one resets to a password that meets
// both: the page describes both rules, and the lax one alone is refused.
func TestPasswordResetMeetsEveryTenantsPolicy(t *testing.T) {
	e := start(t, service.Config{})
	lax, _ := e.tenant(t, "Lax")
	strict := e.admin.Do("POST", "/v1/tenants", map[string]any{"name": "Strict", "password_policy": "complex"}).Want(t, 201).Map(t)["id"].(string)
	id := e.register(t, lax, email(1), goodPassword)
	e.admin.Do("PUT", "/v1/tenants/"+strict+"/members/"+id, map[string]any{"roles": []string{"tenant-user"}}).Want(t, 200)

	b := newBrowserless(t, e.URL)
	b.submit("/forgot-password", fieldsOf("email", email(1))).want(t, 200)
	path := pathOf(t, e.mailTo(t, email(1), 1, "/reset/"))
	b.get(path).want(t, 200, "12 to 50 characters, with an upper-case letter", "Common passwords, and ones made from your email")
	b.submit(path, fieldsOf("password", "a long enough passphrase")).want(t, 422, "Password must contain an upper-case letter (A-Z).")
	b.submit(path, fieldsOf("password", "Brand-New-Passphrase-2")).want(t, 200, "Your password has been changed")
	e.apiLogin(t, email(1), "Brand-New-Passphrase-2").Want(t, 200)
}
