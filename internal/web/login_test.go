package web_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/service"
	"roster/internal/testsupport"
	"roster/internal/web"
)

// Signing in sets the session cookie and leads to the account page;
// signing out ends the session on the server too.
func TestLoginAndLogout(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	b := newBrowserless(t, e.URL)

	// Not signed in: the account page sends to the sign-in page.
	if p := b.get("/account"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
		t.Fatalf("account without a session: %d %v", p.Status, p.Header)
	}
	b.get("/login").want(t, 200, `<label for="login">Email or username</label>`, `<label for="password">Password</label>`,
		`autocomplete="current-password"`, `href="/forgot-password"`)
	p := b.submit("/login", fieldsOf("login", strings.ToUpper(email(1)), "password", goodPassword))
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account" {
		t.Fatalf("login: %d %v\n%s", p.Status, p.Header, p.Body)
	}
	session := b.cookie(web.SessionCookie)
	if !strings.HasPrefix(session, "rs_") {
		t.Fatalf("session cookie %q", session)
	}
	account := b.get("/account").want(t, 200, "Alice Example", email(1), "Initech", `action="/logout"`)
	api := testsupport.NewClient(t, e.URL, nil).Bearer(session)
	api.Do("GET", "/v1/me", nil).Want(t, 200)

	// The username works too, and a new sign-in ends the browser's old
	// session.
	e.admin.Do("PATCH", "/v1/users/"+e.userID(t, email(1)), map[string]any{"username": "alice"}).Want(t, 200)
	if p := b.submit("/login", fieldsOf("login", "alice", "password", goodPassword)); p.Status != http.StatusSeeOther {
		t.Fatalf("login by username: %d\n%s", p.Status, p.Body)
	}
	if b.cookie(web.SessionCookie) == session {
		t.Fatal("a new sign-in kept the old session token")
	}
	api.Do("GET", "/v1/me", nil).Want(t, 401)
	session = b.cookie(web.SessionCookie)
	account = b.get("/account").want(t, 200)

	// Sign out, with the account page's token.
	b.post("/logout", account.csrf(t), nil).want(t, 200, "You are signed out")
	if b.cookie(web.SessionCookie) != "" {
		t.Fatal("the session cookie survived signing out")
	}
	testsupport.NewClient(t, e.URL, nil).Bearer(session).Do("GET", "/v1/me", nil).Want(t, 401)
	if p := b.get("/account"); p.Status != http.StatusSeeOther {
		t.Fatalf("account after signing out: %d", p.Status)
	}
	e.noSecretsLogged(t, session)
}

// userID finds a user by email.
func (e *env) userID(t *testing.T, addr string) string {
	t.Helper()
	for _, u := range e.admin.Do("GET", "/v1/users?q="+addr, nil).Want(t, 200).Map(t)["items"].([]any) {
		if m := u.(map[string]any); m["email"] == addr {
			return m["id"].(string)
		}
	}
	t.Fatalf("no user %s", addr)
	return ""
}

var requestIDRE = regexp.MustCompile(`"request_id":"[^"]*"`)

// An unknown email and a wrong password get the same answer, on the page
// and on the API: same status, same body (but for what was typed, and the
// API's request id).
func TestLoginAnswersAlikeForUnknownAndWrong(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	b := newBrowserless(t, e.URL)

	wrong := b.submit("/login", fieldsOf("login", email(1), "password", "Not-The-Password-1"))
	unknown := b.submit("/login", fieldsOf("login", email(2), "password", "Not-The-Password-1"))
	if wrong.Status != 401 || unknown.Status != 401 {
		t.Fatalf("statuses %d and %d", wrong.Status, unknown.Status)
	}
	if w, u := strings.ReplaceAll(wrong.Body, email(1), "X"), strings.ReplaceAll(unknown.Body, email(2), "X"); w != u {
		t.Fatalf("the pages differ:\n%s\n---\n%s", w, u)
	}
	if !strings.Contains(wrong.Body, "The email, username or password is not right.") || !strings.Contains(wrong.Body, `value="`+email(1)+`"`) {
		t.Fatalf("the page does not say what went wrong, or lost the login typed:\n%s", wrong.Body)
	}
	// A screen reader hears the page is an error from its title, and the
	// fields point at the message.
	if !strings.Contains(wrong.Body, "<title>Error: Sign in") || strings.Count(wrong.Body, `aria-describedby="form-alert"`) != 2 {
		t.Fatalf("the failed sign-in page does not mark the error:\n%s", wrong.Body)
	}

	apiWrong := e.apiLogin(t, email(1), "Not-The-Password-1")
	apiUnknown := e.apiLogin(t, email(2), "Not-The-Password-1")
	if apiWrong.Status != 401 || apiUnknown.Status != 401 {
		t.Fatalf("API statuses %d and %d", apiWrong.Status, apiUnknown.Status)
	}
	if w, u := requestIDRE.ReplaceAllString(apiWrong.String(), ""), requestIDRE.ReplaceAllString(apiUnknown.String(), ""); w != u {
		t.Fatalf("the API answers differ:\n%s\n%s", w, u)
	}
	// An invited user who has not accepted yet is answered alike too.
	e.invite(t, tenant, email(3))
	invited := b.submit("/login", fieldsOf("login", email(3), "password", "Not-The-Password-1"))
	if invited.Status != 401 || strings.ReplaceAll(invited.Body, email(3), "X") != strings.ReplaceAll(wrong.Body, email(1), "X") {
		t.Fatalf("an invited user is answered otherwise: %d", invited.Status)
	}
}

