package service

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"roster/internal/core"
	"roster/internal/logx"
	"roster/internal/password"
	"roster/internal/store"
)

// Actions of CreateUser.
const (
	ActionInvite   = "invite"
	ActionRegister = "register"
)

// CreateUserInput is everything a surface may ask of user creation.
type CreateUserInput struct {
	// Action is ActionInvite (the default: an invitation is created and the
	// user sets a password) or ActionRegister (the password is given).
	Action     string
	Email      string
	Username   string
	Name       string
	FirstName  string
	LastName   string
	Phone      string
	Lang       string
	Password   string
	ExternalID string
	// TenantID puts the user in an existing tenant; Tenant creates a new
	// one in the same transaction. At most one may be given.
	TenantID string
	Tenant   *TenantInput
	// Roles are role names of the catalogue, provider or tenant scope;
	// nil gives tenant-user when the user joins a tenant.
	Roles            []string
	ResourceGroupIDs []string
	Attributes       map[string]any
	// Type must be empty or "common": users made through an API are
	// common users (Gcore's rule).
	Type string
	// Disabled creates a registered user who cannot log in yet.
	Disabled bool
	// EmailConfirmed marks the email as confirmed from the start.
	EmailConfirmed bool
	SecurityRealm  string
	// InviteTTL overrides the invitation lifetime for this request.
	InviteTTL time.Duration
	// PasswordPolicy adds a vendor's password rule to the tenant's.
	PasswordPolicy string
	// RoleRules selects a vendor's role combination rules (RoleRulesECE).
	RoleRules string
	// RequireNames makes first and last name required (GPCN's register).
	RequireNames bool
}

// CreateUserResult is what creation made.
type CreateUserResult struct {
	User       core.User
	Tenant     *core.Tenant // set when the call created a tenant
	Invitation *core.Invitation
	// InvitationToken is the secret for the invitation link. It is sent by
	// email and must never be returned by an API.
	InvitationToken string
}

const (
	minInviteTTL = 5 * time.Minute
	maxInviteTTL = 30 * 24 * time.Hour
)

