package everlytic

import (
	"net/http"
	"strconv"
	"strings"

	"roster/internal/core"
	"roster/internal/service"
)

// Links. Everlytic answers carry "self" (the URL that was requested) and
// "home" (the API's root), built from the request's own base URL and the
// prefix the dialect is mounted at, so that both resolve on roster.

func (h *handler) base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *handler) root(r *http.Request) string { return h.base(r) + h.prefix + "/api/2.0/" }

func (h *handler) links(r *http.Request) []link {
	return []link{
		{Title: "Self", Rel: "self", Href: h.base(r) + r.URL.RequestURI()},
		{Title: "Home", Rel: "home", Href: h.root(r)},
	}
}

// home answers GET /api/2.0/: where the resources are.
func (h *handler) home(w http.ResponseWriter, r *http.Request, _ *core.Principal) error {
	links := append(h.links(r),
		link{Title: "Users", Rel: "users", Href: h.root(r) + "users"},
		link{Title: "Customers", Rel: "customers", Href: h.root(r) + "customers"})
	write(w, r, http.StatusOK, homeEnvelope{Links: links})
	return nil
}

// Pages. Everlytic lists page by page: ?page=N (from 1) and ?count=M items
// per page. The answer links to the next page when there is one and to the
// previous page when the page is not the first.

const defaultCount = 20

type paging struct {
	page, count int
}

func readPaging(r *http.Request, v *core.Validation) paging {
	p := paging{page: 1, count: defaultCount}
	q := r.URL.Query()
	for _, param := range []struct {
		name string
		dst  *int
	}{{"page", &p.page}, {"count", &p.count}} {
		name, dst := param.name, param.dst
		if _, ok := q[name]; !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(q.Get(name)), 10, 32)
		if err != nil || n < 1 {
			v.Add(name, "invalid", "must be a positive integer")
			continue
		}
		*dst = int(n)
	}
	return p
}

func (p paging) offset() int { return (p.page - 1) * p.count }

// pageLinks adds next and previous to the links of a listing.
func (h *handler) pageLinks(r *http.Request, p paging, more bool) []link {
	links := h.links(r)
	at := func(page int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page))
		return h.base(r) + r.URL.EscapedPath() + "?" + q.Encode()
	}
	if more {
		links = append(links, link{Title: "Next", Rel: "next", Href: at(p.page + 1)})
	}
	if p.page > 1 {
		links = append(links, link{Title: "Previous", Rel: "previous", Href: at(p.page - 1)})
	}
	return links
}

// pathNumber reads the integer id of a path; anything else names nothing.
func pathNumber(r *http.Request, what string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n < 1 {
		return 0, core.Errorf(core.CodeNotFound, "%s not found", what)
	}
	return n, nil
}

// customer finds the tenant that an Everlytic customer_id names, for a
// field of a request. Deleted tenants are not Everlytic customers.
func (h *handler) customer(r *http.Request, p *core.Principal, field string, number int64) (core.Tenant, error) {
	t, err := h.svc.GetTenant(r.Context(), p, core.TenantRef{Number: number})
	if core.ErrorCode(err) == core.CodeNotFound || (err == nil && t.Status == core.TenantDeleted) {
		return t, core.FieldInvalid(field, "not_found", "no such customer")
	}
	return t, err
}

// Users.

