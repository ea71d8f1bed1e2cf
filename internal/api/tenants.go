package api

import (
	"net/http"

	"roster/internal/core"
	"roster/internal/service"
)

func (a *API) createTenant(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b tenantBody
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	in := b.input(v, "")
	if err := v.Err(); err != nil {
		return err
	}
	t, err := a.svc.CreateTenant(r.Context(), p, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	writeJSON(w, http.StatusCreated, toTenant(t))
	return nil
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	q := r.URL.Query()
	v := &core.Validation{}
	query := service.TenantQuery{Prefix: q.Get("q"), Cursor: q.Get("cursor"), Limit: queryLimit(r, v)}
	switch q.Get("deleted") {
	case "", "exclude":
	case "include":
		query.Deleted = core.IncludeDeleted
	case "only":
		query.Deleted = core.OnlyDeleted
	default:
		v.Add("deleted", "invalid", "must be exclude, include or only")
	}
	if err := v.Err(); err != nil {
		return err
	}
	page, err := a.svc.ListTenants(r.Context(), p, query)
	if err != nil {
		return err
	}
	items := make([]tenantJSON, 0, len(page.Tenants))
	for _, t := range page.Tenants {
		items = append(items, toTenant(t))
	}
	writeJSON(w, http.StatusOK, list(items, page.NextCursor))
	return nil
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := tenantRef(r)
	if err != nil {
		return err
	}
	t, err := a.svc.GetTenant(r.Context(), p, ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTenant(t))
	return nil
}

type patchTenantBody struct {
	Name             optional[string]            `json:"name"`
	Email            optional[string]            `json:"email"`
	Phone            optional[string]            `json:"phone"`
	CountryCode      optional[string]            `json:"country_code"`
	Lang             optional[string]            `json:"lang"`
	CustomID         optional[string]            `json:"custom_id"`
	IsTest           optional[bool]              `json:"is_test"`
	SellerID         optional[int64]             `json:"seller_id"`
	Status           optional[core.TenantStatus] `json:"status"`
	PasswordPolicy   optional[string]            `json:"password_policy"`
	InviteTTLSeconds optional[int64]             `json:"invite_ttl_seconds"`
}

func (a *API) patchTenant(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := tenantRef(r)
	if err != nil {
		return err
	}
	var b patchTenantBody
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	if b.Name.isNull() {
		v.Add("name", "null", "cannot be null")
	}
	if b.Status.isNull() {
		v.Add("status", "null", "cannot be null")
	}
	if err := v.Err(); err != nil {
		return err
	}
	in := service.UpdateTenantInput{Name: b.Name.ptr(), Email: b.Email.ptr(), Phone: b.Phone.ptr(),
		CountryCode: b.CountryCode.ptr(), Lang: b.Lang.ptr(), CustomID: b.CustomID.ptr(), IsTest: b.IsTest.ptr(),
		SellerID: b.SellerID.ptr(), Status: b.Status.ptr(), PasswordPolicy: b.PasswordPolicy.ptr()}
	if secs := b.InviteTTLSeconds.ptr(); secs != nil {
		d := seconds(*secs)
		in.InviteTTL = &d
	}
	t, err := a.svc.UpdateTenant(r.Context(), p, ref, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTenant(t))
	return nil
}

func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := tenantRef(r)
	if err != nil {
		return err
	}
	if _, err := a.svc.DeleteTenant(r.Context(), p, ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getTenantProducts(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := tenantRef(r)
	if err != nil {
		return err
	}
	ps, err := a.svc.TenantProducts(r.Context(), p, ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list(toProducts(ps), ""))
	return nil
}

// putTenantProducts replaces the tenant's overrides: products named with
// true or false are set, products named with null or not named inherit.
func (a *API) putTenantProducts(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := tenantRef(r)
	if err != nil {
		return err
	}
	var b map[string]*bool
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	overrides := productMap(v, "", b)
	if err := v.Err(); err != nil {
		return err
	}
	full := make(map[core.Product]*bool, len(core.Products))
	for _, prod := range core.Products {
		full[prod] = overrides[prod]
	}
	ps, err := a.svc.SetTenantProducts(r.Context(), p, ref, full)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list(toProducts(ps), ""))
	return nil
}

func (a *API) getProductDefaults(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	d, err := a.svc.ProductDefaults(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// putProductDefaults replaces the defaults: products not named become
// unavailable.
func (a *API) putProductDefaults(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b map[string]bool
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	defaults := make(map[core.Product]bool, len(core.Products))
	for _, prod := range core.Products {
		defaults[prod] = false
	}
	for prod, val := range parseProducts(v, "", b) {
		defaults[prod] = val
	}
	if err := v.Err(); err != nil {
		return err
	}
	d, err := a.svc.SetProductDefaults(r.Context(), p, defaults)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}
