package everlytic

import (
	"regexp"
	"testing"

	"roster/internal/core"
)

func TestNegotiate(t *testing.T) {
	for accept, want := range map[string]string{
		"":                                  typeJSON,
		"*/*":                               typeJSON,
		"application/json":                  typeJSON,
		"application/*":                     typeJSON,
		"APPLICATION/XML":                   typeXML,
		"application/xml":                   typeXML,
		"text/xml":                          typeTextXML,
		"text/*":                            typeTextXML,
		"text/xml; charset=utf-8":           typeTextXML,
		"application/xml, application/json": typeJSON, // order carries no preference (RFC 9110)
		"application/json, application/xml": typeJSON,
		"application/json;q=0.5, application/xml":                         typeXML,
		"application/json; q=0.9, application/xml; q=0.91":                typeXML,
		"application/xml;q=0.4, application/json;q=0.6":                   typeJSON,
		"application/xml;q=0.5, */*;q=0.5":                                typeXML, // named beats wildcard
		"application/*;q=0.5, application/xml;q=0.5":                      typeXML,
		"application/json;q=0, */*":                                       typeXML, // excluded, then roster's order
		"application/json;q=0, application/xml;q=0, text/xml":             typeTextXML,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": typeXML,
		"text/html":                     typeJSON, // nothing acceptable: JSON
		"application/xml;q=0":           typeJSON,
		"application/xml;q=bogus":       typeJSON, // a bad q counts as 0
		"application/xml;q=2":           typeJSON,
		"garbage, ,/,application/xml":   typeXML,
		"application/xml;level=1;q=0.7": typeXML,
	} {
		if got := negotiate(accept); got != want {
			t.Errorf("negotiate(%q) = %s, want %s", accept, got, want)
		}
	}
}

func TestUserHash(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9]{16}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := core.NewID()
		h := userHash(id)
		if !re.MatchString(h) || userHash(id) != h {
			t.Fatalf("hash %q of %s", h, id)
		}
		if seen[h] {
			t.Fatalf("hash %q repeated", h)
		}
		seen[h] = true
	}
	// Stable across releases: clients may have stored it.
	if got := userHash("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"); got != "xjud6JFpMvtGuMSI" {
		t.Fatalf("the hash of a fixed id changed: %q", got)
	}
}

func TestVendorField(t *testing.T) {
	for core, want := range map[string]string{
		"lang": "language", "tenant_id": "customer_id", "roles": "can_customer_admin", "roles[0]": "can_customer_admin",
		"limit": "count", "offset": "page", "email": "email", "name": "name", "username": "username", "x[1]": "x[1]",
	} {
		if got := vendorField(core); got != want {
			t.Errorf("vendorField(%q) = %q, want %q", core, got, want)
		}
	}
}

func TestLanguages(t *testing.T) {
	for lang, want := range map[string]string{"": "default", "en": "default", "de": "de", "az": "az"} {
		if got := userLanguage(lang); got != want {
			t.Errorf("userLanguage(%q) = %q, want %q", lang, got, want)
		}
	}
	for lang, want := range map[string]string{"": "", "default": "", "Default": "", "de": "de", "xx": "xx"} {
		if got := requestLanguage(lang); got != want {
			t.Errorf("requestLanguage(%q) = %q, want %q", lang, got, want)
		}
	}
	if toCustomer(core.Tenant{Lang: ""}).Language != "default" || toCustomer(core.Tenant{Lang: "en"}).Language != "en" {
		t.Error("customer language")
	}
}

func TestToUser(t *testing.T) {
	u := core.User{ID: core.NewID(), Number: 7, FirstName: "Ada", LastName: "Lovelace", Lang: "ru", Email: "ada@example.com",
		Memberships: []core.Membership{
			{TenantID: "a", TenantNumber: 3, Roles: []string{core.RoleViewer}},
			{TenantID: "b", TenantNumber: 4, Roles: []string{core.RoleEngineer, core.RoleTenantAdmin}},
		}}
	got := toUser(u, "")
	if got.ID != 7 || got.Name != "Ada Lovelace" || got.Language != "ru" || got.CustomerID != 3 || got.CanCustomerAdmin != "no" ||
		got.EnterpriseID != 1 || got.Hash != userHash(u.ID) {
		t.Fatalf("toUser: %+v", got)
	}
	if got := toUser(u, "b"); got.CustomerID != 4 || got.CanCustomerAdmin != "yes" {
		t.Fatalf("toUser in b: %+v", got)
	}
	if got := toUser(core.User{Number: 1}, ""); got.CustomerID != 0 || got.CanCustomerAdmin != "no" {
		t.Fatalf("toUser outside tenants: %+v", got)
	}
}

func TestErrorMessage(t *testing.T) {
	internal := core.Internal(errFake("password=hunter2 at /srv/db"))
	if msg := errorMessage(internal); msg == "" || regexp.MustCompile(`hunter2|/srv`).MatchString(msg) {
		t.Fatalf("internal message %q", msg)
	}
	e := &core.Error{Code: core.CodeInvalid, Message: "the request is not valid", Fields: []core.FieldError{
		{Field: "lang", Message: "must be one of en, de"}, {Field: "roles[0]", Message: "unknown role x"}}}
	if msg := errorMessage(e); msg != "language: must be one of en, de; can_customer_admin: unknown role x" {
		t.Fatalf("message %q", msg)
	}
	if msg := errorMessage(core.Errorf(core.CodeNotFound, "user not found")); msg != "user not found" {
		t.Fatalf("message %q", msg)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }
