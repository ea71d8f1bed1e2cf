package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/store"
)

// TenantInput describes a new tenant.
type TenantInput struct {
	Name           string
	Email          string
	Phone          string
	CountryCode    string
	Lang           string
	CustomID       string
	IsTest         bool
	SellerID       int64
	PasswordPolicy string
	InviteTTL      time.Duration
	// Products overrides the provider's defaults: true or false sets the
	// tenant's own availability, nil inherits.
	Products map[core.Product]*bool
}

// buildTenant validates in (field names prefixed by prefix) and returns the
// tenant to insert with its product overrides.
func (s *Service) buildTenant(v *core.Validation, prefix string, in TenantInput, p *core.Principal) (core.Tenant, map[core.Product]*bool) {
	// Every text is trimmed, as an update trims it.
	in.Name, in.Email, in.Phone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email), strings.TrimSpace(in.Phone)
	in.CountryCode, in.Lang, in.CustomID = strings.TrimSpace(in.CountryCode), strings.TrimSpace(in.Lang), strings.TrimSpace(in.CustomID)
	if in.Name == "" {
		v.Add(prefix+"name", "required", "is required")
	}
	checkText(v, prefix+"name", in.Name, maxName)
	checkEmail(v, prefix+"email", in.Email, false)
	checkPhone(v, prefix+"phone", in.Phone)
	checkCountry(v, prefix+"country_code", in.CountryCode)
	checkLang(v, prefix+"lang", in.Lang)
	checkText(v, prefix+"custom_id", in.CustomID, maxCustomID)
	if in.SellerID < 0 {
		v.Add(prefix+"seller", "invalid", "must be a positive number")
	}
	if in.PasswordPolicy != "" && !password.ValidPolicy(in.PasswordPolicy) {
		v.Add(prefix+"password_policy", "invalid", "must be one of "+strings.Join(password.Policies, ", "))
	}
	if in.InviteTTL != 0 && (in.InviteTTL < minInviteTTL || in.InviteTTL > maxInviteTTL) {
		v.Add(prefix+"invite_ttl", "out_of_range", "must be between 5 minutes and 30 days")
	}
	now := s.now()
	t := core.Tenant{ID: core.NewID(), Name: in.Name, Email: in.Email, Phone: in.Phone, CountryCode: in.CountryCode,
		Lang: in.Lang, CustomID: in.CustomID, IsTest: in.IsTest, Status: core.TenantActive, SellerID: in.SellerID,
		PasswordPolicy: in.PasswordPolicy, InviteTTL: in.InviteTTL, CreatedAt: now, UpdatedAt: now,
		CreatedBy: p.Actor(), UpdatedBy: p.Actor()}
	return t, in.Products
}

// CreateTenant creates a tenant; only provider administrators may.
func (s *Service) CreateTenant(ctx context.Context, p *core.Principal, in TenantInput) (core.Tenant, error) {
	if !isProviderAdmin(p) {
		return core.Tenant{}, forbidden("only provider administrators create tenants")
	}
	v := &core.Validation{}
	t, overrides := s.buildTenant(v, "", in, p)
	if err := v.Err(); err != nil {
		return core.Tenant{}, err
	}
	err := s.inTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateTenant(ctx, &t); err != nil {
			return err
		}
		if len(overrides) > 0 {
			return tx.SetTenantProductOverrides(ctx, t.ID, overrides)
		}
		return nil
	})
	if err != nil {
		return core.Tenant{}, err
	}
	s.log.InfoContext(ctx, "tenant created", "tenant_id", t.ID, "actor", p.Actor())
	return t, nil
}

