package gcore

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"roster/internal/core"
	"roster/internal/service"
)

// serviceBody is one entry of "services" in POST /iam/users: a product's
// availability for the new account (null inherits the default).
type serviceBody struct {
	ProductName string `json:"product_name"`
	Available   *bool  `json:"available"`
}

// createUserBody is Gcore's CreateUserRequest.
type createUserBody struct {
	Email       string        `json:"email"`
	Password    string        `json:"password"`
	Company     string        `json:"company"`
	UserType    string        `json:"user_type"`
	Name        string        `json:"name"`
	Phone       string        `json:"phone"`
	Seller      int64         `json:"seller"`
	Services    []serviceBody `json:"services"`
	Lang        string        `json:"lang"`
	CustomID    string        `json:"custom_id"`
	CountryCode string        `json:"country_code"`
	IsTest      bool          `json:"is_test"`
}

// services turns "services" into product overrides.
func services(in []serviceBody) (map[core.Product]*bool, error) {
	if len(in) == 0 {
		return nil, nil
	}
	v := &core.Validation{}
	out := make(map[core.Product]*bool, len(in))
	for _, s := range in {
		p, ok := parseProduct(s.ProductName)
		if !ok {
			v.Add("services", "invalid", fmt.Sprintf("\"%s\" is not a valid choice", s.ProductName))
			continue
		}
		out[p] = s.Available
	}
	return out, v.Err()
}

// createUser is POST /iam/users: a user and a new account, both active at
// once; the user is the account's administrator.
func (d *Dialect) createUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b createUserBody
	if err := decode(r, &b); err != nil {
		return err
	}
	products, err := services(b.Services)
	if err != nil {
		return err
	}
	// The user's email, phone and language are the account's too, as
	// Gcore documents.
	res, err := d.svc.CreateUser(r.Context(), p, service.CreateUserInput{
		Action: service.ActionRegister, Email: b.Email, Password: b.Password, Name: b.Name, Phone: b.Phone,
		Lang: b.Lang, Type: b.UserType, EmailConfirmed: true, Roles: []string{core.RoleTenantAdmin},
		Tenant: &service.TenantInput{Name: b.Company, Email: b.Email, Phone: b.Phone, CountryCode: b.CountryCode,
			Lang: b.Lang, CustomID: b.CustomID, IsTest: b.IsTest, SellerID: b.Seller, Products: products},
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toUser(res.User, 0))
	return nil
}

// listUsers is GET /iam/users: every user the caller may see; a plain
// array without limit, a page with it.
func (d *Dialect) listUsers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	limit, offset, paged := page(r)
	if !paged {
		users, err := d.allUsers(r, p, "")
		if err != nil {
			return err
		}
		out := make([]userJSON, 0, len(users))
		for _, u := range users {
			out = append(out, toUser(u, 0))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	pg, err := d.svc.ListUsers(r.Context(), p, service.UserQuery{Offset: offset, Limit: limit, WithTotal: true, WithEmail: true})
	if err != nil {
		return err
	}
	out := paginated[userJSON]{Count: pg.Total, Results: make([]userJSON, 0, len(pg.Users))}
	for _, u := range pg.Users {
		out.Results = append(out.Results, toUser(u, 0))
	}
	out.Next, out.Previous = pageLinks(r, limit, offset, pg.Total)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// allUsers walks every page of a listing (of one tenant, when tenantID is
// set).
func (d *Dialect) allUsers(r *http.Request, p *core.Principal, tenantID string) ([]core.User, error) {
	var (
		all    []core.User
		cursor string
	)
	for {
		// A Gcore user always has an email (its schema requires one): users
		// without (the built-in administrator, ECE's) are not shown.
		pg, err := d.svc.ListUsers(r.Context(), p, service.UserQuery{TenantID: tenantID, Cursor: cursor, Limit: service.MaxPageSize, WithEmail: true})
		if err != nil {
			return nil, err
		}
		all = append(all, pg.Users...)
		if pg.NextCursor == "" {
			return all, nil
		}
		cursor = pg.NextCursor
	}
}

// userByPath finds the user a path names; one without an email is none of
// Gcore's, as in listings.
func (d *Dialect) userByPath(r *http.Request, p *core.Principal) (core.User, error) {
	n, err := pathNumber(r, "userId")
	if err != nil {
		return core.User{}, err
	}
	u, err := d.svc.GetUser(r.Context(), p, core.UserRef{Number: n})
	if err == nil && u.Email == "" {
		return core.User{}, core.Errorf(core.CodeNotFound, "user not found")
	}
	return u, err
}

// getUser is GET /iam/users/{userId}.
func (d *Dialect) getUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := d.userByPath(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUser(u, 0))
	return nil
}

// patchUserBody is Gcore's PutUser: what may change. Read-only fields
// that clients send back (id, client, activated …) are ignored, as Gcore
// does. groups, which Gcore also takes here, sets the user's group in its
// account.
type patchUserBody struct {
	Email  *string     `json:"email"`
	Name   nullString  `json:"name"`
	Lang   *string     `json:"lang"`
	Phone  nullString  `json:"phone"`
	Groups groupsField `json:"groups"`
}

// nullString tells absent from null (which clears, for nullable fields).
type nullString struct {
	Set bool
	V   string
}

func (n *nullString) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &n.V)
}

