package web

import (
	"net/http"
	"strings"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
)

// invitePage shows the invitation behind a link. Looking never consumes
// it: mail scanners fetch links too, and only the form's POST acts.
func (p *Pages) invitePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	iv, err := p.svc.ViewInvitation(r.Context(), token)
	if err != nil {
		p.inviteProblem(w, r, iv, err)
		return
	}
	if iv.Status != core.InvitationPending {
		p.inviteProblem(w, r, iv, nil)
		return
	}
	v := &view{Values: map[string]string{"name": presetName(iv.User)}}
	p.renderInvite(w, r, http.StatusOK, token, iv, v)
}

// inviteSubmit activates the invited user with the name and password of
// the form, signs them in, and sends them to their account page.
func (p *Pages) inviteSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	token := r.PathValue("token")
	name := r.PostForm.Get("name")
	_, sess, sessToken, err := p.svc.AcceptInvitation(r.Context(), token,
		service.AcceptInput{Name: name, Password: r.PostForm.Get("password")})
	if err == nil {
		p.startSession(w, r, sessToken, sess.ExpiresAt)
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	v := &view{Values: map[string]string{"name": name}}
	status, shown := formError(w, err, v)
	if !shown && core.ErrorCode(err) != core.CodeInvitationInvalid {
		p.fail(w, r, err)
		return
	}
	// Show the invitation as it is now: a failed attempt may have locked
	// it, or it was used or withdrawn meanwhile.
	iv, verr := p.svc.ViewInvitation(r.Context(), token)
	if verr != nil || iv.Status != core.InvitationPending {
		p.inviteProblem(w, r, iv, verr)
		return
	}
	p.renderInvite(w, r, status, token, iv, v)
}

func (p *Pages) renderInvite(w http.ResponseWriter, r *http.Request, status int, token string, iv service.InvitationView, v *view) {
	v.Title = "Join " + iv.OrgName
	v.Invite = &iv
	v.Action = "/invite/" + token
	v.Policy = password.DescribeAll(iv.PasswordPolicies)
	v.CSRF = p.csrfToken(w, r)
	p.render(w, r, status, "invite", v)
}

// presetName is the name the inviter gave, offered in the form.
func presetName(u core.User) string {
	if u.Name != "" {
		return u.Name
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// inviteProblem renders the page of an invitation that cannot be accepted:
// unknown (err set), used, expired, withdrawn or locked. Each says which,
// and how to get a new one.
func (p *Pages) inviteProblem(w http.ResponseWriter, r *http.Request, iv service.InvitationView, err error) {
	if err != nil && core.ErrorCode(err) != core.CodeInvitationInvalid {
		p.fail(w, r, err)
		return
	}
	askWhom := "Ask the person who invited you to send you a new invitation."
	if err == nil {
		askWhom = "Ask " + iv.InviterName + ", who invited you to " + iv.OrgName + ", to send you a new invitation" +
			" (or the administrators of " + iv.OrgName + ", if you do not know them)."
	}
	signIn := []link{{Href: "/login", Text: "Sign in"}, {Href: "/forgot-password", Text: "Forgot your password?"}}
	switch {
	case err != nil:
		p.say(w, r, http.StatusNotFound, "Invitation link not valid", &message{Heading: "This invitation link is not valid", Alert: true,
			Paragraphs: []string{
				"roster knows no invitation with this link. Email programs sometimes cut long links in two: " +
					"make sure you opened the whole link from the email, or copy it into the address bar.",
				askWhom,
			}})
	case iv.Status == core.InvitationAccepted:
		p.say(w, r, http.StatusGone, "Invitation already used", &message{Heading: "This invitation has already been used", Alert: true,
			Paragraphs: []string{
				"The account " + iv.Invitation.Email + " was set up with this invitation, and a link works only once. " +
					"Sign in with the password chosen then; if you do not remember it, ask for a password reset.",
			},
			Links: signIn})
	case iv.Status == core.InvitationExpired:
		p.say(w, r, http.StatusGone, "Invitation expired", &message{Heading: "This invitation has expired", Alert: true,
			Paragraphs: []string{
				"The invitation for " + iv.Invitation.Email + " to " + iv.OrgName + " was valid until " + utc(iv.Invitation.ExpiresAt) + ".",
				askWhom,
			}})
	case iv.Locked:
		p.say(w, r, http.StatusGone, "Invitation locked", &message{Heading: "This invitation is locked", Alert: true,
			Paragraphs: []string{
				"Too many attempts were made to accept the invitation for " + iv.Invitation.Email + ", so it stopped working. Your account is still there.",
				askWhom,
			}})
	default:
		// Revoked, replaced by a newer invitation, or the user was
		// disabled or removed meanwhile.
		p.say(w, r, http.StatusGone, "Invitation withdrawn", &message{Heading: "This invitation has been withdrawn", Alert: true,
			Paragraphs: []string{
				"The invitation for " + iv.Invitation.Email + " to " + iv.OrgName + " no longer works: it was cancelled, or replaced by a newer one. " +
					"If you received a newer invitation email, use the link in that one.",
				askWhom,
			}})
	}
}
