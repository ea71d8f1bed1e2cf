package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// loginPage shows the sign-in form.
func (p *Pages) loginPage(w http.ResponseWriter, r *http.Request) {
	p.renderLogin(w, r, http.StatusOK, &view{})
}

func (p *Pages) renderLogin(w http.ResponseWriter, r *http.Request, status int, v *view) {
	v.Title = "Sign in"
	v.Action = "/login"
	v.CSRF = p.csrfToken(w, r)
	p.render(w, r, status, "login", v)
}

// loginSubmit signs a person in with an email or username and a password.
// An unknown account and a wrong password get the same answer; repeated
// failures are throttled by the service.
func (p *Pages) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	sess, token, err := p.svc.Login(r.Context(), service.LoginInput{Login: login, Password: r.PostForm.Get("password"),
		ClientAddr: httpx.ClientIP(r)})
	if err == nil {
		p.startSession(w, r, token, sess.ExpiresAt)
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	v := &view{Values: map[string]string{"login": login}}
	e := core.AsError(err)
	switch e.Code {
	case core.CodeUnauthenticated:
		v.Alert = "The email, username or password is not right. Check them and try again."
		p.renderLogin(w, r, http.StatusUnauthorized, v)
	case core.CodeRateLimited:
		retry := max(e.RetryAfter, 1)
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		v.Alert = "Too many failed attempts to sign in. Wait " + seconds(retry) +
			" before trying again, or set a new password through \u201cForgot your password?\u201d."
		p.renderLogin(w, r, http.StatusTooManyRequests, v)
	default:
		if status, ok := formError(w, err, v); ok {
			p.renderLogin(w, r, status, v)
			return
		}
		p.fail(w, r, err)
	}
}

// logout ends the browser's session and removes its cookie.
func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	pr, _, err := p.signedIn(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if pr != nil {
		if err := p.svc.Logout(r.Context(), pr); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	p.endSessionCookie(w, r)
	p.say(w, r, http.StatusOK, "Signed out", &message{Heading: "You are signed out",
		Paragraphs: []string{"Your session has ended on this browser."},
		Links:      []link{{Href: "/login", Text: "Sign in again"}}})
}

// account shows who is signed in, with a form to sign out.
func (p *Pages) account(w http.ResponseWriter, r *http.Request) {
	pr, token, err := p.signedIn(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if pr == nil {
		if p.sessionToken(r) != "" {
			p.endSessionCookie(w, r)
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	u, err := p.svc.Me(r.Context(), pr)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	acc := &accountView{Name: u.DisplayName(), Email: u.Email, Username: u.Username,
		ProviderRoles: strings.Join(u.ProviderRoles, ", ")}
	for _, m := range u.Memberships {
		roles := slices.Clone(m.Roles)
		slices.Sort(roles)
		acc.Tenants = append(acc.Tenants, tenantRoles{Name: m.TenantName, Roles: strings.Join(roles, ", ")})
	}
	p.render(w, r, http.StatusOK, "account", &view{Title: "Your account", Account: acc, CSRF: sessionCSRF(token), Action: "/logout"})
}