var createUserFields = []fieldSpec{
	{name: "name", required: true},
	{name: "email", required: true},
	{name: "username", required: true},
	{name: "customer_id", kind: kindInteger, required: true},
	{name: "can_customer_admin"},
	{name: "language"},
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	f, err := readFields(r, createUserFields)
	if err != nil {
		return err
	}
	admin := adminNo
	if s, ok := f["can_customer_admin"]; ok {
		admin = strings.ToLower(strings.TrimSpace(s))
	}
	roles, ok := rolesFor[admin]
	if !ok {
		return core.FieldInvalid("can_customer_admin", "invalid", `must be "yes" or "no"`)
	}
	t, err := h.customer(r, p, "customer_id", f.int64("customer_id"))
	if err != nil {
		return err
	}
	// Everlytic's create takes no password: the user is invited by email
	// and chooses one.
	res, err := h.svc.CreateUser(r.Context(), p, service.CreateUserInput{Action: service.ActionInvite,
		Name: f["name"], Email: f["email"], Username: f["username"], Lang: requestLanguage(f["language"]),
		TenantID: t.ID, Roles: roles})
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.root(r)+"users/"+strconv.FormatInt(res.User.Number, 10))
	write(w, r, http.StatusCreated, itemEnvelope[userItem]{Links: h.links(r), Item: toUser(res.User, t.ID)})
	return nil
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	n, err := pathNumber(r, "user")
	if err != nil {
		return err
	}
	u, err := h.svc.GetUser(r.Context(), p, core.UserRef{Number: n})
	if err != nil {
		return err
	}
	if u.Status == core.UserDeleted {
		return core.Errorf(core.CodeNotFound, "user not found")
	}
	write(w, r, http.StatusOK, itemEnvelope[userItem]{Links: h.links(r), Item: toUser(u, "")})
	return nil
}

// listUsers pages through the users the caller may see, optionally only
// those of one customer (?customer_id=N).
func (h *handler) listUsers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	v := &core.Validation{}
	pg := readPaging(r, v)
	var customerID int64
	if s := r.URL.Query().Get("customer_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			v.Add("customer_id", "invalid", "must be a positive integer")
		}
		customerID = n
	}
	if err := v.Err(); err != nil {
		return err
	}
	q := service.UserQuery{Offset: pg.offset(), Limit: pg.count}
	if customerID != 0 {
		t, err := h.customer(r, p, "customer_id", customerID)
		if err != nil {
			return err
		}
		q.TenantID = t.ID
	}
	page, err := h.svc.ListUsers(r.Context(), p, q)
	if err != nil {
		return err
	}
	items := make([]userItem, 0, len(page.Users))
	for _, u := range page.Users {
		items = append(items, toUser(u, q.TenantID))
	}
	write(w, r, http.StatusOK, newList(h.pageLinks(r, pg, page.NextCursor != ""), items))
	return nil
}

// Customers.

var createCustomerFields = []fieldSpec{
	{name: "name", required: true},
	{name: "email", required: true},
	{name: "language"},
}

func (h *handler) createCustomer(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	f, err := readFields(r, createCustomerFields)
	if err != nil {
		return err
	}
	t, err := h.svc.CreateTenant(r.Context(), p, service.TenantInput{Name: f["name"], Email: f["email"],
		Lang: requestLanguage(f["language"])})
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.root(r)+"customers/"+strconv.FormatInt(t.Number, 10))
	write(w, r, http.StatusCreated, itemEnvelope[customerItem]{Links: h.links(r), Item: toCustomer(t)})
	return nil
}

func (h *handler) getCustomer(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	n, err := pathNumber(r, "customer")
	if err != nil {
		return err
	}
	t, err := h.svc.GetTenant(r.Context(), p, core.TenantRef{Number: n})
	if core.ErrorCode(err) == core.CodeNotFound || (err == nil && t.Status == core.TenantDeleted) {
		return core.Errorf(core.CodeNotFound, "customer not found")
	}
	if err != nil {
		return err
	}
	write(w, r, http.StatusOK, itemEnvelope[customerItem]{Links: h.links(r), Item: toCustomer(t)})
	return nil
}

func (h *handler) listCustomers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	v := &core.Validation{}
	pg := readPaging(r, v)
	if err := v.Err(); err != nil {
		return err
	}
	page, err := h.svc.ListTenants(r.Context(), p, service.TenantQuery{Offset: pg.offset(), Limit: pg.count})
	if err != nil {
		return err
	}
	items := make([]customerItem, 0, len(page.Tenants))
	for _, t := range page.Tenants {
		items = append(items, toCustomer(t))
	}
	write(w, r, http.StatusOK, newList(h.pageLinks(r, pg, page.NextCursor != ""), items))
	return nil
}
