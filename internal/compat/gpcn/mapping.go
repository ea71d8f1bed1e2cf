package gpcn

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"roster/internal/core"
)

// Roles. GPCN names roles as roster does (tenant-user, vm-operator,
// tenant-admin …), so names map onto the catalogue one to one. GPCN filters
// users by role id, which roster does not have: each role's id is a UUIDv5
// of its name under roleNamespace, stable across installations and
// releases. docs/dialects/gpcn.md lists them.
var roleNamespace = uuid.MustParse("6f1c3a52-5d0e-4c8e-9a57-2b9f0d4e7c11")

// roleAliases are GPCN role names that roster knows under another name.
// They are accepted in requests; answers use roster's names.
var roleAliases = map[string]string{
	"entity-admin":      core.RoleTenantAdmin,
	"tenant-power-user": core.RoleEngineer,
}

// RoleID is the stable GPCN id of a catalogue role.
func RoleID(name string) string {
	return uuid.NewSHA1(roleNamespace, []byte(name)).String()
}

// lookupRole finds a catalogue role by GPCN id, name or alias.
func lookupRole(s string) (core.Role, bool) {
	s = strings.TrimSpace(s)
	if alias, ok := roleAliases[s]; ok {
		s = alias
	}
	if r, ok := core.LookupRole(s); ok {
		return r, true
	}
	for _, r := range core.Catalogue {
		if RoleID(r.Name) == strings.ToLower(s) {
			return r, true
		}
	}
	return core.Role{}, false
}

// roleNames maps GPCN role names (and aliases) to roster's; names roster
// does not know are passed on for the service to refuse.
func roleNames(in []string) []string {
	out := make([]string, 0, len(in))
	for _, n := range in {
		n = strings.TrimSpace(n)
		if alias, ok := roleAliases[n]; ok {
			n = alias
		}
		out = append(out, n)
	}
	return out
}

// scopeName is a role's scope in GPCN's words.
func scopeName(s core.Scope) string {
	if s == core.ScopeTenant {
		return "entity"
	}
	return string(s)
}

type roleJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	Scope       string `json:"scope"`
}

func toRole(r core.Role) roleJSON {
	return roleJSON{ID: RoleID(r.Name), Name: r.Name, DisplayName: r.Title, Description: r.Description, Scope: scopeName(r.Scope)}
}

// userRoleJSON is a role a user holds, with the entity it is held in (null
// for provider roles).
type userRoleJSON struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	DisplayName string  `json:"displayName"`
	EntityID    *string `json:"entityId"`
}

func heldRole(name string, entityID *string) userRoleJSON {
	out := userRoleJSON{ID: RoleID(name), Name: name, DisplayName: name, EntityID: entityID}
	if r, ok := core.LookupRole(name); ok {
		out.DisplayName = r.Title
	}
	return out
}

// Invite statuses. GPCN knows activated, pending and expired; roster adds
// revoked, for a user whose last invitation was withdrawn.
const (
	inviteActivated = "activated"
	invitePending   = "pending"
	inviteExpired   = "expired"
	inviteRevoked   = "revoked"
)

// needsInvitation reports whether a user's invite status depends on its
// latest invitation.
func needsInvitation(u core.User) bool {
	return u.Status == core.UserInvited || (u.Status == core.UserDeleted && !u.HasPassword)
}

// inviteState derives GPCN's inviteStatus and inviteExpiresAt from the user
// and its latest invitation (nil when it has none) at now.
func inviteState(u core.User, inv *core.Invitation, now time.Time) (string, *time.Time) {
	switch {
	case u.Status == core.UserActive || u.Status == core.UserDisabled:
		return inviteActivated, nil
	case u.Status == core.UserDeleted && u.HasPassword:
		return inviteActivated, nil
	case inv == nil:
		return "", nil
	}
	expires := inv.ExpiresAt
	switch inv.Status(now) {
	case core.InvitationAccepted:
		return inviteActivated, nil
	case core.InvitationPending:
		return invitePending, &expires
	case core.InvitationExpired:
		return inviteExpired, &expires
	default:
		return inviteRevoked, nil
	}
}

// inviteFilter turns GPCN's inviteStatus[] into the service's filters,
// recording problems in v: activated is a user status (active or
// disabled), the others are the status of the user's latest invitation.
// The service ANDs those two filters, so activated combines only with both
// pending and expired (which then means everyone) or with none of them.
func inviteFilter(v *core.Validation, values []string, deleted core.DeletedFilter) ([]core.UserStatus, []core.InvitationStatus) {
	if len(values) == 0 {
		return nil, nil
	}
	activated, bad := false, false
	var invs []core.InvitationStatus
	for i, val := range values {
		switch val {
		case inviteActivated, "accepted":
			activated = true
		case invitePending, inviteExpired, inviteRevoked:
			if !slices.Contains(invs, core.InvitationStatus(val)) {
				invs = append(invs, core.InvitationStatus(val))
			}
		default:
			bad = true
			v.Add(fmt.Sprintf("inviteStatus[%d]", i), "invalid", "must be activated, pending, expired or revoked")
		}
	}
	if bad {
		return nil, nil
	}
	withDeleted := func(st []core.UserStatus) []core.UserStatus {
		if deleted != core.ExcludeDeleted {
			st = append(st, core.UserDeleted)
		}
		return st
	}
	switch {
	case activated && len(invs) == 0:
		return withDeleted([]core.UserStatus{core.UserActive, core.UserDisabled}), nil
	case activated && slices.Contains(invs, core.InvitationPending) && slices.Contains(invs, core.InvitationExpired):
		return nil, nil // every status GPCN knows: no filter
	case activated:
		v.Add("inviteStatus", "unsupported",
			"activated combines only with both pending and expired (which lists everyone); ask for activated and pending users in two requests")
		return nil, nil
	default:
		return withDeleted([]core.UserStatus{core.UserInvited}), invs
	}
}

