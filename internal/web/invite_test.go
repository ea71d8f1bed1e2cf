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

// A mail scanner fetches the link (GET and HEAD, again and again): the
// invitation stays pending and the person can still accept it afterwards.
func TestScannerFetchLeavesInvitationPending(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.invite(t, tenant, email(1))
	link := e.mailTo(t, email(1), 1, "/invite/")
	path := pathOf(t, link)

	scanner := newBrowserless(t, e.URL)
	// A link mangled on its way (a slash added) or fetched with a method no
	// route has matches nothing; its token stays out of the log all the same.
	// Nor does it reach the answer, which no cache keeps.
	for _, res := range []*page{scanner.get(path+"/").want(t, 404), scanner.do("PUT", path, nil).want(t, http.StatusMethodNotAllowed)} {
		if strings.Contains(res.Body, tokenOf(link)) || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("an unmatched link's answer (Cache-Control %q): %s", res.Header.Get("Cache-Control"), res.Body)
		}
	}
	for i := 0; i < 3; i++ {
		p := scanner.get(path).want(t, 200, "Administrator", email(1), "Initech", "Create my account")
		if !p.hasForm() {
			t.Fatal("the invitation page shows no form")
		}
		if res := scanner.do("HEAD", path, nil); res.Status != 200 {
			t.Fatalf("HEAD: %d", res.Status)
		}
	}
	inv := e.invitation(t, tenant, email(1))
	if inv["status"] != "pending" || inv["accepted_at"] != nil || inv["failed_attempts"] != 0.0 {
		t.Fatalf("after the scanner: %v", inv)
	}
	// The person comes after the scanner, and the link works.
	person := newBrowserless(t, e.URL)
	p := person.submit(path, fieldsOf("name", "Ada Lovelace", "password", goodPassword))
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account" || person.cookie(web.SessionCookie) == "" {
		t.Fatalf("accept: %d %v cookie %q\n%s", p.Status, p.Header, person.cookie(web.SessionCookie), p.Body)
	}
	if inv := e.invitation(t, tenant, email(1)); inv["status"] != "accepted" {
		t.Fatalf("after accepting: %v", inv)
	}
	person.get("/account").want(t, 200, "Ada Lovelace", email(1), "Initech", "tenant-user")
	e.apiLogin(t, email(1), goodPassword).Want(t, 200)
	e.noSecretsLogged(t, tokenOf(link), person.cookie(web.SessionCookie))
}

// The invitation page says who invited whom to which tenant, and the rule
// the password must meet; a form error shows next to the field and in the
// summary, and the password typed is never sent back.
func TestInvitationFormErrors(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.admin.Do("POST", "/v1/users", map[string]any{"email": email(1), "tenant_id": tenant, "name": "Ada"}).Want(t, 201)
	path := pathOf(t, e.mailTo(t, email(1), 1, "/invite/"))
	b := newBrowserless(t, e.URL)
	b.get(path).want(t, 200,
		"<strong>Administrator</strong> invited you, <strong>"+email(1)+"</strong>, to the account <strong>Initech</strong>",
		`value="Ada"`, "At least 12 characters", `<label for="name">`, `<label for="password">`)

	secret := "tooshort"
	p := b.submit(path, fieldsOf("name", "", "password", secret)).want(t, 422,
		`role="alert"`, `<a href="#name">Name is required.</a>`, `<a href="#password">Password must be at least 12 characters.</a>`,
		`<p class="field-error" id="password-error">Password must be at least 12 characters.</p>`,
		`aria-describedby="password-hint password-error" aria-invalid="true"`, `<p class="field-error" id="name-error">Name is required.</p>`)
	if strings.Contains(p.Body, secret) {
		t.Fatal("the page echoes the password")
	}
	b.submit(path, fieldsOf("name", "Ada L", "password", "password1234")).want(t, 422, "Password is too common", `value="Ada L"`)

	// A tenant with the complex policy says so, and enforces it.
	complexTenant := e.admin.Do("POST", "/v1/tenants", map[string]any{"name": "Strict", "password_policy": "complex"}).Want(t, 201).Map(t)["id"].(string)
	e.invite(t, complexTenant, email(2))
	path2 := pathOf(t, e.mailTo(t, email(2), 1, "/invite/"))
	b.get(path2).want(t, 200, "12 to 50 characters, with an upper-case letter")
	b.submit(path2, fieldsOf("name", "Bob", "password", "tangerine-kayak-41")).want(t, 422, "Password must contain an upper-case letter (A-Z).")
	if b.submit(path2, fieldsOf("name", "Bob", "password", goodPassword)).Status != http.StatusSeeOther {
		t.Fatal("a password meeting the complex policy was refused")
	}

	// Invited into a lax tenant, then added to the strict one before
	// accepting: the page says both rules, and the lax one alone is refused.
	lax, _ := e.tenant(t, "Lax")
	both := e.invite(t, lax, email(4))
	e.admin.Do("PUT", "/v1/tenants/"+complexTenant+"/members/"+both, map[string]any{"roles": []string{"tenant-user"}}).Want(t, 200)
	path4 := pathOf(t, e.mailTo(t, email(4), 1, "/invite/"))
	b.get(path4).want(t, 200, "12 to 50 characters, with an upper-case letter", "Common passwords, and ones made from your email")
	b.submit(path4, fieldsOf("name", "Dee", "password", "tangerine-kayak-41")).want(t, 422, "Password must contain an upper-case letter (A-Z).")
	if b.submit(path4, fieldsOf("name", "Dee", "password", goodPassword)).Status != http.StatusSeeOther {
		t.Fatal("a password meeting both tenants' policies was refused")
	}

	// An invitation to the provider level names the provider.
	e.admin.Do("POST", "/v1/users", map[string]any{"email": email(3), "roles": []string{"provider-viewer"}}).Want(t, 201)
	path3 := pathOf(t, e.mailTo(t, email(3), 1, "/invite/"))
	b.get(path3).want(t, 200, "<h1>Join roster</h1>", "<strong>Administrator</strong> invited you, <strong>"+email(3)+"</strong>, to roster.")
	if b.submit(path3, fieldsOf("name", "Carol", "password", goodPassword)).Status != http.StatusSeeOther {
		t.Fatal("a provider-level invitation was not accepted")
	}
	b.get("/account").want(t, 200, "Roles at roster", "provider-viewer")
}

