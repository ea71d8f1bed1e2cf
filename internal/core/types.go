// Package core holds roster's domain types, role catalogue and error codes.
// It imports nothing else of roster's, so every other package may use it.
package core

import (
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// TenantStatus is the lifecycle state of a tenant.
type TenantStatus string

const (
	TenantActive    TenantStatus = "active"
	TenantSuspended TenantStatus = "suspended"
	TenantDeleted   TenantStatus = "deleted"
)

// UserStatus is the lifecycle state of a user. Deletion is soft: a deleted
// user keeps its row, its id and its number, but frees its email and username.
type UserStatus string

const (
	UserInvited  UserStatus = "invited"
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled"
	UserDeleted  UserStatus = "deleted"
)

// Valid reports whether s is one of the known statuses.
func (s UserStatus) Valid() bool {
	switch s {
	case UserInvited, UserActive, UserDisabled, UserDeleted:
		return true
	}
	return false
}

// UserType follows Gcore's distinction; users created through any API are
// common, the bootstrap administrator is the reseller.
type UserType string

const (
	UserTypeCommon   UserType = "common"
	UserTypeReseller UserType = "reseller"
	UserTypeSeller   UserType = "seller"
)

// Product is one of the services whose availability a tenant can have.
type Product string

const (
	ProductCDN       Product = "CDN"
	ProductStorage   Product = "STORAGE"
	ProductStreaming Product = "STREAMING"
	ProductDNS       Product = "DNS"
	ProductDDoS      Product = "DDOS"
	ProductCloud     Product = "CLOUD"
)

// Products lists every product in a stable order.
var Products = []Product{ProductCDN, ProductStorage, ProductStreaming, ProductDNS, ProductDDoS, ProductCloud}

// ParseProduct accepts a product name in any case.
func ParseProduct(s string) (Product, bool) {
	p := Product(strings.ToUpper(strings.TrimSpace(s)))
	for _, known := range Products {
		if p == known {
			return p, true
		}
	}
	return "", false
}

// Languages are the user and tenant languages roster knows; the first is
// the default.
var Languages = []string{"en", "de", "ru", "zh", "az"}

// ValidLanguage reports whether lang is one of Languages.
func ValidLanguage(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// Provider is the operator running roster: the root of everything. A
// database holds exactly one.
type Provider struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Tenant is a customer account (Gcore client, Everlytic customer, GPCN entity).
type Tenant struct {
	ID          string
	Number      int64 // stable integer id for the vendors whose ids are integers
	Name        string
	Email       string
	Phone       string
	CountryCode string
	Lang        string
	CustomID    string
	IsTest      bool
	Status      TenantStatus
	SellerID    int64 // 0 when the tenant has no seller
	// PasswordPolicy names the policy for this tenant's users; empty
	// means the provider's default.
	PasswordPolicy string
	// InviteTTL overrides the provider's invitation lifetime; 0 inherits.
	InviteTTL time.Duration
	CreatedAt time.Time
	UpdatedAt time.Time
	CreatedBy string
	UpdatedBy string
}

// ProductSetting is one product's availability for a tenant: the tenant's
// own override (nil inherits) and the value that results.
type ProductSetting struct {
	Product   Product
	Override  *bool
	Available bool
}

// Membership says that a user belongs to a tenant, with roles there.
type Membership struct {
	TenantID     string
	TenantNumber int64
	TenantName   string
	// TenantStatus is the tenant's status when the membership was read.
	TenantStatus     TenantStatus
	UserID           string
	Roles            []string
	ResourceGroupIDs []string
	CreatedAt        time.Time
}

// User is a person (or robot) with an identity in roster.
type User struct {
	ID             string
	Number         int64
	ExternalID     string
	Email          string
	Username       string
	Name           string
	FirstName      string
	LastName       string
	Phone          string
	Lang           string
	Type           UserType
	Status         UserStatus
	EmailConfirmed bool
	TwoFA          bool
	AuthTypes      []string
	SecurityRealm  string
	Builtin        bool
	Attributes     map[string]any
	HasPassword    bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CreatedBy      string
	UpdatedBy      string
	FirstLoginAt   *time.Time
	LastLoginAt    *time.Time
	DeletedAt      *time.Time

	// ProviderRoles are roles held at the provider level (provider-admin …).
	ProviderRoles []string
	// Memberships are the tenants the user belongs to, in tenant order.
	Memberships []Membership
}

// Membership returns the user's membership in tenantID, if any.
func (u *User) Membership(tenantID string) (Membership, bool) {
	for _, m := range u.Memberships {
		if m.TenantID == tenantID {
			return m, true
		}
	}
	return Membership{}, false
}

// DisplayName is the name to show for the user.
func (u *User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	if u.Username != "" {
		return u.Username
	}
	return u.Email
}

// Fold is the form in which text is compared and searched: trimmed, in
// lower case and in Unicode normalization form C, so that an "é" typed as
// one character or as an "e" and a combining accent (as some keyboards and
// systems send it) is the same text, and so the same login.
func Fold(s string) string { return norm.NFC.String(strings.ToLower(strings.TrimSpace(s))) }

// NormalizeEmail is the form in which emails are compared: they are unique
// per provider regardless of case.
func NormalizeEmail(email string) string { return Fold(email) }

// NormalizeUsername is the form in which usernames are compared.
func NormalizeUsername(username string) string { return Fold(username) }

// Credential is a user's password, as a PHC or MCF string.
type Credential struct {
	UserID    string
	Hash      string
	UpdatedAt time.Time
}

// ResourceGroup is a named group inside a tenant (GPCN "team").
type ResourceGroup struct {
	ID          string
	TenantID    string
	Name        string
	Description string
	MemberCount int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// InvitationState is what is stored; InvitationStatus adds "expired", which
// is derived from the clock.
type InvitationStatus string

const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationExpired  InvitationStatus = "expired"
	InvitationRevoked  InvitationStatus = "revoked"
)

// Invitation asks a user to set a name and password. Its token is shown only
// in the email; roster keeps its SHA-256 hash.
type Invitation struct {
	ID             string
	UserID         string
	TenantID       string // empty for an invitation to the provider level
	Email          string
	InvitedBy      string
	TokenHash      string
	State          InvitationStatus // pending, accepted or revoked
	FailedAttempts int
	ExpiresAt      time.Time
	CreatedAt      time.Time
	AcceptedAt     *time.Time
	RevokedAt      *time.Time
}

// Status derives the invitation's status at now.
func (i *Invitation) Status(now time.Time) InvitationStatus {
	if i.State == InvitationPending && !now.Before(i.ExpiresAt) {
		return InvitationExpired
	}
	return i.State
}

// APIKey is a long-lived credential. It belongs to a user (UserID set) or is
// a service key of the provider (TenantID empty) or of a tenant.
type APIKey struct {
	ID            string
	Name          string
	Prefix        string // the first characters of the secret, to recognise it
	Hash          string
	UserID        string
	TenantID      string
	Roles         []string
	ExpiresAt     *time.Time
	LastUsedAt    *time.Time
	RevokedAt     *time.Time
	ElevatedUntil *time.Time
	CreatedAt     time.Time
	CreatedBy     string
}

// Session is a login: an opaque token whose hash is stored.
type Session struct {
	ID            string
	Hash          string
	UserID        string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	ElevatedUntil *time.Time
}

// PrincipalKind says how a principal authenticated.
type PrincipalKind string

const (
	PrincipalAPIKey  PrincipalKind = "api_key"
	PrincipalSession PrincipalKind = "session"
	PrincipalSystem  PrincipalKind = "system"
)

// Principal is who is calling: the answer of authentication, the input of
// every authorisation decision.
type Principal struct {
	Kind         PrincipalKind
	CredentialID string // the API key's or session's id
	UserID       string // empty for service keys
	// Name is how the principal is shown to others (an inviter's name).
	Name string
	// ProviderRoles are held at the provider level; TenantRoles per tenant id.
	ProviderRoles []string
	TenantRoles   map[string][]string
	ElevatedUntil time.Time
	// Restricted is set for a user's key made for one tenant or with
	// roles: it acts with less than its owner may, and a key it makes is
	// held to the same bounds.
	Restricted bool
	// ExpiresAt is when the credential stops working (zero: never). A key
	// made by an API key expires no later than that key.
	ExpiresAt time.Time
}

// Actor is the id recorded in created_by/updated_by columns.
func (p *Principal) Actor() string {
	if p == nil {
		return ""
	}
	if p.UserID != "" {
		return p.UserID
	}
	if p.CredentialID != "" {
		return "key:" + p.CredentialID
	}
	return string(p.Kind)
}

// System is the principal of roster itself (bootstrap, migrations).
var System = &Principal{Kind: PrincipalSystem, ProviderRoles: []string{RoleProviderAdmin}}

// TenantRef selects one tenant by id or by number.
type TenantRef struct {
	ID     string
	Number int64
}

// UserRef selects one user by id, number, username or email. Lookups by
// username or email find only users that are not deleted, since deleted
// users release both.
type UserRef struct {
	ID       string
	Number   int64
	Username string
	Email    string
}

// DeletedFilter says whether listings show deleted rows.
type DeletedFilter int

const (
	ExcludeDeleted DeletedFilter = iota
	IncludeDeleted
	OnlyDeleted
)

// UserSort orders a user listing. Keyset pagination is possible only in id
// order, which is creation order.
type UserSort struct {
	Field string // "id" (default), "email", "name", "created_at", "updated_at", "status"
	Desc  bool
}

// OutboxMessage is an email waiting to be sent, or sent. It is written in
// the same transaction as what it announces, so that no invitation exists
// without its email, and a delivery worker sends it.
type OutboxMessage struct {
	ID string
	// Kind says what the message is for: invitation, password_reset.
	Kind string
	// MessageID is the RFC 5322 Message-ID (without angle brackets); a
	// retry sends the same one, so a receiver can drop a duplicate.
	MessageID string
	Recipient string
	Subject   string
	// Lang and Data (JSON) are what the bodies are rendered from when the
	// message is sent: a small row to write with the invitation, and the
	// rendering off the request's path. Data holds the link, and so the
	// token, until the message is sent; then it is erased.
	Lang      string
	Data      string
	CreatedAt time.Time
	// NextAttemptAt is when the message may next be tried.
	NextAttemptAt time.Time
	Attempts      int
	LastError     string
	SentAt        *time.Time
	// LockedUntil and LockedBy lease the message to one worker while it
	// tries; an expired lease means the worker died.
	LockedUntil *time.Time
	LockedBy    string
}

// LoginThrottle counts recent failed logins for one key (an account or a
// client address) and says until when further attempts are refused.
type LoginThrottle struct {
	Key      string
	Failures int
	// FirstFailure is when the counted failures began: the count starts
	// again with the first failure a window after it.
	FirstFailure time.Time
	BlockedUntil *time.Time
}

// PasswordReset is a single-use token to set a new password; like
// invitation tokens it is stored as a hash.
type PasswordReset struct {
	ID        string
	UserID    string
	TokenHash string
	ExpiresAt time.Time
	CreatedAt time.Time
	UsedAt    *time.Time
}

// UserSearchKey is where a user stands in a prefix search for prefix (in
// its normalised, lower-case form): the first, in byte order, of its
// normalised email, username and name that starts with the prefix; ok is
// false when none does. Results of a search come in this order, then by
// id, which indexes on the three columns can produce without sorting
// every match.
func UserSearchKey(u User, prefix string) (key string, ok bool) {
	for _, v := range []string{NormalizeEmail(u.Email), NormalizeUsername(u.Username), Fold(u.Name)} {
		if v != "" && strings.HasPrefix(v, prefix) && (!ok || v < key) {
			key, ok = v, true
		}
	}
	return key, ok
}
