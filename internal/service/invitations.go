package service

import (
	"context"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// issued is a new invitation with the secret for its link.
type issued struct {
	inv   core.Invitation
	token string
}

// newInvitation prepares an invitation for u into tenantID (empty for the
// provider level). Every path that invites goes through here, so that what
// an invitation carries is decided in one place.
func (s *Service) newInvitation(u core.User, tenantID string, ttl time.Duration, actor string) issued {
	now := s.now()
	id := core.NewID()
	token, hash := core.NewToken(id)
	return issued{token: token, inv: core.Invitation{ID: id, UserID: u.ID, TenantID: tenantID,
		Email: u.Email, InvitedBy: actor, TokenHash: hash, State: core.InvitationPending,
		ExpiresAt: now.Add(ttl), CreatedAt: now}}
}

// InvitationResult is an invitation with the secret of its link, which goes
// only into the email.
type InvitationResult struct {
	Invitation core.Invitation
	Token      string
}

// ResendInvitation issues a new invitation to an invited user: a new token
// and expiry; the previous token stops working at once.
func (s *Service) ResendInvitation(ctx context.Context, p *core.Principal, ref core.UserRef, ttl time.Duration) (InvitationResult, error) {
	u, err := s.getUser(ctx, p, ref)
	if err != nil {
		return InvitationResult{}, err
	}
	if u.Status == core.UserDeleted {
		return InvitationResult{}, core.Errorf(core.CodeNotFound, "user not found")
	}
	if !canManageUser(p, u) && !s.managesInvitationTenant(p, u) {
		return InvitationResult{}, forbidden("you may not invite this user")
	}
	if err := reinvitable(u); err != nil {
		return InvitationResult{}, err
	}
	if ttl != 0 && (ttl < minInviteTTL || ttl > maxInviteTTL) {
		return InvitationResult{}, core.FieldInvalid("invite_ttl", "out_of_range", "must be between 5 minutes and 30 days")
	}
	var out InvitationResult
	err = s.inTx(ctx, func(tx store.Tx) error {
		// The user is held, so that resends at once (on two nodes) end
		// each other's links in turn, and an accept is seen.
		cur, err := lockedUser(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if !canManageUser(p, cur) && !s.managesInvitationTenant(p, cur) {
			return forbidden("you may not invite this user")
		}
		if err := reinvitable(cur); err != nil {
			return err
		}
		prev, err := tx.ListInvitations(ctx, store.InvitationFilter{UserID: u.ID})
		if err != nil {
			return err
		}
		// The new invitation goes where the last one went (the provider,
		// while the user still has a provider role, or a tenant the user is
		// still in), else to a tenant the user is in now.
		tenantID, decided := "", false
		if n := len(prev); n > 0 {
			if last := prev[n-1].TenantID; last == "" {
				decided = len(cur.ProviderRoles) > 0 // still someone of the provider's
			} else {
				_, decided = cur.Membership(last)
			}
			if decided {
				tenantID = prev[n-1].TenantID
			}
		}
		if !decided && len(cur.Memberships) > 0 {
			tenantID = cur.Memberships[0].TenantID
		}
		var tenant *core.Tenant
		if tenantID != "" {
			t, err := lockedTenant(ctx, tx, tenantID)
			if err != nil {
				return err
			}
			if t.Status != core.TenantActive {
				// As creating a user there is refused.
				return core.FieldInvalid("tenant_id", "inactive", "the invitation's tenant is "+string(t.Status))
			}
			tenant = &t
		}
		now := s.now()
		for _, old := range prev {
			if old.State == core.InvitationPending {
				if _, err := tx.RevokeInvitation(ctx, old.ID, now); err != nil {
					return err
				}
			}
		}
		// To the user as it is now: an email changed since the read has
		// ended the links to the old one.
		iss := s.newInvitation(cur, tenantID, s.inviteTTL(ttl, tenant), p.Actor())
		out = InvitationResult{Invitation: iss.inv, Token: iss.token}
		return s.enqueueInvitation(ctx, tx, p, cur, tenant, iss)
	})
	if err != nil {
		return InvitationResult{}, err
	}
	s.mailEnqueued()
	s.log.InfoContext(ctx, "invitation resent", "user_id", u.ID, "invitation_id", out.Invitation.ID, "actor", p.Actor())
	return out, nil
}

// reinvitable refuses a resend to a user who is not waiting for an
// invitation or has nowhere to receive one. It is asked before the resend
// and again of the user as it is under the resend's lock.
func reinvitable(u core.User) error {
	if u.Status != core.UserInvited {
		return &core.Error{Code: core.CodeAlreadyActive, Message: "this user has already accepted the invitation"}
	}
	if u.Email == "" {
		return core.FieldInvalid("email", "required", "the user has no email to send an invitation to")
	}
	return nil
}

// managesInvitationTenant lets a tenant administrator re-invite a user
// whose only place is their tenant, even when canManageUser's outranking
// rule would not apply because the invitee holds no role yet.
func (s *Service) managesInvitationTenant(p *core.Principal, u core.User) bool {
	if len(u.ProviderRoles) > 0 || len(u.Memberships) != 1 {
		return false
	}
	return canManageTenant(p, u.Memberships[0].TenantID)
}

// LatestInvitation returns the user's newest invitation that p may see, or
// not found: a user in two tenants has invitations into each, and one
// tenant's readers see only their own tenant's.
func (s *Service) LatestInvitation(ctx context.Context, p *core.Principal, ref core.UserRef) (core.Invitation, error) {
	u, err := s.getUser(ctx, p, ref)
	if err != nil {
		return core.Invitation{}, err
	}
	f := store.InvitationFilter{UserID: u.ID}
	if !seesWhole(p, u.ID) {
		f.TenantIDs = []string{} // none, unless p sees some
		for id := range p.TenantRoles {
			if showsTenant(p, u.ID, id) {
				f.TenantIDs = append(f.TenantIDs, id)
			}
		}
	}
	invs, err := s.store.ListInvitations(ctx, f)
	if err != nil {
		return core.Invitation{}, err
	}
	if len(invs) == 0 {
		return core.Invitation{}, core.Errorf(core.CodeNotFound, "the user has no invitation")
	}
	latest := invs[0]
	for _, inv := range invs[1:] {
		if inv.CreatedAt.After(latest.CreatedAt) || (inv.CreatedAt.Equal(latest.CreatedAt) && inv.ID > latest.ID) {
			latest = inv
		}
	}
	return latest, nil
}

// InvitationQuery lists invitations.
type InvitationQuery struct {
	TenantID string
	Statuses []core.InvitationStatus
	Cursor   string
	Limit    int
}

// InvitationPage is a page of invitations.
type InvitationPage struct {
	Invitations []core.Invitation
	NextCursor  string
}

// ListInvitations lists invitations into tenants the principal manages.
func (s *Service) ListInvitations(ctx context.Context, p *core.Principal, q InvitationQuery) (InvitationPage, error) {
	v := &core.Validation{}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > MaxPageSize {
		v.Add("limit", "out_of_range", "must be at most 1000")
	}
	for _, st := range q.Statuses {
		switch st {
		case core.InvitationPending, core.InvitationAccepted, core.InvitationExpired, core.InvitationRevoked:
		default:
			v.Add("status", "invalid", "must be pending, accepted, expired or revoked")
		}
	}
	f := store.InvitationFilter{States: q.Statuses, At: s.now(), Limit: q.Limit + 1}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			v.Add("cursor", "invalid", "is not a cursor this server gave out")
		}
		f.After = after
	}
	if q.TenantID != "" {
		checkID(v, "tenant_id", q.TenantID)
	}
	if err := v.Err(); err != nil {
		return InvitationPage{}, err
	}
	switch {
	case q.TenantID != "" && !canManageTenant(p, q.TenantID):
		return InvitationPage{}, forbidden("you may not read this tenant's invitations")
	case q.TenantID != "":
		f.TenantIDs = []string{q.TenantID}
	case !isProviderAdmin(p):
		f.TenantIDs = tenantsWhere(p, func(r core.Role) bool { return r.Manage })
	}
	invs, err := s.store.ListInvitations(ctx, f)
	if err != nil {
		return InvitationPage{}, err
	}
	page := InvitationPage{Invitations: invs}
	if len(invs) > q.Limit {
		page.Invitations = invs[:q.Limit]
		page.NextCursor = encodeCursor(page.Invitations[q.Limit-1].ID)
	}
	return page, nil
}

