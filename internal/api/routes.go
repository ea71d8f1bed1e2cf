package api

import "net/http"

// Routes registers every route of the native API on mux.
func (a *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/tenants", a.authed(a.createTenant))
	mux.HandleFunc("GET /v1/tenants", a.authed(a.listTenants))
	mux.HandleFunc("GET /v1/tenants/{id}", a.authed(a.getTenant))
	mux.HandleFunc("PATCH /v1/tenants/{id}", a.authed(a.patchTenant))
	mux.HandleFunc("DELETE /v1/tenants/{id}", a.authed(a.deleteTenant))
	mux.HandleFunc("GET /v1/tenants/{id}/products", a.authed(a.getTenantProducts))
	mux.HandleFunc("PUT /v1/tenants/{id}/products", a.authed(a.putTenantProducts))
	mux.HandleFunc("GET /v1/products/defaults", a.authed(a.getProductDefaults))
	mux.HandleFunc("PUT /v1/products/defaults", a.authed(a.putProductDefaults))

	mux.HandleFunc("PUT /v1/tenants/{id}/members/{user_id}", a.authed(a.putMember))
	mux.HandleFunc("DELETE /v1/tenants/{id}/members/{user_id}", a.authed(a.deleteMember))

	mux.HandleFunc("POST /v1/tenants/{id}/resource-groups", a.authed(a.createGroup))
	mux.HandleFunc("GET /v1/tenants/{id}/resource-groups", a.authed(a.listGroups))
	mux.HandleFunc("GET /v1/tenants/{id}/resource-groups/{group_id}", a.authed(a.getGroup))
	mux.HandleFunc("PATCH /v1/tenants/{id}/resource-groups/{group_id}", a.authed(a.patchGroup))
	mux.HandleFunc("DELETE /v1/tenants/{id}/resource-groups/{group_id}", a.authed(a.deleteGroup))
	mux.HandleFunc("GET /v1/tenants/{id}/resource-groups/{group_id}/members", a.authed(a.listGroupMembers))
	mux.HandleFunc("PUT /v1/tenants/{id}/resource-groups/{group_id}/members/{user_id}", a.authed(a.putGroupMember))
	mux.HandleFunc("DELETE /v1/tenants/{id}/resource-groups/{group_id}/members/{user_id}", a.authed(a.deleteGroupMember))

	mux.HandleFunc("POST /v1/users", a.authed(a.createUser))
	mux.HandleFunc("POST /v1/users/import", a.authedStream(a.importUsers))
	mux.HandleFunc("GET /v1/users", a.authed(a.listUsers))
	mux.HandleFunc("GET /v1/users/{id}", a.authed(a.getUser))
	mux.HandleFunc("PATCH /v1/users/{id}", a.authed(a.patchUser))
	mux.HandleFunc("DELETE /v1/users/{id}", a.authed(a.deleteUser))

	mux.HandleFunc("GET /v1/invitations", a.authed(a.listInvitations))
	mux.HandleFunc("POST /v1/users/{id}/invitations", a.authed(a.resendInvitation))
	mux.HandleFunc("DELETE /v1/invitations/{id}", a.authed(a.revokeInvitation))
	mux.HandleFunc("GET /v1/outbox", a.authed(a.listOutbox))

	mux.HandleFunc("GET /v1/roles", a.authed(a.listRoles))

	mux.HandleFunc("POST /v1/api-keys", a.authed(a.createKey))
	mux.HandleFunc("GET /v1/api-keys", a.authed(a.listKeys))
	mux.HandleFunc("DELETE /v1/api-keys/{id}", a.authed(a.deleteKey))

	mux.HandleFunc("POST /v1/auth/login", a.public(a.login))
	mux.HandleFunc("POST /v1/auth/logout", a.authed(a.logout))
	mux.HandleFunc("POST /v1/auth/password-reset", a.public(a.requestPasswordReset))
	mux.HandleFunc("POST /v1/auth/elevate", a.authed(a.elevate))
	mux.HandleFunc("DELETE /v1/auth/elevate", a.authed(a.deelevate))
	mux.HandleFunc("GET /v1/me", a.authed(a.me))

	mux.HandleFunc("GET /openapi.json", a.openAPI)
	mux.HandleFunc("GET /docs", a.docs)

}