// CreateUser creates a user — with a tenant, memberships, roles, resource
// groups, credential and invitation — in one transaction: all of it or none.
func (s *Service) CreateUser(ctx context.Context, p *core.Principal, in CreateUserInput) (CreateUserResult, error) {
	var res CreateUserResult
	// Every text is trimmed, as an update trims it: "ext-1 " must not pass
	// the unique index beside "ext-1".
	in.Email, in.Username = strings.TrimSpace(in.Email), strings.TrimSpace(in.Username)
	in.Name, in.FirstName, in.LastName = strings.TrimSpace(in.Name), strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	in.Phone, in.Lang, in.ExternalID = strings.TrimSpace(in.Phone), strings.TrimSpace(in.Lang), strings.TrimSpace(in.ExternalID)
	if in.Action == "" {
		in.Action = ActionInvite
	}
	v := &core.Validation{}
	if in.Action != ActionInvite && in.Action != ActionRegister {
		v.Add("action", "invalid", "must be invite or register")
		return res, v.Err()
	}

	// Where the user goes decides who may create them.
	var (
		tenant    *core.Tenant
		newTenant bool
		// providerLevel users are made by provider administrators only;
		// that is checked after the roles, so that a request for roles
		// the caller may not grant is told which role (role_forbidden).
		providerLevel bool
	)
	switch {
	case in.Tenant != nil && in.TenantID != "":
		v.Add("tenant", "conflict", "give tenant_id or tenant, not both")
		return res, v.Err()
	case in.Tenant != nil:
		if !isProviderAdmin(p) {
			return res, forbidden("only provider administrators create tenants")
		}
		// The new tenant's field problems are reported with the user's,
		// all at once, after the role checks below.
		t, overrides := s.buildTenant(v, "tenant.", *in.Tenant, p)
		tenant, newTenant = &t, true
		defer func() {
			if res.Tenant != nil {
				res.Tenant = tenant
			}
		}()
		in.Tenant.Products = overrides
	case in.TenantID != "":
		if !checkID(v, "tenant_id", in.TenantID) {
			return res, v.Err()
		}
		if !canManageTenant(p, in.TenantID) {
			return res, forbidden("you may not add users to this tenant")
		}
		t, err := s.cachedTenant(ctx, in.TenantID)
		if err != nil {
			if core.ErrorCode(err) == core.CodeNotFound {
				return res, core.FieldInvalid("tenant_id", "not_found", "no such tenant")
			}
			return res, err
		}
		if err := joinable(t); err != nil {
			return res, err
		}
		tenant = &t
	default:
		providerLevel = true
	}
	tenantID := ""
	if tenant != nil {
		tenantID = tenant.ID
	}

	// Roles: known names first (400), then the escalation rule (403).
	roles := in.Roles
	if roles == nil && tenant != nil {
		roles = []string{core.RoleTenantUser}
	}
	providerRoles, tenantRoles, err := splitRoles(roles, tenant != nil)
	if err != nil {
		return res, err
	}
	rv := &core.Validation{}
	checkRoleRules(rv, "roles", in.RoleRules, roles)
	if err := rv.Err(); err != nil {
		return res, &core.Error{Code: core.CodeRoleInvalid, Message: "the roles are not valid", Fields: err.(*core.Error).Fields}
	}
	for i, r := range roles {
		role, _ := core.LookupRole(r)
		if err := checkGrant(p, tenantID, role, fmt.Sprintf("roles[%d]", i)); err != nil {
			return res, err
		}
	}
	if err := memberNeedsRole(tenant, tenantRoles); err != nil {
		return res, err
	}
	if providerLevel && !isProviderAdmin(p) {
		return res, forbidden("only provider administrators create users outside a tenant")
	}
	if slices.Contains(providerRoles, core.RoleProviderAdmin) {
		if err := s.requireElevation(p); err != nil {
			return res, err
		}
	}

	// Fields.
	checkEmail(v, "email", in.Email, in.Action == ActionInvite)
	checkNewUsername(v, "username", in.Username)
	if in.Email == "" && in.Username == "" && !v.Has("email") {
		v.Add("email", "required", "an email or a username is required")
	}
	checkText(v, "name", in.Name, maxName)
	checkText(v, "first_name", in.FirstName, maxName)
	checkText(v, "last_name", in.LastName, maxName)
	if in.RequireNames {
		if in.FirstName == "" {
			v.Add("first_name", "required", "is required")
		}
		if in.LastName == "" {
			v.Add("last_name", "required", "is required")
		}
	}
	checkPhone(v, "phone", in.Phone)
	checkLang(v, "lang", in.Lang)
	checkText(v, "external_id", in.ExternalID, maxCustomID)
	checkAttributes(v, "attributes", in.Attributes)
	if in.Type != "" && in.Type != string(core.UserTypeCommon) {
		v.Add("user_type", "invalid", "must be common")
	}
	if in.SecurityRealm != "" && in.SecurityRealm != "native" {
		v.Add("security_realm", "invalid", "only the native realm is supported")
	}
	if in.InviteTTL != 0 && (in.InviteTTL < minInviteTTL || in.InviteTTL > maxInviteTTL) {
		v.Add("invite_ttl", "out_of_range", "must be between 5 minutes and 30 days")
	}
	switch in.Action {
	case ActionRegister:
		s.checkPassword(v, "password", in.Password, in.PasswordPolicy, tenant, in.Email, in.Username)
	case ActionInvite:
		if in.Password != "" {
			v.Add("password", "not_allowed", "is not accepted with action invite: the invited user chooses it")
		}
		if in.Disabled {
			v.Add("status", "not_allowed", "an invited user cannot be created disabled")
		}
	}
	groups := s.checkResourceGroups(ctx, v, in.ResourceGroupIDs, tenant, newTenant)
	if err := v.Err(); err != nil {
		return res, err
	}

	// Hash outside the transaction: it is the slow part, and the pool
	// bounds how many run at once.
	var hash string
	txCtx := ctx
	if in.Action == ActionRegister {
		if hash, err = s.pool.Hash(ctx, password.Interactive, in.Password); err != nil {
			return res, err
		}
		txCtx = s.afterHash(ctx)
	}

	now := s.now()
	u := core.User{
		ID: core.NewID(), ExternalID: in.ExternalID, Email: in.Email, Username: in.Username,
		Name: in.Name, FirstName: in.FirstName, LastName: in.LastName, Phone: in.Phone, Lang: in.Lang,
		Type: core.UserTypeCommon, Status: core.UserInvited, EmailConfirmed: in.EmailConfirmed,
		AuthTypes: []string{"password"}, SecurityRealm: "native", Attributes: in.Attributes,
		HasPassword: hash != "", CreatedAt: now, UpdatedAt: now, CreatedBy: p.Actor(), UpdatedBy: p.Actor(),
		ProviderRoles: core.NormalizeRoles(providerRoles),
	}
	if u.Name == "" {
		u.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if u.Lang == "" {
		u.Lang = core.Languages[0]
	}
	if in.Action == ActionRegister {
		u.Status = core.UserActive
		if in.Disabled {
			u.Status = core.UserDisabled
		}
	}
	if len(u.ProviderRoles) == 0 {
		u.ProviderRoles = nil
	}

	var (
		inv *core.Invitation
		msg core.OutboxMessage
	)
	if in.Action == ActionInvite {
		iss := s.newInvitation(u, tenantID, s.inviteTTL(in.InviteTTL, tenant), p.Actor())
		inv, res.InvitationToken = &iss.inv, iss.token
		// The email is made before the transaction: under load, everything
		// done inside it waits for the database's single writer.
		if msg, err = s.invitationMessage(ctx, s.store, p, u, tenant, iss); err != nil {
			return res, err
		}
	}

	err = s.inTx(txCtx, func(tx store.Tx) error {
		// This may run again after a rollback: the user draws a number
		// anew, rather than insert the rolled-back one as a number given.
		u.Number = 0
		if newTenant {
			if err := tx.CreateTenant(ctx, tenant); err != nil {
				return err
			}
			if len(in.Tenant.Products) > 0 {
				if err := tx.SetTenantProductOverrides(ctx, tenant.ID, in.Tenant.Products); err != nil {
					return err
				}
			}
		}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		if len(u.ProviderRoles) > 0 {
			if err := tx.SetProviderRoles(ctx, u.ID, u.ProviderRoles); err != nil {
				return err
			}
		}
		if tenant != nil {
			m := core.Membership{TenantID: tenant.ID, UserID: u.ID, Roles: tenantRoles, CreatedAt: now}
			if err := tx.PutMembership(ctx, m); err != nil {
				return err
			}
			for _, g := range groups {
				if err := tx.AddResourceGroupMember(ctx, g, u.ID, now); err != nil {
					return err
				}
			}
		}
		if hash != "" {
			if err := tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: hash, UpdatedAt: now}); err != nil {
				return err
			}
		}
		if inv != nil {
			if err := tx.CreateInvitation(ctx, *inv); err != nil {
				return err
			}
			return tx.EnqueueOutbox(ctx, msg)
		}
		return nil
	})
	if err != nil {
		return CreateUserResult{}, err
	}
	if inv != nil {
		s.mailEnqueued()
	}
	if tenant != nil {
		u.Memberships = []core.Membership{{TenantID: tenant.ID, TenantNumber: tenant.Number, TenantName: tenant.Name, TenantStatus: tenant.Status,
			UserID: u.ID, Roles: core.NormalizeRoles(tenantRoles), ResourceGroupIDs: groups, CreatedAt: now}}
	}
	res.User, res.Invitation = u, inv
	if newTenant {
		res.Tenant = tenant
	}
	logx.Attrs(ctx, s.log, slog.LevelInfo, "user created", slog.String("user_id", u.ID), slog.String("action", in.Action),
		slog.String("tenant_id", tenantID), slog.String("actor", p.Actor()))
	return res, nil
}

// splitRoles checks that every role exists and fits where it is granted,
// and splits provider from tenant roles.
func splitRoles(roles []string, inTenant bool) (providerRoles, tenantRoles []string, err error) {
	v := &core.Validation{}
	for i, name := range roles {
		role, ok := core.LookupRole(name)
		field := fmt.Sprintf("roles[%d]", i)
		switch {
		case !ok:
			v.Add(field, "unknown", "unknown role "+name)
		case role.Scope == core.ScopeProvider:
			providerRoles = append(providerRoles, name)
		case !inTenant:
			v.Add(field, "needs_tenant", "role "+name+" is held in a tenant; give tenant_id")
		default:
			tenantRoles = append(tenantRoles, name)
		}
	}
	if err := v.Err(); err != nil {
		return nil, nil, &core.Error{Code: core.CodeRoleInvalid, Message: "some roles are not valid", Fields: err.(*core.Error).Fields}
	}
	return providerRoles, tenantRoles, nil
}

