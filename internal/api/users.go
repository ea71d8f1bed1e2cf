package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"roster/internal/core"
	"roster/internal/service"
)

type tenantBody struct {
	Name             string           `json:"name"`
	Email            string           `json:"email"`
	Phone            string           `json:"phone"`
	CountryCode      string           `json:"country_code"`
	Lang             string           `json:"lang"`
	CustomID         string           `json:"custom_id"`
	IsTest           bool             `json:"is_test"`
	SellerID         int64            `json:"seller_id"`
	PasswordPolicy   string           `json:"password_policy"`
	InviteTTLSeconds int64            `json:"invite_ttl_seconds"`
	Products         map[string]*bool `json:"products"`
}

func (b tenantBody) input(v *core.Validation, prefix string) service.TenantInput {
	return service.TenantInput{Name: b.Name, Email: b.Email, Phone: b.Phone, CountryCode: b.CountryCode, Lang: b.Lang,
		CustomID: b.CustomID, IsTest: b.IsTest, SellerID: b.SellerID, PasswordPolicy: b.PasswordPolicy,
		InviteTTL: seconds(b.InviteTTLSeconds), Products: productMap(v, prefix+"products", b.Products)}
}

// productMap parses {"CDN": true, "DNS": null} into core products.
func productMap(v *core.Validation, field string, in map[string]*bool) map[core.Product]*bool {
	if len(in) == 0 {
		return nil
	}
	return parseProducts(v, field+".", in)
}

// parseProducts parses product names, which ignore case, into core
// products. A product named twice ({"CDN": true, "cdn": false}) is refused:
// which of the two won would be chance. Names are read in order, so that
// the same ones are reported each time; prefix goes before them.
func parseProducts[T any](v *core.Validation, prefix string, in map[string]T) map[core.Product]T {
	out := make(map[core.Product]T, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		p, ok := core.ParseProduct(name)
		_, twice := out[p]
		switch {
		case !ok:
			v.Add(prefix+name, "unknown", "unknown product; known are CDN, STORAGE, STREAMING, DNS, DDOS, CLOUD")
		case twice:
			v.Add(prefix+name, "duplicate", "names "+string(p)+" again; product names ignore case")
		default:
			out[p] = in[name]
		}
	}
	return out
}

