package ece

import (
	"net/http"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

// tokenJSON is ECE's TokenResponse.
type tokenJSON struct {
	Token string `json:"token"`
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
	_, token, err := d.svc.Login(r.Context(), service.LoginInput{Login: b.Username, Password: b.Password,
		ClientAddr: httpx.ClientIP(r)})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "", tokenJSON{Token: token})
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
	httpx.WriteJSON(w, http.StatusOK, "", tokenJSON{Token: credential(r)})
	return nil
}

// DELETE /api/v1/users/auth/_elevate ends the elevation early.
func (d *Dialect) deelevate(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if err := d.svc.Deelevate(r.Context(), p); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "", tokenJSON{Token: credential(r)})
	return nil
}

// POST /api/v1/users/auth/_refresh extends a login session by the session
// lifetime (Elastic's Go SDK calls it every minute while logged in with a
// user name and password). The token stays the same.
func (d *Dialect) refresh(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if _, err := d.svc.RefreshSession(r.Context(), p); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "", tokenJSON{Token: credential(r)})
	return nil
}