// GetTenant returns a tenant the principal may read.
func (s *Service) GetTenant(ctx context.Context, p *core.Principal, ref core.TenantRef) (core.Tenant, error) {
	t, err := s.store.GetTenant(ctx, ref)
	if err != nil {
		return t, err
	}
	if !canReadTenant(p, t.ID) && !canManageTenant(p, t.ID) {
		return core.Tenant{}, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	return t, nil
}

// TenantQuery is a tenant listing request.
type TenantQuery struct {
	Prefix    string
	Deleted   core.DeletedFilter
	Cursor    string
	Offset    int
	Limit     int
	WithTotal bool
}

// TenantPage is one page of tenants.
type TenantPage struct {
	Tenants    []core.Tenant
	NextCursor string
	Total      int
}

// ListTenants lists the tenants the principal may read.
func (s *Service) ListTenants(ctx context.Context, p *core.Principal, q TenantQuery) (TenantPage, error) {
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
	q.Prefix = strings.TrimSpace(q.Prefix)
	checkSearch(v, "q", q.Prefix)
	f := store.TenantFilter{Prefix: q.Prefix, Deleted: q.Deleted, Offset: q.Offset, Limit: q.Limit + 1}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			v.Add("cursor", "invalid", "is not a cursor this server gave out")
		}
		f.After = after
	}
	if err := v.Err(); err != nil {
		return TenantPage{}, err
	}
	if !readsAll(p) {
		f.IDs = tenantsWhere(p, func(r core.Role) bool { return r.Read || r.Manage })
	}
	tenants, err := s.store.ListTenants(ctx, f)
	if err != nil {
		return TenantPage{}, err
	}
	page := TenantPage{Tenants: tenants}
	if len(tenants) > q.Limit {
		page.Tenants = tenants[:q.Limit]
		page.NextCursor = encodeCursor(page.Tenants[q.Limit-1].ID)
	}
	if q.WithTotal {
		f.Limit, f.Offset = 0, 0
		if page.Total, err = s.store.CountTenants(ctx, f); err != nil {
			return TenantPage{}, err
		}
	}
	return page, nil
}

// UpdateTenantInput changes a tenant; nil fields stay as they are. Tenant
// administrators may change the contact fields of their own tenant; the
// rest is the provider's.
type UpdateTenantInput struct {
	Name           *string
	Email          *string
	Phone          *string
	CountryCode    *string
	Lang           *string
	CustomID       *string
	IsTest         *bool
	SellerID       *int64
	Status         *core.TenantStatus // active or suspended
	PasswordPolicy *string
	InviteTTL      *time.Duration
}

func (in UpdateTenantInput) providerOnly() bool {
	return in.CustomID != nil || in.IsTest != nil || in.SellerID != nil || in.Status != nil ||
		in.PasswordPolicy != nil || in.InviteTTL != nil
}

// UpdateTenant changes a tenant.
func (s *Service) UpdateTenant(ctx context.Context, p *core.Principal, ref core.TenantRef, in UpdateTenantInput) (core.Tenant, error) {
	return retryChanged(func() (core.Tenant, error) { return s.updateTenant(ctx, p, ref, in) })
}