// passwordPolicy is the policy that applies to the users of tenant (nil:
// the provider's default).
func (s *Service) passwordPolicy(tenant *core.Tenant) string {
	if tenant != nil && tenant.PasswordPolicy != "" {
		return tenant.PasswordPolicy
	}
	return s.cfg.PasswordPolicy
}

// checkPassword applies the tenant's (or provider's) policy and, when a
// vendor selects one, its rule as well.
func (s *Service) checkPassword(v *core.Validation, field, pw, extraPolicy string, tenant *core.Tenant, email, username string) {
	s.checkPasswordPolicies(v, field, pw, []string{s.passwordPolicy(tenant), extraPolicy}, email, username)
}

// mergeAttributes applies changes to a copy of stored attributes, key by
// key: a null value removes its key.
func mergeAttributes(stored, changes map[string]any) map[string]any {
	merged := maps.Clone(stored)
	if merged == nil {
		merged = map[string]any{}
	}
	for k, val := range changes {
		if val == nil {
			delete(merged, k)
		} else {
			merged[k] = val
		}
	}
	return merged
}

// checkUserPassword checks a password for an existing user, who may belong
// to several tenants: it must meet the policy of each (the provider's when
// there is none), or a stricter tenant's rule could be escaped through a
// laxer one. also names a tenant the user is about to join ("" for none);
// tenants caches the tenants read.
func (s *Service) checkUserPassword(ctx context.Context, v *core.Validation, field, pw, extraPolicy string, u core.User, also string,
	tenants map[string]*core.Tenant) error {
	policies, err := s.userPolicies(ctx, u, also, tenants)
	if err != nil {
		return err
	}
	s.checkPasswordPolicies(v, field, pw, append(policies, extraPolicy), u.Email, u.Username)
	return nil
}

// userPolicies names, once each, the password policies of every tenant the
// user belongs to, and of also ("" for none), or the provider's when none.
func (s *Service) userPolicies(ctx context.Context, u core.User, also string, tenants map[string]*core.Tenant) ([]string, error) {
	var ids []string
	for _, m := range u.Memberships {
		ids = append(ids, m.TenantID)
	}
	if also != "" && !slices.Contains(ids, also) {
		ids = append(ids, also)
	}
	if len(ids) == 0 {
		return []string{s.passwordPolicy(nil)}, nil
	}
	var policies []string
	for _, id := range ids {
		t := tenants[id] // nil: not read yet (or, in an import's map, not found then)
		if t == nil {
			got, err := s.store.GetTenant(ctx, core.TenantRef{ID: id})
			if err != nil {
				return nil, err
			}
			t = &got
			if tenants != nil {
				tenants[id] = t
			}
		}
		if p := s.passwordPolicy(t); !slices.Contains(policies, p) {
			policies = append(policies, p)
		}
	}
	return policies, nil
}

// checkPasswordPolicies applies each named policy once ("" is none), and
// reports each kind of problem once.
func (s *Service) checkPasswordPolicies(v *core.Validation, field, pw string, names []string, email, username string) {
	if pw == "" {
		v.Add(field, "required", "is required")
		return
	}
	var policies []string
	for _, p := range names {
		if p != "" && !slices.Contains(policies, p) {
			policies = append(policies, p)
		}
	}
	// A problem two policies share is said once; two that differ (at most
	// 128 characters, at most 50) are both said, or the laxer limit would
	// be the only one shown.
	seen := map[password.Problem]bool{}
	for _, policy := range policies {
		for _, pr := range password.Check(policy, pw, password.Context{Email: email, Username: username}) {
			if !seen[pr] {
				seen[pr] = true
				v.Add(field, pr.Code, pr.Message)
			}
		}
	}
}

