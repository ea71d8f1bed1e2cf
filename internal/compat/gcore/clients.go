package gcore

import (
	"fmt"
	"net/http"

	"roster/internal/core"
	"roster/internal/service"
)

// caller is the number of the calling user, for "currentUser"; 0 for a
// service key.
func (d *Dialect) caller(r *http.Request, p *core.Principal) int64 {
	if p.UserID == "" {
		return 0
	}
	u, err := d.svc.GetUser(r.Context(), p, core.UserRef{ID: p.UserID})
	if err != nil {
		return 0
	}
	return u.Number
}

// client builds the Client of tenant t. withUsers lists every member;
// otherwise only the administrators are read, for the owner and
// has_active_admin.
func (d *Dialect) client(r *http.Request, p *core.Principal, t core.Tenant, caller int64, withUsers bool) (clientJSON, []core.ProductSetting, error) {
	products, err := d.svc.TenantProducts(r.Context(), p, core.TenantRef{ID: t.ID})
	if err != nil {
		return clientJSON{}, nil, err
	}
	var members []core.User
	if withUsers {
		members, err = d.allUsers(r, p, t.ID)
	} else {
		var pg service.UserPage
		// Users with an email, as in the member list: the owner must be a
		// user Gcore can show.
		pg, err = d.svc.ListUsers(r.Context(), p, service.UserQuery{TenantID: t.ID,
			Roles: []string{core.RoleTenantAdmin}, Limit: service.MaxPageSize, WithEmail: true})
		members = pg.Users
	}
	if err != nil {
		return clientJSON{}, nil, err
	}
	return toClient(clientView{Tenant: t, Products: products, Members: members, WithUsers: withUsers, Caller: caller}), products, nil
}

func (d *Dialect) tenantByPath(r *http.Request, p *core.Principal) (core.Tenant, error) {
	n, err := pathNumber(r, "clientId")
	if err != nil {
		return core.Tenant{}, err
	}
	return d.svc.GetTenant(r.Context(), p, core.TenantRef{Number: n})
}