func (s *Service) updateTenant(ctx context.Context, p *core.Principal, ref core.TenantRef, in UpdateTenantInput) (core.Tenant, error) {
	t, err := s.GetTenant(ctx, p, ref)
	if err != nil {
		return t, err
	}
	read := t
	if t.Status == core.TenantDeleted {
		return core.Tenant{}, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	if !canManageTenant(p, t.ID) || (in.providerOnly() && !isProviderAdmin(p)) {
		return t, forbidden("you may not change this tenant")
	}
	// apply makes the change to a copy of base: the read above, or the
	// tenant as it is at the write, when another change landed between.
	apply := func(base core.Tenant) (core.Tenant, error) {
		t := base
		v := &core.Validation{}
		setTrimmed(&t.Name, in.Name)
		setTrimmed(&t.Email, in.Email)
		setTrimmed(&t.Phone, in.Phone)
		setTrimmed(&t.CountryCode, in.CountryCode)
		setTrimmed(&t.Lang, in.Lang)
		setTrimmed(&t.CustomID, in.CustomID)
		setTrimmed(&t.PasswordPolicy, in.PasswordPolicy)
		if in.IsTest != nil {
			t.IsTest = *in.IsTest
		}
		if in.SellerID != nil {
			t.SellerID = *in.SellerID
		}
		if in.InviteTTL != nil {
			t.InviteTTL = *in.InviteTTL
		}
		if in.Status != nil {
			if *in.Status != core.TenantActive && *in.Status != core.TenantSuspended {
				v.Add("status", "invalid", "must be active or suspended; delete the tenant to delete it")
			} else {
				t.Status = *in.Status
			}
		}
		// Re-validate the whole tenant as it would be stored.
		check := TenantInput{Name: t.Name, Email: t.Email, Phone: t.Phone, CountryCode: t.CountryCode, Lang: t.Lang,
			CustomID: t.CustomID, SellerID: t.SellerID, PasswordPolicy: t.PasswordPolicy, InviteTTL: t.InviteTTL}
		s.buildTenant(v, "", check, p)
		return t, v.Err()
	}
	if t, err = apply(read); err != nil {
		return t, err
	}
	now := s.now()
	err = s.inTx(ctx, func(tx store.Tx) error {
		cur, err := currentTenant(ctx, tx, read)
		if err != nil {
			return err
		}
		// Fields another request changed since the read are kept.
		w, err := apply(cur)
		if err != nil {
			return err
		}
		w.UpdatedAt, w.UpdatedBy = now, p.Actor()
		t = w
		return tx.UpdateTenant(ctx, w)
	})
	if err != nil {
		return core.Tenant{}, err
	}
	return t, nil
}

// currentTenant holds the tenant for the rest of the transaction and reads
// it as it is now, for a change to be made to it; errChangedMeanwhile when
// its status changed since read was read (a deletion or a suspension the
// change must not undo): the operation runs again.
func currentTenant(ctx context.Context, tx store.Tx, read core.Tenant) (core.Tenant, error) {
	cur, err := lockedTenant(ctx, tx, read.ID)
	if err != nil {
		return cur, err
	}
	if cur.Status != read.Status {
		return cur, errChangedMeanwhile
	}
	return cur, nil
}

// DeleteTenant deletes a tenant softly: it leaves listings, its service keys
// stop working, its members' roles there give them nothing (userRoles) and
// no one can be added or invited to it. Its users keep their other tenants.
func (s *Service) DeleteTenant(ctx context.Context, p *core.Principal, ref core.TenantRef) (core.Tenant, error) {
	if !isProviderAdmin(p) {
		return core.Tenant{}, forbidden("only provider administrators delete tenants")
	}
	t, err := s.store.GetTenant(ctx, ref)
	if err != nil {
		return t, err
	}
	if t.Status == core.TenantDeleted {
		return core.Tenant{}, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	now := s.now()
	err = s.inTx(ctx, func(tx store.Tx) error {
		// The tenant as it is now, so that an edit made since the read
		// stays on the deleted row.
		cur, err := tenantNotDeletedNow(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		cur.Status, cur.UpdatedAt, cur.UpdatedBy = core.TenantDeleted, now, p.Actor()
		t = cur
		if err := tx.UpdateTenant(ctx, cur); err != nil {
			return err
		}
		return revokePending(ctx, tx, store.InvitationFilter{TenantIDs: []string{t.ID}}, now)
	})
	if err != nil {
		return core.Tenant{}, err
	}
	s.log.InfoContext(ctx, "tenant deleted", "tenant_id", t.ID, "actor", p.Actor())
	return t, nil
}

// ProductDefaults returns the provider-wide availability of every product;
// products never set are unavailable.
func (s *Service) ProductDefaults(ctx context.Context, p *core.Principal) (map[core.Product]bool, error) {
	if p == nil || (len(p.ProviderRoles) == 0 && len(p.TenantRoles) == 0) {
		return nil, forbidden("you may not read product defaults")
	}
	stored, err := s.store.ProductDefaults(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[core.Product]bool, len(core.Products))
	for _, prod := range core.Products {
		out[prod] = stored[prod]
	}
	return out, nil
}

// SetProductDefaults changes provider-wide defaults.
func (s *Service) SetProductDefaults(ctx context.Context, p *core.Principal, defaults map[core.Product]bool) (map[core.Product]bool, error) {
	if !isProviderAdmin(p) {
		return nil, forbidden("only provider administrators change product defaults")
	}
	if err := s.inTx(ctx, func(tx store.Tx) error { return tx.SetProductDefaults(ctx, defaults) }); err != nil {
		return nil, err
	}
	return s.ProductDefaults(ctx, p)
}

// TenantProducts returns each product's setting for a tenant.
func (s *Service) TenantProducts(ctx context.Context, p *core.Principal, ref core.TenantRef) ([]core.ProductSetting, error) {
	t, err := s.GetTenant(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	return s.tenantProducts(ctx, s.store, t.ID)
}

func (s *Service) tenantProducts(ctx context.Context, r store.Reader, tenantID string) ([]core.ProductSetting, error) {
	defaults, err := r.ProductDefaults(ctx)
	if err != nil {
		return nil, err
	}
	overrides, err := r.TenantProductOverrides(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]core.ProductSetting, 0, len(core.Products))
	for _, prod := range core.Products {
		ps := core.ProductSetting{Product: prod, Available: defaults[prod]}
		if v, ok := overrides[prod]; ok {
			ps.Override, ps.Available = &v, v
		}
		out = append(out, ps)
	}
	return out, nil
}

// SetTenantProducts changes a tenant's overrides: true or false sets, nil
// returns the product to the provider's default. Products not named stay.
func (s *Service) SetTenantProducts(ctx context.Context, p *core.Principal, ref core.TenantRef, overrides map[core.Product]*bool) ([]core.ProductSetting, error) {
	if !isProviderAdmin(p) {
		return nil, forbidden("only provider administrators change product availability")
	}
	t, err := s.store.GetTenant(ctx, ref)
	if err != nil {
		return nil, err
	}
	if t.Status == core.TenantDeleted {
		return nil, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	var out []core.ProductSetting
	err = s.inTx(ctx, func(tx store.Tx) error {
		if _, err := tenantNotDeletedNow(ctx, tx, t.ID); err != nil {
			return err
		}
		if err := tx.SetTenantProductOverrides(ctx, t.ID, overrides); err != nil {
			return err
		}
		out, err = s.tenantProducts(ctx, tx, t.ID)
		return err
	})
	return out, err
}

// ResetAllTenantProducts returns the given products to the provider's
// default in every tenant: each tenant's own setting for them is removed.
func (s *Service) ResetAllTenantProducts(ctx context.Context, p *core.Principal, products []core.Product) error {
	if !isProviderAdmin(p) {
		return forbidden("only provider administrators change product availability")
	}
	if len(products) == 0 {
		return nil
	}
	reset := make(map[core.Product]*bool, len(products))
	for _, prod := range products {
		reset[prod] = nil
	}
	err := s.inTx(ctx, func(tx store.Tx) error {
		tenants, err := tx.ListTenants(ctx, store.TenantFilter{Deleted: store.IncludeDeleted})
		if err != nil {
			return err
		}
		for _, t := range tenants {
			if err := tx.SetTenantProductOverrides(ctx, t.ID, reset); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "tenant product settings reset", "products", products, "actor", p.Actor())
	return nil
}

// maxCachedTenants bounds the tenant cache; past it the cache starts over.
const maxCachedTenants = 10_000

// cachedTenant reads a tenant for adding users to it. A busy importer or
// provisioning client creates many users in one tenant, and reading the
// tenant again for each was an eighth of the server's work per create.
// The copy is at most Config.AuthCacheTTL old, and a change to any tenant
// on this node clears the cache (see inTx): a tenant suspended on another
// node may take new users for up to that long, as its keys keep working.
func (s *Service) cachedTenant(ctx context.Context, id string) (core.Tenant, error) {
	if t, ok := s.tenants.get(id); ok {
		return t, nil
	}
	gen := s.tenants.generation()
	t, err := s.store.GetTenant(ctx, store.TenantRef{ID: id})
	if err == nil {
		s.tenants.put(id, gen, t)
	}
	return t, err
}