// checkResourceGroups verifies that every group exists in the tenant.
func (s *Service) checkResourceGroups(ctx context.Context, v *core.Validation, ids []string, tenant *core.Tenant, newTenant bool) []string {
	if len(ids) == 0 {
		return nil
	}
	if tenant == nil || newTenant {
		v.Add("resource_group_ids", "needs_tenant", "resource groups belong to an existing tenant; give tenant_id")
		return nil
	}
	if len(ids) > maxResourceGroup {
		v.Add("resource_group_ids", "too_many", fmt.Sprintf("at most %d resource groups", maxResourceGroup))
		return nil
	}
	var out []string
	for i, id := range ids {
		field := fmt.Sprintf("resource_group_ids[%d]", i)
		if !checkID(v, field, id) {
			continue
		}
		g, err := s.store.GetResourceGroup(ctx, id)
		if err != nil || g.TenantID != tenant.ID {
			v.Add(field, "not_found", "no such resource group in this tenant")
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Service) inviteTTL(requested time.Duration, tenant *core.Tenant) time.Duration {
	switch {
	case requested > 0:
		return requested
	case tenant != nil && tenant.InviteTTL > 0:
		return tenant.InviteTTL
	default:
		return s.cfg.InviteTTL
	}
}

// GetUser returns a user the principal may see.
func (s *Service) GetUser(ctx context.Context, p *core.Principal, ref core.UserRef) (core.User, error) {
	return showTo(p)(s.getUser(ctx, p, ref))
}

// showTo returns what p may see of a user its operation returns: the
// memberships of the tenants p can read (every one for provider readers,
// and for the user itself through an unlimited credential; see
// showsTenant for its limited keys). The operations decide on the whole
// user; a reader of one tenant is not told the user's other tenants and
// roles.
func showTo(p *core.Principal) func(core.User, error) (core.User, error) {
	return func(u core.User, err error) (core.User, error) {
		if seesWhole(p, u.ID) {
			return u, err
		}
		var shown []core.Membership
		for _, m := range u.Memberships {
			if showsTenant(p, u.ID, m.TenantID) {
				shown = append(shown, m)
			}
		}
		u.Memberships = shown
		return u, err
	}
}

// seesWhole reports whether p sees all of the user with id, in every
// tenant: provider readers do, and the user itself through a credential
// that is not limited to a tenant or to roles.
func seesWhole(p *core.Principal, id string) bool {
	return readsAll(p) || (p.UserID != "" && p.UserID == id && !p.Restricted)
}

// showsTenant reports whether p sees what the user with id holds in a
// tenant: a reader of the tenant does, and so does the user's own key
// limited to the tenants it acts in, with some role (a key for one tenant
// is not told of its owner's others, nor of its own tenant once its owner
// has left it).
func showsTenant(p *core.Principal, id, tenantID string) bool {
	if canReadTenant(p, tenantID) {
		return true
	}
	return len(p.TenantRoles[tenantID]) > 0 && p.UserID != "" && p.UserID == id
}

// getUser is GetUser with every membership, for the service's decisions.
func (s *Service) getUser(ctx context.Context, p *core.Principal, ref core.UserRef) (core.User, error) {
	if !searchable(ref.Email) || !searchable(ref.Username) {
		return core.User{}, core.Errorf(core.CodeNotFound, "user not found") // no user has such a name
	}
	u, err := s.store.GetUser(ctx, ref)
	if err != nil {
		return u, err
	}
	if !canReadUser(p, u) {
		// Not 403: whether the user exists is not the caller's business.
		return core.User{}, core.Errorf(core.CodeNotFound, "user not found")
	}
	return u, nil
}

// searchable reports whether s can be searched for: UTF-8 without NUL,
// as PostgreSQL's text requires (SQLite would take it, and find nothing).
func searchable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// checkSearch refuses a search text that is not searchable.
func checkSearch(v *core.Validation, field, s string) {
	if !searchable(s) {
		v.Add(field, "invalid", "must be UTF-8 text without NUL characters")
	}
}

// UserQuery is a user listing request.
type UserQuery struct {
	TenantID           string
	Prefix             string
	Statuses           []core.UserStatus
	Roles              []string
	ResourceGroupIDs   []string
	InvitationStatuses []core.InvitationStatus
	Deleted            core.DeletedFilter
	// Cursor continues a keyset listing; Offset pages by position instead.
	Cursor string
	Offset int
	Limit  int
	Sort   core.UserSort
	// WithTotal counts every match, for surfaces that show a total.
	WithTotal bool
	// WithEmail lists only users with an email, for surfaces whose users
	// always have one (Gcore).
	WithEmail bool
}

// UserPage is one page of a listing.
type UserPage struct {
	Users      []core.User
	NextCursor string // empty on the last page
	Total      int    // when asked for
}

// MaxPageSize bounds every listing.
const MaxPageSize = 1000

// ListUsers lists the users the principal may see.
func (s *Service) ListUsers(ctx context.Context, p *core.Principal, q UserQuery) (UserPage, error) {
	v := &core.Validation{}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > MaxPageSize {
		v.Add("limit", "out_of_range", fmt.Sprintf("must be at most %d", MaxPageSize))
	}
	if q.Offset < 0 {
		v.Add("offset", "out_of_range", "must not be negative")
	}
	for i, st := range q.Statuses {
		if !st.Valid() {
			v.Add(fmt.Sprintf("status[%d]", i), "invalid", "must be invited, active, disabled or deleted")
		}
		if st == core.UserDeleted && q.Deleted == store.ExcludeDeleted {
			q.Deleted = store.IncludeDeleted
		}
	}
	for i, r := range q.Roles {
		if _, ok := core.LookupRole(r); !ok {
			v.Add(fmt.Sprintf("role[%d]", i), "unknown", "unknown role "+r)
		}
	}
	if q.TenantID != "" {
		checkID(v, "tenant_id", q.TenantID)
	}
	q.Prefix = strings.TrimSpace(q.Prefix)
	checkSearch(v, "q", q.Prefix)
	f := store.UserFilter{Prefix: q.Prefix, Statuses: q.Statuses, Deleted: q.Deleted, WithEmail: q.WithEmail, Roles: q.Roles,
		ResourceGroupIDs: q.ResourceGroupIDs, InvitationStatuses: q.InvitationStatuses, InvitationsAt: s.now(),
		Offset: q.Offset, Limit: q.Limit + 1, Sort: q.Sort}
	if len(q.InvitationStatuses) > 0 && !readsAll(p) {
		// As LatestInvitation shows it to this reader: by the newest of
		// the invitations into the tenants it reads, not into others.
		f.InvitationTenantIDs = append([]string{}, tenantsWhere(p, func(r core.Role) bool { return r.Read })...)
	}
	// A prefix search in the default order pages by (search key, id); any
	// other listing by id.
	prefix := core.Fold(q.Prefix)
	search := prefix != "" && (q.Sort.Field == "" || q.Sort.Field == "id") && !q.Sort.Desc && q.Offset == 0
	if q.Cursor != "" {
		switch {
		case q.Sort.Field != "" && q.Sort.Field != "id":
			v.Add("cursor", "invalid", "cursors page in id order only")
		case search:
			key, after, err := decodeSearchCursor(q.Cursor)
			if err != nil {
				v.Add("cursor", "invalid", "is not a cursor of this search")
			}
			f.AfterKey, f.After = key, after
		default:
			after, err := decodeCursor(q.Cursor)
			if err != nil {
				v.Add("cursor", "invalid", "is not a cursor this server gave out")
			}
			f.After = after
		}
	}
	if err := v.Err(); err != nil {
		return UserPage{}, err
	}
	visible := readableTenants(p)
	switch {
	case q.TenantID != "" && visible != nil && !slices.Contains(visible, q.TenantID):
		return UserPage{}, forbidden("you may not read this tenant's users")
	case q.TenantID != "":
		f.TenantIDs = []string{q.TenantID}
	case visible != nil:
		f.TenantIDs = visible
	}
	if err := s.checkGroupFilter(ctx, p, q.TenantID, q.ResourceGroupIDs); err != nil {
		return UserPage{}, err
	}
	users, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return UserPage{}, err
	}
	page := UserPage{Users: users}
	if len(users) > q.Limit {
		page.Users = users[:q.Limit]
		last := page.Users[q.Limit-1]
		page.NextCursor = encodeCursor(last.ID)
		if search {
			key, _ := core.UserSearchKey(last, prefix)
			page.NextCursor = encodeSearchCursor(key, last.ID)
		}
	}
	if q.WithTotal {
		f.Limit, f.Offset, f.After, f.AfterKey = 0, 0, "", ""
		if page.Total, err = s.store.CountUsers(ctx, f); err != nil {
			return UserPage{}, err
		}
	}
	for i, u := range page.Users {
		page.Users[i], _ = showTo(p)(u, nil)
	}
	return page, nil
}

// checkGroupFilter admits a listing's resource groups only as GetResourceGroup
// shows them to its reader: groups of the tenants it reads (of tenantID,
// when the listing is narrowed to one) whose tenant is not deleted. A group
// of another tenant would otherwise tell which of the reader's users belong
// to it there, for users who are members of both; it is answered as an
// unknown group, so that its existence is not told either.
func (s *Service) checkGroupFilter(ctx context.Context, p *core.Principal, tenantID string, ids []string) error {
	v := &core.Validation{}
	if len(ids) > maxResourceGroup {
		v.Add("resource_group_id", "too_many", fmt.Sprintf("at most %d resource groups", maxResourceGroup))
		return v.Err()
	}
	for i, id := range ids {
		field := fmt.Sprintf("resource_group_id[%d]", i)
		if !checkID(v, field, id) {
			continue
		}
		_, err := s.GetResourceGroup(ctx, p, tenantID, id)
		switch {
		case core.ErrorCode(err) == core.CodeNotFound:
			v.Add(field, "not_found", "no such resource group in the tenants you may read")
		case err != nil:
			return err
		}
	}
	return v.Err()
}

// CursorAfter is the cursor of the page that starts after id; roster's
// own load generator uses it to start pages anywhere.
func CursorAfter(id string) string { return encodeCursor(id) }

// Cursors are opaque to clients; today they carry the last id.
func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte("u:" + id)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "u:") || !core.ValidID(string(b[2:])) {
		return "", fmt.Errorf("bad cursor")
	}
	return string(b[2:]), nil
}