// listClients is GET /iam/clients: the accounts the caller may see; a plain
// array without limit, a page with it. deleted, limit and offset go to the
// service; Gcore's other filters and ordering (filters.go) are applied here
// over every visible account.
func (d *Dialect) listClients(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	q := r.URL.Query()
	var query service.TenantQuery
	switch q.Get("deleted") {
	case "true":
		query.Deleted = core.OnlyDeleted
	case "false", "":
	default: // Gcore: any other value lists all
		query.Deleted = core.IncludeDeleted
	}
	f := parseClientFilter(q)
	limit, offset, paged := page(r)
	caller := d.caller(r, p)
	var (
		tenants []core.Tenant
		count   int
	)
	switch {
	case f.none:
	case paged && !f.set:
		query.Offset, query.Limit, query.WithTotal = offset, limit, true
		pg, err := d.svc.ListTenants(r.Context(), p, query)
		if err != nil {
			return err
		}
		tenants, count = pg.Tenants, pg.Total
	default:
		for {
			query.Limit = service.MaxPageSize
			pg, err := d.svc.ListTenants(r.Context(), p, query)
			if err != nil {
				return err
			}
			tenants = append(tenants, pg.Tenants...)
			if pg.NextCursor == "" {
				break
			}
			query.Cursor = pg.NextCursor
		}
	}
	clients := make([]clientJSON, 0, len(tenants))
	for _, t := range tenants {
		c, products, err := d.client(r, p, t, caller, false)
		if err != nil {
			return err
		}
		if f.set {
			var members []core.User
			if f.needsMembers() {
				if members, err = d.allUsers(r, p, t.ID); err != nil {
					return err
				}
			}
			if !f.match(t, c, products, members) {
				continue
			}
		}
		clients = append(clients, c)
	}
	if f.set {
		f.sortClients(clients)
		count = len(clients)
		if paged {
			clients = clients[min(offset, count):min(offset+limit, count)]
		}
	}
	if !paged {
		writeJSON(w, http.StatusOK, clients)
		return nil
	}
	out := paginated[clientJSON]{Count: count, Results: clients}
	out.Next, out.Previous = pageLinks(r, limit, offset, count)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getClient is GET /iam/clients/{clientId}, with the account's users.
func (d *Dialect) getClient(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	t, err := d.tenantByPath(r, p)
	if err != nil {
		return err
	}
	c, _, err := d.client(r, p, t, d.caller(r, p), true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// patchClientBody is Gcore's UpdateClientRequest (and country_code).
type patchClientBody struct {
	Email       *string    `json:"email"`
	CompanyName *string    `json:"companyName"`
	CustomID    nullString `json:"custom_id"`
	Name        nullString `json:"name"`
	Phone       nullString `json:"phone"`
	Reseller    *int64     `json:"reseller"`
	Seller      nullInt    `json:"seller"`
	IsTest      *bool      `json:"is_test"`
	CountryCode *string    `json:"country_code"`
}

// patchClient is PATCH /iam/clients/{clientId}.
func (d *Dialect) patchClient(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	t, err := d.tenantByPath(r, p)
	if err != nil {
		return err
	}
	var b patchClientBody
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	if b.Name.Set {
		// roster keeps no contact name of its own for an account: "name"
		// is its owner's name.
		v.Add("owner_name", "read_only", "The account's name is its owner's name; change it with PATCH /iam/users/{userId}.")
	}
	if b.Reseller != nil && *b.Reseller != ResellerID {
		v.Add("reseller", "not_found", fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", *b.Reseller))
	}
	if err := v.Err(); err != nil {
		return err
	}
	in := service.UpdateTenantInput{Name: b.CompanyName, Email: b.Email, Phone: b.Phone.ptr(), CustomID: b.CustomID.ptr(),
		IsTest: b.IsTest, SellerID: b.Seller.ptr(), CountryCode: b.CountryCode}
	if in != (service.UpdateTenantInput{}) {
		if t, err = d.svc.UpdateTenant(r.Context(), p, core.TenantRef{ID: t.ID}, in); err != nil {
			return err
		}
	}
	c, _, err := d.client(r, p, t, d.caller(r, p), true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// availabilityBody is Gcore's ProductAvailability in a request.
type availabilityBody struct {
	ProductName string `json:"product_name"`
	Available   *bool  `json:"available"`
}

// product reads a ProductAvailability body: both fields are required.
func (b availabilityBody) product() (core.Product, bool, error) {
	v := &core.Validation{}
	prod, ok := parseProduct(b.ProductName)
	switch {
	case b.ProductName == "":
		v.Add("product_name", "required", msgRequired)
	case !ok:
		v.Add("product_name", "invalid", fmt.Sprintf("\"%s\" is not a valid choice.", b.ProductName))
	}
	if b.Available == nil {
		v.Add("available", "required", msgRequired)
	}
	if err := v.Err(); err != nil {
		return "", false, err
	}
	return prod, *b.Available, nil
}

// productNames reads a DeletePersonalProductAvailabilityRequest.
func productNames(r *http.Request) ([]core.Product, error) {
	var b struct {
		ProductNames *[]string `json:"product_names"`
	}
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if b.ProductNames == nil {
		return nil, core.FieldInvalid("product_names", "required", msgRequired)
	}
	v := &core.Validation{}
	var out []core.Product
	for _, name := range *b.ProductNames {
		prod, ok := parseProduct(name)
		if !ok {
			v.Add("product_names", "invalid", fmt.Sprintf("\"%s\" is not a valid choice.", name))
			continue
		}
		out = append(out, prod)
	}
	return out, v.Err()
}

// getProductDefaults is GET /iam/products/availability/defaults.
func (d *Dialect) getProductDefaults(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	defaults, err := d.svc.ProductDefaults(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]productJSON, 0, len(core.Products))
	for _, prod := range core.Products {
		out = append(out, productJSON{ProductName: prod, Available: defaults[prod]})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// patchProductDefaults is PATCH /iam/products/availability/defaults: one
// product's default availability.
func (d *Dialect) patchProductDefaults(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b availabilityBody
	if err := decode(r, &b); err != nil {
		return err
	}
	prod, available, err := b.product()
	if err != nil {
		return err
	}
	defaults, err := d.svc.SetProductDefaults(r.Context(), p, map[core.Product]bool{prod: available})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, productJSON{ProductName: prod, Available: defaults[prod]})
	return nil
}

// getClientProducts is GET /iam/products/availability/clients/{clientId}:
// each product's availability for the account, its own or the default.
func (d *Dialect) getClientProducts(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	n, err := pathNumber(r, "clientId")
	if err != nil {
		return err
	}
	settings, err := d.svc.TenantProducts(r.Context(), p, core.TenantRef{Number: n})
	if err != nil {
		return err
	}
	out := make([]productJSON, 0, len(settings))
	for _, s := range settings {
		out = append(out, productJSON{ProductName: s.Product, Available: s.Available})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// patchClientProducts is PATCH /iam/products/availability/clients/{clientId}:
// the account's own availability of one product.
func (d *Dialect) patchClientProducts(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	n, err := pathNumber(r, "clientId")
	if err != nil {
		return err
	}
	var b availabilityBody
	if err := decode(r, &b); err != nil {
		return err
	}
	prod, available, err := b.product()
	if err != nil {
		return err
	}
	settings, err := d.svc.SetTenantProducts(r.Context(), p, core.TenantRef{Number: n}, map[core.Product]*bool{prod: &available})
	if err != nil {
		return err
	}
	for _, s := range settings {
		if s.Product == prod {
			available = s.Available
		}
	}
	writeJSON(w, http.StatusOK, productJSON{ProductName: prod, Available: available})
	return nil
}

// resetClientProducts is DELETE /iam/products/availability/clients/{clientId}:
// the named products return to the defaults for the account.
func (d *Dialect) resetClientProducts(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	n, err := pathNumber(r, "clientId")
	if err != nil {
		return err
	}
	products, err := productNames(r)
	if err != nil {
		return err
	}
	reset := make(map[core.Product]*bool, len(products))
	for _, prod := range products {
		reset[prod] = nil
	}
	if _, err := d.svc.SetTenantProducts(r.Context(), p, core.TenantRef{Number: n}, reset); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resetAllClientProducts is DELETE /iam/products/availability/clients: the
// named products return to the defaults for every account.
func (d *Dialect) resetAllClientProducts(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	products, err := productNames(r)
	if err != nil {
		return err
	}
	if err := d.svc.ResetAllTenantProducts(r.Context(), p, products); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