func (n nullString) ptr() *string {
	if !n.Set {
		return nil
	}
	return &n.V
}

// nullInt tells absent from null (no seller) and from a number.
type nullInt struct {
	Set bool
	V   int64
}

func (n *nullInt) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &n.V)
}

func (n nullInt) ptr() *int64 {
	if !n.Set {
		return nil
	}
	return &n.V
}

// groupsField is a list of groups, given as objects or as bare ids.
type groupsField struct {
	Set    bool
	Groups []Group
}

func (g *groupsField) UnmarshalJSON(b []byte) error {
	g.Set = true
	if string(b) == "null" {
		return nil
	}
	var raw []any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for _, item := range raw {
		var id any = float64(0) // a group object may name its group by name alone
		name := ""
		switch v := item.(type) {
		case float64:
			id = v
		case map[string]any:
			if v["id"] != nil {
				id = v["id"]
			}
			name, _ = v["name"].(string)
		default:
			return core.FieldInvalid("groups", "type", "Incorrect type. Expected a group object or id.")
		}
		// Group ids are integers: 1.9 names no group, rather than group 1.
		n, ok := id.(float64)
		if !ok || n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return core.FieldInvalid("groups", "type", "A valid integer is required.")
		}
		g.Groups = append(g.Groups, Group{ID: int64(n), Name: name})
	}
	return nil
}

// roles maps groups onto roles; an unknown group is a validation error of
// field.
func rolesOfGroups(field string, gs []Group) ([]string, error) {
	v := &core.Validation{}
	var roles []string
	for _, g := range gs {
		role, ok := roleOfGroup(g)
		if !ok {
			v.Add(field, "unknown", "Group matching query does not exist.")
			continue
		}
		roles = append(roles, role)
	}
	return roles, v.Err()
}

// patchUser is PATCH /iam/users/{userId}.
func (d *Dialect) patchUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := d.userByPath(r, p)
	if err != nil {
		return err
	}
	var b patchUserBody
	if err := decode(r, &b); err != nil {
		return err
	}
	var roles []string
	if b.Groups.Set {
		if roles, err = rolesOfGroups("groups", b.Groups.Groups); err != nil {
			return err
		}
		if len(u.Memberships) == 0 {
			return core.FieldInvalid("groups", "no_client", "The user has no account to hold groups in.")
		}
	}
	in := service.UpdateUserInput{Email: b.Email, Name: b.Name.ptr(), Lang: b.Lang, Phone: b.Phone.ptr()}
	if b.Groups.Set {
		// Groups are the user's in its account (its first one), set with
		// the rest or not at all.
		in.Member = &service.MemberUpdate{TenantID: u.Memberships[0].TenantID, Roles: roles}
	}
	if b.Email != nil || b.Name.Set || b.Lang != nil || b.Phone.Set || b.Groups.Set {
		if u, err = d.svc.UpdateUser(r.Context(), p, core.UserRef{ID: u.ID}, in); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, toUser(u, 0))
	return nil
}

