package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// SessionPrefix starts every session token, so that authentication knows
// which table to look in; API keys may be anything (the bootstrap key is
// chosen by the operator).
const (
	SessionPrefix = "rs_"
	APIKeyPrefix  = "rk_"
)

// maxSecretLength bounds a credential presented, and so a key chosen.
const maxSecretLength = 512

var errUnauthenticated = &core.Error{Code: core.CodeUnauthenticated, Message: "missing or invalid credentials"}

// Authenticate turns a bearer secret (API key or session token) into the
// principal it stands for. Every surface calls this, whatever header the
// secret came in.
func (s *Service) Authenticate(ctx context.Context, secret string) (*core.Principal, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" || len(secret) > maxSecretLength {
		return nil, errUnauthenticated
	}
	hash := core.HashSecret(secret)
	if e, ok := s.auth.find(hash, s.now()); ok {
		return e.principal(), nil
	}
	if strings.HasPrefix(secret, SessionPrefix) {
		return s.authenticateSession(ctx, hash)
	}
	p, key, err := s.authenticateKey(ctx, hash)
	if err == nil {
		s.recordKeyUse(key, s.now())
	}
	return p, err
}

// AuthenticateUserKey authenticates an API key that must belong to the user
// with the given username (Everlytic's HTTP Basic "username:key").
func (s *Service) AuthenticateUserKey(ctx context.Context, username, secret string) (*core.Principal, error) {
	if username == "" || secret == "" || len(secret) > maxSecretLength {
		return nil, errUnauthenticated // as Authenticate: no key is made so
	}
	p, key, err := s.authenticateKey(ctx, core.HashSecret(secret))
	if err != nil {
		return nil, err
	}
	if key.UserID == "" {
		return nil, errUnauthenticated
	}
	owner, err := s.store.GetUser(ctx, store.UserRef{ID: key.UserID})
	if err != nil || core.NormalizeUsername(owner.Username) != core.NormalizeUsername(username) {
		return nil, errUnauthenticated
	}
	s.recordKeyUse(key, s.now()) // a use only once the username matched too
	return p, nil
}

// authenticateKey looks up an API key by the hash of its secret; its
// caller records the use once it accepts the key.
func (s *Service) authenticateKey(ctx context.Context, hash string) (*core.Principal, core.APIKey, error) {
	gen := s.auth.generation()
	key, err := s.store.GetAPIKeyByHash(ctx, hash)
	if err != nil {
		if core.ErrorCode(err) == core.CodeNotFound {
			return nil, key, errUnauthenticated
		}
		return nil, key, err
	}
	now := s.now()
	if key.RevokedAt != nil || (key.ExpiresAt != nil && !now.Before(*key.ExpiresAt)) {
		return nil, key, errUnauthenticated
	}
	p := &core.Principal{Kind: core.PrincipalAPIKey, CredentialID: key.ID, UserID: key.UserID, TenantRoles: map[string][]string{}}
	if key.ElevatedUntil != nil {
		p.ElevatedUntil = *key.ElevatedUntil
	}
	if key.ExpiresAt != nil {
		p.ExpiresAt = *key.ExpiresAt
	}
	switch {
	case key.UserID != "":
		// A user's key can never do more than the user can now: its roles
		// are cut down to what the owner still holds.
		owner, err := s.store.GetUser(ctx, store.UserRef{ID: key.UserID})
		if err != nil {
			if core.ErrorCode(err) == core.CodeNotFound {
				return nil, key, errUnauthenticated
			}
			return nil, key, err
		}
		if owner.Status != core.UserActive {
			return nil, key, errUnauthenticated
		}
		p.Name = owner.DisplayName()
		userRoles(owner, p)
		if key.TenantID != "" || len(key.Roles) > 0 {
			restrictRoles(p, key.TenantID, key.Roles)
			p.Restricted = true
		}
	case key.TenantID != "":
		tenant, err := s.store.GetTenant(ctx, store.TenantRef{ID: key.TenantID})
		if err != nil || tenant.Status != core.TenantActive {
			if err != nil && core.ErrorCode(err) != core.CodeNotFound {
				return nil, key, err
			}
			return nil, key, errUnauthenticated
		}
		p.TenantRoles[key.TenantID] = key.Roles
	default:
		p.ProviderRoles = key.Roles
	}
	s.auth.remember(hash, gen, authEntry{p: *p, expires: key.ExpiresAt})
	return p, key, nil
}

