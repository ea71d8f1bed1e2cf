package gpcn

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/service"
)

// present is a user as GPCN shows it, with the invite status that its latest
// invitation gives it.
func (d *Dialect) present(ctx context.Context, p *core.Principal, u core.User) (userJSON, error) {
	var inv *core.Invitation
	if needsInvitation(u) {
		got, err := d.svc.LatestInvitation(ctx, p, core.UserRef{ID: u.ID})
		switch {
		case err == nil:
			inv = &got
		case core.ErrorCode(err) != core.CodeNotFound:
			return userJSON{}, err
		}
	}
	return toUser(u, inv, d.svc.Now()), nil
}

type createUserBody struct {
	Action           string   `json:"action"`
	Email            string   `json:"email"`
	Password         string   `json:"password"`
	FirstName        string   `json:"firstName"`
	LastName         string   `json:"lastName"`
	RoleNames        []string `json:"roleNames"`
	ResourceGroupIDs []string `json:"resourceGroupIds"`
	EntityID         string   `json:"entityId"`
}

type createdUserJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// createUser is POST /v1/users: action register (password and names given,
// active at once, no email) or invite (the default: an invitation the user
// accepts to set name and password).
func (d *Dialect) createUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b createUserBody
	if err := decode(r, &b); err != nil {
		return err
	}
	entity := strings.TrimSpace(b.EntityID)
	if entity == "" {
		entity = homeEntity(p)
	}
	roles := roleNames(b.RoleNames)
	if len(roles) == 0 {
		roles = []string{core.RoleTenantUser} // GPCN's documented default
	}
	if entity == "" && slices.ContainsFunc(roles, func(name string) bool {
		role, ok := core.LookupRole(name)
		return ok && role.Scope == core.ScopeTenant
	}) {
		// The field to fix is the entity, not the role.
		return core.FieldInvalid("tenant_id", "required", "is required: this API key is not bound to a single entity")
	}
	action := strings.TrimSpace(b.Action)
	res, err := d.svc.CreateUser(r.Context(), p, service.CreateUserInput{
		Action: action, Email: b.Email, FirstName: b.FirstName, LastName: b.LastName, Password: b.Password,
		TenantID: entity, Roles: roles, ResourceGroupIDs: b.ResourceGroupIDs,
		PasswordPolicy: password.PolicyComplex, RequireNames: action == service.ActionRegister,
	})
	if err != nil {
		return err
	}
	msg := "User created successfully"
	if res.Invitation != nil {
		msg = "User invited successfully"
	}
	writeData(w, http.StatusCreated, msg, createdUserJSON{ID: res.User.ID, Email: res.User.Email})
	return nil
}

// listUsers is GET /v1/users with GPCN's filters, paged by number.
func (d *Dialect) listUsers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	q := r.URL.Query()
	v := &core.Validation{}
	pq := parsePage(q, v)
	query := service.UserQuery{TenantID: strings.TrimSpace(q.Get("entityId")), Prefix: strings.TrimSpace(q.Get("search")),
		Offset: pq.offset(), Limit: pq.limit, WithTotal: true}
	if query.TenantID == "" {
		query.TenantID = strings.TrimSpace(q.Get("filter[entityId]"))
	}
	switch q.Get("deletedFilter") {
	case "", "exclude":
	case "include":
		query.Deleted = core.IncludeDeleted
	case "only":
		query.Deleted = core.OnlyDeleted
	default:
		v.Add("deletedFilter", "invalid", "must be exclude, include or only")
	}
	sort := q.Get("sort")
	if sort == "" {
		sort = "createdAt:desc"
	}
	field, desc := sortKey(v, sort, userSortFields)
	query.Sort = core.UserSort{Field: field, Desc: desc}
	for i, id := range multi(q, "roleId") {
		role, ok := lookupRole(id)
		switch {
		case id == "0":
			v.Add(fmt.Sprintf("roleId[%d]", i), "unsupported", "listing users without roles (0) is not supported")
		case !ok:
			v.Add(fmt.Sprintf("roleId[%d]", i), "unknown", "no role has this id; GET /v1/roles lists them")
		case !slices.Contains(query.Roles, role.Name):
			query.Roles = append(query.Roles, role.Name)
		}
	}
	for i, id := range multi(q, "resourceGroupId") {
		if id == "0" {
			v.Add(fmt.Sprintf("resourceGroupId[%d]", i), "unsupported", "listing users without resource groups (0) is not supported")
			continue
		}
		query.ResourceGroupIDs = append(query.ResourceGroupIDs, id)
	}
	for _, flag := range []string{"noRole", "noResourceGroup"} {
		if q.Get(flag) == "true" {
			v.Add(flag, "unsupported", "listing users without roles or resource groups is not supported")
		}
	}
	if q.Get("excludeResourceGroupId") != "" {
		v.Add("excludeResourceGroupId", "unsupported", "excluding the members of a resource group is not supported")
	}
	query.Statuses, query.InvitationStatuses = inviteFilter(v, multi(q, "inviteStatus"), query.Deleted)
	if err := v.Err(); err != nil {
		return err
	}
	page, err := d.svc.ListUsers(r.Context(), p, query)
	if err != nil {
		return err
	}
	items, err := d.presentAll(r.Context(), p, page.Users)
	if err != nil {
		return err
	}
	writePage(w, items, newMeta(page.Total, pq))
	return nil
}