// deleteUser is DELETE /iam/users/{userId}: a user with more than one
// account must first lose access to the others, as in Gcore.
func (d *Dialect) deleteUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := d.userByPath(r, p) // a user Gcore cannot see is not Gcore's to delete
	if err != nil {
		return err
	}
	if _, err := d.svc.DeleteUserWith(r.Context(), p, core.UserRef{ID: u.ID}, service.DeleteUserOptions{RefuseMultiTenant: true}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// inviteBody is Gcore's InviteUserRequest.
type inviteBody struct {
	Email    string `json:"email"`
	UserRole *Group `json:"user_role"`
	ClientID *int64 `json:"client_id"`
	Lang     string `json:"lang"`
	Name     string `json:"name"`
}

// inviteUser is POST /iam/clients/invite_user: a new user is created with
// an invitation to set a password; a user who already exists is given
// access to the account.
func (d *Dialect) inviteUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b inviteBody
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	if b.UserRole == nil {
		v.Add("user_role", "required", msgRequired)
	}
	if b.ClientID == nil {
		v.Add("client_id", "required", msgRequired)
	}
	if err := v.Err(); err != nil {
		return err
	}
	role, ok := roleOfGroup(*b.UserRole)
	if !ok {
		return core.FieldInvalid("user_role", "unknown", fmt.Sprintf("Invalid role: {'id': %d, 'name': '%s'}", b.UserRole.ID, b.UserRole.Name))
	}
	t, err := d.svc.GetTenant(r.Context(), p, core.TenantRef{Number: *b.ClientID})
	if err != nil {
		if core.ErrorCode(err) == core.CodeNotFound {
			return core.FieldInvalid("client_id", "not_found", fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", *b.ClientID))
		}
		return err
	}
	// A concurrent invite of the same new email may create the user between
	// the look-up and the create: then the create conflicts, and a second
	// look finds the user, as an invite after it would have.
	for lookAgain := b.Email != ""; ; lookAgain = false {
		if b.Email != "" {
			answered, err := d.inviteExisting(w, r, p, t, b.Email, role)
			if answered || err != nil {
				return err
			}
		}
		res, err := d.svc.CreateUser(r.Context(), p, service.CreateUserInput{Action: service.ActionInvite, Email: b.Email,
			Name: b.Name, Lang: b.Lang, TenantID: t.ID, Roles: []string{role}})
		if core.ErrorCode(err) == core.CodeConflict && lookAgain {
			continue
		}
		if core.ErrorCode(err) == core.CodeConflict {
			// The email belongs to a user the caller cannot see.
			writeJSON(w, http.StatusBadRequest, []string{"This user cannot be added to this client."})
			return nil
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, inviteAnswer{Status: "sent", UserID: res.User.Number})
		return nil
	}
}

// inviteExisting answers an invite of a user who already exists and whom
// the caller can see: already a member, or now given the role in the
// account. It answers nothing (false) when there is no such user.
func (d *Dialect) inviteExisting(w http.ResponseWriter, r *http.Request, p *core.Principal, t core.Tenant, email, role string) (bool, error) {
	existing, err := d.svc.GetUser(r.Context(), p, core.UserRef{Email: email})
	switch core.ErrorCode(err) {
	case "":
	case core.CodeNotFound:
		return false, nil
	default:
		return false, err
	}
	if _, member := existing.Membership(t.ID); member {
		writeJSON(w, http.StatusBadRequest, []string{fmt.Sprintf("User %d has already been invited to client %d", existing.Number, t.Number)})
		return true, nil
	}
	u, err := d.svc.PutMember(r.Context(), p, core.TenantRef{ID: t.ID}, core.UserRef{ID: existing.ID}, []string{role})
	if err != nil {
		return false, err
	}
	writeJSON(w, http.StatusOK, inviteAnswer{Status: "sent", UserID: u.Number})
	return true, nil
}

type inviteAnswer struct {
	Status string `json:"status"`
	UserID int64  `json:"user_id"`
}

// renewInvitation is POST /iam/auth/renew_invitation: a new invitation for
// a user who has not accepted one yet; the previous link stops working.
func (d *Dialect) renewInvitation(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b struct {
		Email string `json:"email"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.Email == "" {
		return core.FieldInvalid("email", "required", msgRequired)
	}
	if _, err := d.svc.ResendInvitation(r.Context(), p, core.UserRef{Email: b.Email}, 0); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// memberTarget reads {clientId} and {userId} and checks that the user is a
// member of the account.
func (d *Dialect) memberTarget(r *http.Request, p *core.Principal) (core.Tenant, core.User, core.Membership, error) {
	clientID, err := pathNumber(r, "clientId")
	if err != nil {
		return core.Tenant{}, core.User{}, core.Membership{}, err
	}
	t, err := d.svc.GetTenant(r.Context(), p, core.TenantRef{Number: clientID})
	if err != nil {
		return t, core.User{}, core.Membership{}, err
	}
	u, err := d.userByPath(r, p)
	if err != nil {
		return t, u, core.Membership{}, err
	}
	m, ok := u.Membership(t.ID)
	if !ok || u.Status == core.UserDeleted {
		return t, u, m, core.Errorf(core.CodeNotFound, "the user is not a member of this account")
	}
	return t, u, m, nil
}

// userRoleJSON is Gcore's UserRole.
type userRoleJSON struct {
	UserRole *Group `json:"user_role,omitempty"`
}

// getClientUser is GET /iam/clients/{clientId}/client-users/{userId}: the
// user's group in the account.
func (d *Dialect) getClientUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	_, _, m, err := d.memberTarget(r, p)
	if err != nil {
		return err
	}
	var out userRoleJSON
	if gs := groupsOfRoles(m.Roles); len(gs) > 0 {
		out.UserRole = &gs[0]
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// putClientUser is PUT /iam/clients/{clientId}/client-users/{userId}:
// change the user's group in the account.
func (d *Dialect) putClientUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	t, u, _, err := d.memberTarget(r, p)
	if err != nil {
		return err
	}
	var b userRoleJSON
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.UserRole == nil {
		return core.FieldInvalid("user_role", "required", msgRequired)
	}
	role, ok := roleOfGroup(*b.UserRole)
	if !ok {
		return core.FieldInvalid("user_role", "unknown", fmt.Sprintf("Invalid role: {'id': %d, 'name': '%s'}", b.UserRole.ID, b.UserRole.Name))
	}
	if _, err := d.svc.PutMember(r.Context(), p, core.TenantRef{ID: t.ID}, core.UserRef{ID: u.ID}, []string{role}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteClientUser is DELETE /iam/clients/{clientId}/client-users/{userId}:
// the user loses access to the account; a user who had no other account
// is deleted, as Gcore documents.
func (d *Dialect) deleteClientUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	t, u, _, err := d.memberTarget(r, p)
	if err != nil {
		return err
	}
	if _, err := d.svc.RemoveFromTenant(r.Context(), p, core.TenantRef{ID: t.ID}, core.UserRef{ID: u.ID}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
