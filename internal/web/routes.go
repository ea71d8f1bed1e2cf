package web

import "net/http"

// Routes registers every page. Path values that carry a secret are named
// {token}, so that the server logs the route pattern, never the token.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /invite/{token}", p.page(p.invitePage))
	mux.HandleFunc("POST /invite/{token}", p.page(p.inviteSubmit))

	mux.HandleFunc("GET /login", p.page(p.loginPage))
	mux.HandleFunc("POST /login", p.page(p.loginSubmit))
	mux.HandleFunc("POST /logout", p.page(p.logout))
	mux.HandleFunc("GET /account", p.page(p.account))

	mux.HandleFunc("GET /forgot-password", p.page(p.forgotPage))
	mux.HandleFunc("POST /forgot-password", p.page(p.forgotSubmit))
	mux.HandleFunc("GET /reset/{token}", p.page(p.resetPage))
	mux.HandleFunc("POST /reset/{token}", p.page(p.resetSubmit))

	mux.HandleFunc("GET /assets/{file}", p.page(p.asset))
}