// recordKeyUse writes the key's last use, at most once per interval, off the
// request path: a busy key must not turn every read into a write.
func (s *Service) recordKeyUse(key core.APIKey, now time.Time) {
	if key.LastUsedAt != nil && now.Sub(*key.LastUsedAt) < s.cfg.KeyUseInterval {
		return
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Not s.inTx: when a key was last used changes no one's
		// principal, and clearing the authentication cache for it would
		// make every key's first use in an interval cost every other
		// key a lookup.
		// Only that field is written, and only when no other node wrote
		// it within the interval.
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			return tx.RecordAPIKeyUse(ctx, key.ID, now, now.Add(-s.cfg.KeyUseInterval))
		})
		if err != nil {
			s.log.Warn("recording API key use failed", "key_id", key.ID, "error", err)
		}
	}()
}

// authenticateSession looks up a session by the hash of its token.
func (s *Service) authenticateSession(ctx context.Context, hash string) (*core.Principal, error) {
	gen := s.auth.generation()
	sess, err := s.store.GetSessionByHash(ctx, hash)
	if err != nil {
		if core.ErrorCode(err) == core.CodeNotFound {
			return nil, errUnauthenticated
		}
		return nil, err
	}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, errUnauthenticated
	}
	user, err := s.store.GetUser(ctx, store.UserRef{ID: sess.UserID})
	if err != nil || user.Status != core.UserActive {
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return nil, err
		}
		return nil, errUnauthenticated
	}
	p := &core.Principal{Kind: core.PrincipalSession, CredentialID: sess.ID, UserID: user.ID, Name: user.DisplayName(),
		TenantRoles: map[string][]string{}, ExpiresAt: sess.ExpiresAt}
	if sess.ElevatedUntil != nil {
		p.ElevatedUntil = *sess.ElevatedUntil
	}
	userRoles(user, p)
	expires := sess.ExpiresAt
	s.auth.remember(hash, gen, authEntry{p: *p, expires: &expires})
	return p, nil
}

// userRoles copies a user's roles into p. A suspended or deleted tenant's
// roles give nothing: its administrators no longer act there, as its
// service keys no longer work (the provider's administrators still do).
func userRoles(u core.User, p *core.Principal) {
	p.ProviderRoles = slices.Clone(u.ProviderRoles)
	for _, m := range u.Memberships {
		if m.TenantStatus != core.TenantDeleted && m.TenantStatus != core.TenantSuspended {
			p.TenantRoles[m.TenantID] = slices.Clone(m.Roles)
		}
	}
}

// restrictRoles cuts p, holding its owner's roles, down to the key's: in
// the key's scope (a key made for one tenant acts only there, a key
// without a tenant only at the provider level), the allowed roles (all the
// owner holds there when allowed is empty) that the owner holds now or
// could grant there now. So a provider administrator's read-only key reads,
// and its key for a tenant acts there with the role it names, never beyond
// what the owner could do itself.
func restrictRoles(p *core.Principal, tenantID string, allowed []string) {
	owner := *p
	held := owner.ProviderRoles
	if tenantID != "" {
		held = owner.TenantRoles[tenantID]
	}
	roles := held
	if len(allowed) > 0 {
		roles = nil
		for _, name := range allowed {
			role, ok := core.LookupRole(name)
			if !ok || (role.Scope == core.ScopeTenant) != (tenantID != "") {
				continue
			}
			if slices.Contains(held, name) || checkGrant(&owner, tenantID, role, "") == nil {
				roles = append(roles, name)
			}
		}
	}
	if tenantID == "" {
		p.ProviderRoles, p.TenantRoles = roles, map[string][]string{}
		return
	}
	p.ProviderRoles, p.TenantRoles = nil, map[string][]string{tenantID: roles}
}