// A used link shows "already used" and no form, on GET and on POST.
func TestUsedLink(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.invite(t, tenant, email(1))
	path := pathOf(t, e.mailTo(t, email(1), 1, "/invite/"))
	b := newBrowserless(t, e.URL)
	form := b.get(path)
	if b.post(path, form.csrf(t), fieldsOf("name", "Ada", "password", goodPassword)).Status != http.StatusSeeOther {
		t.Fatal("accept failed")
	}
	p := b.get(path).want(t, 410, "This invitation has already been used", email(1), `href="/login"`, `href="/forgot-password"`)
	if p.hasForm() {
		t.Fatal("a used link still shows the form")
	}
	// The form of a page opened before is refused, and changes nothing.
	b.post(path, form.csrf(t), fieldsOf("name", "Mallory", "password", "Another-Password-99")).want(t, 410, "already been used")
	e.apiLogin(t, email(1), goodPassword).Want(t, 200)
	e.apiLogin(t, email(1), "Another-Password-99").Want(t, 401)
}

// Resending kills the old link: it shows "withdrawn" and its form is
// refused; the new link works. Revoking does the same.
func TestResendKillsOldLink(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	id := e.invite(t, tenant, email(1))
	old := pathOf(t, e.mailTo(t, email(1), 1, "/invite/"))
	b := newBrowserless(t, e.URL)
	oldForm := b.get(old).want(t, 200)

	e.admin.Do("POST", "/v1/users/"+id+"/invitations", nil).Want(t, 201)
	fresh := pathOf(t, e.mailTo(t, email(1), 2, "/invite/"))
	if fresh == old {
		t.Fatal("the resent email has the old link")
	}
	p := b.get(old).want(t, 410, "This invitation has been withdrawn", "use the link in that one", "Ask Administrator")
	if p.hasForm() {
		t.Fatal("the old link still shows a form")
	}
	b.post(old, oldForm.csrf(t), fieldsOf("name", "Ada", "password", goodPassword)).want(t, 410, "withdrawn")
	if b.submit(fresh, fieldsOf("name", "Ada", "password", goodPassword)).Status != http.StatusSeeOther {
		t.Fatal("the new link does not work")
	}
	e.apiLogin(t, email(1), goodPassword).Want(t, 200)

	// Revoked through the API.
	e.invite(t, tenant, email(2))
	path := pathOf(t, e.mailTo(t, email(2), 1, "/invite/"))
	inv := e.invitation(t, tenant, email(2))
	e.admin.Do("DELETE", "/v1/invitations/"+inv["id"].(string), nil).Want(t, 204)
	b.get(path).want(t, 410, "This invitation has been withdrawn")

	// A new email withdraws the link sent to the old one: whoever reads
	// the old mailbox cannot take the account; a resend goes to the new.
	id = e.invite(t, tenant, email(3))
	path = pathOf(t, e.mailTo(t, email(3), 1, "/invite/"))
	e.admin.Do("PATCH", "/v1/users/"+id, map[string]any{"email": email(4)}).Want(t, 200)
	// The page names the address the link was sent to: whoever holds a
	// link mailed to a mistyped address must not learn the corrected one.
	if p := b.get(path).want(t, 410, "This invitation has been withdrawn", email(3)); strings.Contains(p.Body, email(4)) {
		t.Fatalf("the withdrawn link shows the user's new email:\n%s", p.Body)
	}
	e.admin.Do("POST", "/v1/users/"+id+"/invitations", nil).Want(t, 201)
	if b.submit(pathOf(t, e.mailTo(t, email(4), 1, "/invite/")), fieldsOf("name", "Ada", "password", goodPassword)).Status != http.StatusSeeOther {
		t.Fatal("the link sent to the new email does not work")
	}

	// So does a new email given by an import's upsert.
	id = e.invite(t, tenant, email(5))
	path = pathOf(t, e.mailTo(t, email(5), 1, "/invite/"))
	e.admin.Do("POST", "/v1/users/import?mode=upsert", `{"id":"`+id+`","email":"`+email(6)+`","tenant_id":"`+tenant+`"}`+"\n",
		testsupport.ContentType("application/x-ndjson")).Want(t, 200)
	b.get(path).want(t, 410, "This invitation has been withdrawn")

	// An unknown token has its own page.
	p = b.get("/invite/not-a-real-token").want(t, 404, "This invitation link is not valid", "Ask the person who invited you")
	if p.hasForm() {
		t.Fatal("an unknown link shows a form")
	}
}

