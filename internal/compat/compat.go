// Package compat is what the vendor dialects have in common. Each dialect
// (gcore, ece, everlytic, gpcn) lives in its own sub-package, speaks its
// vendor's wire format exactly, and only translates: it decodes the vendor's
// request, calls the service, and encodes the vendor's answer and errors.
// No dialect touches SQL, holds a business rule, or imports another dialect.
package compat

import "net/http"

// Dialect is one vendor's API over roster's core.
type Dialect interface {
	// Name is the dialect's name in URLs and flags: gcore, ece, everlytic, gpcn.
	Name() string
	// Register adds the dialect's routes to mux below prefix: Prefix(Name())
	// on the main listener, "" at the root of a listener of its own.
	Register(mux *http.ServeMux, prefix string)
	// RenderError writes err in the vendor's error format; the server uses
	// it for requests below the prefix that match no route.
	RenderError(w http.ResponseWriter, r *http.Request, err error)
}

// Prefix is where a dialect lives on the main listener.
func Prefix(name string) string { return "/compat/" + name }
