package api

import (
	"net/http"
	"time"

	"roster/internal/core"
	"roster/internal/httpx"
	"roster/internal/service"
)

type putMemberBody struct {
	Roles []string `json:"roles"`
}

func (a *API) putMember(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	tref, err := tenantRef(r)
	if err != nil {
		return err
	}
	uref, err := userRef(r, "user_id")
	if err != nil {
		return err
	}
	var b putMemberBody
	if err := decode(r, &b); err != nil {
		return err
	}
	u, err := a.svc.PutMember(r.Context(), p, tref, uref, b.Roles)
	if err != nil {
		return err
	}
	writeUser(w, http.StatusOK, toUser(u))
	return nil
}

func (a *API) deleteMember(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	tref, err := tenantRef(r)
	if err != nil {
		return err
	}
	uref, err := userRef(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.svc.RemoveMember(r.Context(), p, tref, uref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type groupBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := tenantRef(r)
	if err != nil {
		return err
	}
	var b groupBody
	if err := decode(r, &b); err != nil {
		return err
	}
	g, err := a.svc.CreateResourceGroup(r.Context(), p, ref, service.ResourceGroupInput{Name: b.Name, Description: b.Description})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+g.TenantID+"/resource-groups/"+g.ID)
	writeJSON(w, http.StatusCreated, toGroup(g))
	return nil
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ref, err := tenantRef(r)
	if err != nil {
		return err
	}
	gs, err := a.svc.ListResourceGroups(r.Context(), p, ref)
	if err != nil {
		return err
	}
	items := make([]groupJSON, 0, len(gs))
	for _, g := range gs {
		items = append(items, toGroup(g))
	}
	writeJSON(w, http.StatusOK, list(items, ""))
	return nil
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	g, err := a.svc.GetResourceGroup(r.Context(), p, r.PathValue("id"), r.PathValue("group_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toGroup(g))
	return nil
}

func (a *API) patchGroup(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b groupBody
	if err := decode(r, &b); err != nil {
		return err
	}
	g, err := a.svc.UpdateResourceGroup(r.Context(), p, r.PathValue("id"), r.PathValue("group_id"),
		service.ResourceGroupInput{Name: b.Name, Description: b.Description})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toGroup(g))
	return nil
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if err := a.svc.DeleteResourceGroup(r.Context(), p, r.PathValue("id"), r.PathValue("group_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type groupMemberJSON struct {
	UserID string `json:"user_id"`
}

func (a *API) listGroupMembers(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	ids, err := a.svc.ResourceGroupMembers(r.Context(), p, r.PathValue("id"), r.PathValue("group_id"))
	if err != nil {
		return err
	}
	items := make([]groupMemberJSON, 0, len(ids))
	for _, id := range ids {
		items = append(items, groupMemberJSON{UserID: id})
	}
	writeJSON(w, http.StatusOK, list(items, ""))
	return nil
}

func (a *API) putGroupMember(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	uref, err := userRef(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.svc.AddResourceGroupMember(r.Context(), p, r.PathValue("id"), r.PathValue("group_id"), uref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteGroupMember(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	uref, err := userRef(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.svc.RemoveResourceGroupMember(r.Context(), p, r.PathValue("id"), r.PathValue("group_id"), uref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	roles := a.svc.Roles()
	items := make([]roleJSON, 0, len(roles))
	for _, role := range roles {
		items = append(items, roleJSON{Name: role.Name, Scope: role.Scope, Title: role.Title,
			Description: role.Description, Level: role.Level})
	}
	writeJSON(w, http.StatusOK, list(items, ""))
	return nil
}

type createKeyBody struct {
	Name      string     `json:"name"`
	TenantID  string     `json:"tenant_id"`
	Roles     []string   `json:"roles"`
	Service   bool       `json:"service"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	var b createKeyBody
	if err := decode(r, &b); err != nil {
		return err
	}
	k, secret, err := a.svc.CreateAPIKey(r.Context(), p, service.CreateAPIKeyInput{Name: b.Name, TenantID: b.TenantID,
		Roles: b.Roles, Service: b.Service, ExpiresAt: b.ExpiresAt})
	if err != nil {
		return err
	}
	out := toAPIKey(k)
	out.Key = secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	keys, err := a.svc.ListAPIKeys(r.Context(), p, r.URL.Query().Get("tenant_id"))
	if err != nil {
		return err
	}
	items := make([]apiKeyJSON, 0, len(keys))
	for _, k := range keys {
		items = append(items, toAPIKey(k))
	}
	writeJSON(w, http.StatusOK, list(items, ""))
	return nil
}

func (a *API) deleteKey(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if _, err := a.svc.RevokeAPIKey(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type loginBody struct {
	Email    string `json:"email"`
	Username string `json:"username"`
	Password string `json:"password"`
}

type tokenJSON struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var b loginBody
	if err := decode(r, &b); err != nil {
		return err
	}
	login := b.Email
	if login == "" {
		login = b.Username
	}
	sess, token, err := a.svc.Login(r.Context(), service.LoginInput{Login: login, Password: b.Password, ClientAddr: httpx.ClientIP(r)})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenJSON{Token: token, ExpiresAt: sess.ExpiresAt})
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if err := a.svc.Logout(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	u, err := a.svc.Me(r.Context(), p)
	if err != nil {
		return err
	}
	writeUser(w, http.StatusOK, toUser(u))
	return nil
}

type elevationJSON struct {
	ElevatedUntil time.Time `json:"elevated_until"`
}

func (a *API) elevate(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	until, err := a.svc.Elevate(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, elevationJSON{ElevatedUntil: until})
	return nil
}

func (a *API) deelevate(w http.ResponseWriter, r *http.Request, p *core.Principal) error {
	if err := a.svc.Deelevate(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
