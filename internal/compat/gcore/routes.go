package gcore

import "net/http"

// Field renames per endpoint, on top of fieldNames (errors.go).
var (
	renameInvite = map[string]string{"roles": "user_role", "tenant_id": "client_id"}
	renameMember = map[string]string{"roles": "user_role"}
	renameClient = map[string]string{"name": "companyName", "owner_name": "name"}
)

// Register implements compat.Dialect: every route of the Gcore dialect,
// below prefix. The paths are Gcore's, from its IAM reseller API
// (gcore-iam-reseller.openapi.yaml) and IAM API (gcore-iam.openapi.yaml).
func (d *Dialect) Register(mux *http.ServeMux, prefix string) {
	// Users.
	mux.HandleFunc("POST "+prefix+"/iam/users", d.authed(nil, d.createUser))
	mux.HandleFunc("GET "+prefix+"/iam/users", d.authed(nil, d.listUsers))
	mux.HandleFunc("GET "+prefix+"/iam/users/{userId}", d.authed(nil, d.getUser))
	mux.HandleFunc("PATCH "+prefix+"/iam/users/{userId}", d.authed(nil, d.patchUser))
	mux.HandleFunc("DELETE "+prefix+"/iam/users/{userId}", d.authed(nil, d.deleteUser))

	// Invitations.
	mux.HandleFunc("POST "+prefix+"/iam/clients/invite_user", d.authed(renameInvite, d.inviteUser))
	mux.HandleFunc("POST "+prefix+"/iam/auth/renew_invitation", d.authed(nil, d.renewInvitation))

	// A user's place in an account.
	mux.HandleFunc("GET "+prefix+"/iam/clients/{clientId}/client-users/{userId}", d.authed(renameMember, d.getClientUser))
	mux.HandleFunc("PUT "+prefix+"/iam/clients/{clientId}/client-users/{userId}", d.authed(renameMember, d.putClientUser))
	mux.HandleFunc("DELETE "+prefix+"/iam/clients/{clientId}/client-users/{userId}", d.authed(renameMember, d.deleteClientUser))

	// Accounts (clients).
	mux.HandleFunc("GET "+prefix+"/iam/clients", d.authed(nil, d.listClients))
	mux.HandleFunc("GET "+prefix+"/iam/clients/{clientId}", d.authed(nil, d.getClient))
	mux.HandleFunc("PATCH "+prefix+"/iam/clients/{clientId}", d.authed(renameClient, d.patchClient))

	// Product availability.
	mux.HandleFunc("GET "+prefix+"/iam/products/availability/defaults", d.authed(nil, d.getProductDefaults))
	mux.HandleFunc("PATCH "+prefix+"/iam/products/availability/defaults", d.authed(nil, d.patchProductDefaults))
	mux.HandleFunc("GET "+prefix+"/iam/products/availability/clients/{clientId}", d.authed(nil, d.getClientProducts))
	mux.HandleFunc("PATCH "+prefix+"/iam/products/availability/clients/{clientId}", d.authed(nil, d.patchClientProducts))
	mux.HandleFunc("DELETE "+prefix+"/iam/products/availability/clients/{clientId}", d.authed(nil, d.resetClientProducts))
	mux.HandleFunc("DELETE "+prefix+"/iam/products/availability/clients", d.authed(nil, d.resetAllClientProducts))
}
