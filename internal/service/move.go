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
	src, u, err := s.memberTarget(ctx, p, from, userRef)
	if err != nil {
		return u, err
	}
	old, ok := u.Membership(src.ID)
	if !ok {
		return u, core.Errorf(core.CodeNotFound, "the user is not a member of this tenant")
	}
	dst, _, err := s.memberTarget(ctx, p, to, userRef)
	if err != nil {
		return u, err
	}
	if dst.ID == src.ID {
		return u, nil
	}
	if _, ok := u.Membership(dst.ID); ok {
		return u, &core.Error{Code: core.CodeConflict, Message: "the user is already a member of the target tenant",
			Fields: []core.FieldError{{Field: "tenant_id", Code: "taken", Message: "the user is already a member of this tenant"}}}
	}
	for i, r := range old.Roles {
		role, ok := core.LookupRole(r)
		if !ok {
			continue
		}
		if err := checkGrant(p, dst.ID, role, fmt.Sprintf("roles[%d]", i)); err != nil {
			return u, err
		}
	}
	now := s.now()
	m := core.Membership{TenantID: dst.ID, UserID: u.ID, Roles: core.NormalizeRoles(old.Roles), CreatedAt: now}
	err = s.inTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteMembership(ctx, src.ID, u.ID); err != nil {
			return err
		}
		return tx.PutMembership(ctx, m)
	})
	if err != nil {
		return u, err
	}
	s.log.InfoContext(ctx, "member moved", "user_id", u.ID, "from_tenant_id", src.ID, "to_tenant_id", dst.ID, "actor", p.Actor())
	return s.store.GetUser(ctx, core.UserRef{ID: u.ID})
}