func (d *Dialect) presentAll(ctx context.Context, p *core.Principal, users []core.User) ([]userJSON, error) {
	items := make([]userJSON, 0, len(users))
	for _, u := range users {
		item, err := d.present(ctx, p, u)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

func (d *Dialect) getUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := pathUser(r, "id")
	if err != nil {
		return err
	}
	u, err := d.svc.GetUser(r.Context(), p, ref)
	if err != nil {
		return err
	}
	out, err := d.present(r.Context(), p, u)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, "", out)
	return nil
}

type updateUserBody struct {
	FirstName *string `json:"firstName"`
	LastName  *string `json:"lastName"`
	EntityID  *string `json:"entityId"`
}

// updateUser is PUT /v1/users/{id}: GPCN changes firstName and lastName,
// and entityId moves the user to another entity with its roles.
func (d *Dialect) updateUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := pathUser(r, "id")
	if err != nil {
		return err
	}
	var b updateUserBody
	if err := decode(r, &b); err != nil {
		return err
	}
	u, err := d.svc.GetUser(r.Context(), p, ref)
	if err != nil {
		return err
	}
	// The names and the move are one change: all of it or none.
	in := service.UpdateUserInput{FirstName: b.FirstName, LastName: b.LastName}
	if b.EntityID != nil && strings.TrimSpace(*b.EntityID) != "" {
		to := strings.TrimSpace(*b.EntityID)
		_, member := u.Membership(to)
		switch {
		case member:
		case len(u.Memberships) == 1:
			in.Member = &service.MemberUpdate{From: u.Memberships[0].TenantID, TenantID: to}
		case len(u.Memberships) == 0:
			in.Member = &service.MemberUpdate{TenantID: to, Roles: []string{core.RoleTenantUser}}
		default:
			return core.FieldInvalid("tenant_id", "ambiguous",
				"cannot move a user who belongs to several entities; assign roles in the new entity with POST /v1/users/{id}/roles")
		}
	}
	if in.FirstName != nil || in.LastName != nil || in.Member != nil {
		if _, err := d.svc.UpdateUser(r.Context(), p, ref, in); err != nil {
			return err
		}
	}
	if u, err = d.svc.GetUser(r.Context(), p, ref); err != nil {
		return err
	}
	out, err := d.present(r.Context(), p, u)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, "User updated successfully", out)
	return nil
}

