package service

import (
	"context"
	"fmt"

	"roster/internal/core"
	"roster/internal/store"
)

// MoveMember moves a user from one tenant to another in one transaction:
// the membership in from is replaced by one in to with the same roles, and
// the user leaves from's resource groups, which belong to from. The caller
// must manage both tenants and be allowed to grant the roles in to. Moving a
// user to the tenant it is in changes nothing; moving it to a tenant it
// already belongs to as well is a conflict.
func (s *Service) MoveMember(ctx context.Context, p *core.Principal, userRef core.UserRef, from, to core.TenantRef) (core.User, error) {
	return showTo(p)(retryChanged(func() (core.User, error) { return s.moveMember(ctx, p, userRef, from, to) }))
}

func (s *Service) moveMember(ctx context.Context, p *core.Principal, userRef core.UserRef, from, to core.TenantRef) (core.User, error) {
	c, u, err := s.planMove(ctx, p, userRef, from, to)
	if err != nil || c.empty() {
		return u, err
	}
	if err := s.inTx(ctx, func(tx store.Tx) error { return c.apply(ctx, tx) }); err != nil {
		return u, err
	}
	c.logged(ctx, s, p)
	return s.store.GetUser(ctx, core.UserRef{ID: u.ID})
}

// planMove checks a move as MoveMember describes it and returns the writes
// that make it (none when the user is in to already).
func (s *Service) planMove(ctx context.Context, p *core.Principal, userRef core.UserRef, from, to core.TenantRef) (memberChange, core.User, error) {
	src, u, err := s.memberTarget(ctx, p, from, userRef)
	if err != nil {
		return memberChange{}, u, err
	}
	old, ok := u.Membership(src.ID)
	if !ok {
		return memberChange{}, u, core.Errorf(core.CodeNotFound, "the user is not a member of this tenant")
	}
	dst, _, err := s.memberTarget(ctx, p, to, userRef)
	if err != nil {
		return memberChange{}, u, err
	}
	if dst.ID == src.ID {
		return memberChange{}, u, nil
	}
	if err := joinable(dst); err != nil {
		return memberChange{}, u, err
	}
	if _, ok := u.Membership(dst.ID); ok {
		return memberChange{}, u, &core.Error{Code: core.CodeConflict, Message: "the user is already a member of the target tenant",
			Fields: []core.FieldError{{Field: "tenant_id", Code: "taken", Message: "the user is already a member of this tenant"}}}
	}
	for i, r := range old.Roles {
		role, ok := core.LookupRole(r)
		if !ok {
			continue
		}
		if err := checkGrant(p, dst.ID, role, fmt.Sprintf("roles[%d]", i)); err != nil {
			return memberChange{}, u, err
		}
	}
	m := core.Membership{TenantID: dst.ID, UserID: u.ID, Roles: core.NormalizeRoles(old.Roles), CreatedAt: s.now()}
	return memberChange{remove: src.ID, put: &m, read: u, p: p}, u, nil
}

// memberChange is a checked change of one user's memberships: a membership
// that goes, one that is set, or both (a move).
type memberChange struct {
	remove string
	put    *core.Membership
	// read is the user the change was checked on (the roles a move
	// copies, the permission to make it), by p.
	read core.User
	p    *core.Principal
}

func (c memberChange) empty() bool { return c.remove == "" && c.put == nil }

// apply makes the change, on the user and the tenant as they are now: if
// the user's access changed since read, the change is planned again
// (errChangedMeanwhile); a new membership needs the tenant active now.
func (c memberChange) apply(ctx context.Context, tx store.Tx) error {
	if c.empty() {
		return nil
	}
	// Planned again if what the plan decided on changed: the user's
	// status and provider roles, its memberships in the tenants this
	// change touches, and whether p may still see it. A membership added
	// meanwhile in another tenant (another request adding the user there)
	// changes none of that.
	cur, err := lockedUser(ctx, tx, c.read.ID)
	if err != nil {
		return err
	}
	if !sameIn(c.read, cur, c.put.TenantID, c.remove) || !canReadUser(c.p, cur) {
		return errChangedMeanwhile
	}
	if _, member := cur.Membership(c.put.TenantID); !member {
		if err := joinableNow(ctx, tx, c.put.TenantID); err != nil {
			return err
		}
	}
	if c.remove != "" {
		if err := tx.DeleteMembership(ctx, c.remove, c.put.UserID); err != nil {
			return err
		}
		// A link into the tenant the user left opens nothing; a resend
		// invites the user to the new one.
		f := store.InvitationFilter{UserID: c.put.UserID, TenantIDs: []string{c.remove}}
		if err := revokePending(ctx, tx, f, c.put.CreatedAt); err != nil {
			return err
		}
	}
	if c.put != nil {
		return tx.PutMembership(ctx, *c.put)
	}
	return nil
}

func (c memberChange) logged(ctx context.Context, s *Service, p *core.Principal) {
	switch {
	case c.put == nil:
	case c.remove != "":
		s.log.InfoContext(ctx, "member moved", "user_id", c.put.UserID, "from_tenant_id", c.remove, "to_tenant_id", c.put.TenantID, "actor", p.Actor())
	default:
		s.log.InfoContext(ctx, "membership set", "tenant_id", c.put.TenantID, "user_id", c.put.UserID, "roles", c.put.Roles, "actor", p.Actor())
	}
}
