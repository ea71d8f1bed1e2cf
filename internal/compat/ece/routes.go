package ece

import "net/http"

// Register adds every route of the dialect below prefix: ECE's paths,
// which all start with /api/v1.
func (d *Dialect) Register(mux *http.ServeMux, prefix string) {
	api := prefix + "/api/v1"

	mux.HandleFunc("POST "+api+"/users", d.authed(scopeUser, d.createUser))
	mux.HandleFunc("GET "+api+"/users", d.authed(scopeUser, d.listUsers))
	mux.HandleFunc("GET "+api+"/users/{user_name}", d.authed(scopeUser, d.getUser))
	mux.HandleFunc("PATCH "+api+"/users/{user_name}", d.authed(scopeUser, d.patchUser))
	mux.HandleFunc("DELETE "+api+"/users/{user_name}", d.authed(scopeUser, d.deleteUser))
	mux.HandleFunc("GET "+api+"/user", d.authed(scopeUser, d.getCurrentUser))
	mux.HandleFunc("PATCH "+api+"/user", d.authed(scopeUser, d.patchCurrentUser))

	// ECE's authentication information and keys live at /users/auth,
	// which the {user_name} routes would otherwise take for a user named
	// "auth": roster serves neither, and says so as for any other path.
	for _, method := range []string{"GET", "PATCH", "DELETE"} {
		mux.HandleFunc(method+" "+api+"/users/auth", d.notServed)
	}
	mux.HandleFunc("POST "+api+"/users/auth/_login", d.public(scopeLogin, d.login))
	mux.HandleFunc("POST "+api+"/users/auth/_refresh", d.authed(scopeAuth, d.refresh))
	mux.HandleFunc("POST "+api+"/users/auth/_elevate", d.authed(scopeAuth, d.elevate))
	mux.HandleFunc("DELETE "+api+"/users/auth/_elevate", d.authed(scopeAuth, d.deelevate))
}