// RevokeInvitation stops a pending invitation from working.
func (s *Service) RevokeInvitation(ctx context.Context, p *core.Principal, id string) (core.Invitation, error) {
	notFound := core.Errorf(core.CodeNotFound, "invitation not found")
	if !core.ValidID(id) {
		return core.Invitation{}, notFound
	}
	inv, err := s.store.GetInvitation(ctx, id)
	if err != nil {
		return inv, err
	}
	if !(isProviderAdmin(p) || (inv.TenantID != "" && canManageTenant(p, inv.TenantID))) {
		return core.Invitation{}, notFound
	}
	if st := inv.Status(s.now()); st != core.InvitationPending {
		return inv, &core.Error{Code: core.CodeConflict, Message: "the invitation is " + string(st) + ", not pending"}
	}
	now := s.now()
	revoked := false
	if err := s.inTx(ctx, func(tx store.Tx) (err error) {
		revoked, err = tx.RevokeInvitation(ctx, inv.ID, now)
		return err
	}); err != nil {
		return core.Invitation{}, err
	}
	if !revoked {
		// Accepted (or revoked) since it was read: that stands.
		return inv, &core.Error{Code: core.CodeConflict, Message: "the invitation is no longer pending"}
	}
	inv.State, inv.RevokedAt = core.InvitationRevoked, &now
	s.log.InfoContext(ctx, "invitation revoked", "invitation_id", inv.ID, "actor", p.Actor())
	return inv, nil
}
