package web

import (
	"net/http"
	"strings"

	"roster/internal/core"
	"roster/internal/password"
)

// forgotPage asks for the email of the account whose password is lost.
func (p *Pages) forgotPage(w http.ResponseWriter, r *http.Request) {
	p.renderForgot(w, r, http.StatusOK, &view{})
}

func (p *Pages) renderForgot(w http.ResponseWriter, r *http.Request, status int, v *view) {
	v.Title = "Forgot your password?"
	v.Action = "/forgot-password"
	v.CSRF = p.csrfToken(w, r)
	p.render(w, r, status, "forgot", v)
}

// forgotSubmit asks the service to email a reset link. The answer is the
// same page whether or not the account exists.
func (p *Pages) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if err := p.svc.RequestPasswordReset(r.Context(), email); err != nil {
		v := &view{Values: map[string]string{"email": email}}
		if status, ok := formError(w, err, v); ok {
			p.renderForgot(w, r, status, v)
			return
		}
		p.fail(w, r, err)
		return
	}
	p.say(w, r, http.StatusOK, "Check your email", &message{Heading: "Check your email",
		Paragraphs: []string{
			"If " + email + " belongs to an active account, an email with a link to choose a new password is on its way. " +
				"The link works once, for " + duration(p.svc.Config().ResetTTL) + ".",
			"No email after a few minutes? Look in your spam folder, check the address, or ask the administrators of your account.",
		},
		Links: []link{{Href: "/login", Text: "Back to sign in"}}})
}

// resetPage shows the form to choose a new password, if the link works.
func (p *Pages) resetPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	rv, err := p.svc.ViewPasswordReset(r.Context(), token)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !rv.Valid {
		p.resetProblem(w, r, rv.Reason)
		return
	}
	p.renderReset(w, r, http.StatusOK, token, rv.Email, rv.PasswordPolicies, &view{})
}

func (p *Pages) renderReset(w http.ResponseWriter, r *http.Request, status int, token, email string, policies []string, v *view) {
	v.Title = "Choose a new password"
	v.Action = "/reset/" + token
	v.Email = email
	v.Policy = password.DescribeAll(policies)
	v.CSRF = p.csrfToken(w, r)
	p.render(w, r, status, "reset", v)
}

// resetSubmit sets the new password. The service ends every session of
// the account, this browser's included.
func (p *Pages) resetSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	token := r.PathValue("token")
	u, err := p.svc.ResetPassword(r.Context(), token, r.PostForm.Get("password"))
	if err == nil {
		p.endSessionCookie(w, r)
		p.say(w, r, http.StatusOK, "Password changed", &message{Heading: "Your password has been changed",
			Paragraphs: []string{"The account " + u.Email + " has its new password. For your safety, every session of the account was signed out; sign in again with the new password."},
			Links:      []link{{Href: "/login", Text: "Sign in"}}})
		return
	}
	v := &view{}
	status, shown := formError(w, err, v)
	if !shown && core.ErrorCode(err) != core.CodeInvitationInvalid {
		p.fail(w, r, err)
		return
	}
	rv, verr := p.svc.ViewPasswordReset(r.Context(), token)
	if verr != nil {
		p.fail(w, r, verr)
		return
	}
	if !rv.Valid {
		p.resetProblem(w, r, rv.Reason)
		return
	}
	p.renderReset(w, r, status, token, rv.Email, rv.PasswordPolicies, v)
}

// resetProblem renders the page of a reset link that does not work: unknown,
// used or expired, each with the way to a new one.
func (p *Pages) resetProblem(w http.ResponseWriter, r *http.Request, reason string) {
	again := []link{{Href: "/forgot-password", Text: "Ask for a new link"}, {Href: "/login", Text: "Sign in"}}
	switch reason {
	case "used":
		p.say(w, r, http.StatusGone, "Reset link already used", &message{Heading: "This password reset link has already been used", Alert: true,
			Paragraphs: []string{"A reset link works only once, and this one has set a password already. Sign in with it, or ask for a new link."},
			Links:      again})
	case "expired":
		p.say(w, r, http.StatusGone, "Reset link expired", &message{Heading: "This password reset link has expired", Alert: true,
			Paragraphs: []string{"Reset links work for " + duration(p.svc.Config().ResetTTL) + ". Ask for a new one; it comes by email."},
			Links:      again})
	default:
		p.say(w, r, http.StatusNotFound, "Reset link not valid", &message{Heading: "This password reset link is not valid", Alert: true,
			Paragraphs: []string{"roster knows no reset with this link. Make sure you opened the whole link from the email, or ask for a new one."},
			Links:      again})
	}
}
