package ece

import (
	"net/http"
	"time"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// tokenJSON is ECE's TokenResponse. ECE's current document requires
// session_expiration_time; an API key that never expires has none.
type tokenJSON struct {
	Token                 string     `json:"token"`
	SessionExpirationTime *time.Time `json:"session_expiration_time,omitempty"`
}

// writeToken answers with a token, which no cache or replay may keep.
func writeToken(w http.ResponseWriter, token string, expires time.Time) {
	out := tokenJSON{Token: token}
	if !expires.IsZero() {
		out.SessionExpirationTime = &expires
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, "", out)
}

// loginBody is ECE's LoginRequest. login_state asks ECE's web console for
// a redirect to its SSO page, which roster does not have: it is ignored and
// the token is returned in the body, as ECE does without it.
type loginBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// POST /api/v1/users/auth/_login: a session token, used as
// "Authorization: Bearer <token>".
func (d *Dialect) login(w http.ResponseWriter, r *http.Request) error {
	var b loginBody
	body, err := httpx.ReadBody(r)
	if err != nil {
		return err
	}
	if err := httpx.DecodeJSONBytes(body, &b, false); err != nil {
		return err
	}
	sess, token, err := d.svc.Login(r.Context(), service.LoginInput{Login: b.Username, Password: b.Password,
		ClientAddr: httpx.ClientIP(r)})
	if err != nil {
		return err
	}
	writeToken(w, token, sess.ExpiresAt)
	return nil
}

// POST /api/v1/users/auth/_elevate. roster elevates the credential the
// caller presented (session or API key) until the configured time; the
// answer's token is that same credential, now elevated, so a client that
// switches to the returned token, as ECE's clients do, keeps working. The
// body (ECE's deprecated MFA token) is not needed and not read.
func (d *Dialect) elevate(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if _, err := d.svc.Elevate(r.Context(), p); err != nil {
		return err
	}
	writeToken(w, credential(r), p.ExpiresAt)
	return nil
}

// DELETE /api/v1/users/auth/_elevate ends the elevation early.
func (d *Dialect) deelevate(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if err := d.svc.Deelevate(r.Context(), p); err != nil {
		return err
	}
	writeToken(w, credential(r), p.ExpiresAt)
	return nil
}

// POST /api/v1/users/auth/_refresh extends a login session by the session
// lifetime (Elastic's Go SDK calls it every minute while logged in with a
// user name and password). The token stays the same.
func (d *Dialect) refresh(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	expires, err := d.svc.RefreshSession(r.Context(), p)
	if err != nil {
		return err
	}
	writeToken(w, credential(r), expires)
	return nil
}