// isProviderAdmin reports whether p may do anything anywhere.
func isProviderAdmin(p *core.Principal) bool {
	return p != nil && slices.Contains(p.ProviderRoles, core.RoleProviderAdmin)
}

// readsAll reports whether p may read every tenant and user.
func readsAll(p *core.Principal) bool {
	return p != nil && core.AnyRole(p.ProviderRoles, func(r core.Role) bool { return r.Read })
}

func canManageTenant(p *core.Principal, tenantID string) bool {
	return isProviderAdmin(p) || core.AnyRole(p.TenantRoles[tenantID], func(r core.Role) bool { return r.Manage })
}

func canReadTenant(p *core.Principal, tenantID string) bool {
	return readsAll(p) || core.AnyRole(p.TenantRoles[tenantID], func(r core.Role) bool { return r.Read })
}

// tenantsWhere lists the tenants in which p holds a role that pick accepts.
func tenantsWhere(p *core.Principal, pick func(core.Role) bool) []string {
	out := []string{}
	for id, roles := range p.TenantRoles {
		if core.AnyRole(roles, pick) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// readableTenants is nil when p reads everything.
func readableTenants(p *core.Principal) []string {
	if readsAll(p) {
		return nil
	}
	return tenantsWhere(p, func(r core.Role) bool { return r.Read })
}

func forbidden(format string, args ...any) *core.Error {
	return core.Errorf(core.CodeForbidden, format, args...)
}

// checkGrant enforces the escalation rule: nobody grants a role above
// their own. Provider roles are granted only by provider administrators;
// a tenant role only by someone who manages the tenant and holds a role at
// least as high there.
func checkGrant(p *core.Principal, tenantID string, role core.Role, field string) error {
	if isProviderAdmin(p) {
		return nil
	}
	deny := &core.Error{Code: core.CodeRoleForbidden,
		Message: "you may not grant the role " + role.Name + ", which is above your own",
		Fields:  []core.FieldError{{Field: field, Code: "forbidden", Message: "role " + role.Name + " is above your own"}}}
	if role.Scope == core.ScopeProvider || !canManageTenant(p, tenantID) {
		return deny
	}
	if role.Level > core.MaxLevel(p.TenantRoles[tenantID]) {
		return deny
	}
	return nil
}

// canManageUser decides whether p may change a user's profile, password,
// status or existence. Outside provider administrators, that takes managing
// every tenant the user belongs to, and outranking the user in each: a
// tenant administrator must not take over an account that also works in
// another tenant, nor one of their peers' superiors.
func canManageUser(p *core.Principal, u core.User) bool {
	if isProviderAdmin(p) {
		return true
	}
	if len(u.ProviderRoles) > 0 || len(u.Memberships) == 0 {
		return false
	}
	for _, m := range u.Memberships {
		if !canManageTenant(p, m.TenantID) || outranks(m, p) {
			return false
		}
	}
	return true
}

// outranks reports whether membership m holds a role above p's in its
// tenant: p may then not change the member there. Provider
// administrators are outranked by no one.
func outranks(m core.Membership, p *core.Principal) bool {
	return !isProviderAdmin(p) && core.MaxLevel(m.Roles) > core.MaxLevel(p.TenantRoles[m.TenantID])
}

// canReadUser: provider readers see everyone, users see themselves, and
// tenant members with a reading role see the tenant's users.
func canReadUser(p *core.Principal, u core.User) bool {
	if readsAll(p) || (p.UserID != "" && p.UserID == u.ID) {
		return true
	}
	for _, m := range u.Memberships {
		if canReadTenant(p, m.TenantID) {
			return true
		}
	}
	return false
}

// requireElevation applies ECE's elevated-permissions rule when configured.
func (s *Service) requireElevation(p *core.Principal) error {
	if !s.cfg.RequireElevation || p.Kind == core.PrincipalSystem {
		return nil
	}
	if s.now().Before(p.ElevatedUntil) {
		return nil
	}
	return &core.Error{Code: core.CodeElevationRequired, Message: "this operation needs elevated permissions; elevate first"}
}
