package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// CreateAPIKeyInput describes a new API key.
type CreateAPIKeyInput struct {
	Name string
	// TenantID scopes the key to one tenant; empty means the provider level.
	TenantID string
	// Roles the key carries. A user's key with no roles acts with all of
	// its owner's roles (in TenantID only, when that is given); a service
	// key needs roles. A key made by a key made for one tenant or with
	// roles gets that key's roles where none are given.
	Roles []string
	// Service makes a key that belongs to the tenant or provider rather
	// than to the calling user, and so survives the user.
	Service   bool
	ExpiresAt *time.Time
}

// CreateAPIKey makes a key and returns it with its secret, which is shown
// this once and stored only as a hash.
func (s *Service) CreateAPIKey(ctx context.Context, p *core.Principal, in CreateAPIKeyInput) (core.APIKey, string, error) {
	v := &core.Validation{}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		v.Add("name", "required", "is required")
	}
	checkText(v, "name", in.Name, maxKeyName)
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		v.Add("expires_at", "in_past", "must be in the future")
	}
	if p.Kind == core.PrincipalAPIKey && !p.ExpiresAt.IsZero() {
		// A key that expires cannot outlive itself through a key it makes.
		if in.ExpiresAt == nil {
			own := p.ExpiresAt
			in.ExpiresAt = &own
		} else if in.ExpiresAt.After(p.ExpiresAt) {
			v.Add("expires_at", "after_own", "must not be later than the expiry of the key making it, "+p.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	if in.TenantID != "" && !checkID(v, "tenant_id", in.TenantID) {
		return core.APIKey{}, "", v.Err()
	}
	if !in.Service && p.UserID == "" {
		// A service key calling: the new key cannot belong to a user.
		in.Service = true
	}
	if in.Service && len(in.Roles) == 0 {
		v.Add("roles", "required", "a service key needs at least one role")
	}
	if err := v.Err(); err != nil {
		return core.APIKey{}, "", err
	}

	// Scope and authority.
	if in.TenantID != "" {
		t, err := s.GetTenant(ctx, p, core.TenantRef{ID: in.TenantID})
		if err != nil {
			if core.ErrorCode(err) == core.CodeNotFound {
				return core.APIKey{}, "", core.FieldInvalid("tenant_id", "not_found", "no such tenant")
			}
			return core.APIKey{}, "", err
		}
		if t.Status != core.TenantActive {
			return core.APIKey{}, "", core.FieldInvalid("tenant_id", "inactive", "the tenant is "+string(t.Status))
		}
		if in.Service && !canManageTenant(p, t.ID) {
			return core.APIKey{}, "", forbidden("you may not create keys for this tenant")
		}
		if !in.Service && len(p.TenantRoles[t.ID]) == 0 && !isProviderAdmin(p) {
			return core.APIKey{}, "", forbidden("you are not a member of this tenant")
		}
	} else if in.Service && !isProviderAdmin(p) {
		return core.APIKey{}, "", forbidden("only provider administrators create provider keys")
	}
	if !in.Service && p.Restricted && len(in.Roles) == 0 {
		// Without roles the new key would act with all of the owner's:
		// it gets the calling key's instead.
		in.Roles = p.ProviderRoles
		if in.TenantID != "" {
			in.Roles = p.TenantRoles[in.TenantID]
		}
		if len(in.Roles) == 0 {
			return core.APIKey{}, "", forbidden("your key holds no role there; a key it makes acts only where it does")
		}
		in.Roles = slices.Clone(in.Roles)
	}
	providerRoles, _, err := splitRoles(in.Roles, in.TenantID != "")
	if err != nil {
		return core.APIKey{}, "", err
	}
	if in.TenantID != "" && len(providerRoles) > 0 {
		return core.APIKey{}, "", &core.Error{Code: core.CodeRoleInvalid, Message: "a tenant key carries tenant roles only",
			Fields: []core.FieldError{{Field: "roles", Code: "scope", Message: "provider roles need a key without tenant_id"}}}
	}
	for i, r := range in.Roles {
		role, _ := core.LookupRole(r)
		if err := s.checkKeyRole(p, in, role, fmt.Sprintf("roles[%d]", i)); err != nil {
			return core.APIKey{}, "", err
		}
	}
	// A key that acts as a provider administrator is a grant of that
	// role, with the same need for elevation as giving it to a user.
	ownersAll := !in.Service && len(in.Roles) == 0 && in.TenantID == ""
	if slices.Contains(in.Roles, core.RoleProviderAdmin) || (ownersAll && isProviderAdmin(p)) {
		if err := s.requireElevation(p); err != nil {
			return core.APIKey{}, "", err
		}
	}

	secret := core.NewSecret(APIKeyPrefix)
	k := core.APIKey{ID: core.NewID(), Name: in.Name, Prefix: secret[:len(APIKeyPrefix)+6], Hash: core.HashSecret(secret),
		TenantID: in.TenantID, Roles: core.NormalizeRoles(in.Roles), ExpiresAt: in.ExpiresAt, CreatedAt: now,
		CreatedBy: p.Actor()}
	if len(k.Roles) == 0 {
		k.Roles = nil
	}
	if !in.Service {
		k.UserID = p.UserID
	}
	if err := s.inTx(ctx, func(tx store.Tx) error { return tx.CreateAPIKey(ctx, k) }); err != nil {
		return core.APIKey{}, "", err
	}
	s.log.InfoContext(ctx, "API key created", "key_id", k.ID, "tenant_id", k.TenantID, "user_id", k.UserID, "actor", p.Actor())
	return k, secret, nil
}

// checkKeyRole: a user's own key may carry only roles the user holds where
// the key acts; a service key follows the escalation rule.
func (s *Service) checkKeyRole(p *core.Principal, in CreateAPIKeyInput, role core.Role, field string) error {
	if in.Service {
		return checkGrant(p, in.TenantID, role, field)
	}
	held := p.ProviderRoles
	if in.TenantID != "" {
		held = p.TenantRoles[in.TenantID]
	}
	if slices.Contains(held, role.Name) || isProviderAdmin(p) {
		return nil
	}
	return &core.Error{Code: core.CodeRoleForbidden, Message: "your key may not carry the role " + role.Name + ", which you do not hold",
		Fields: []core.FieldError{{Field: field, Code: "forbidden", Message: "role " + role.Name + " is not yours"}}}
}

// ListAPIKeys lists the keys the principal may see: provider administrators
// all of them, tenant administrators their tenants' keys, everyone their own.
func (s *Service) ListAPIKeys(ctx context.Context, p *core.Principal, tenantID string) ([]core.APIKey, error) {
	var f store.APIKeyFilter
	if tenantID != "" {
		v := &core.Validation{}
		if !checkID(v, "tenant_id", tenantID) {
			return nil, v.Err()
		}
	}
	switch {
	case tenantID != "":
		if !canManageTenant(p, tenantID) {
			return nil, forbidden("you may not read this tenant's keys")
		}
		f.TenantIDs = []string{tenantID}
	case isProviderAdmin(p):
	default:
		managed := tenantsWhere(p, func(r core.Role) bool { return r.Manage })
		keys, err := s.store.ListAPIKeys(ctx, store.APIKeyFilter{TenantIDs: managed})
		if err != nil {
			return nil, err
		}
		if p.UserID != "" {
			own, err := s.store.ListAPIKeys(ctx, store.APIKeyFilter{UserID: p.UserID})
			if err != nil {
				return nil, err
			}
			reach, err := s.ownKeyReach(ctx, p)
			if err != nil {
				return nil, err
			}
			for _, k := range own {
				if reach(k) && !slices.ContainsFunc(keys, func(x core.APIKey) bool { return x.ID == k.ID }) {
					keys = append(keys, k)
				}
			}
			slices.SortFunc(keys, func(a, b core.APIKey) int { return strings.Compare(a.ID, b.ID) })
		}
		return keys, nil
	}
	return s.store.ListAPIKeys(ctx, f)
}

// ownKeyReach says which of its own user's keys p may see and revoke: all
// of them with the user's full rights, but through a restricted key (one
// limited to some roles or a tenant) only itself and keys no wider than it
// (the same tenant, and roles among its own), so that a leaked read-only
// key cannot list or revoke its owner's administrator keys.
func (s *Service) ownKeyReach(ctx context.Context, p *core.Principal) (func(core.APIKey) bool, error) {
	if !p.Restricted {
		return func(core.APIKey) bool { return true }, nil
	}
	caller, err := s.store.GetAPIKey(ctx, p.CredentialID)
	if err != nil {
		return nil, err
	}
	return func(k core.APIKey) bool {
		if k.ID == caller.ID {
			return true
		}
		if k.TenantID != caller.TenantID || (len(caller.Roles) > 0 && len(k.Roles) == 0) {
			return false
		}
		for _, r := range k.Roles {
			if len(caller.Roles) > 0 && !slices.Contains(caller.Roles, r) {
				return false
			}
		}
		return true
	}, nil
}

// RevokeAPIKey stops a key from working. Its owner, the administrators of
// its tenant and provider administrators may revoke it.
func (s *Service) RevokeAPIKey(ctx context.Context, p *core.Principal, id string) (core.APIKey, error) {
	notFound := core.Errorf(core.CodeNotFound, "API key not found")
	if !core.ValidID(id) {
		return core.APIKey{}, notFound
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if err != nil {
		return k, err
	}
	reach, err := s.ownKeyReach(ctx, p)
	if err != nil {
		return core.APIKey{}, err
	}
	allowed := isProviderAdmin(p) || (k.UserID != "" && k.UserID == p.UserID && reach(k)) ||
		(k.TenantID != "" && canManageTenant(p, k.TenantID))
	if !allowed || k.RevokedAt != nil {
		return core.APIKey{}, notFound
	}
	now := s.now()
	k.RevokedAt = &now
	if err := s.inTx(ctx, func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, k.ID, now) }); err != nil {
		return core.APIKey{}, err
	}
	s.log.InfoContext(ctx, "API key revoked", "key_id", k.ID, "actor", p.Actor())
	return k, nil
}
