package everlytic

import "net/http"

// Register implements compat.Dialect: every route of the dialect, below
// prefix. Everlytic's clients write collection URLs with and without a
// trailing slash (the documentation's own example posts to
// /api/2.0/users/), so both are served.
func (d *Dialect) Register(mux *http.ServeMux, prefix string) {
	h := &handler{Dialect: d, prefix: prefix}
	both := func(method, path string, fn handlerFunc) {
		mux.HandleFunc(method+" "+prefix+path, h.authed(fn))
		mux.HandleFunc(method+" "+prefix+path+"/{$}", h.authed(fn))
	}
	both("GET", "/api/2.0", h.home)

	both("POST", "/api/2.0/users", h.createUser)
	both("GET", "/api/2.0/users", h.listUsers)
	both("GET", "/api/2.0/users/{id}", h.getUser)

	both("POST", "/api/2.0/customers", h.createCustomer)
	both("GET", "/api/2.0/customers", h.listCustomers)
	both("GET", "/api/2.0/customers/{id}", h.getCustomer)
}