// Repeated wrong passwords lock the account out for a while: the page
// says to wait (429, Retry-After), and so does POST /v1/auth/login, even
// with the right password; once the wait is over, the right password works.
func TestLoginThrottling(t *testing.T) {
	e := start(t, service.Config{LoginFreeFailures: 3, LoginMaxLockout: 10 * time.Minute})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	b := newBrowserless(t, e.URL)

	// Three free failures, then one that starts a lockout.
	for i := 0; i < 4; i++ {
		b.submit("/login", fieldsOf("login", email(1), "password", "Wrong-Password-"+strconv.Itoa(i))).want(t, 401)
	}
	p := b.submit("/login", fieldsOf("login", email(1), "password", goodPassword)).want(t, 429,
		"Too many failed attempts to sign in. Wait a second before trying again")
	if p.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", p.Header.Get("Retry-After"))
	}
	if b.cookie(web.SessionCookie) != "" {
		t.Fatal("a throttled sign-in set a session")
	}
	r := e.apiLogin(t, email(1), goodPassword).Want(t, 429)
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("API Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Each further failure doubles the wait.
	e.ManualClock().Advance(time.Second)
	b.submit("/login", fieldsOf("login", email(1), "password", "Wrong-Password-4")).want(t, 401)
	p = b.submit("/login", fieldsOf("login", email(1), "password", goodPassword)).want(t, 429, "Wait 2 seconds")
	if p.Header.Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q after another failure", p.Header.Get("Retry-After"))
	}
	e.ManualClock().Advance(2 * time.Second)
	if p := b.submit("/login", fieldsOf("login", email(1), "password", goodPassword)); p.Status != http.StatusSeeOther {
		t.Fatalf("after the wait: %d\n%s", p.Status, p.Body)
	}
	// An unknown account is throttled exactly alike.
	for i := 0; i < 4; i++ {
		b.submit("/login", fieldsOf("login", email(9), "password", "Wrong-Password-"+strconv.Itoa(i))).want(t, 401)
	}
	b.submit("/login", fieldsOf("login", email(9), "password", goodPassword)).want(t, 429, "Wait a second")
}

// An account has one lockout, whether its email or its username is typed,
// and a password reset ends it.
func TestLockoutIsTheAccounts(t *testing.T) {
	e := start(t, service.Config{LoginFreeFailures: 3, LoginMaxLockout: 10 * time.Minute})
	tenant, _ := e.tenant(t, "Initech")
	id := e.register(t, tenant, email(1), goodPassword)
	e.admin.Do("PATCH", "/v1/users/"+id, map[string]any{"username": "person1"}).Want(t, 200)
	b := newBrowserless(t, e.URL)
	for i := 0; i < 2; i++ {
		b.submit("/login", fieldsOf("login", email(1), "password", "Wrong-Password-"+strconv.Itoa(i))).want(t, 401)
	}
	for i := 2; i < 4; i++ {
		b.submit("/login", fieldsOf("login", "PERSON1", "password", "Wrong-Password-"+strconv.Itoa(i))).want(t, 401)
	}
	b.submit("/login", fieldsOf("login", "person1", "password", goodPassword)).want(t, 429)
	e.apiLogin(t, email(1), goodPassword).Want(t, 429)

	b.submit("/forgot-password", fieldsOf("email", email(1))).want(t, 200)
	path := pathOf(t, e.mailTo(t, email(1), 1, "/reset/"))
	const newPassword = "Brand-New-Passphrase-2"
	b.post(path, b.get(path).csrf(t), fieldsOf("password", newPassword)).want(t, 200, "Your password has been changed")
	e.apiLogin(t, "person1", newPassword).Want(t, 200)
}

