package gcore

import (
	"slices"
	"strconv"
	"strings"

	"roster/internal/core"
)

// ResellerID is the id under which roster's provider appears in Gcore's
// "reseller" fields. A roster database holds exactly one provider, so the
// number is constant.
const ResellerID = 1

// Group is one of Gcore's user groups (roles in an account).
type Group struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// groups maps Gcore's group ids onto roster's role catalogue, both ways.
// Roster roles that are not here (viewer, vm-operator, the provider
// roles) have no Gcore group and are left out of "groups" and
// "user_roles".
var groups = []struct {
	Group
	Role string
}{
	{Group{1, "Administrators"}, core.RoleTenantAdmin},
	{Group{2, "Users"}, core.RoleTenantUser},
	{Group{5, "Engineers"}, core.RoleEngineer},
	{Group{3009, "Purge and Prefetch only (API+Web)"}, core.RolePurgeOnly},
	{Group{3022, "Purge and Prefetch only (API)"}, core.RolePurgeOnlyAPI},
}

// roleOfGroup finds the roster role of a Gcore group, by id, or by name
// when the id is 0 (Gcore accepts either).
func roleOfGroup(g Group) (string, bool) {
	for _, e := range groups {
		if (g.ID != 0 && e.ID == g.ID) || (g.ID == 0 && g.Name != "" && e.Name == g.Name) {
			return e.Role, true
		}
	}
	return "", false
}

// groupsOfRoles lists the Gcore groups of roster roles, in Gcore's id order.
func groupsOfRoles(roles []string) []Group {
	out := []Group{}
	for _, e := range groups {
		if slices.Contains(roles, e.Role) {
			out = append(out, e.Group)
		}
	}
	return out
}

// authTypes are the auth types Gcore documents; others are not shown.
var authTypes = []string{"password", "sso", "github", "google-oauth2"}

// products parses a Gcore product name (ServiceName).
func parseProduct(name string) (core.Product, bool) {
	for _, p := range core.Products {
		if string(p) == name {
			return p, true
		}
	}
	return "", false
}

// baseUserJSON is Gcore's BaseUser and UserPublic: the user as seen in one
// account, its "client".
type baseUserJSON struct {
	ID        int64    `json:"id"`
	Email     string   `json:"email"`
	Name      *string  `json:"name"`
	Lang      string   `json:"lang"`
	Phone     *string  `json:"phone"`
	Company   string   `json:"company"`
	Reseller  int64    `json:"reseller"`
	Client    int64    `json:"client"`
	Deleted   bool     `json:"deleted"`
	Groups    []Group  `json:"groups"`
	Activated bool     `json:"activated"`
	SSOAuth   bool     `json:"sso_auth"`
	TwoFA     bool     `json:"two_fa"`
	AuthTypes []string `json:"auth_types"`
	UserType  string   `json:"user_type"`
	IsActive  bool     `json:"is_active"`
}

// userJSON is Gcore's User and iam_reseller_User: BaseUser with every
// account the user belongs to.
type userJSON struct {
	baseUserJSON
	ClientAndRoles []clientAndRole `json:"client_and_roles"`
}

type clientAndRole struct {
	ClientID          int64    `json:"client_id"`
	ClientCompanyName string   `json:"client_company_name"`
	UserRoles         []string `json:"user_roles"`
	UserID            int64    `json:"user_id"`
}