// A search's cursor carries the search key of the last user too.
func encodeSearchCursor(key, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s:" + id + ":" + key))
}

func decodeSearchCursor(c string) (key, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	s := string(b)
	if err != nil || !strings.HasPrefix(s, "s:") || len(s) < 39 || s[38] != ':' || !core.ValidID(s[2:38]) || !searchable(s[39:]) {
		return "", "", fmt.Errorf("bad cursor")
	}
	return s[39:], s[2:38], nil
}

// UpdateUserInput changes a user; nil fields stay as they are. Attributes
// follow JSON merge patch: keys set to nil are removed.
type UpdateUserInput struct {
	Email          *string
	Username       *string
	Name           *string
	FirstName      *string
	LastName       *string
	Phone          *string
	Lang           *string
	Status         *core.UserStatus // active or disabled
	EmailConfirmed *bool
	Password       *string
	Attributes     map[string]any
	// ClearAttributes removes every attribute before Attributes merge.
	ClearAttributes bool
	PasswordPolicy  string
	// ProviderRoles, when set, replaces the user's provider-level roles in
	// the same transaction as the other changes (as SetProviderRoles
	// would); RoleRules selects a vendor's combination rules for them.
	ProviderRoles *[]string
	RoleRules     string
	// Member, when set, changes the user's membership in the same
	// transaction as the rest (a vendor's update that sets a user's
	// groups or moves it): checked as PutMember or MoveMember checks it,
	// before anything is written, so a refusal leaves the user as it was.
	Member *MemberUpdate
}

// MemberUpdate is the membership part of an update: with From set the
// user moves from that tenant to TenantID (MoveMember), otherwise its
// roles in TenantID become Roles (PutMember).
type MemberUpdate struct {
	TenantID string
	From     string
	Roles    []string
}

// selfService lists what users may change about themselves.
func (in UpdateUserInput) selfService() bool {
	return in.Email == nil && in.Username == nil && in.Status == nil && in.EmailConfirmed == nil &&
		in.Password == nil && in.Attributes == nil && !in.ClearAttributes && in.ProviderRoles == nil
}

// memberNeedsRole refuses a new member of tenant without one of its roles,
// as PutMember does: no roles, or provider roles alone, make no member.
func memberNeedsRole(tenant *core.Tenant, tenantRoles []string) error {
	if tenant == nil || len(tenantRoles) > 0 {
		return nil
	}
	const msg = "at least one of the tenant's roles is required"
	return &core.Error{Code: core.CodeRoleInvalid, Message: msg,
		Fields: []core.FieldError{{Field: "roles", Code: "required", Message: msg}}}
}

// selfServing reports whether in is u's own change of what users may change
// about themselves, made with u's session or a key of u's that is not
// limited: a key limited to roles or to a tenant acts only as those let it,
// so that a leaked read-only key cannot change its owner.
func selfServing(p *core.Principal, u core.User, in UpdateUserInput) bool {
	return p.UserID != "" && p.UserID == u.ID && !p.Restricted && in.selfService()
}

// UpdateUser changes a user's profile, status or password.
func (s *Service) UpdateUser(ctx context.Context, p *core.Principal, ref core.UserRef, in UpdateUserInput) (core.User, error) {
	return showTo(p)(retryChanged(func() (core.User, error) { return s.updateUser(ctx, p, ref, in) }))
}

