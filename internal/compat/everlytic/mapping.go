package everlytic

import (
	"crypto/sha256"
	"regexp"
	"slices"
	"strings"

	"roster/internal/core"
)

// The mapping tables between Everlytic's vocabulary and roster's. The
// documentation (docs/dialects/everlytic.md) shows the same tables.

// EnterpriseID is the enterprise_id of every item: an Everlytic enterprise
// is roster's provider, and a roster database holds exactly one.
const EnterpriseID = 1

// Everlytic's can_customer_admin values and the tenant roles they stand for.
const (
	adminYes = "yes"
	adminNo  = "no"
)

// rolesFor maps can_customer_admin onto the user's roles in the customer.
var rolesFor = map[string][]string{
	adminYes: {core.RoleTenantAdmin},
	adminNo:  {core.RoleTenantUser},
}

// defaultLanguage is what Everlytic calls "no preference": roster's
// default language, core.Languages[0].
const defaultLanguage = "default"

// fieldNames renames the core's field names in errors into Everlytic's.
// Names not listed are the same in both (name, email, username).
var fieldNames = map[string]string{
	"lang":      "language",
	"tenant_id": "customer_id",
	"roles":     "can_customer_admin",
	"limit":     "count",
	"offset":    "page",
}

// indexed matches an indexed core field such as roles[0].
var indexed = regexp.MustCompile(`^([a-z_.]+)\[\d+\]$`)

func vendorField(field string) string {
	if m := indexed.FindStringSubmatch(field); m != nil {
		if name, ok := fieldNames[m[1]]; ok {
			return name
		}
	}
	if name, ok := fieldNames[field]; ok {
		return name
	}
	return field
}

// link is one entry of an answer's links.
type link struct {
	Title string `json:"title" xml:"title"`
	Rel   string `json:"rel" xml:"rel"`
	Href  string `json:"href" xml:"href"`
}

// userItem is Everlytic's user object, field for field as the API
// documents it.
type userItem struct {
	ID               int64  `json:"id" xml:"id"`
	Hash             string `json:"hash" xml:"hash"`
	EnterpriseID     int64  `json:"enterprise_id" xml:"enterprise_id"`
	CustomerID       int64  `json:"customer_id" xml:"customer_id"`
	Language         string `json:"language" xml:"language"`
	Name             string `json:"name" xml:"name"`
	Email            string `json:"email" xml:"email"`
	Username         string `json:"username" xml:"username"`
	CanCustomerAdmin string `json:"can_customer_admin" xml:"can_customer_admin"`
}

// toUser renders a roster user as Everlytic's user. A user belongs to one
// Everlytic customer; a roster user may belong to several tenants, so the
// membership shown is the one in tenantID when given (a listing filtered by
// customer), else the first. Users outside any tenant (provider staff such
// as admin) show customer_id 0.
func toUser(u core.User, tenantID string) userItem {
	item := userItem{ID: u.Number, Hash: userHash(u.ID), EnterpriseID: EnterpriseID,
		Language: userLanguage(u.Lang), Name: u.Name, Email: u.Email, Username: u.Username,
		CanCustomerAdmin: adminNo}
	if item.Name == "" {
		item.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	var m *core.Membership
	for i := range u.Memberships {
		if tenantID == "" || u.Memberships[i].TenantID == tenantID {
			m = &u.Memberships[i]
			break
		}
	}
	if m != nil {
		item.CustomerID = m.TenantNumber
		if slices.Contains(m.Roles, core.RoleTenantAdmin) {
			item.CanCustomerAdmin = adminYes
		}
	}
	return item
}

// customerItem is Everlytic's customer object.
type customerItem struct {
	ID           int64  `json:"id" xml:"id"`
	EnterpriseID int64  `json:"enterprise_id" xml:"enterprise_id"`
	Name         string `json:"name" xml:"name"`
	Email        string `json:"email" xml:"email"`
	Language     string `json:"language" xml:"language"`
}

func toCustomer(t core.Tenant) customerItem {
	lang := t.Lang
	if lang == "" {
		lang = defaultLanguage
	}
	return customerItem{ID: t.Number, EnterpriseID: EnterpriseID, Name: t.Name, Email: t.Email, Language: lang}
}

// userLanguage: roster gives every user a language, core.Languages[0] when
// none was chosen; Everlytic calls that one "default".
func userLanguage(lang string) string {
	if lang == "" || lang == core.Languages[0] {
		return defaultLanguage
	}
	return lang
}

// requestLanguage maps Everlytic's language on create: "default" (or
// nothing) leaves the choice to roster, anything else is a language code
// that the service validates.
func requestLanguage(lang string) string {
	if strings.EqualFold(strings.TrimSpace(lang), defaultLanguage) {
		return ""
	}
	return lang
}

const hashAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// userHash is the 16-character hash Everlytic gives every user. roster
// derives it from the user's UUID, so it is stable across calls and servers
// and reveals nothing: it is not a credential, only an opaque alias.
func userHash(userID string) string {
	sum := sha256.Sum256([]byte("roster/everlytic/user-hash\x00" + userID))
	out := make([]byte, 16)
	for i := range out {
		out[i] = hashAlphabet[int(sum[i])%len(hashAlphabet)]
	}
	return string(out)
}
