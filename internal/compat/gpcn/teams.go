package gpcn

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"roster/internal/core"
	"roster/internal/service"
)

// Teams are roster's resource groups: named groups inside an entity, with
// members. GPCN nests teams (parentTeamId); roster's groups are flat.

var teamSortFields = map[string]string{"name": "name", "createdAt": "createdAt", "updatedAt": "updatedAt", "memberCount": "memberCount"}

// listTeams is GET /v1/teams: every team of the entities the key reads, or
// of one (entityId or filter[entityId]), searched by name, sorted and paged.
func (d *Dialect) listTeams(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	q := r.URL.Query()
	v := &core.Validation{}
	pq := parsePage(q, v)
	sort := q.Get("sort")
	if sort == "" {
		sort = "name:asc"
	}
	field, desc := sortKey(v, sort, teamSortFields)
	if err := v.Err(); err != nil {
		return err
	}
	entity := strings.TrimSpace(q.Get("entityId"))
	if entity == "" {
		entity = strings.TrimSpace(q.Get("filter[entityId]"))
	}
	groups, err := d.svc.AccessibleResourceGroups(r.Context(), p, entity)
	if err != nil {
		return err
	}
	search := strings.ToLower(strings.TrimSpace(q.Get("search")))
	items := make([]teamJSON, 0, len(groups))
	for _, g := range groups {
		if search == "" || strings.Contains(strings.ToLower(g.Name), search) {
			items = append(items, toTeam(g))
		}
	}
	slices.SortStableFunc(items, func(a, b teamJSON) int {
		var c int
		switch field {
		case "createdAt":
			c = strings.Compare(a.CreatedAt, b.CreatedAt)
		case "updatedAt":
			c = strings.Compare(a.UpdatedAt, b.UpdatedAt)
		case "memberCount":
			c = a.MemberCount - b.MemberCount
		default:
			c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		}
		if desc {
			c = -c
		}
		return c
	})
	writePage(w, pageOf(items, pq), newMeta(len(items), pq))
	return nil
}

type teamBody struct {
	Name         *string         `json:"name"`
	Description  *string         `json:"description"`
	EntityID     string          `json:"entityId"`
	ParentTeamID json.RawMessage `json:"parentTeamId"`
}

// check refuses what roster's groups cannot be: nested.
func (b teamBody) check() error {
	if len(b.ParentTeamID) > 0 && string(b.ParentTeamID) != "null" && string(b.ParentTeamID) != `""` {
		return core.FieldInvalid("parentTeamId", "unsupported", "nested resource groups are not supported; leave parentTeamId out")
	}
	return nil
}

// createTeam is POST /v1/teams, in entityId or the caller's own entity.
func (d *Dialect) createTeam(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b teamBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	entity := strings.TrimSpace(b.EntityID)
	if entity == "" {
		entity = homeEntity(p)
	}
	if entity == "" {
		return core.FieldInvalid("tenant_id", "required", "is required: this API key is not bound to a single entity")
	}
	g, err := d.svc.CreateResourceGroup(r.Context(), p, core.TenantRef{ID: entity}, service.ResourceGroupInput{Name: b.Name, Description: b.Description})
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, "Team created successfully", toTeam(g))
	return nil
}

type teamDetailJSON struct {
	teamJSON
	Members []userJSON `json:"members"`
}

// members lists a team's members, a page at a time.
func (d *Dialect) members(r *http.Request, p *core.Principal) (core.ResourceGroup, []userJSON, pageMeta, error) {
	q := r.URL.Query()
	v := &core.Validation{}
	pq := parsePage(q, v)
	sort := q.Get("sort")
	if sort == "" {
		sort = "name:asc"
	}
	field, desc := sortKey(v, sort, userSortFields)
	if err := v.Err(); err != nil {
		return core.ResourceGroup{}, nil, pageMeta{}, err
	}
	g, err := d.svc.GetResourceGroup(r.Context(), p, "", r.PathValue("id"))
	if err != nil {
		return g, nil, pageMeta{}, err
	}
	page, err := d.svc.ListUsers(r.Context(), p, service.UserQuery{TenantID: g.TenantID, ResourceGroupIDs: []string{g.ID},
		Prefix: strings.TrimSpace(q.Get("search")), Offset: pq.offset(), Limit: pq.limit, WithTotal: true,
		Sort: core.UserSort{Field: field, Desc: desc}})
	if err != nil {
		if e := core.AsError(err); e.Code == core.CodeInvalid && len(e.Fields) == 1 && e.Fields[0].Field == "resource_group_id[0]" {
			// The team went (or its entity did) since it was read above:
			// it is not found, not a parameter the caller never sent.
			err = core.Errorf(core.CodeNotFound, "resource group not found")
		}
		return g, nil, pageMeta{}, err
	}
	users, err := d.presentAll(r.Context(), p, page.Users)
	return g, users, newMeta(page.Total, pq), err
}