func (s *Service) updateUser(ctx context.Context, p *core.Principal, ref core.UserRef, in UpdateUserInput) (core.User, error) {
	u, err := s.getUser(ctx, p, ref)
	if err != nil {
		return u, err
	}
	read := u
	self := p.UserID != "" && p.UserID == u.ID
	if !canManageUser(p, u) && !selfServing(p, u, in) {
		return u, forbidden("you may not change this user")
	}
	if u.Status == core.UserDeleted {
		return u, core.Errorf(core.CodeNotFound, "user not found")
	}
	var providerRoles []string
	if in.ProviderRoles != nil {
		providerRoles = *in.ProviderRoles
		if err := s.checkProviderRoles(p, u, providerRoles, in.RoleRules); err != nil {
			return u, err
		}
	}
	if err := s.takeoverNeedsElevation(p, u, in, self); err != nil {
		return u, err
	}
	// A user disabled before it accepted its invitation has no password to
	// be active with: enabled, it is invited again.
	neverAccepted := false
	if in.Status != nil && *in.Status == core.UserActive && read.Status == core.UserDisabled && !read.HasPassword {
		invs, err := s.store.ListInvitations(ctx, store.InvitationFilter{UserID: read.ID})
		if err != nil {
			return u, err
		}
		neverAccepted = len(invs) > 0 && !slices.ContainsFunc(invs, func(i core.Invitation) bool { return i.State == core.InvitationAccepted })
	}
	// apply makes the change to a copy of base: the read above, or, when
	// another change landed before this one's write, that one's result.
	apply := func(base core.User, hash string) (core.User, *core.Validation) {
		u := base
		v := &core.Validation{}
		setTrimmed(&u.Email, in.Email)
		setTrimmed(&u.Username, in.Username)
		setTrimmed(&u.Name, in.Name)
		setTrimmed(&u.FirstName, in.FirstName)
		setTrimmed(&u.LastName, in.LastName)
		setTrimmed(&u.Phone, in.Phone)
		setTrimmed(&u.Lang, in.Lang)
		if u.Lang == "" {
			u.Lang = core.Languages[0] // null or "": the default, as on create
		}
		checkEmail(v, "email", u.Email, u.Status == core.UserInvited)
		if u.Username != base.Username {
			// One kept passed the rules of its day; a later rule (not dots
			// alone) must not stop every other change to its user.
			checkNewUsername(v, "username", u.Username)
		}
		if u.Email == "" && u.Username == "" {
			v.Add("email", "required", "an email or a username is required")
		}
		checkText(v, "name", u.Name, maxName)
		checkText(v, "first_name", u.FirstName, maxName)
		checkText(v, "last_name", u.LastName, maxName)
		checkPhone(v, "phone", u.Phone)
		checkLang(v, "lang", u.Lang)
		// A name made of the first and last names follows them; one given
		// on its own stays.
		if in.Name == nil && (in.FirstName != nil || in.LastName != nil) &&
			(base.Name == "" || base.Name == strings.TrimSpace(base.FirstName+" "+base.LastName)) {
			u.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
		}
		if emailChanged(base, u) {
			u.EmailConfirmed = false
		}
		if in.EmailConfirmed != nil {
			u.EmailConfirmed = *in.EmailConfirmed
		}
		if in.Status != nil {
			switch {
			case *in.Status != core.UserActive && *in.Status != core.UserDisabled:
				v.Add("status", "invalid", "must be active or disabled; delete the user to delete it")
			case u.Status == core.UserInvited && *in.Status == core.UserActive:
				v.Add("status", "invalid", "an invited user becomes active by accepting the invitation or by getting a password")
			case u.Builtin && *in.Status == core.UserDisabled:
				v.Add("status", "builtin", "the built-in administrator cannot be disabled")
			case neverAccepted && u.Status == core.UserDisabled && !u.HasPassword && *in.Status == core.UserActive:
				u.Status = core.UserInvited
			default:
				u.Status = *in.Status
			}
		}
		if in.Attributes != nil || in.ClearAttributes {
			stored := u.Attributes
			if in.ClearAttributes {
				stored = nil
			}
			u.Attributes = mergeAttributes(stored, in.Attributes)
			checkAttributes(v, "attributes", u.Attributes)
		}
		if in.ProviderRoles != nil {
			u.ProviderRoles = core.NormalizeRoles(providerRoles)
			if len(u.ProviderRoles) == 0 {
				u.ProviderRoles = nil
			}
		}
		if hash != "" {
			u.HasPassword = true
			// Setting a password for an invited user completes the account.
			if u.Status == core.UserInvited {
				u.Status = core.UserActive
			}
		}
		return u, v
	}
	u, v := apply(read, "")
	if in.Password != nil {
		if err := s.checkUserPassword(ctx, v, "password", *in.Password, in.PasswordPolicy, u, "", nil); err != nil {
			return u, err
		}
	}
	if err := v.Err(); err != nil {
		return u, err
	}
	var member memberChange
	switch m := in.Member; {
	case m == nil:
	case m.From != "":
		member, _, err = s.planMove(ctx, p, core.UserRef{ID: u.ID}, core.TenantRef{ID: m.From}, core.TenantRef{ID: m.TenantID})
	default:
		member, _, err = s.planPutMember(ctx, p, core.TenantRef{ID: m.TenantID}, core.UserRef{ID: u.ID}, m.Roles)
	}
	if err != nil {
		return u, err
	}
	var hash string
	if in.Password != nil {
		if hash, err = s.pool.Hash(ctx, password.Interactive, *in.Password); err != nil {
			return u, err
		}
	}
	now := s.now()
	err = s.inTx(ctx, func(tx store.Tx) error {
		cur, err := currentUser(ctx, tx, read)
		if err != nil {
			return err
		}
		// Another change of the user may have landed since the read (a
		// profile edit on another request or node): this one's fields go
		// onto it, so that neither is lost, as long as the caller may
		// still make it.
		if !canManageUser(p, cur) && !selfServing(p, cur, in) {
			return errChangedMeanwhile
		}
		if in.ProviderRoles != nil {
			if err := s.checkProviderRoles(p, cur, providerRoles, in.RoleRules); err != nil {
				return err
			}
		}
		if err := s.takeoverNeedsElevation(p, cur, in, self); err != nil {
			return err
		}
		// Before the user's own write, so that it finds the user as planned.
		if err := member.apply(ctx, tx); err != nil {
			return err
		}
		w, v := apply(cur, hash)
		if err := v.Err(); err != nil {
			return err
		}
		w.UpdatedAt, w.UpdatedBy = now, p.Actor()
		if err := tx.UpdateUser(ctx, w); err != nil {
			return err
		}
		if in.ProviderRoles != nil {
			if err := tx.SetProviderRoles(ctx, w.ID, w.ProviderRoles); err != nil {
				return err
			}
		}
		if hash != "" {
			if err := tx.PutCredential(ctx, core.Credential{UserID: w.ID, Hash: hash, UpdatedAt: now}); err != nil {
				return err
			}
		}
		if emailChanged(cur, w) {
			// A link sent to the old address must not open the account
			// (and confirm the new one): the user is invited again
			// (ResendInvitation) at the new one.
			if err := leaveAddress(ctx, tx, w.ID, cur.Email, now); err != nil {
				return err
			}
		}
		if accessChanged(cur, w, hash != "") {
			if err := tx.RevokeSessionsAndResets(ctx, []string{w.ID}, now); err != nil {
				return err
			}
		}
		u = w
		return nil
	})
	if err != nil {
		return core.User{}, err
	}
	s.log.InfoContext(ctx, "user updated", "user_id", u.ID, "actor", p.Actor(), "password_changed", hash != "")
	if !member.empty() {
		member.logged(ctx, s, p)
		return s.store.GetUser(ctx, core.UserRef{ID: u.ID})
	}
	return u, nil
}

