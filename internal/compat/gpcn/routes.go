package gpcn

import "net/http"

// Register adds every route of the dialect below prefix: /compat/gpcn on
// the main listener, "" at the root of a listener of its own. GPCN's base
// URL is https://api.gpcn.com, so /v1 is part of every path.
func (d *Dialect) Register(mux *http.ServeMux, prefix string) {
	mux.HandleFunc("POST "+prefix+"/v1/users", d.authed(d.createUser))
	mux.HandleFunc("GET "+prefix+"/v1/users", d.authed(d.listUsers))
	mux.HandleFunc("GET "+prefix+"/v1/users/{id}", d.authed(d.getUser))
	mux.HandleFunc("PUT "+prefix+"/v1/users/{id}", d.authed(d.updateUser))
	mux.HandleFunc("PATCH "+prefix+"/v1/users/{id}", d.authed(d.updateUser))
	mux.HandleFunc("DELETE "+prefix+"/v1/users/{id}", d.authed(d.deleteUser))
	mux.HandleFunc("POST "+prefix+"/v1/users/{id}/resend-invite", d.authed(d.resendInvite))
	mux.HandleFunc("POST "+prefix+"/v1/users/bulk/resend-invite", d.authed(d.bulkResendInvite))
	mux.HandleFunc("POST "+prefix+"/v1/users/{id}/roles", d.authed(d.assignRole))
	mux.HandleFunc("DELETE "+prefix+"/v1/users/{id}/roles/{role}", d.authed(d.revokeRole))
	mux.HandleFunc("GET "+prefix+"/v1/users/{id}/resource-groups", d.authed(d.userTeams))

	mux.HandleFunc("GET "+prefix+"/v1/roles", d.authed(d.listRoles))
	mux.HandleFunc("GET "+prefix+"/v1/roles/{id}", d.authed(d.getRole))

	mux.HandleFunc("GET "+prefix+"/v1/teams", d.authed(d.listTeams))
	mux.HandleFunc("POST "+prefix+"/v1/teams", d.authed(d.createTeam))
	mux.HandleFunc("GET "+prefix+"/v1/teams/{id}", d.authed(d.getTeam))
	mux.HandleFunc("PUT "+prefix+"/v1/teams/{id}", d.authed(d.updateTeam))
	mux.HandleFunc("PATCH "+prefix+"/v1/teams/{id}", d.authed(d.updateTeam))
	mux.HandleFunc("DELETE "+prefix+"/v1/teams/{id}", d.authed(d.deleteTeam))
	mux.HandleFunc("GET "+prefix+"/v1/teams/{id}/members", d.authed(d.listTeamMembers))
	mux.HandleFunc("POST "+prefix+"/v1/teams/{id}/members", d.authed(d.addTeamMember))
	mux.HandleFunc("DELETE "+prefix+"/v1/teams/{id}/members/{userId}", d.authed(d.removeTeamMember))
	mux.HandleFunc("POST "+prefix+"/v1/teams/bulk/delete", d.authed(d.bulkDeleteTeams))
	mux.HandleFunc("POST "+prefix+"/v1/teams/bulk/add-members", d.authed(d.bulkAddMembers))
}