type createUserBody struct {
	Action           string         `json:"action"`
	Email            string         `json:"email"`
	Username         string         `json:"username"`
	Name             string         `json:"name"`
	FirstName        string         `json:"first_name"`
	LastName         string         `json:"last_name"`
	Phone            string         `json:"phone"`
	Lang             string         `json:"lang"`
	Password         string         `json:"password"`
	ExternalID       string         `json:"external_id"`
	TenantID         string         `json:"tenant_id"`
	Tenant           *tenantBody    `json:"tenant"`
	Roles            []string       `json:"roles"`
	ResourceGroupIDs []string       `json:"resource_group_ids"`
	Attributes       map[string]any `json:"attributes"`
	EmailConfirmed   bool           `json:"email_confirmed"`
	Disabled         bool           `json:"disabled"`
	InviteTTLSeconds int64          `json:"invite_ttl_seconds"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b createUserBody
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	in := service.CreateUserInput{Action: b.Action, Email: b.Email, Username: b.Username, Name: b.Name,
		FirstName: b.FirstName, LastName: b.LastName, Phone: b.Phone, Lang: b.Lang, Password: b.Password,
		ExternalID: b.ExternalID, TenantID: b.TenantID, Roles: b.Roles, ResourceGroupIDs: b.ResourceGroupIDs,
		Attributes: b.Attributes, EmailConfirmed: b.EmailConfirmed, Disabled: b.Disabled,
		InviteTTL: seconds(b.InviteTTLSeconds)}
	if b.Tenant != nil {
		t := b.Tenant.input(v, "tenant.")
		in.Tenant = &t
	}
	if err := v.Err(); err != nil {
		return err
	}
	res, err := a.svc.CreateUser(r.Context(), p, in)
	if err != nil {
		return err
	}
	out := toUser(res.User)
	if res.Invitation != nil {
		out.Invitation = &invitationSummaryJSON{ID: res.Invitation.ID, Status: string(core.InvitationPending),
			ExpiresAt: res.Invitation.ExpiresAt}
	}
	w.Header().Set("Location", "/v1/users/"+res.User.ID)
	writeUser(w, http.StatusCreated, out)
	return nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	q := r.URL.Query()
	v := &core.Validation{}
	query := service.UserQuery{TenantID: q.Get("tenant_id"), Prefix: q.Get("q"), Roles: splitParam(q["role"]),
		Cursor: q.Get("cursor"), Limit: queryLimit(r, v)}
	for _, s := range splitParam(q["status"]) {
		query.Statuses = append(query.Statuses, core.UserStatus(s))
	}
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
	page, err := a.svc.ListUsers(r.Context(), p, query)
	if err != nil {
		return err
	}
	writeUsers(w, page.Users, page.NextCursor)
	return nil
}

// splitParam accepts both ?role=a&role=b and ?role=a,b.
func splitParam(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// userRef reads {id} from the path; anything that is not a UUID cannot name
// a user.
func userRef(r *http.Request, name string) (core.UserRef, error) {
	id := r.PathValue(name)
	if !core.ValidID(id) {
		return core.UserRef{}, core.Errorf(core.CodeNotFound, "user not found")
	}
	return core.UserRef{ID: id}, nil
}

func tenantRef(r *http.Request) (core.TenantRef, error) {
	id := r.PathValue("id")
	if !core.ValidID(id) {
		return core.TenantRef{}, core.Errorf(core.CodeNotFound, "tenant not found")
	}
	return core.TenantRef{ID: id}, nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := userRef(r, "id")
	if err != nil {
		return err
	}
	u, err := a.svc.GetUser(r.Context(), p, ref)
	if err != nil {
		return err
	}
	writeUser(w, http.StatusOK, toUser(u))
	return nil
}

type patchUserBody struct {
	Email          optional[string]          `json:"email"`
	Username       optional[string]          `json:"username"`
	Name           optional[string]          `json:"name"`
	FirstName      optional[string]          `json:"first_name"`
	LastName       optional[string]          `json:"last_name"`
	Phone          optional[string]          `json:"phone"`
	Lang           optional[string]          `json:"lang"`
	Status         optional[core.UserStatus] `json:"status"`
	EmailConfirmed optional[bool]            `json:"email_confirmed"`
	Password       optional[string]          `json:"password"`
	Attributes     optional[map[string]any]  `json:"attributes"`
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := userRef(r, "id")
	if err != nil {
		return err
	}
	var b patchUserBody
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	for field, o := range map[string]interface{ isNull() bool }{"status": b.Status, "email_confirmed": b.EmailConfirmed, "password": b.Password} {
		if o.isNull() {
			v.Add(field, "null", "cannot be null")
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	in := service.UpdateUserInput{Email: b.Email.ptr(), Username: b.Username.ptr(), Name: b.Name.ptr(),
		FirstName: b.FirstName.ptr(), LastName: b.LastName.ptr(), Phone: b.Phone.ptr(), Lang: b.Lang.ptr(),
		Status: b.Status.ptr(), EmailConfirmed: b.EmailConfirmed.ptr(), Password: b.Password.ptr()}
	if b.Attributes.Set {
		// null clears every attribute; an object merges into them.
		in.Attributes, in.ClearAttributes = b.Attributes.V, b.Attributes.Null
	}
	u, err := a.svc.UpdateUser(r.Context(), p, ref, in)
	if err != nil {
		return err
	}
	writeUser(w, http.StatusOK, toUser(u))
	return nil
}

func (o optional[T]) isNull() bool { return o.Set && o.Null }

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := userRef(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.svc.DeleteUser(r.Context(), p, ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