// getTeam is GET /v1/teams/{id}: the team with a page of its members
// (page, limit, sort, search), meta describing that page.
func (d *Dialect) getTeam(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	g, users, meta, err := d.members(r, p)
	if err != nil {
		return err
	}
	writePage(w, teamDetailJSON{teamJSON: toTeam(g), Members: users}, meta)
	return nil
}

// listTeamMembers is GET /v1/teams/{id}/members.
func (d *Dialect) listTeamMembers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	_, users, meta, err := d.members(r, p)
	if err != nil {
		return err
	}
	writePage(w, users, meta)
	return nil
}

// updateTeam is PUT (or PATCH) /v1/teams/{id}: name and description; what
// is left out stays.
func (d *Dialect) updateTeam(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b teamBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	g, err := d.svc.UpdateResourceGroup(r.Context(), p, "", r.PathValue("id"), service.ResourceGroupInput{Name: b.Name, Description: b.Description})
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, "Team updated successfully", toTeam(g))
	return nil
}

func (d *Dialect) deleteTeam(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if err := d.svc.DeleteResourceGroup(r.Context(), p, "", r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type memberBody struct {
	UserID string `json:"userId"`
}

type teamMemberJSON struct {
	TeamID string `json:"teamId"`
	UserID string `json:"userId"`
}

// addTeamMember is POST /v1/teams/{id}/members {userId}: the user must be a
// member of the team's entity.
func (d *Dialect) addTeamMember(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b memberBody
	if err := decode(r, &b); err != nil {
		return err
	}
	user := strings.TrimSpace(b.UserID)
	if user == "" {
		return core.FieldInvalid("userId", "required", "is required")
	}
	if err := d.svc.AddResourceGroupMember(r.Context(), p, "", r.PathValue("id"), core.UserRef{ID: user}); err != nil {
		return err
	}
	writeData(w, http.StatusCreated, "Member added successfully", teamMemberJSON{TeamID: r.PathValue("id"), UserID: user})
	return nil
}

func (d *Dialect) removeTeamMember(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := pathUser(r, "userId")
	if err != nil {
		return err
	}
	if err := d.svc.RemoveResourceGroupMember(r.Context(), p, "", r.PathValue("id"), ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bulkDeleteTeams is POST /v1/teams/bulk/delete {ids}: 1 to 50 teams, each
// deleted on its own; 200 with a result per id and a summary.
func (d *Dialect) bulkDeleteTeams(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
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
		item := bulkResult{ID: id, Success: true}
		if err := d.svc.DeleteResourceGroup(r.Context(), p, "", id); err != nil {
			item.Success = false
			item.Code, item.Error = d.itemError(r, err)
		}
		results = append(results, item)
	}
	writeData(w, http.StatusOK, "Bulk delete completed", map[string]any{
		"results": results, "summary": summarise(results, func(x bulkResult) bool { return x.Success })})
	return nil
}

type bulkMembersBody struct {
	UserIDs []string `json:"userIds"`
	TeamIDs []string `json:"teamIds"`
}

type bulkMemberResult struct {
	TeamID  string `json:"teamId"`
	UserID  string `json:"userId"`
	Success bool   `json:"success"`
	Error   string `json:"error,omitempty"`
	Code    string `json:"code,omitempty"`
}

// bulkAddMembers is POST /v1/teams/bulk/add-members {userIds, teamIds}:
// every user into every team (1 to 50 of each), each pair on its own.
func (d *Dialect) bulkAddMembers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b bulkMembersBody
	if err := decode(r, &b); err != nil {
		return err
	}
	v := &core.Validation{}
	users, err := checkBulk("userIds", b.UserIDs)
	if err != nil {
		v.Add("userIds", "out_of_range", "must hold 1 to 50 ids")
	}
	teams, err := checkBulk("teamIds", b.TeamIDs)
	if err != nil {
		v.Add("teamIds", "out_of_range", "must hold 1 to 50 ids")
	}
	if err := v.Err(); err != nil {
		return err
	}
	results := make([]bulkMemberResult, 0, len(users)*len(teams))
	for _, team := range teams {
		for _, user := range users {
			if err := r.Context().Err(); err != nil {
				return err
			}
			item := bulkMemberResult{TeamID: team, UserID: user, Success: true}
			if err := d.svc.AddResourceGroupMember(r.Context(), p, "", team, core.UserRef{ID: user}); err != nil {
				item.Success = false
				item.Code, item.Error = d.itemError(r, err)
			}
			results = append(results, item)
		}
	}
	writeData(w, http.StatusOK, "Bulk add members completed", map[string]any{
		"results": results, "summary": summarise(results, func(x bulkMemberResult) bool { return x.Success })})
	return nil
}
