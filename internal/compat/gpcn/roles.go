package gpcn

import (
	"net/http"

	"roster/internal/core"
)

// listRoles is GET /v1/roles: the catalogue with each role's stable id, for
// roleId filters and role assignment.
func (d *Dialect) listRoles(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	v := &core.Validation{}
	pq := parsePage(r.URL.Query(), v)
	if r.URL.Query().Get("limit") == "" {
		pq.limit = maxLimit
	}
	if err := v.Err(); err != nil {
		return err
	}
	roles := d.svc.Roles()
	items := make([]roleJSON, 0, len(roles))
	for _, role := range roles {
		items = append(items, toRole(role))
	}
	writePage(w, pageOf(items, pq), newMeta(len(items), pq))
	return nil
}

// getRole is GET /v1/roles/{id}, by id or name.
func (d *Dialect) getRole(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	role, ok := lookupRole(r.PathValue("id"))
	if !ok {
		return core.Errorf(core.CodeNotFound, "Role not found")
	}
	writeData(w, http.StatusOK, "", toRole(role))
	return nil
}
