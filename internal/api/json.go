package api

import (
	"time"

	"roster/internal/core"
)

// The wire types of the native API. Every field is always present (null
// when unset), so clients and the OpenAPI document can rely on the shape.

type membershipJSON struct {
	TenantID         string    `json:"tenant_id"`
	TenantNumber     int64     `json:"tenant_number"`
	TenantName       string    `json:"tenant_name"`
	Roles            []string  `json:"roles"`
	ResourceGroupIDs []string  `json:"resource_group_ids"`
	CreatedAt        time.Time `json:"created_at"`
}

type invitationSummaryJSON struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expires_at"`
}

type userJSON struct {
	ID             string                 `json:"id"`
	Number         int64                  `json:"number"`
	ExternalID     *string                `json:"external_id"`
	Email          *string                `json:"email"`
	Username       *string                `json:"username"`
	Name           string                 `json:"name"`
	FirstName      string                 `json:"first_name"`
	LastName       string                 `json:"last_name"`
	Phone          *string                `json:"phone"`
	Lang           string                 `json:"lang"`
	Type           core.UserType          `json:"type"`
	Status         core.UserStatus        `json:"status"`
	EmailConfirmed bool                   `json:"email_confirmed"`
	TwoFA          bool                   `json:"two_fa"`
	AuthTypes      []string               `json:"auth_types"`
	SecurityRealm  string                 `json:"security_realm"`
	Builtin        bool                   `json:"builtin"`
	HasPassword    bool                   `json:"has_password"`
	Attributes     map[string]any         `json:"attributes"`
	ProviderRoles  []string               `json:"provider_roles"`
	Memberships    []membershipJSON       `json:"memberships"`
	Invitation     *invitationSummaryJSON `json:"invitation,omitempty"`
	CreatedAt      time.Time              `json:"created_at"`
	UpdatedAt      time.Time              `json:"updated_at"`
	CreatedBy      string                 `json:"created_by"`
	UpdatedBy      string                 `json:"updated_by"`
	FirstLoginAt   *time.Time             `json:"first_login_at"`
	LastLoginAt    *time.Time             `json:"last_login_at"`
	DeletedAt      *time.Time             `json:"deleted_at"`
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toUser(u core.User) userJSON {
	attrs := u.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	out := userJSON{ID: u.ID, Number: u.Number, ExternalID: nullable(u.ExternalID), Email: nullable(u.Email),
		Username: nullable(u.Username), Name: u.Name, FirstName: u.FirstName, LastName: u.LastName,
		Phone: nullable(u.Phone), Lang: u.Lang, Type: u.Type, Status: u.Status, EmailConfirmed: u.EmailConfirmed,
		TwoFA: u.TwoFA, AuthTypes: nonNil(u.AuthTypes), SecurityRealm: u.SecurityRealm, Builtin: u.Builtin,
		HasPassword: u.HasPassword, Attributes: attrs, ProviderRoles: nonNil(u.ProviderRoles),
		Memberships: make([]membershipJSON, 0, len(u.Memberships)), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		CreatedBy: u.CreatedBy, UpdatedBy: u.UpdatedBy, FirstLoginAt: u.FirstLoginAt, LastLoginAt: u.LastLoginAt,
		DeletedAt: u.DeletedAt}
	for _, m := range u.Memberships {
		out.Memberships = append(out.Memberships, membershipJSON{TenantID: m.TenantID, TenantNumber: m.TenantNumber,
			TenantName: m.TenantName, Roles: nonNil(m.Roles), ResourceGroupIDs: nonNil(m.ResourceGroupIDs), CreatedAt: m.CreatedAt})
	}
	return out
}

type tenantJSON struct {
	ID               string            `json:"id"`
	Number           int64             `json:"number"`
	Name             string            `json:"name"`
	Email            *string           `json:"email"`
	Phone            *string           `json:"phone"`
	CountryCode      *string           `json:"country_code"`
	Lang             *string           `json:"lang"`
	CustomID         *string           `json:"custom_id"`
	IsTest           bool              `json:"is_test"`
	Status           core.TenantStatus `json:"status"`
	SellerID         *int64            `json:"seller_id"`
	PasswordPolicy   *string           `json:"password_policy"`
	InviteTTLSeconds *int64            `json:"invite_ttl_seconds"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

func toTenant(t core.Tenant) tenantJSON {
	out := tenantJSON{ID: t.ID, Number: t.Number, Name: t.Name, Email: nullable(t.Email), Phone: nullable(t.Phone),
		CountryCode: nullable(t.CountryCode), Lang: nullable(t.Lang), CustomID: nullable(t.CustomID), IsTest: t.IsTest,
		Status: t.Status, PasswordPolicy: nullable(t.PasswordPolicy), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if t.SellerID != 0 {
		out.SellerID = &t.SellerID
	}
	if t.InviteTTL != 0 {
		secs := int64(t.InviteTTL / time.Second)
		out.InviteTTLSeconds = &secs
	}
	return out
}

type productJSON struct {
	Product   core.Product `json:"product"`
	Available bool         `json:"available"`
	Override  *bool        `json:"override"`
}

func toProducts(ps []core.ProductSetting) []productJSON {
	out := make([]productJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, productJSON{Product: p.Product, Available: p.Available, Override: p.Override})
	}
	return out
}

type groupJSON struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	MemberCount int       `json:"member_count"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toGroup(g core.ResourceGroup) groupJSON {
	return groupJSON{ID: g.ID, TenantID: g.TenantID, Name: g.Name, Description: g.Description,
		MemberCount: g.MemberCount, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

type apiKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	UserID     *string    `json:"user_id"`
	TenantID   *string    `json:"tenant_id"`
	Roles      []string   `json:"roles"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	// Key is the secret, present only in the answer that created it.
	Key string `json:"key,omitempty"`
}

func toAPIKey(k core.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, UserID: nullable(k.UserID), TenantID: nullable(k.TenantID),
		Roles: nonNil(k.Roles), ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy}
}

type roleJSON struct {
	Name        string     `json:"name"`
	Scope       core.Scope `json:"scope"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Level       int        `json:"level"`
}

type listJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func list[T any](items []T, next string) listJSON[T] {
	return listJSON[T]{Items: nonNil(items), NextCursor: nullable(next)}
}