// revokePending ends the invitations f selects that still wait.
func revokePending(ctx context.Context, tx store.Tx, f store.InvitationFilter, now time.Time) error {
	f.States, f.At = []core.InvitationStatus{core.InvitationPending}, now
	invs, err := tx.ListInvitations(ctx, f)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		if _, err := tx.RevokeInvitation(ctx, inv.ID, now); err != nil {
			return err
		}
	}
	return nil
}

// leaveAddress ends what was sent to a user's old address when its email
// changes: the pending invitations, and the mail not yet sent, which would
// still tell the old address the user's name and tenant (a mistyped
// address corrected while mail was down, say).
func leaveAddress(ctx context.Context, tx store.Tx, userID, oldEmail string, now time.Time) error {
	if err := revokePending(ctx, tx, store.InvitationFilter{UserID: userID}, now); err != nil {
		return err
	}
	if oldEmail == "" {
		return nil
	}
	return tx.WithdrawOutbox(ctx, oldEmail, now)
}

// emailChanged reports whether a change of a user gives it another email.
func emailChanged(before, after core.User) bool {
	return core.NormalizeEmail(before.Email) != core.NormalizeEmail(after.Email)
}

// accessChanged reports whether a change of a user (from before to after,
// with a new password or not) must end the user's sessions and unused
// password reset links: a new password ends what the old one opened, a
// reset link mailed to the old address must not work for the new one, and
// a disabled user re-enabled later starts with none.
func accessChanged(before, after core.User, newPassword bool) bool {
	return newPassword || emailChanged(before, after) || (after.Status != before.Status && after.Status != core.UserActive)
}

// DeleteUser deletes a user softly: the row stays with its id and number,
// status deleted; email and username become free; keys, sessions and
// pending invitations stop working.
func (s *Service) DeleteUser(ctx context.Context, p *core.Principal, ref core.UserRef) (core.User, error) {
	return s.DeleteUserWith(ctx, p, ref, DeleteUserOptions{})
}

// DeleteUserOptions select a vendor's preconditions for deleting a user.
type DeleteUserOptions struct {
	// RefuseMultiTenant refuses to delete a user who belongs to more than
	// one tenant: access to the other tenants must be removed first
	// (Gcore). The refusal is CodeForbidden with a field error coded
	// "multiple_tenants".
	RefuseMultiTenant bool
}

// CodeMultipleTenants is the field error code of DeleteUserOptions.RefuseMultiTenant.
const CodeMultipleTenants = "multiple_tenants"

// DeleteUserWith is DeleteUser with a vendor's preconditions.
func (s *Service) DeleteUserWith(ctx context.Context, p *core.Principal, ref core.UserRef, opts DeleteUserOptions) (core.User, error) {
	return showTo(p)(retryChanged(func() (core.User, error) { return s.deleteUserWith(ctx, p, ref, opts) }))
}

func (s *Service) deleteUserWith(ctx context.Context, p *core.Principal, ref core.UserRef, opts DeleteUserOptions) (core.User, error) {
	u, err := s.getUser(ctx, p, ref)
	if err != nil {
		return u, err
	}
	if u.Status == core.UserDeleted {
		return u, core.Errorf(core.CodeNotFound, "user not found")
	}
	if !canManageUser(p, u) {
		return u, forbidden("you may not delete this user")
	}
	if u.Builtin {
		return u, builtinRefusal("builtin", "the built-in administrator cannot be deleted")
	}
	if opts.RefuseMultiTenant && len(u.Memberships) > 1 {
		return u, &core.Error{Code: core.CodeForbidden, Message: "the user belongs to more than one tenant; remove the other memberships first",
			Fields: []core.FieldError{{Field: "memberships", Code: CodeMultipleTenants, Message: "the user belongs to more than one tenant"}}}
	}
	if err := s.requireElevation(p); err != nil {
		return u, err
	}
	now := s.now()
	read := u
	err = s.inTx(ctx, func(tx store.Tx) error {
		// The checks above were made on read: a user given another tenant
		// or a role meanwhile is checked again.
		cur, err := currentAccess(ctx, tx, read)
		if err != nil {
			return err
		}
		cur.Status, cur.DeletedAt, cur.UpdatedAt, cur.UpdatedBy = core.UserDeleted, &now, now, p.Actor()
		u = cur
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		keys, err := tx.ListAPIKeys(ctx, store.APIKeyFilter{UserID: u.ID})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.RevokeAPIKey(ctx, k.ID, now); err != nil {
				return err
			}
		}
		if err := revokePending(ctx, tx, store.InvitationFilter{UserID: u.ID}, now); err != nil {
			return err
		}
		return tx.RevokeSessionsAndResets(ctx, []string{u.ID}, now)
	})
	if err != nil {
		return core.User{}, err
	}
	s.log.InfoContext(ctx, "user deleted", "user_id", u.ID, "actor", p.Actor())
	return u, nil
}

// SetProviderRoles replaces a user's provider-level roles.
func (s *Service) SetProviderRoles(ctx context.Context, p *core.Principal, ref core.UserRef, roles []string, rules string) (core.User, error) {
	return showTo(p)(retryChanged(func() (core.User, error) { return s.setProviderRoles(ctx, p, ref, roles, rules) }))
}

