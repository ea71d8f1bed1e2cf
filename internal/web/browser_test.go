package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"roster/internal/service"
	"roster/internal/testsupport"
)

// The whole journey of an invited person, in a real browser, for each way
// of inviting: the invitation is made through an API, its email arrives
// over SMTP, the link opens in Chromium, a too-short password is refused in
// the form, a good one activates the account and signs in, and the chosen
// password then works on POST /v1/auth/login.
func TestInvitationInBrowser(t *testing.T) {
	e := start(t, service.Config{})
	tenantID, tenantNumber := e.tenant(t, "Initech")
	for _, c := range []struct {
		via    string
		invite func(t *testing.T, email string)
	}{
		{"native", func(t *testing.T, email string) {
			e.admin.Do("POST", "/v1/users", map[string]any{"email": email, "tenant_id": tenantID, "lang": "de"}).Want(t, 201)
		}},
		{"gpcn", func(t *testing.T, email string) {
			// No action: GPCN's default is invite.
			m := testsupport.NewClient(t, e.URL, nil).With("X-API-Key", testsupport.AdminKey).
				Do("POST", "/compat/gpcn/v1/users", map[string]any{"email": email, "entityId": tenantID,
					"firstName": "Grace", "lastName": "Hopper"}).Want(t, 201).Map(t)
			if m["message"] != "User invited successfully" {
				t.Fatalf("gpcn: %v", m)
			}
		}},
		{"gcore", func(t *testing.T, email string) {
			m := testsupport.NewClient(t, e.URL, nil).With("Authorization", "apikey "+testsupport.AdminKey).
				Do("POST", "/compat/gcore/iam/clients/invite_user", map[string]any{"email": email,
					"user_role": map[string]any{"id": 2, "name": "Users"}, "client_id": tenantNumber, "name": "Carol Shaw"}).Want(t, 200).Map(t)
			if m["status"] != "sent" {
				t.Fatalf("gcore: %v", m)
			}
		}},
	} {
		t.Run(c.via, func(t *testing.T) {
			addr := c.via + "@initech.example"
			c.invite(t, addr)
			link := e.mailTo(t, addr, 1, "/invite/")

			b := testsupport.StartBrowser(t)
			if status := b.Open(link); status != 200 {
				t.Fatalf("the invitation page answered %d", status)
			}
			b.Screenshot("invitation")
			lead := b.Text(".lead")
			if want := "Administrator invited you, " + addr + ", to the account Initech"; !strings.HasPrefix(lead, want) {
				t.Fatalf("the page says %q, want %q…", lead, want)
			}
			if hint := b.Text("#password-hint"); !strings.Contains(hint, "At least 12 characters") {
				t.Fatalf("password rule: %q", hint)
			}

			name := map[string]string{"native": "Ada Lovelace", "gpcn": "Grace Hopper", "gcore": "Carol Shaw"}[c.via]
			b.Type("#name", name)
			b.Type("#password", "short")
			if status := b.Submit("button[type=submit]"); status != 422 {
				t.Fatalf("a too-short password answered %d", status)
			}
			b.Screenshot("too-short")
			if msg := b.Text(".field-error"); msg != "Password must be at least 12 characters." {
				t.Fatalf("field error %q", msg)
			}
			if summary := b.Text("#error-summary"); !strings.Contains(summary, "Password must be at least 12 characters.") {
				t.Fatalf("summary %q", summary)
			}
			if v, err := chromedp.Run(b.Context(), chromedp.Value(chromedp.CSS("#password"))); err != nil || v != "" {
				t.Fatalf("the password field holds %q after the error (%v)", v, err)
			}
			if v, _ := chromedp.Run(b.Context(), chromedp.Value(chromedp.CSS("#name"))); v != name {
				t.Fatalf("the name field holds %q after the error", v)
			}

			password := fmt.Sprintf("Correct-Horse-%s-7", c.via)
			b.Type("#password", password)
			if status := b.Submit("button[type=submit]"); status != 200 {
				t.Fatalf("accepting answered %d", status)
			}
			if loc := b.Location(); loc != e.URL+"/account" {
				t.Fatalf("after accepting the browser is at %s", loc)
			}
			b.Screenshot("account")
			if got := b.Text("#account-name"); got != name {
				t.Fatalf("account name %q", got)
			}
			if got := b.Text("#account-email"); got != addr {
				t.Fatalf("account email %q", got)
			}
			session := b.Cookie("roster_session")
			if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteLax {
				t.Fatalf("session cookie %+v", session)
			}

			m := e.apiLogin(t, addr, password).Want(t, 200).Map(t)
			testsupport.NewClient(t, e.URL, nil).Bearer(m["token"].(string)).Do("GET", "/v1/me", nil).Want(t, 200)
			e.apiLogin(t, addr, "short").Want(t, 401)

			// The link is used now: the page says so, without a form.
			if status := b.Open(link); status != 410 {
				t.Fatalf("the used link answered %d", status)
			}
			b.Screenshot("used-link")
			if h := b.Text("h1"); h != "This invitation has already been used" {
				t.Fatalf("used link heading %q", h)
			}
			if strings.Contains(b.HTML(), "<form") {
				t.Fatal("the used link shows a form")
			}
			e.noSecretsLogged(t, tokenOf(link), session.Value)
		})
	}
}

