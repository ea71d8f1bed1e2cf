package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"roster/internal/core"
	"roster/internal/store"
)

// memberTarget loads what a membership change needs and checks that p may
// touch the user's place in the tenant: p manages the tenant, can see the
// user and is not outranked there by the user.
func (s *Service) memberTarget(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef) (core.Tenant, core.User, error) {
	if tenantRef.ID != "" && !core.ValidID(tenantRef.ID) {
		return core.Tenant{}, core.User{}, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	t, err := s.GetTenant(ctx, p, tenantRef)
	if err != nil {
		return t, core.User{}, err
	}
	if !canManageTenant(p, t.ID) {
		return t, core.User{}, forbidden("you may not manage this tenant's members")
	}
	if t.Status == core.TenantDeleted {
		return t, core.User{}, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	u, err := s.store.GetUser(ctx, userRef)
	if err != nil {
		return t, u, err
	}
	// A user p cannot see is not p's to add: it would reveal the user's
	// record, and a user with no other tenant would become p's to manage.
	if u.Status == core.UserDeleted || !canReadUser(p, u) {
		return t, core.User{}, core.Errorf(core.CodeNotFound, "user not found")
	}
	if m, ok := u.Membership(t.ID); ok && outranks(m, p) {
		return t, u, forbidden("this member's role is above your own")
	}
	return t, u, nil
}

// joinable refuses new members for a tenant that is not active, as creating
// or inviting a user there is refused.
func joinable(t core.Tenant) error {
	if t.Status != core.TenantActive {
		return core.FieldInvalid("tenant_id", "inactive", "the tenant is "+string(t.Status))
	}
	return nil
}

// joinableNow is joinable for the tenant as it is now, held for the rest of
// the transaction: a suspension or deletion committed since it was read is
// seen, and one not yet committed waits for this transaction.
func joinableNow(ctx context.Context, tx store.Tx, tenantID string) error {
	t, err := lockedTenant(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	return joinable(t)
}

// lockedTenant holds the tenant for the rest of the transaction and reads
// it as it is now (as lockedUser does a user).
func lockedTenant(ctx context.Context, tx store.Tx, id string) (core.Tenant, error) {
	if err := tx.LockTenant(ctx, id); err != nil {
		return core.Tenant{}, err
	}
	return tx.GetTenant(ctx, core.TenantRef{ID: id})
}

// PutMember makes the user a member of the tenant with exactly roles,
// adding the membership if needed.
func (s *Service) PutMember(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef, roles []string) (core.User, error) {
	return showTo(p)(retryChanged(func() (core.User, error) { return s.putMember(ctx, p, tenantRef, userRef, roles) }))
}

func (s *Service) putMember(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef, roles []string) (core.User, error) {
	c, u, err := s.planPutMember(ctx, p, tenantRef, userRef, roles)
	if err != nil {
		return u, err
	}
	if err := s.inTx(ctx, func(tx store.Tx) error { return c.apply(ctx, tx) }); err != nil {
		return u, err
	}
	c.logged(ctx, s, p)
	return s.store.GetUser(ctx, core.UserRef{ID: u.ID})
}

// planPutMember checks what PutMember describes and returns the write that
// makes it.
func (s *Service) planPutMember(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef, roles []string) (memberChange, core.User, error) {
	t, u, err := s.memberTarget(ctx, p, tenantRef, userRef)
	if err != nil {
		return memberChange{}, u, err
	}
	if _, member := u.Membership(t.ID); !member {
		if err := joinable(t); err != nil {
			return memberChange{}, u, err
		}
	}
	if len(roles) == 0 {
		return memberChange{}, u, &core.Error{Code: core.CodeRoleInvalid, Message: "at least one role is required",
			Fields: []core.FieldError{{Field: "roles", Code: "required", Message: "at least one role is required"}}}
	}
	providerRoles, tenantRoles, err := splitRoles(roles, true)
	if err != nil {
		return memberChange{}, u, err
	}
	if len(providerRoles) > 0 {
		return memberChange{}, u, providerRolesInTenant(providerRoles...)
	}
	for i, r := range tenantRoles {
		role, _ := core.LookupRole(r)
		if err := checkGrant(p, t.ID, role, fmt.Sprintf("roles[%d]", i)); err != nil {
			return memberChange{}, u, err
		}
	}
	m := core.Membership{TenantID: t.ID, UserID: u.ID, Roles: core.NormalizeRoles(tenantRoles), CreatedAt: s.now()}
	if old, ok := u.Membership(t.ID); ok {
		m.CreatedAt, m.ResourceGroupIDs = old.CreatedAt, old.ResourceGroupIDs
	}
	return memberChange{put: &m, read: u, p: p}, u, nil
}

// providerRolesInTenant refuses provider roles asked for in a tenant.
func providerRolesInTenant(names ...string) error {
	return &core.Error{Code: core.CodeRoleInvalid, Message: "provider roles are not held in a tenant",
		Fields: []core.FieldError{{Field: "roles", Code: "scope", Message: "role " + strings.Join(names, ", ") + " is a provider role"}}}
}

// GrantRole gives the user one more role: a tenant role in the tenant
// (which the user joins if needed), a provider role at the provider level
// (tenantRef empty). The roles held are read again and written in one
// transaction holding the user's lock, so that concurrent changes of other
// roles all stay.
func (s *Service) GrantRole(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef, role string) (core.User, error) {
	return showTo(p)(s.changeRole(ctx, p, tenantRef, userRef, role, true))
}

// RevokeRole takes one role from the user, as GrantRole gives one; a role
// the user does not hold there is not found, and a tenant's member keeps
// at least one role in it.
func (s *Service) RevokeRole(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef, role string) (core.User, error) {
	return showTo(p)(s.changeRole(ctx, p, tenantRef, userRef, role, false))
}

func (s *Service) changeRole(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef, name string, grant bool) (core.User, error) {
	role, ok := core.LookupRole(name)
	if !ok {
		return core.User{}, &core.Error{Code: core.CodeRoleInvalid, Message: "unknown role " + name,
			Fields: []core.FieldError{{Field: "roles", Code: "unknown", Message: "unknown role " + name}}}
	}
	notHeld := core.Errorf(core.CodeNotFound, "the user does not hold the role %s there", role.Name)
	change := func(held []string) ([]string, error) {
		switch {
		case grant:
			return core.NormalizeRoles(append(slices.Clone(held), role.Name)), nil
		case !slices.Contains(held, role.Name):
			return nil, notHeld
		default:
			return slices.DeleteFunc(slices.Clone(held), func(r string) bool { return r == role.Name }), nil
		}
	}

	if role.Scope == core.ScopeProvider {
		if tenantRef != (core.TenantRef{}) {
			return core.User{}, providerRolesInTenant(role.Name)
		}
		u, err := s.getUser(ctx, p, userRef)
		if err != nil {
			return u, err
		}
		if u.Status == core.UserDeleted {
			return u, core.Errorf(core.CodeNotFound, "user not found")
		}
		err = s.inTx(ctx, func(tx store.Tx) error {
			cur, err := lockedUser(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			roles, err := change(cur.ProviderRoles)
			if err != nil {
				return err
			}
			if err := s.checkProviderRoles(p, cur, roles, ""); err != nil {
				return err
			}
			cur.ProviderRoles, cur.UpdatedAt, cur.UpdatedBy = roles, s.now(), p.Actor()
			if len(roles) == 0 {
				cur.ProviderRoles = nil
			}
			if err := tx.SetProviderRoles(ctx, cur.ID, cur.ProviderRoles); err != nil {
				return err
			}
			u = cur
			return tx.UpdateUser(ctx, cur)
		})
		if err != nil {
			return core.User{}, err
		}
		s.log.InfoContext(ctx, "provider role changed", "user_id", u.ID, "role", role.Name, "granted", grant, "actor", p.Actor())
		return u, nil
	}

	t, u, err := s.memberTarget(ctx, p, tenantRef, userRef)
	if err != nil {
		return u, err
	}
	err = s.inTx(ctx, func(tx store.Tx) error {
		cur, err := lockedUser(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		m, member := cur.Membership(t.ID)
		// memberTarget's rule again, on the roles as they are now.
		if member && outranks(m, p) {
			return forbidden("this member's role is above your own")
		}
		roles, err := change(m.Roles)
		if err != nil {
			return err
		}
		if len(roles) == 0 {
			return &core.Error{Code: core.CodeRoleInvalid, Message: "a member keeps at least one role; remove the member instead",
				Fields: []core.FieldError{{Field: "roles", Code: "required", Message: "the member's last role"}}}
		}
		if grant {
			if err := checkGrant(p, t.ID, role, "roles"); err != nil {
				return err
			}
		}
		if !member {
			// A grant that makes a member: the tenant must take members.
			if err := joinableNow(ctx, tx, t.ID); err != nil {
				return err
			}
			m = core.Membership{TenantID: t.ID, UserID: cur.ID, CreatedAt: s.now()}
		}
		m.Roles = roles
		return tx.PutMembership(ctx, m)
	})
	if err != nil {
		return core.User{}, err
	}
	s.log.InfoContext(ctx, "membership role changed", "tenant_id", t.ID, "user_id", u.ID, "role", role.Name, "granted", grant, "actor", p.Actor())
	return s.store.GetUser(ctx, core.UserRef{ID: u.ID})
}

// RemoveFromTenant takes the user out of the tenant, as RemoveMember does,
// and deletes the user when that was its only tenant (Gcore's removal of
// a client's user): a user left in no tenant would be no one's to manage.
// It reports whether the user was deleted.
func (s *Service) RemoveFromTenant(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef) (bool, error) {
	t, u, err := s.memberTarget(ctx, p, tenantRef, userRef)
	if err != nil {
		return false, err
	}
	if m := u.Memberships; len(m) == 1 && m[0].TenantID == t.ID && len(u.ProviderRoles) == 0 {
		// Refusing multi-tenant users keeps this safe should the user
		// join another tenant meanwhile.
		_, err := s.DeleteUserWith(ctx, p, core.UserRef{ID: u.ID}, DeleteUserOptions{RefuseMultiTenant: true})
		return err == nil, err
	}
	return false, s.RemoveMember(ctx, p, core.TenantRef{ID: t.ID}, core.UserRef{ID: u.ID})
}

// RemoveMember takes the user out of the tenant and its resource groups.
func (s *Service) RemoveMember(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, userRef core.UserRef) error {
	t, u, err := s.memberTarget(ctx, p, tenantRef, userRef)
	if err != nil {
		return err
	}
	if _, ok := u.Membership(t.ID); !ok {
		return core.Errorf(core.CodeNotFound, "the user is not a member of this tenant")
	}
	err = s.inTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteMembership(ctx, t.ID, u.ID); err != nil {
			return err
		}
		// A link into the tenant the user left opens nothing.
		return revokePending(ctx, tx, store.InvitationFilter{UserID: u.ID, TenantIDs: []string{t.ID}}, s.now())
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "membership removed", "tenant_id", t.ID, "user_id", u.ID, "actor", p.Actor())
	return nil
}

// ResourceGroupInput creates or changes a resource group.
type ResourceGroupInput struct {
	Name        *string
	Description *string
}

// applyTo sets the fields given on g, trimmed, and checks the result.
func (in ResourceGroupInput) applyTo(g core.ResourceGroup) (core.ResourceGroup, error) {
	setTrimmed(&g.Name, in.Name)
	setTrimmed(&g.Description, in.Description)
	v := &core.Validation{}
	checkGroup(v, g)
	return g, v.Err()
}

func checkGroup(v *core.Validation, g core.ResourceGroup) {
	if g.Name == "" {
		v.Add("name", "required", "is required")
	}
	checkText(v, "name", g.Name, maxGroupName)
	checkText(v, "description", g.Description, maxGroupDesc)
}

// manageGroupTenant checks that p manages the tenant.
func (s *Service) manageGroupTenant(ctx context.Context, p *core.Principal, ref core.TenantRef) (core.Tenant, error) {
	t, err := s.GetTenant(ctx, p, ref)
	if err != nil {
		return t, err
	}
	if t.Status == core.TenantDeleted {
		return t, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	if !canManageTenant(p, t.ID) {
		return t, forbidden("you may not manage this tenant's resource groups")
	}
	return t, nil
}

// CreateResourceGroup adds a group to a tenant.
func (s *Service) CreateResourceGroup(ctx context.Context, p *core.Principal, tenantRef core.TenantRef, in ResourceGroupInput) (core.ResourceGroup, error) {
	t, err := s.manageGroupTenant(ctx, p, tenantRef)
	if err != nil {
		return core.ResourceGroup{}, err
	}
	now := s.now()
	g, err := in.applyTo(core.ResourceGroup{ID: core.NewID(), TenantID: t.ID, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return g, err
	}
	err = s.inTx(ctx, func(tx store.Tx) error {
		if _, err := tenantNotDeletedNow(ctx, tx, t.ID); err != nil {
			return err
		}
		return tx.CreateResourceGroup(ctx, g)
	})
	if err != nil {
		return core.ResourceGroup{}, err
	}
	return g, nil
}

// tenantNotDeletedNow is lockedTenant refusing a tenant deleted since the
// caller read it: a write made after the deletion would give it what the
// deletion took away.
func tenantNotDeletedNow(ctx context.Context, tx store.Tx, tenantID string) (core.Tenant, error) {
	t, err := lockedTenant(ctx, tx, tenantID)
	if err == nil && t.Status == core.TenantDeleted {
		return t, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	return t, err
}

// GetResourceGroup returns a group of a tenant the principal reads; tenantID
// may be empty when the caller knows only the group.
func (s *Service) GetResourceGroup(ctx context.Context, p *core.Principal, tenantID, groupID string) (core.ResourceGroup, error) {
	notFound := core.Errorf(core.CodeNotFound, "resource group not found")
	if !core.ValidID(groupID) {
		return core.ResourceGroup{}, notFound
	}
	g, err := s.store.GetResourceGroup(ctx, groupID)
	if err != nil {
		return g, err
	}
	if (tenantID != "" && g.TenantID != tenantID) || !canReadTenant(p, g.TenantID) {
		return core.ResourceGroup{}, notFound
	}
	// A deleted tenant's groups went with it.
	if t, err := s.store.GetTenant(ctx, core.TenantRef{ID: g.TenantID}); err != nil || t.Status == core.TenantDeleted {
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return core.ResourceGroup{}, err
		}
		return core.ResourceGroup{}, notFound
	}
	return g, nil
}

// ListResourceGroups lists a tenant's groups.
func (s *Service) ListResourceGroups(ctx context.Context, p *core.Principal, tenantRef core.TenantRef) ([]core.ResourceGroup, error) {
	t, err := s.GetTenant(ctx, p, tenantRef)
	if err != nil {
		return nil, err
	}
	if t.Status == core.TenantDeleted {
		return nil, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	if !canReadTenant(p, t.ID) {
		return nil, forbidden("you may not read this tenant's resource groups")
	}
	return s.store.ListResourceGroups(ctx, t.ID)
}

// AccessibleResourceGroups lists every group of every tenant the principal
// reads (GPCN lists teams without naming an entity).
func (s *Service) AccessibleResourceGroups(ctx context.Context, p *core.Principal, tenantID string) ([]core.ResourceGroup, error) {
	if tenantID != "" {
		return s.ListResourceGroups(ctx, p, core.TenantRef{ID: tenantID})
	}
	var tenants []string
	if readsAll(p) {
		all, err := s.store.ListTenants(ctx, store.TenantFilter{})
		if err != nil {
			return nil, err
		}
		for _, t := range all {
			tenants = append(tenants, t.ID)
		}
	} else {
		tenants = readableTenants(p)
	}
	var out []core.ResourceGroup
	for _, id := range tenants {
		gs, err := s.store.ListResourceGroups(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, gs...)
	}
	return out, nil
}

// UpdateResourceGroup renames or re-describes a group.
func (s *Service) UpdateResourceGroup(ctx context.Context, p *core.Principal, tenantID, groupID string, in ResourceGroupInput) (core.ResourceGroup, error) {
	g, err := s.GetResourceGroup(ctx, p, tenantID, groupID)
	if err != nil {
		return g, err
	}
	if !canManageTenant(p, g.TenantID) {
		return g, forbidden("you may not manage this tenant's resource groups")
	}
	if _, err := in.applyTo(g); err != nil {
		return g, err
	}
	err = s.inTx(ctx, func(tx store.Tx) error {
		if _, err := tenantNotDeletedNow(ctx, tx, g.TenantID); err != nil {
			return err
		}
		// The change goes onto the group as it is now, so that a field
		// changed by another request since the read stays.
		if err := tx.LockResourceGroup(ctx, g.ID); err != nil {
			return err
		}
		cur, err := tx.GetResourceGroup(ctx, g.ID)
		if err != nil {
			return err
		}
		if g, err = in.applyTo(cur); err != nil {
			return err
		}
		g.UpdatedAt = s.now()
		return tx.UpdateResourceGroup(ctx, g)
	})
	if err != nil {
		return core.ResourceGroup{}, err
	}
	return g, nil
}

// DeleteResourceGroup removes a group and its memberships.
func (s *Service) DeleteResourceGroup(ctx context.Context, p *core.Principal, tenantID, groupID string) error {
	g, err := s.GetResourceGroup(ctx, p, tenantID, groupID)
	if err != nil {
		return err
	}
	if !canManageTenant(p, g.TenantID) {
		return forbidden("you may not manage this tenant's resource groups")
	}
	return s.inTx(ctx, func(tx store.Tx) error { return tx.DeleteResourceGroup(ctx, g.ID) })
}

// ResourceGroupMembers lists the ids of a group's members.
func (s *Service) ResourceGroupMembers(ctx context.Context, p *core.Principal, tenantID, groupID string) ([]string, error) {
	g, err := s.GetResourceGroup(ctx, p, tenantID, groupID)
	if err != nil {
		return nil, err
	}
	return s.store.ListResourceGroupMembers(ctx, g.ID)
}

// AddResourceGroupMember puts a member of the group's tenant into the group.
func (s *Service) AddResourceGroupMember(ctx context.Context, p *core.Principal, tenantID, groupID string, userRef core.UserRef) error {
	g, err := s.GetResourceGroup(ctx, p, tenantID, groupID)
	if err != nil {
		return err
	}
	if !canManageTenant(p, g.TenantID) {
		return forbidden("you may not manage this tenant's resource groups")
	}
	// A user the caller cannot see answers as one that does not exist.
	u, err := s.getUser(ctx, p, userRef)
	if err != nil {
		if core.ErrorCode(err) == core.CodeNotFound {
			return core.FieldInvalid("user_id", "not_found", "no such user")
		}
		return err
	}
	member := func(u core.User) error {
		if _, ok := u.Membership(g.TenantID); !ok || u.Status == core.UserDeleted {
			return core.FieldInvalid("user_id", "not_member", "the user is not a member of the group's tenant")
		}
		return nil
	}
	if err := member(u); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx store.Tx) error {
		if _, err := tenantNotDeletedNow(ctx, tx, g.TenantID); err != nil {
			return err
		}
		// Again on the user as it is now: one who left the tenant since
		// the read has been taken out of its groups already, and would be
		// left in this one.
		cur, err := lockedUser(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if err := member(cur); err != nil {
			return err
		}
		return tx.AddResourceGroupMember(ctx, g.ID, u.ID, s.now())
	})
}

// RemoveResourceGroupMember takes a user out of a group.
func (s *Service) RemoveResourceGroupMember(ctx context.Context, p *core.Principal, tenantID, groupID string, userRef core.UserRef) error {
	g, err := s.GetResourceGroup(ctx, p, tenantID, groupID)
	if err != nil {
		return err
	}
	if !canManageTenant(p, g.TenantID) {
		return forbidden("you may not manage this tenant's resource groups")
	}
	u, err := s.getUser(ctx, p, userRef)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx store.Tx) error { return tx.RemoveResourceGroupMember(ctx, g.ID, u.ID) })
}