// sortKey parses GPCN's "field" or "field:asc|desc" into one of fields'
// values, recording problems in v.
func sortKey(v *core.Validation, s string, fields map[string]string) (field string, desc bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, ",") {
		v.Add("sort", "unsupported", "sorting by more than one field is not supported; give one field")
		return "", false
	}
	name, dir, _ := strings.Cut(s, ":")
	field, ok := fields[name]
	if !ok {
		known := make([]string, 0, len(fields))
		for k := range fields {
			known = append(known, k)
		}
		slices.Sort(known)
		v.Add("sort", "invalid", "must be one of "+strings.Join(known, ", ")+", optionally followed by :asc or :desc")
		return "", false
	}
	switch strings.ToLower(dir) {
	case "", "asc":
	case "desc":
		desc = true
	default:
		v.Add("sort", "invalid", "the direction must be asc or desc")
	}
	return field, desc
}

// userSortFields maps GPCN's sort fields to the service's. firstName sorts
// by the full name, which starts with it.
var userSortFields = map[string]string{
	"createdAt": "created_at",
	"updatedAt": "updated_at",
	"email":     "email",
	"name":      "name",
	"firstName": "name",
	"status":    "status",
	"id":        "id",
}

// GPCN's time format: RFC 3339 in UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// userJSON is a user as GPCN shows it, with roster's roles, resource groups
// and status beside GPCN's own fields.
type userJSON struct {
	ID               string         `json:"id"`
	Email            *string        `json:"email"`
	FirstName        *string        `json:"firstName"`
	LastName         *string        `json:"lastName"`
	EntityID         *string        `json:"entityId"`
	Status           string         `json:"status"`
	Roles            []userRoleJSON `json:"roles"`
	ResourceGroupIDs []string       `json:"resourceGroupIds"`
	CreatedAt        string         `json:"createdAt"`
	UpdatedAt        string         `json:"updatedAt"`
	DeletedAt        *string        `json:"deletedAt"`
	LastLoginAt      *string        `json:"lastLoginAt"`
	InviteStatus     *string        `json:"inviteStatus"`
	InviteExpiresAt  *string        `json:"inviteExpiresAt"`
}

func toUser(u core.User, inv *core.Invitation, now time.Time) userJSON {
	out := userJSON{ID: u.ID, Email: nullable(u.Email), FirstName: nullable(u.FirstName), LastName: nullable(u.LastName),
		Status: string(u.Status), Roles: []userRoleJSON{}, ResourceGroupIDs: []string{},
		CreatedAt: formatTime(u.CreatedAt), UpdatedAt: formatTime(u.UpdatedAt), DeletedAt: formatTimePtr(u.DeletedAt),
		LastLoginAt: formatTimePtr(u.LastLoginAt)}
	for _, r := range u.ProviderRoles {
		out.Roles = append(out.Roles, heldRole(r, nil))
	}
	for i, m := range u.Memberships {
		if i == 0 {
			out.EntityID = nullable(m.TenantID)
		}
		entity := m.TenantID
		for _, r := range m.Roles {
			out.Roles = append(out.Roles, heldRole(r, &entity))
		}
		out.ResourceGroupIDs = append(out.ResourceGroupIDs, m.ResourceGroupIDs...)
	}
	status, expires := inviteState(u, inv, now)
	out.InviteStatus, out.InviteExpiresAt = nullable(status), formatTimePtr(expires)
	return out
}

// teamJSON is a resource group as GPCN's /v1/teams shows it. GPCN's team
// ids are roster's resource group UUIDs; id and teamId carry the same value.
type teamJSON struct {
	ID           string  `json:"id"`
	TeamID       string  `json:"teamId"`
	Name         string  `json:"name"`
	Description  *string `json:"description"`
	EntityID     string  `json:"entityId"`
	ParentTeamID *string `json:"parentTeamId"`
	MemberCount  int     `json:"memberCount"`
	CreatedAt    string  `json:"createdAt"`
	UpdatedAt    string  `json:"updatedAt"`
}

func toTeam(g core.ResourceGroup) teamJSON {
	return teamJSON{ID: g.ID, TeamID: g.ID, Name: g.Name, Description: nullable(g.Description), EntityID: g.TenantID,
		MemberCount: g.MemberCount, CreatedAt: formatTime(g.CreatedAt), UpdatedAt: formatTime(g.UpdatedAt)}
}

// homeEntity is the tenant a caller acts in when it names none: GPCN
// defaults to the caller's own entity. A principal with provider roles, or
// with roles in several tenants, has no single one.
func homeEntity(p *core.Principal) string {
	if len(p.ProviderRoles) > 0 || len(p.TenantRoles) != 1 {
		return ""
	}
	for id := range p.TenantRoles {
		return id
	}
	return ""
}