// Every other page, in a browser with JavaScript turned off, with a
// screenshot of each: sign-in with its error, the account page and
// signing out, a forgotten password from the request to the new password,
// the pages of used, expired, withdrawn and unknown links, and the refusal
// of a form without its anti-forgery token.
func TestPagesInBrowserWithoutJavaScript(t *testing.T) {
	e := start(t, service.Config{InviteTTL: 24 * time.Hour})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	b := testsupport.StartBrowser(t)
	b.Do(chromedp.Navigate("about:blank"))
	b.DisableJavaScript()

	heading := func(want string) {
		t.Helper()
		if h := b.Text("h1"); h != want {
			t.Fatalf("heading %q, want %q", h, want)
		}
	}

	// Sign in: a wrong password, then the right one.
	if status := b.Open(e.URL + "/login"); status != 200 {
		t.Fatalf("/login: %d", status)
	}
	b.Screenshot("login")
	b.Type("#login", email(1))
	b.Type("#password", "Not-The-Password-1")
	if status := b.Submit("button[type=submit]"); status != 401 {
		t.Fatalf("wrong password: %d", status)
	}
	b.Screenshot("login-wrong-password")
	if a := b.Text("#form-alert"); a != "The email, username or password is not right. Check them and try again." {
		t.Fatalf("alert %q", a)
	}
	b.Type("#password", goodPassword)
	if status := b.Submit("button[type=submit]"); status != 200 || b.Location() != e.URL+"/account" {
		t.Fatalf("sign-in: %d at %s", status, b.Location())
	}
	heading("You are signed in")
	b.Screenshot("account")
	if status := b.Submit("form[action='/logout'] button"); status != 200 {
		t.Fatalf("sign-out: %d", status)
	}
	heading("You are signed out")
	b.Screenshot("signed-out")
	if c := b.Cookie("roster_session"); c != nil {
		t.Fatalf("the session cookie survived: %+v", c)
	}

	// A forgotten password.
	b.Open(e.URL + "/login")
	b.Do(chromedp.Click(chromedp.CSS("a[href='/forgot-password']")), chromedp.WaitVisible(chromedp.CSS("#email")))
	heading("Forgot your password?")
	b.Screenshot("forgot-password")
	b.Type("#email", email(1))
	if status := b.Submit("button[type=submit]"); status != 200 {
		t.Fatalf("forgot-password: %d", status)
	}
	heading("Check your email")
	b.Screenshot("check-your-email")
	reset := e.mailTo(t, email(1), 1, "/reset/")
	if status := b.Open(reset); status != 200 {
		t.Fatalf("reset link: %d", status)
	}
	heading("Choose a new password")
	b.Screenshot("reset")
	b.Type("#password", "password1234")
	if status := b.Submit("button[type=submit]"); status != 422 {
		t.Fatalf("a common password: %d", status)
	}
	b.Screenshot("reset-too-common")
	b.Type("#password", "Brand-New-Passphrase-2")
	if status := b.Submit("button[type=submit]"); status != 200 {
		t.Fatalf("reset: %d", status)
	}
	heading("Your password has been changed")
	b.Screenshot("reset-done")
	e.apiLogin(t, email(1), "Brand-New-Passphrase-2").Want(t, 200)
	if status := b.Open(reset); status != 410 {
		t.Fatalf("used reset link: %d", status)
	}
	b.Screenshot("reset-used")

	// Invitation links that no longer work.
	e.invite(t, tenant, email(2))
	expired := e.mailTo(t, email(2), 1, "/invite/")
	e.ManualClock().Advance(24 * time.Hour)
	if status := b.Open(expired); status != 410 {
		t.Fatalf("expired invitation: %d", status)
	}
	heading("This invitation has expired")
	b.Screenshot("invitation-expired")
	e.admin.Do("POST", "/v1/users/"+e.userID(t, email(2))+"/invitations", nil).Want(t, 201)
	if status := b.Open(expired); status != 410 {
		t.Fatalf("replaced invitation: %d", status)
	}
	heading("This invitation has been withdrawn")
	b.Screenshot("invitation-withdrawn")
	if status := b.Open(e.URL + "/invite/not-a-real-token"); status != 404 {
		t.Fatalf("unknown invitation: %d", status)
	}
	heading("This invitation link is not valid")
	b.Screenshot("invitation-unknown")

	// A form whose anti-forgery cookie is gone is refused.
	fresh := e.mailTo(t, email(2), 2, "/invite/")
	b.Open(fresh)
	b.DeleteCookie("roster_csrf", e.URL)
	b.Type("#name", "Bob")
	b.Type("#password", goodPassword)
	if status := b.Submit("button[type=submit]"); status != 403 {
		t.Fatalf("a form without its cookie: %d", status)
	}
	heading("This form has expired")
	b.Screenshot("form-refused")
	// Opening the page again, as the refusal says, makes it work.
	b.Do(chromedp.Click(chromedp.CSS("ul.links a")), chromedp.WaitVisible(chromedp.CSS("#name")))
	b.Type("#name", "Bob")
	b.Type("#password", goodPassword)
	if status := b.Submit("button[type=submit]"); status != 200 || b.Location() != e.URL+"/account" {
		t.Fatalf("after opening the page again: %d at %s", status, b.Location())
	}
}
