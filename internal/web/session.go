package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/service"
)

// SessionCookie holds the session token the service gave at sign-in;
// SecureSessionCookie over https, where its __Host- prefix keeps a
// neighbouring subdomain from planting one (as for the CSRF cookie).
const (
	SessionCookie       = "roster_session"
	SecureSessionCookie = "__Host-roster_session"
)

func (p *Pages) sessionCookie(r *http.Request) string {
	if p.secure(r) {
		return SecureSessionCookie
	}
	return SessionCookie
}

// CSRFField is the hidden form field with the anti-forgery token.
const CSRFField = "csrf_token"

// csrfCookie names the cookie of the double-submit token. Over https it
// has the __Host- prefix, which browsers only accept from this very host
// (Secure, Path=/, no Domain): a neighbouring subdomain cannot plant one.
func (p *Pages) csrfCookie(r *http.Request) string {
	if p.secure(r) {
		return "__Host-roster_csrf"
	}
	return "roster_csrf"
}

// csrfToken returns the double-submit token of the browser, making one
// (and its cookie) when the browser has none. Forms that people fill in
// before signing in carry it.
func (p *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(p.csrfCookie(r)); err == nil && wellFormedToken(c.Value) {
		return c.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: p.csrfCookie(r), Value: token, Path: "/", HttpOnly: true,
		Secure: p.secure(r), SameSite: http.SameSiteStrictMode})
	// A token made during a POST is for the form shown again: the request
	// must see it too.
	r.AddCookie(&http.Cookie{Name: p.csrfCookie(r), Value: token})
	return token
}

func wellFormedToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// sessionCSRF is the anti-forgery token of forms shown to a signed-in
// person: derived from the session token, which only the browser holding
// the HttpOnly cookie knows, so no other site can compute it.
func sessionCSRF(sessionToken string) string {
	sum := sha256.Sum256([]byte("roster csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkCSRF verifies the anti-forgery token of a form POST: the form's
// field must equal the double-submit cookie or, for a signed-in person,
// the token bound to their session. Anything else is refused with 403 and
// a page that says what to do; the caller stops.
func (p *Pages) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		p.say(w, r, http.StatusBadRequest, "The form could not be read", &message{Heading: "The form could not be read", Alert: true,
			Paragraphs: []string{"What the browser sent was not a form this page understands, or it was too large. Go back and try again."}})
		return false
	}
	sent := r.PostForm.Get(CSRFField)
	if sent != "" {
		if c, err := r.Cookie(p.csrfCookie(r)); err == nil && wellFormedToken(c.Value) && equal(sent, c.Value) {
			return true
		}
		if tok := p.sessionToken(r); tok != "" && equal(sent, sessionCSRF(tok)) {
			return true
		}
	}
	back := r.URL.Path
	if r.Pattern == "POST /logout" {
		back = "/account"
	}
	p.say(w, r, http.StatusForbidden, "This form has expired", &message{Heading: "This form has expired", Alert: true,
		Paragraphs: []string{
			"The form was refused because it did not carry this site's security token. That happens when the page was open for a long time, " +
				"when cookies are blocked for this site, or when another website tried to send the form in your name.",
			"Nothing was changed. Open the page again, and send the form from there.",
		},
		Links: []link{{Href: back, Text: "Open the page again"}}})
	return false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// sessionToken returns the session token of the browser's cookie, if it
// looks like one. Only session tokens are accepted: an API key in the
// cookie is ignored.
func (p *Pages) sessionToken(r *http.Request) string { return sessionTokenIn(r, p.sessionCookie(r)) }

func sessionTokenIn(r *http.Request, cookie string) string {
	c, err := r.Cookie(cookie)
	if err != nil || !strings.HasPrefix(c.Value, service.SessionPrefix) || len(c.Value) > 512 {
		return ""
	}
	return c.Value
}

// signedIn authenticates the browser's session cookie. It returns nil when
// there is none, or when it no longer works.
func (p *Pages) signedIn(r *http.Request) (*core.Principal, string, error) {
	return p.signedInWith(r, p.sessionToken(r))
}

func (p *Pages) signedInWith(r *http.Request, tok string) (*core.Principal, string, error) {
	if tok == "" {
		return nil, "", nil
	}
	pr, err := p.svc.Authenticate(r.Context(), tok)
	if core.ErrorCode(err) == core.CodeUnauthenticated || (err == nil && pr.Kind != core.PrincipalSession) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return pr, tok, nil
}

// endSession ends the session of tok, if it still works.
func (p *Pages) endSession(r *http.Request, tok string) {
	if pr, _, err := p.signedInWith(r, tok); err == nil && pr != nil {
		if err := p.svc.Logout(r.Context(), pr); err != nil {
			p.log.WarnContext(r.Context(), "ending a session the browser held", "error", err)
		}
	}
}

// setSessionCookie sets a session cookie, or removes it (maxAge < 0).
func setSessionCookie(w http.ResponseWriter, name, value string, maxAge int, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// startSession puts a new session's token in the cookie. A session the
// browser held before is ended first: one browser, one login.
func (p *Pages) startSession(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	p.endSession(r, p.sessionToken(r))
	p.endPlainSession(w, r)
	maxAge := int(expires.Sub(p.svc.Now()) / time.Second)
	setSessionCookie(w, p.sessionCookie(r), token, max(maxAge, 1), p.secure(r))
}

// endSessionCookie removes the session cookie.
func (p *Pages) endSessionCookie(w http.ResponseWriter, r *http.Request) {
	p.endPlainSession(w, r)
	setSessionCookie(w, p.sessionCookie(r), "", -1, p.secure(r))
}

// endPlainSession, over https, ends the session of a cookie under the
// plain name (set before the __Host- one, or planted) and removes the
// cookie: it is never read there, and signing in or out must not leave a
// live token behind in the browser.
func (p *Pages) endPlainSession(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(SessionCookie); err != nil || !p.secure(r) {
		return
	}
	p.endSession(r, sessionTokenIn(r, SessionCookie))
	setSessionCookie(w, SessionCookie, "", -1, true)
}