func (s *Service) setProviderRoles(ctx context.Context, p *core.Principal, ref core.UserRef, roles []string, rules string) (core.User, error) {
	if !isProviderAdmin(p) {
		return core.User{}, forbidden("only provider administrators change provider roles")
	}
	u, err := s.getUser(ctx, p, ref)
	if err != nil {
		return u, err
	}
	read := u
	if u.Status == core.UserDeleted {
		return u, core.Errorf(core.CodeNotFound, "user not found")
	}
	if err := s.checkProviderRoles(p, u, roles, rules); err != nil {
		return u, err
	}
	now := s.now()
	roles = core.NormalizeRoles(roles)
	if len(roles) == 0 {
		roles = nil
	}
	err = s.inTx(ctx, func(tx store.Tx) error {
		w, err := currentUser(ctx, tx, read)
		if err != nil {
			return err
		}
		// Again on the roles held now: provider-admin taken away meanwhile
		// is given anew, which needs an elevation.
		if err := s.checkProviderRoles(p, w, roles, rules); err != nil {
			return err
		}
		w.ProviderRoles, w.UpdatedAt, w.UpdatedBy = roles, now, p.Actor()
		if err := tx.SetProviderRoles(ctx, w.ID, w.ProviderRoles); err != nil {
			return err
		}
		u = w
		return tx.UpdateUser(ctx, w)
	})
	return u, err
}

// errChangedMeanwhile is returned from a transaction that found what the
// operation read before it changed by another writer since: the whole
// operation runs again (retryChanged), to decide on what is there now. A
// write of a whole row read earlier would otherwise undo the other change,
// a deletion among them.
var errChangedMeanwhile = errors.New("changed while the request ran")

// retryChanged runs op again while it reports errChangedMeanwhile, a few
// times at most.
func retryChanged[T any](op func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := op()
		if !errors.Is(err, errChangedMeanwhile) {
			return v, err
		}
		if attempt == 3 {
			var zero T
			return zero, core.Errorf(core.CodeConflict, "it kept changing while this request ran; try again")
		}
	}
}

// lockedUser holds the user for the rest of the transaction and reads it
// as it is now.
func lockedUser(ctx context.Context, tx store.Tx, id string) (core.User, error) {
	if err := tx.LockUsers(ctx, []string{id}); err != nil {
		return core.User{}, err
	}
	return tx.GetUser(ctx, core.UserRef{ID: id})
}

// currentUser holds the user for the rest of the transaction and reads it
// as it is now, for a change to be made to it rather than to read: fields
// another request changed since read was read are kept. It reports
// errChangedMeanwhile when the status changed (a deletion or a disable),
// on which the operation's decisions depend: it runs again.
func currentUser(ctx context.Context, tx store.Tx, read core.User) (core.User, error) {
	cur, err := lockedUser(ctx, tx, read.ID)
	if err != nil {
		return cur, err
	}
	if cur.Status != read.Status {
		return cur, errChangedMeanwhile
	}
	return cur, nil
}

// takeoverNeedsElevation asks for an elevation (where elevation is
// required) before another provider administrator's password, email,
// username or status is changed: each of these hands that account, and
// its role, to whoever changes it, as granting the role would.
func (s *Service) takeoverNeedsElevation(p *core.Principal, target core.User, in UpdateUserInput, self bool) error {
	if self || !slices.Contains(target.ProviderRoles, core.RoleProviderAdmin) {
		return nil
	}
	if in.Password == nil && in.Email == nil && in.Username == nil && in.Status == nil {
		return nil
	}
	return s.requireElevation(p)
}

// currentAccess holds the user for the rest of the transaction and reads
// it as it is now, reporting errChangedMeanwhile when anything that
// decides who may act on it, or what it may do, changed since read was
// read: its status, its provider roles, its memberships and their roles.
// A decision made on read (a permission, a role to copy, a refusal) is
// then made again on the user as it is.
func currentAccess(ctx context.Context, tx store.Tx, read core.User) (core.User, error) {
	cur, err := lockedUser(ctx, tx, read.ID)
	if err != nil {
		return cur, err
	}
	if !sameAccess(read, cur) {
		return cur, errChangedMeanwhile
	}
	return cur, nil
}

// sameIn reports whether two reads of a user agree on its status, provider
// roles, and its memberships (with their roles) in the given tenants ("" is
// skipped).
func sameIn(a, b core.User, tenantIDs ...string) bool {
	if a.Status != b.Status || !slices.Equal(core.NormalizeRoles(a.ProviderRoles), core.NormalizeRoles(b.ProviderRoles)) {
		return false
	}
	for _, id := range tenantIDs {
		if id == "" {
			continue
		}
		m, inA := a.Membership(id)
		n, inB := b.Membership(id)
		if inA != inB || !slices.Equal(core.NormalizeRoles(m.Roles), core.NormalizeRoles(n.Roles)) {
			return false
		}
	}
	return true
}

// sameAccess reports whether two reads of a user agree on its status,
// provider roles, and all its memberships with their roles.
func sameAccess(a, b core.User) bool {
	if len(a.Memberships) != len(b.Memberships) {
		return false
	}
	ids := make([]string, len(a.Memberships))
	for i, m := range a.Memberships {
		ids[i] = m.TenantID
	}
	return sameIn(a, b, ids...)
}

// checkProviderRoles decides whether p may give u exactly these
// provider-level roles: known provider roles, the named combination rules,
// the built-in administrator keeping provider-admin, and an elevation for
// granting provider-admin.
func (s *Service) checkProviderRoles(p *core.Principal, u core.User, roles []string, rules string) error {
	if !isProviderAdmin(p) {
		return forbidden("only provider administrators change provider roles")
	}
	v := &core.Validation{}
	for i, r := range roles {
		role, ok := core.LookupRole(r)
		if !ok || role.Scope != core.ScopeProvider {
			v.Add(fmt.Sprintf("roles[%d]", i), "unknown", "unknown provider role "+r)
		}
	}
	checkRoleRules(v, "roles", rules, roles)
	if err := v.Err(); err != nil {
		return &core.Error{Code: core.CodeRoleInvalid, Message: "the roles are not valid", Fields: err.(*core.Error).Fields}
	}
	if u.Builtin && !slices.Contains(roles, core.RoleProviderAdmin) {
		return builtinRefusal("roles", "the built-in administrator keeps provider-admin")
	}
	if slices.Contains(roles, core.RoleProviderAdmin) && !slices.Contains(u.ProviderRoles, core.RoleProviderAdmin) {
		return s.requireElevation(p)
	}
	return nil
}

// builtinRefusal is the answer to changing what the built-in administrator
// must keep. The field error's code "builtin" lets surfaces tell it from
// other refusals (ECE answers user.cannot_modify).
func builtinRefusal(field, message string) *core.Error {
	return &core.Error{Code: core.CodeForbidden, Message: message,
		Fields: []core.FieldError{{Field: field, Code: "builtin", Message: message}}}
}
