package core

import "slices"

// Scope says where a role is held: across the provider, or inside one tenant.
type Scope string

const (
	ScopeProvider Scope = "provider"
	ScopeTenant   Scope = "tenant"
)

// Role names of the catalogue. Vendor dialects map their own names and ids
// onto these.
const (
	RoleProviderAdmin     = "provider-admin"
	RoleProviderViewer    = "provider-viewer"
	RoleDeploymentManager = "deployment-manager"
	RoleDeploymentViewer  = "deployment-viewer"
	RoleTenantAdmin       = "tenant-admin"
	RoleEngineer          = "engineer"
	RoleTenantUser        = "tenant-user"
	RoleVMOperator        = "vm-operator"
	RoleViewer            = "viewer"
	RolePurgeOnly         = "purge-only"
	RolePurgeOnlyAPI      = "purge-only-api"
)

// Role is one entry of the catalogue.
type Role struct {
	Name        string
	Scope       Scope
	Title       string
	Description string
	// Level orders roles for the escalation rule: nobody grants a role whose
	// level is above the highest level they hold in the same place.
	Level int
	// Manage lets the holder create, change and remove users, members,
	// resource groups and keys in its scope.
	Manage bool
	// Read lets the holder see the users and groups of its scope.
	Read bool
}

// Catalogue is every role roster knows, highest first within each scope.
var Catalogue = []Role{
	{Name: RoleProviderAdmin, Scope: ScopeProvider, Level: 100, Manage: true, Read: true,
		Title: "Provider administrator", Description: "Manages every tenant, user, key and setting of the provider."},
	{Name: RoleProviderViewer, Scope: ScopeProvider, Level: 30, Read: true,
		Title: "Provider viewer", Description: "Reads every tenant and user; changes nothing."},
	{Name: RoleDeploymentManager, Scope: ScopeProvider, Level: 20,
		Title: "Deployment manager", Description: "Manages deployments; no access to identities."},
	{Name: RoleDeploymentViewer, Scope: ScopeProvider, Level: 10,
		Title: "Deployment viewer", Description: "Reads deployments; no access to identities."},
	{Name: RoleTenantAdmin, Scope: ScopeTenant, Level: 80, Manage: true, Read: true,
		Title: "Tenant administrator", Description: "Manages the tenant's users, groups and keys."},
	{Name: RoleEngineer, Scope: ScopeTenant, Level: 50, Read: true,
		Title: "Engineer", Description: "Works with the tenant's services; reads its users."},
	{Name: RoleTenantUser, Scope: ScopeTenant, Level: 40, Read: true,
		Title: "Tenant user", Description: "A regular member of the tenant."},
	{Name: RoleVMOperator, Scope: ScopeTenant, Level: 40, Read: true,
		Title: "VM operator", Description: "Operates the tenant's virtual machines."},
	{Name: RoleViewer, Scope: ScopeTenant, Level: 20, Read: true,
		Title: "Viewer", Description: "Reads the tenant; changes nothing."},
	{Name: RolePurgeOnly, Scope: ScopeTenant, Level: 10,
		Title: "Purge and prefetch only (API and web)", Description: "May purge and prefetch content, nothing else."},
	{Name: RolePurgeOnlyAPI, Scope: ScopeTenant, Level: 10,
		Title: "Purge and prefetch only (API)", Description: "May purge and prefetch content through the API, nothing else."},
}

// LookupRole finds a role of the catalogue by name.
func LookupRole(name string) (Role, bool) {
	for _, r := range Catalogue {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// MaxLevel is the highest level among roles; unknown names count as zero.
func MaxLevel(roles []string) int {
	level := 0
	for _, name := range roles {
		if r, ok := LookupRole(name); ok && r.Level > level {
			level = r.Level
		}
	}
	return level
}

// AnyRole reports whether roles grant the capability that pick selects.
func AnyRole(roles []string, pick func(Role) bool) bool {
	for _, name := range roles {
		if r, ok := LookupRole(name); ok && pick(r) {
			return true
		}
	}
	return false
}

// NormalizeRoles sorts roles and drops duplicates, so that stored role sets
// compare equal however they were given.
func NormalizeRoles(roles []string) []string {
	out := slices.Clone(roles)
	slices.Sort(out)
	return slices.Compact(out)
}