// Attempts made at once meet the throttle one after another: of forty
// wrong passwords sent together to one account, only its five free ones
// and the one that starts its lockout are checked, and the right password
// right after is refused. Many people signing in at once from one address
// (everyone behind one proxy) do not lock the address out.
func TestConcurrentLoginsMeetTheThrottle(t *testing.T) {
	e := start(t, service.Config{LoginFreeFailures: 5, LoginFreeFailuresIP: 10})
	tenant, _ := e.tenant(t, "Initech")
	for i := range 12 {
		e.register(t, tenant, email(i), goodPassword)
	}
	all := func(n int, body func(i int) string) map[int]int {
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(e.URL+"/v1/auth/login", "application/json", strings.NewReader(body(i)))
				if err != nil {
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		counted := map[int]int{}
		for _, st := range statuses {
			counted[st]++
		}
		return counted
	}
	right := func(i int) string { return `{"email":"` + email(i) + `","password":"` + goodPassword + `"}` }
	if got := all(12, right); got[200] != 12 {
		t.Fatalf("twelve people signing in at once from one address were answered %v", got)
	}
	got := all(40, func(i int) string {
		return `{"email":"` + email(1) + `","password":"Wrong-Password-` + strconv.Itoa(i) + `"}`
	})
	if got[401] != 6 || got[429] != 34 {
		t.Fatalf("forty wrong passwords at once were answered %v, want 6 checked (401) and 34 refused (429)", got)
	}
	e.apiLogin(t, email(1), goodPassword).Want(t, 429)
}

// Every form POST without the anti-forgery pair is refused with 403, and
// changes nothing: the invitation, sign-in, sign-out, forgotten password and
// reset forms. A token from another browser does not help either.
func TestEveryFormNeedsTheCSRFToken(t *testing.T) {
	e := start(t, service.Config{})
	tenant, _ := e.tenant(t, "Initech")
	e.register(t, tenant, email(1), goodPassword)
	e.invite(t, tenant, email(2))
	invite := pathOf(t, e.mailTo(t, email(2), 1, "/invite/"))
	victim := newBrowserless(t, e.URL)
	victim.submit("/forgot-password", fieldsOf("email", email(1))).want(t, 200)
	reset := pathOf(t, e.mailTo(t, email(1), 1, "/reset/"))
	victim.submit("/login", fieldsOf("login", email(1), "password", goodPassword))
	session := victim.cookie(web.SessionCookie)
	if session == "" {
		t.Fatal("no session")
	}

	attacker := newBrowserless(t, e.URL)
	foreign := attacker.get("/login").csrf(t) // a valid token, of another browser
	forms := []struct {
		path   string
		fields map[string]string
	}{
		{invite, fieldsOf("name", "Mallory", "password", "Mallory-Password-1")},
		{"/login", fieldsOf("login", email(1), "password", goodPassword)},
		{"/logout", nil},
		{"/forgot-password", fieldsOf("email", email(1))},
		{reset, fieldsOf("password", "Mallory-Password-1")},
	}
	for _, f := range forms {
		for name, csrf := range map[string]string{"no token": "", "a made-up token": strings.Repeat("A", 43), "another browser's token": foreign} {
			victim.post(f.path, csrf, f.fields).want(t, 403, "This form has expired", "Nothing was changed")
			if victim.cookie(web.SessionCookie) != session {
				t.Fatalf("%s with %s changed the session cookie", f.path, name)
			}
		}
		// A browser with no cookie at all, sending a token it copied.
		fresh := newBrowserless(t, e.URL)
		fresh.post(f.path, victim.cookie("roster_csrf"), f.fields).want(t, 403)
	}
	// Nothing happened: the invitation is pending, the reset link unused,
	// the session alive, only one reset email sent.
	if inv := e.invitation(t, tenant, email(2)); inv["status"] != "pending" {
		t.Fatalf("invitation: %v", inv)
	}
	victim.get(reset).want(t, 200, "Choose a new password")
	testsupport.NewClient(t, e.URL, nil).Bearer(session).Do("GET", "/v1/me", nil).Want(t, 200)
	e.apiLogin(t, email(1), goodPassword).Want(t, 200)
	time.Sleep(200 * time.Millisecond)
	if n := len(e.smtp.Messages()); n != 2 {
		t.Fatalf("%d emails sent, want 2 (the invitation, one reset)", n)
	}
	// With the pair, each works.
	if p := victim.submit(invite, fieldsOf("name", "Bob", "password", goodPassword)); p.Status != http.StatusSeeOther {
		t.Fatalf("invite with the token: %d", p.Status)
	}
}