// deleteUser is DELETE /v1/users/{id}: deletion is soft; the user shows up
// with deletedFilter=include or only.
func (d *Dialect) deleteUser(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := pathUser(r, "id")
	if err != nil {
		return err
	}
	if _, err := d.svc.DeleteUser(r.Context(), p, ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type resentJSON struct {
	Message   string `json:"message"`
	ExpiresAt string `json:"expiresAt"`
}

// resendInvite is POST /v1/users/{id}/resend-invite: a new token and
// expiry; the previous token stops working.
func (d *Dialect) resendInvite(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := pathUser(r, "id")
	if err != nil {
		return err
	}
	res, err := d.svc.ResendInvitation(r.Context(), p, ref, 0)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, "", resentJSON{Message: "Invitation resent successfully", ExpiresAt: formatTime(res.Invitation.ExpiresAt)})
	return nil
}

// Bulk operations take 1 to 50 ids.
const maxBulk = 50

type bulkIDsBody struct {
	IDs []string `json:"ids"`
}

type bulkResult struct {
	ID        string  `json:"id"`
	Success   bool    `json:"success"`
	Error     string  `json:"error,omitempty"`
	Code      string  `json:"code,omitempty"`
	ExpiresAt *string `json:"expiresAt,omitempty"`
}

type bulkSummary struct {
	Total     int `json:"total"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
}

func summarise[T any](results []T, ok func(T) bool) bulkSummary {
	s := bulkSummary{Total: len(results)}
	for _, r := range results {
		if ok(r) {
			s.Succeeded++
		}
	}
	s.Failed = s.Total - s.Succeeded
	return s
}

// itemError describes the failure of one item of a bulk request.
func (d *Dialect) itemError(r *http.Request, err error) (code, message string) {
	ce := core.AsError(err)
	m, ok := errorTable[ce.Code]
	if !ok {
		m = errorTable[core.CodeInternal]
	}
	if m.status >= 500 {
		d.log.ErrorContext(r.Context(), "bulk item failed", "code", ce.Code, "error", err.Error())
	}
	msg, _ := describe(ce)
	return m.code, msg
}

// checkBulk drops a bulk request's repeated ids, keeping the first, and
// then validates how many are left: a repeated id counts once.
func checkBulk(field string, ids []string) ([]string, error) {
	outOfRange := core.FieldInvalid(field, "out_of_range", fmt.Sprintf("must hold 1 to %d ids", maxBulk))
	if len(ids) > 10*maxBulk {
		return nil, outOfRange // not worth sifting for repeats
	}
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(out) < 1 || len(out) > maxBulk {
		return nil, outOfRange
	}
	return out, nil
}

// bulkResendInvite is POST /v1/users/bulk/resend-invite. Each id is tried
// on its own; the answer is 200 with a result per id and a summary, even
// when some (or all) failed, as GPCN documents it.
func (d *Dialect) bulkResendInvite(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b bulkIDsBody
	if err := decode(r, &b); err != nil {
		return err
	}
	ids, err := checkBulk("ids", b.IDs)
	if err != nil {
		return err
	}
	results := make([]bulkResult, 0, len(ids))
	for _, id := range ids {
		if err := r.Context().Err(); err != nil {
			return err
		}
		item := bulkResult{ID: id}
		var err error
		if !core.ValidID(id) {
			err = core.Errorf(core.CodeNotFound, "User not found")
		} else {
			var res service.InvitationResult
			if res, err = d.svc.ResendInvitation(r.Context(), p, core.UserRef{ID: id}, 0); err == nil {
				item.Success, item.ExpiresAt = true, formatTimePtr(&res.Invitation.ExpiresAt)
			}
		}
		if err != nil {
			item.Code, item.Error = d.itemError(r, err)
		}
		results = append(results, item)
	}
	writeData(w, http.StatusOK, "Bulk resend invite completed", map[string]any{
		"results": results, "summary": summarise(results, func(x bulkResult) bool { return x.Success })})
	return nil
}

type assignRoleBody struct {
	RoleName        string `json:"roleName"`
	EntityID        string `json:"entityId"`
	ResourceGroupID string `json:"resourceGroupId"`
}

type assignedRoleJSON struct {
	UserID string       `json:"userId"`
	Role   userRoleJSON `json:"role"`
}

// roleEntity decides where a tenant role is assigned or revoked: the entity
// named, else the caller's own (GPCN's default), else the user's only one.
func roleEntity(named string, p *core.Principal, u core.User) string {
	if named = strings.TrimSpace(named); named != "" {
		return named
	}
	if home := homeEntity(p); home != "" {
		return home
	}
	if len(u.Memberships) == 1 {
		return u.Memberships[0].TenantID
	}
	return ""
}

// asRoleName names every role field of a membership change roleName.
func asRoleName(err error) error {
	return renameFields(err, func(f string) string {
		if f == "roles" || strings.HasPrefix(f, "roles[") {
			return "roleName"
		}
		return f
	})
}

var errNoEntity = core.FieldInvalid("tenant_id", "required", "is required: the user does not belong to exactly one entity")

// assignRole is POST /v1/users/{id}/roles: the user gains one role, in an
// entity (or at the provider level, for provider roles).
func (d *Dialect) assignRole(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := pathUser(r, "id")
	if err != nil {
		return err
	}
	var b assignRoleBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.RoleName) == "" {
		return core.FieldInvalid("roleName", "required", "is required")
	}
	if strings.TrimSpace(b.ResourceGroupID) != "" {
		return core.FieldInvalid("resourceGroupId", "unsupported", "roles scoped to a resource group are not supported; roles are held in an entity")
	}
	role, ok := lookupRole(b.RoleName)
	if !ok {
		return core.Errorf(core.CodeNotFound, "Role not found: %s", strings.TrimSpace(b.RoleName))
	}
	u, err := d.svc.GetUser(r.Context(), p, ref)
	if err != nil {
		return err
	}
	out := assignedRoleJSON{UserID: u.ID, Role: heldRole(role.Name, nil)}
	var where core.TenantRef
	if role.Scope != core.ScopeProvider {
		entity := roleEntity(b.EntityID, p, u)
		if entity == "" {
			return errNoEntity
		}
		where.ID, out.Role = entity, heldRole(role.Name, &entity)
	}
	if _, err := d.svc.GrantRole(r.Context(), p, where, core.UserRef{ID: u.ID}, role.Name); err != nil {
		return asRoleName(err)
	}
	writeData(w, http.StatusCreated, "Role assigned successfully", out)
	return nil
}

// revokeRole is DELETE /v1/users/{id}/roles/{role} (a role id or name,
// ?entityId= for where): the user loses one role. A user keeps at least one
// role in each entity it belongs to.
func (d *Dialect) revokeRole(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := pathUser(r, "id")
	if err != nil {
		return err
	}
	role, ok := lookupRole(r.PathValue("role"))
	if !ok {
		return core.Errorf(core.CodeNotFound, "Role not found: %s", r.PathValue("role"))
	}
	u, err := d.svc.GetUser(r.Context(), p, ref)
	if err != nil {
		return err
	}
	var where core.TenantRef
	if role.Scope != core.ScopeProvider {
		if where.ID = roleEntity(r.URL.Query().Get("entityId"), p, u); where.ID == "" {
			return errNoEntity
		}
	}
	if _, err := d.svc.RevokeRole(r.Context(), p, where, core.UserRef{ID: u.ID}, role.Name); err != nil {
		return asRoleName(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type userTeamJSON struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	EntityID  string         `json:"entityId"`
	Roles     []userRoleJSON `json:"roles"`
	createdAt time.Time
}

var userTeamSortFields = map[string]string{"name": "name", "createdAt": "createdAt"}

// userTeams is GET /v1/users/{id}/resource-groups: the groups the user is
// in, with the roles it holds in each group's entity.
func (d *Dialect) userTeams(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := pathUser(r, "id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := &core.Validation{}
	pq := parsePage(q, v)
	sort := q.Get("sort")
	if sort == "" {
		sort = "name"
	}
	field, desc := sortKey(v, sort, userTeamSortFields)
	if err := v.Err(); err != nil {
		return err
	}
	u, err := d.svc.GetUser(r.Context(), p, ref)
	if err != nil {
		return err
	}
	search := strings.ToLower(strings.TrimSpace(q.Get("search")))
	var items []userTeamJSON
	for _, m := range u.Memberships {
		entity := m.TenantID
		for _, gid := range m.ResourceGroupIDs {
			g, err := d.svc.GetResourceGroup(r.Context(), p, m.TenantID, gid)
			if core.ErrorCode(err) == core.CodeNotFound {
				continue
			}
			if err != nil {
				return err
			}
			if search != "" && !strings.Contains(strings.ToLower(g.Name), search) {
				continue
			}
			item := userTeamJSON{ID: g.ID, Name: g.Name, EntityID: g.TenantID, Roles: []userRoleJSON{}, createdAt: g.CreatedAt}
			for _, role := range m.Roles {
				item.Roles = append(item.Roles, heldRole(role, &entity))
			}
			items = append(items, item)
		}
	}
	slices.SortStableFunc(items, func(a, b userTeamJSON) int {
		c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		if field == "createdAt" {
			c = a.createdAt.Compare(b.createdAt)
		}
		if desc {
			c = -c
		}
		return c
	})
	writePage(w, nonNil(pageOf(items, pq)), newMeta(len(items), pq))
	return nil
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
