package api

import (
	"bytes"
	"net/http"
	"time"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

type invitationJSON struct {
	ID             string                `json:"id"`
	UserID         string                `json:"user_id"`
	TenantID       *string               `json:"tenant_id"`
	Email          string                `json:"email"`
	Status         core.InvitationStatus `json:"status"`
	InvitedBy      string                `json:"invited_by"`
	FailedAttempts int                   `json:"failed_attempts"`
	ExpiresAt      time.Time             `json:"expires_at"`
	CreatedAt      time.Time             `json:"created_at"`
	AcceptedAt     *time.Time            `json:"accepted_at"`
	RevokedAt      *time.Time            `json:"revoked_at"`
}

func toInvitation(inv core.Invitation, now time.Time) invitationJSON {
	return invitationJSON{ID: inv.ID, UserID: inv.UserID, TenantID: nullable(inv.TenantID), Email: inv.Email,
		Status: inv.Status(now), InvitedBy: inv.InvitedBy, FailedAttempts: inv.FailedAttempts, ExpiresAt: inv.ExpiresAt,
		CreatedAt: inv.CreatedAt, AcceptedAt: inv.AcceptedAt, RevokedAt: inv.RevokedAt}
}

func (a *API) listInvitations(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	q := r.URL.Query()
	v := &core.Validation{}
	query := service.InvitationQuery{TenantID: q.Get("tenant_id"), Cursor: q.Get("cursor"), Limit: queryLimit(r, v)}
	for _, st := range splitParam(q["status"]) {
		query.Statuses = append(query.Statuses, core.InvitationStatus(st))
	}
	if err := v.Err(); err != nil {
		return err
	}
	page, err := a.svc.ListInvitations(r.Context(), p, query)
	if err != nil {
		return err
	}
	now := a.svc.Now()
	items := make([]invitationJSON, 0, len(page.Invitations))
	for _, inv := range page.Invitations {
		items = append(items, toInvitation(inv, now))
	}
	writeJSON(w, http.StatusOK, list(items, page.NextCursor))
	return nil
}

type resendBody struct {
	InviteTTLSeconds int64 `json:"invite_ttl_seconds"`
}

// resendInvitation issues a new invitation for an invited user: a new link
// by email, and the previous link stops working.
func (a *API) resendInvitation(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := userRef(r, "id")
	if err != nil {
		return err
	}
	// The body is optional: none, or one of white space alone (an empty
	// chunked body has no Content-Length), is no body.
	var b resendBody
	body, err := httpx.ReadBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := httpx.DecodeJSONBytes(body, &b, true); err != nil {
			return err
		}
	}
	res, err := a.svc.ResendInvitation(r.Context(), p, ref, seconds(b.InviteTTLSeconds))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toInvitation(res.Invitation, a.svc.Now()))
	return nil
}

func (a *API) revokeInvitation(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if _, err := a.svc.RevokeInvitation(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type outboxJSON struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	MessageID     string     `json:"message_id"`
	Recipient     string     `json:"recipient"`
	Subject       string     `json:"subject"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastError     *string    `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	SentAt        *time.Time `json:"sent_at"`
}

func (a *API) listOutbox(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	q := r.URL.Query()
	v := &core.Validation{}
	query := service.OutboxQuery{Cursor: q.Get("cursor"), Limit: queryLimit(r, v)}
	switch q.Get("status") {
	case "":
	case "pending":
		query.Pending = true
	case "sent":
		query.Sent = true
	default:
		v.Add("status", "invalid", "must be pending or sent")
	}
	if err := v.Err(); err != nil {
		return err
	}
	page, err := a.svc.ListOutbox(r.Context(), p, query)
	if err != nil {
		return err
	}
	items := make([]outboxJSON, 0, len(page.Messages))
	for _, m := range page.Messages {
		o := outboxJSON{ID: m.ID, Kind: m.Kind, MessageID: m.MessageID, Recipient: m.Recipient, Subject: m.Subject,
			Status: "pending", Attempts: m.Attempts, LastError: nullable(m.LastError), CreatedAt: m.CreatedAt, SentAt: m.SentAt}
		if m.SentAt != nil {
			o.Status = "sent"
		} else {
			next := m.NextAttemptAt
			o.NextAttemptAt = &next
		}
		items = append(items, o)
	}
	writeJSON(w, http.StatusOK, list(items, page.NextCursor))
	return nil
}

type resetBody struct {
	Email string `json:"email"`
}

// requestPasswordReset answers 202 whether or not the account exists, so
// the answer reveals nothing.
func (a *API) requestPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var b resetBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := a.svc.RequestPasswordReset(r.Context(), b.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "if the account exists, an email is on its way"})
	return nil
}