// userName is the user's name, or the first and last names.
func userName(u core.User) string {
	if u.Name != "" {
		return u.Name
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// toUser encodes u as Gcore shows it in the account with tenant number
// client; client 0 means the user's first account (the one with the lowest
// number), or none for a user who belongs to no tenant.
func toUser(u core.User, client int64) userJSON {
	out := userJSON{baseUserJSON: baseUserJSON{ID: u.Number, Email: u.Email, Name: nullable(userName(u)), Lang: u.Lang,
		Phone: nullable(u.Phone), Reseller: ResellerID, Deleted: u.Status == core.UserDeleted, Groups: []Group{},
		Activated: u.EmailConfirmed, TwoFA: u.TwoFA, AuthTypes: []string{}, UserType: string(u.Type),
		IsActive: u.Status == core.UserActive}, ClientAndRoles: []clientAndRole{}}
	if !core.ValidLanguage(out.Lang) {
		out.Lang = core.Languages[0]
	}
	if out.UserType == "" {
		out.UserType = string(core.UserTypeCommon)
	}
	for _, a := range u.AuthTypes {
		if slices.Contains(authTypes, a) {
			out.AuthTypes = append(out.AuthTypes, a)
		}
	}
	for i, m := range u.Memberships {
		if (client == 0 && i == 0) || m.TenantNumber == client {
			out.Client, out.Company, out.Groups = m.TenantNumber, m.TenantName, groupsOfRoles(m.Roles)
		}
		ids := []string{}
		for _, g := range groupsOfRoles(m.Roles) {
			ids = append(ids, strconv.FormatInt(g.ID, 10))
		}
		out.ClientAndRoles = append(out.ClientAndRoles, clientAndRole{ClientID: m.TenantNumber,
			ClientCompanyName: m.TenantName, UserRoles: ids, UserID: u.Number})
	}
	return out
}

// toBaseUser is toUser for an account's user list: without
// client_and_roles.
func toBaseUser(u core.User, client int64) baseUserJSON { return toUser(u, client).baseUserJSON }

// productJSON is Gcore's ProductAvailability.
type productJSON struct {
	ProductName core.Product `json:"product_name"`
	Available   bool         `json:"available"`
}

// clientStatus maps tenant statuses onto Gcore's account statuses.
var clientStatus = map[core.TenantStatus]string{
	core.TenantActive:    "active",
	core.TenantSuspended: "paused",
	core.TenantDeleted:   "paused",
}

// clientJSON is Gcore's Client (an account): a roster tenant.
type clientJSON struct {
	ID              int64          `json:"id"`
	Users           []baseUserJSON `json:"users,omitempty"`
	Email           string         `json:"email"`
	Phone           *string        `json:"phone"`
	Name            *string        `json:"name"`
	Status          string         `json:"status"`
	CompanyName     string         `json:"companyName"`
	CurrentUser     int64          `json:"currentUser"`
	Capabilities    []core.Product `json:"capabilities"`
	ServiceStatuses map[string]any `json:"serviceStatuses"`
	PaidFeatures    map[string]any `json:"paidFeatures"`
	FreeFeatures    map[string]any `json:"freeFeatures"`
	EntryBaseDomain *string        `json:"entryBaseDomain"`
	Deleted         bool           `json:"deleted"`
	BillType        string         `json:"bill_type"`
	CustomID        *string        `json:"custom_id"`
	CountryCode     string         `json:"country_code"`
	IsTest          bool           `json:"is_test"`
	HasActiveAdmin  bool           `json:"has_active_admin"`
	Seller          *int64         `json:"seller"`
	Resellers       int64          `json:"resellers"`
	ClientType      string         `json:"client_type"`
	Owner           *int64         `json:"owner,omitempty"`
}

// clientView is what a Client is made of.
type clientView struct {
	Tenant   core.Tenant
	Products []core.ProductSetting
	// Members are the tenant's users in creation order.
	Members []core.User
	// WithUsers lists the members in "users".
	WithUsers bool
	// Caller is the number of the user calling, 0 for service keys.
	Caller int64
}

// owner is the account's owner: its first administrator, which for an
// account made by POST /iam/users is the user made with it.
func owner(t core.Tenant, members []core.User) *core.User {
	for i, u := range members {
		if m, ok := u.Membership(t.ID); ok && slices.Contains(m.Roles, core.RoleTenantAdmin) && u.Status != core.UserDeleted {
			return &members[i]
		}
	}
	return nil
}

func toClient(v clientView) clientJSON {
	t := v.Tenant
	out := clientJSON{ID: t.Number, Email: t.Email, Phone: nullable(t.Phone), Status: clientStatus[t.Status],
		CompanyName: t.Name, CurrentUser: v.Caller, Capabilities: []core.Product{}, ServiceStatuses: map[string]any{},
		PaidFeatures: map[string]any{}, FreeFeatures: map[string]any{}, Deleted: t.Status == core.TenantDeleted,
		CustomID: nullable(t.CustomID), CountryCode: t.CountryCode, IsTest: t.IsTest, Resellers: ResellerID,
		ClientType: string(core.UserTypeCommon)}
	if t.SellerID != 0 {
		seller := t.SellerID
		out.Seller = &seller
	}
	for _, ps := range v.Products {
		if ps.Available {
			out.Capabilities = append(out.Capabilities, ps.Product)
		}
	}
	if o := owner(t, v.Members); o != nil {
		n := o.Number
		out.Owner, out.Name = &n, nullable(userName(*o))
	}
	for _, u := range v.Members {
		if m, ok := u.Membership(t.ID); ok && slices.Contains(m.Roles, core.RoleTenantAdmin) && u.Status == core.UserActive {
			out.HasActiveAdmin = true
		}
		if v.WithUsers {
			out.Users = append(out.Users, toBaseUser(u, t.Number))
		}
	}
	if v.WithUsers && out.Users == nil {
		out.Users = []baseUserJSON{}
	}
	return out
}