// Past its expiry an invitation shows the expired page, with when it
// ended and whom to ask; its form is refused.
func TestInvitationExpires(t *testing.T) {
	e := start(t, service.Config{InviteTTL: 48 * time.Hour})
	tenant, _ := e.tenant(t, "Initech")
	e.invite(t, tenant, email(1))
	path := pathOf(t, e.mailTo(t, email(1), 1, "/invite/"))
	b := newBrowserless(t, e.URL)
	form := b.get(path).want(t, 200, "This invitation works until 3 June 2026, 09:00 UTC")

	e.ManualClock().Advance(48*time.Hour - time.Second)
	b.get(path).want(t, 200, "Create my account")
	e.ManualClock().Advance(time.Second)
	p := b.get(path).want(t, 410, "This invitation has expired", "was valid until 3 June 2026, 09:00 UTC", "Ask Administrator, who invited you to Initech")
	if p.hasForm() {
		t.Fatal("an expired invitation shows a form")
	}
	b.post(path, form.csrf(t), fieldsOf("name", "Ada", "password", goodPassword)).want(t, 410, "has expired")
	if inv := e.invitation(t, tenant, email(1)); inv["status"] != "expired" {
		t.Fatalf("invitation: %v", inv)
	}
	e.apiLogin(t, email(1), goodPassword).Want(t, 401)
}

// Too many failed attempts lock the invitation; the user stays, invited.
func TestTooManyFailuresLockTheInvitation(t *testing.T) {
	e := start(t, service.Config{InviteMaxFailures: 3})
	tenant, _ := e.tenant(t, "Initech")
	id := e.invite(t, tenant, email(1))
	path := pathOf(t, e.mailTo(t, email(1), 1, "/invite/"))
	b := newBrowserless(t, e.URL)
	for i := 1; i < 3; i++ {
		b.submit(path, fieldsOf("name", "Ada", "password", "short")).want(t, 422, "at least 12 characters")
	}
	b.submit(path, fieldsOf("name", "Ada", "password", "short")).want(t, 410, "This invitation is locked", "Your account is still there")
	p := b.get(path).want(t, 410, "This invitation is locked")
	if p.hasForm() {
		t.Fatal("a locked invitation shows a form")
	}
	// Not even the right password gets through now.
	b.post(path, b.cookie("roster_csrf"), fieldsOf("name", "Ada", "password", goodPassword)).want(t, 410, "This invitation is locked")
	u := e.admin.Do("GET", "/v1/users/"+id, nil).Want(t, 200).Map(t)
	if u["status"] != "invited" {
		t.Fatalf("the user after the lock: %v", u)
	}
	if inv := e.invitation(t, tenant, email(1)); inv["failed_attempts"] != 3.0 || inv["accepted_at"] != nil {
		t.Fatalf("invitation: %v", inv)
	}
	e.apiLogin(t, email(1), goodPassword).Want(t, 401)
	// A new invitation works again.
	e.admin.Do("POST", "/v1/users/"+id+"/invitations", nil).Want(t, 201)
	fresh := pathOf(t, e.mailTo(t, email(1), 2, "/invite/"))
	if b.submit(fresh, fieldsOf("name", "Ada", "password", goodPassword)).Status != http.StatusSeeOther {
		t.Fatal("the new invitation does not work")
	}
}
