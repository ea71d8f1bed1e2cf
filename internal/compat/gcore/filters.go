package gcore

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"roster/internal/core"
)

// clientFilter is what GET /iam/clients may filter and order by, beyond
// limit, offset and deleted (which the service applies). roster evaluates
// these over every account the caller may see, so that count, offset and
// limit stay right.
type clientFilter struct {
	set bool

	email, customID, countryCode *string
	companyName, name            string // contained, ignoring case
	usersEmail, usersName        string // some member's, contained, ignoring case
	isTest, activated            *bool
	sellerID                     *int64
	exclude                      []int64
	createdFrom, createdTo       *time.Time
	personalProducts             []core.Product
	// none is set by filters on what roster does not keep (service
	// statuses, traffic, promo codes, features, secondary hostnames, bill
	// types, other resellers, other client types): no account matches.
	none     bool
	ordering []string
}

// noneParams are Gcore's filters on things roster does not keep.
var noneParams = []string{"cdn", "storage", "ddos", "dns", "cloud", "infrastructure_protection", "connect",
	"min_traffic", "max_traffic", "secondaryhostnames", "bill_type", "feature_id_in", "promocode"}

// parseClientFilter reads the query. Values that do not parse are ignored,
// as Django's filters ignore them.
func parseClientFilter(q url.Values) clientFilter {
	var f clientFilter
	str := func(name string) *string {
		if !q.Has(name) {
			return nil
		}
		f.set = true
		v := q.Get(name)
		return &v
	}
	boolean := func(name string) *bool {
		switch q.Get(name) {
		case "true", "True", "1":
			f.set = true
			return new(true)
		case "false", "False", "0":
			f.set = true
			return new(false)
		}
		return nil
	}
	f.email, f.customID, f.countryCode = str("email"), str("custom_id"), str("country_code")
	if f.countryCode != nil && *f.countryCode == "null" {
		*f.countryCode = "" // Gcore: clients without a country code
	}
	for name, dst := range map[string]*string{"companyName": &f.companyName, "name": &f.name,
		"users_email": &f.usersEmail, "users_name": &f.usersName} {
		if v := strings.TrimSpace(q.Get(name)); v != "" {
			f.set, *dst = true, strings.ToLower(v)
		}
	}
	f.isTest, f.activated = boolean("is_test"), boolean("activated")
	if n, err := strconv.ParseInt(q.Get("seller_id"), 10, 64); err == nil {
		f.set, f.sellerID = true, &n
	}
	for _, part := range strings.Split(q.Get("id__in__exclude"), ",") {
		if n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64); err == nil {
			f.set, f.exclude = true, append(f.exclude, n)
		}
	}
	date := func(name string) *time.Time {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, q.Get(name)); err == nil {
				f.set = true
				return &t
			}
		}
		return nil
	}
	f.createdFrom, f.createdTo = date("created_at_gte"), date("created_at_lte")
	for _, part := range strings.Split(q.Get("personal_product_availability"), ",") {
		if p, ok := parseProduct(strings.ToUpper(strings.TrimSpace(part))); ok {
			f.set, f.personalProducts = true, append(f.personalProducts, p)
		}
	}
	for _, name := range noneParams {
		if q.Get(name) != "" {
			f.set, f.none = true, true
		}
	}
	if q.Has("reseller_id") && q.Get("reseller_id") != strconv.Itoa(ResellerID) {
		f.set, f.none = true, true
	}
	if q.Has("client_type") && q.Get("client_type") != string(core.UserTypeCommon) {
		f.set, f.none = true, true
	}
	for _, field := range strings.Split(q.Get("ordering"), ",") {
		if field = strings.TrimSpace(field); field != "" {
			f.set, f.ordering = true, append(f.ordering, field)
		}
	}
	return f
}

// needsMembers reports whether matching reads every member of an account.
func (f clientFilter) needsMembers() bool { return f.usersEmail != "" || f.usersName != "" }

// match reports whether the account c (with all its members when
// needsMembers) passes the filter.
func (f clientFilter) match(t core.Tenant, c clientJSON, products []core.ProductSetting, members []core.User) bool {
	eq := func(want *string, got string) bool { return want == nil || strings.EqualFold(*want, got) }
	contains := func(sub, s string) bool { return sub == "" || strings.Contains(strings.ToLower(s), sub) }
	name := ""
	if c.Name != nil {
		name = *c.Name
	}
	switch {
	case f.none,
		!eq(f.email, t.Email), !eq(f.customID, t.CustomID), !eq(f.countryCode, t.CountryCode),
		!contains(f.companyName, t.Name), !contains(f.name, name),
		f.isTest != nil && *f.isTest != t.IsTest,
		f.activated != nil && *f.activated != (t.Status == core.TenantActive),
		f.sellerID != nil && *f.sellerID != t.SellerID,
		slices.Contains(f.exclude, t.Number),
		f.createdFrom != nil && t.CreatedAt.Before(*f.createdFrom),
		f.createdTo != nil && t.CreatedAt.After(*f.createdTo):
		return false
	}
	for _, want := range f.personalProducts {
		if !slices.ContainsFunc(products, func(ps core.ProductSetting) bool { return ps.Product == want && ps.Override != nil }) {
			return false
		}
	}
	if f.needsMembers() {
		return slices.ContainsFunc(members, func(u core.User) bool {
			return (f.usersEmail == "" || contains(f.usersEmail, u.Email)) && (f.usersName == "" || contains(f.usersName, userName(u)))
		})
	}
	return true
}

// clientOrder are the fields GET /iam/clients orders by; Django ignores
// others, and so does roster.
var clientOrder = map[string]func(a, b clientJSON) int{
	"id":    func(a, b clientJSON) int { return cmp.Compare(a.ID, b.ID) },
	"email": func(a, b clientJSON) int { return cmp.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email)) },
	"companyName": func(a, b clientJSON) int {
		return cmp.Compare(strings.ToLower(a.CompanyName), strings.ToLower(b.CompanyName))
	},
	"name": func(a, b clientJSON) int {
		return cmp.Compare(strings.ToLower(deref(a.Name)), strings.ToLower(deref(b.Name)))
	},
	"custom_id": func(a, b clientJSON) int { return cmp.Compare(deref(a.CustomID), deref(b.CustomID)) },
	"country_code": func(a, b clientJSON) int {
		return cmp.Compare(a.CountryCode, b.CountryCode)
	},
	"status":  func(a, b clientJSON) int { return cmp.Compare(a.Status, b.Status) },
	"is_test": func(a, b clientJSON) int { return cmp.Compare(boolInt(a.IsTest), boolInt(b.IsTest)) },
	// The account number follows creation order.
	"created": func(a, b clientJSON) int { return cmp.Compare(a.ID, b.ID) },
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sortClients orders by the ordering fields ("-" for descending), then by id.
func (f clientFilter) sortClients(clients []clientJSON) {
	slices.SortStableFunc(clients, func(a, b clientJSON) int {
		for _, field := range f.ordering {
			desc := strings.HasPrefix(field, "-")
			by, ok := clientOrder[strings.TrimPrefix(field, "-")]
			if !ok {
				continue
			}
			if c := by(a, b); c != 0 {
				if desc {
					return -c
				}
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
