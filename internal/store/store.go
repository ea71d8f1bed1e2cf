// Package store defines roster's persistence interface. Backends live in
// sub-packages and must all pass the conformance suite in storetest.
//
// Stores return *core.Error values with CodeNotFound for missing rows and
// CodeConflict (with the field that clashed) for uniqueness violations, and
// CodeUnavailable when the database cannot be reached; anything else is an
// internal error.
package store

import (
	"context"
	"time"

	"roster/internal/core"
)

// Store is the whole persistence layer.
type Store interface {
	Reader
	// InTx runs fn inside one write transaction. It commits when fn returns
	// nil and rolls back otherwise; fn must not keep tx after returning.
	// fn may run more than once (a backend may retry it, after rolling
	// back): its effects outside tx must bear repeating.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// ParkFor is how far ahead a message given up on is put: never, in
// practice, while it stays visible to the operator.
const ParkFor = 100 * 365 * 24 * time.Hour

// WithCommitPatience lets the transactions run with ctx wait up to d for
// others to share their commit. A backend that commits transactions in
// groups may hold a patient one back, while every transaction in its group
// is patient, so that one commit serves several: on a machine busy with
// password hashes each commit takes CPU from them. Others ignore it.
func WithCommitPatience(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, commitPatienceKey{}, d)
}

// CommitPatience is the patience WithCommitPatience gave ctx, or zero.
func CommitPatience(ctx context.Context) time.Duration {
	d, _ := ctx.Value(commitPatienceKey{}).(time.Duration)
	return d
}

type commitPatienceKey struct{}

// Tx is a write transaction; it can read what it has written.
type Tx interface {
	Reader
	Writer
}

// TenantRef and UserRef are the core's; they are repeated here so that
// store code reads naturally.
type (
	TenantRef = core.TenantRef
	UserRef   = core.UserRef
)

// DeletedFilter and UserSort are the core's.
type (
	DeletedFilter = core.DeletedFilter
	UserSort      = core.UserSort
)

const (
	ExcludeDeleted = core.ExcludeDeleted
	IncludeDeleted = core.IncludeDeleted
	OnlyDeleted    = core.OnlyDeleted
)

// UserFilter selects users for a listing. Empty fields do not filter.
type UserFilter struct {
	// TenantIDs keeps users with a membership in any of these tenants. A
	// non-nil empty slice matches nobody.
	TenantIDs []string
	// Prefix matches the start of the email, username or name, ignoring case.
	Prefix             string
	Statuses           []core.UserStatus
	Deleted            DeletedFilter
	WithEmail          bool     // only users with an email
	Roles              []string // held in any tenant or at the provider level
	ResourceGroupIDs   []string
	InvitationStatuses []core.InvitationStatus // of the user's newest invitation
	// InvitationTenantIDs, when not nil, keeps InvitationStatuses to the
	// invitations into these tenants: the newest of those tells the
	// status, as a reader of those tenants alone is shown it.
	InvitationTenantIDs []string
	// InvitationsAt is the time against which invitation expiry is judged.
	InvitationsAt time.Time
	After         string // keyset cursor: the last id of the previous page
	// AfterKey goes with After in a prefix search ordered by match (see
	// ListUsers): the matched text of the last user of the previous page.
	AfterKey string
	Offset   int
	Limit    int // 0 means no limit
	Sort     UserSort
}

// UserKeys names users by any of their unique identifiers, for matching a
// batch of imported users against the existing ones in one query.
type UserKeys struct {
	IDs         []string
	Emails      []string // compared normalised
	Usernames   []string // compared normalised
	ExternalIDs []string
}

// NewUser is one user for CreateUsers and UpdateUsers.
type NewUser struct {
	// User is written with its ProviderRoles and Memberships; its Number
	// is set.
	User *core.User
	// PasswordHash, when set, becomes the user's credential.
	PasswordHash string
}

// TenantFilter selects tenants for a listing.
type TenantFilter struct {
	IDs     []string // non-nil: only these (a non-nil empty slice matches none)
	Prefix  string   // name prefix, ignoring case
	Deleted DeletedFilter
	After   string
	Offset  int
	Limit   int
}

// APIKeyFilter selects API keys for a listing.
type APIKeyFilter struct {
	TenantIDs      []string // non-nil: only keys of these tenants
	UserID         string
	IncludeRevoked bool
}

// InvitationFilter selects invitations for a listing.
type InvitationFilter struct {
	TenantIDs []string // non-nil: only invitations into these tenants
	UserID    string
	States    []core.InvitationStatus // expired is derived from At
	At        time.Time
	After     string
	Limit     int
}

// OutboxFilter selects outbox messages for a listing.
type OutboxFilter struct {
	// Pending keeps unsent messages only; Sent keeps sent ones only.
	Pending bool
	Sent    bool
	After   string
	Limit   int
}

// IdempotencyRecord remembers the first answer to a request made with an
// Idempotency-Key.
type IdempotencyRecord struct {
	Scope       string // who made the request: the same key from two callers is two records
	Key         string
	RequestHash string
	Done        bool
	Status      int
	ContentType string
	Body        []byte
	// Header holds the answer's headers a replay repeats (Location, Vary).
	Header map[string][]string
	// Withheld marks an answer that held a secret: it was given once and
	// not kept, so Body is empty.
	Withheld  bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Reader holds every query.
type Reader interface {
	GetProvider(ctx context.Context) (core.Provider, error)

	GetTenant(ctx context.Context, ref TenantRef) (core.Tenant, error)
	ListTenants(ctx context.Context, f TenantFilter) ([]core.Tenant, error)
	CountTenants(ctx context.Context, f TenantFilter) (int, error)
	// ProductDefaults returns the provider-wide availability of each
	// product that has a default stored.
	ProductDefaults(ctx context.Context) (map[core.Product]bool, error)
	// TenantProductOverrides returns the tenant's own settings.
	TenantProductOverrides(ctx context.Context, tenantID string) (map[core.Product]bool, error)

	// GetUser returns the user with provider roles and memberships.
	GetUser(ctx context.Context, ref UserRef) (core.User, error)
	// ListUsers lists users. With a Prefix and no other sort, they come in
	// the order of what matched (see core.UserSearchKey), then id, and the
	// keyset cursor is After with AfterKey; otherwise in the sort asked.
	ListUsers(ctx context.Context, f UserFilter) ([]core.User, error)
	// MatchUsers returns the users, with provider roles and memberships,
	// that hold any of the keys; deleted users match by id and external id
	// only.
	MatchUsers(ctx context.Context, k UserKeys) ([]core.User, error)
	CountUsers(ctx context.Context, f UserFilter) (int, error)
	GetCredential(ctx context.Context, userID string) (core.Credential, error)

	GetResourceGroup(ctx context.Context, id string) (core.ResourceGroup, error)
	ListResourceGroups(ctx context.Context, tenantID string) ([]core.ResourceGroup, error)
	ListResourceGroupMembers(ctx context.Context, groupID string) ([]string, error)

	GetAPIKey(ctx context.Context, id string) (core.APIKey, error)
	GetAPIKeyByHash(ctx context.Context, hash string) (core.APIKey, error)
	ListAPIKeys(ctx context.Context, f APIKeyFilter) ([]core.APIKey, error)
	// CountAPIKeys counts every key ever made, revoked ones included.
	CountAPIKeys(ctx context.Context) (int, error)

	GetSession(ctx context.Context, id string) (core.Session, error)
	GetSessionByHash(ctx context.Context, hash string) (core.Session, error)

	GetInvitation(ctx context.Context, id string) (core.Invitation, error)
	ListInvitations(ctx context.Context, f InvitationFilter) ([]core.Invitation, error)

	GetIdempotency(ctx context.Context, scope, key string) (IdempotencyRecord, error)

	ListOutbox(ctx context.Context, f OutboxFilter) ([]core.OutboxMessage, error)
	GetOutbox(ctx context.Context, id string) (core.OutboxMessage, error)

	// LoginThrottles returns the throttles of the keys that have one.
	LoginThrottles(ctx context.Context, keys []string) ([]core.LoginThrottle, error)

	GetPasswordReset(ctx context.Context, id string) (core.PasswordReset, error)
}

// Writer holds every change.
type Writer interface {
	CreateProvider(ctx context.Context, p core.Provider) error

	// CreateTenant inserts t and sets t.Number.
	CreateTenant(ctx context.Context, t *core.Tenant) error
	UpdateTenant(ctx context.Context, t core.Tenant) error
	// SetTenantProductOverrides writes the given products: a nil value
	// removes the override, so the product inherits the default again.
	SetTenantProductOverrides(ctx context.Context, tenantID string, overrides map[core.Product]*bool) error
	SetProductDefaults(ctx context.Context, defaults map[core.Product]bool) error

	// CreateUser inserts u (not its roles or memberships) and sets u.Number.
	// A non-zero u.Number is kept, for imports that preserve ids.
	CreateUser(ctx context.Context, u *core.User) error
	// CreateUsers inserts new users with their provider roles, memberships
	// (with their roles) and password hashes: what CreateUser,
	// SetProviderRoles, PutMembership and PutCredential do one at a time,
	// in a few statements, for bulk imports. It sets each user's Number (a
	// non-zero one is kept). A clash with an existing row fails the call
	// with a conflict that need not say which user clashed: callers that
	// must know retry one at a time.
	CreateUsers(ctx context.Context, users []NewUser) error
	// UpdateUsers replaces existing users whole, for bulk imports: what
	// UpdateUser, SetProviderRoles, PutMembership for each of the user's
	// Memberships and PutCredential (when PasswordHash is set) do one at a
	// time, in a few statements. Every user must exist (not found
	// otherwise), with its Number as stored, which does not change; like
	// CreateUsers, a clash fails the call with a conflict that need not
	// say which user clashed.
	UpdateUsers(ctx context.Context, users []NewUser) error
	UpdateUser(ctx context.Context, u core.User) error
	// RecordLogin notes a login: last login at, and first login when it
	// is the first.
	RecordLogin(ctx context.Context, userID string, at time.Time) error
	// LockUsers holds the given users against changes from other
	// transactions until this one ends, so that what this one reads of
	// them afterwards still holds when it commits: a change to a user's
	// row (a login's record too), provider roles or memberships elsewhere
	// waits for it (and this waits for one under way); rows that only
	// name the user (sessions, credentials) do not. A single-writer
	// database gives that to every write transaction already. Users that
	// do not exist are skipped.
	LockUsers(ctx context.Context, ids []string) error
	// LockTenant holds the tenant against changes from other transactions
	// until this one ends, as LockUsers holds users.
	LockTenant(ctx context.Context, id string) error
	// LockResourceGroup holds the group likewise.
	LockResourceGroup(ctx context.Context, id string) error
	SetProviderRoles(ctx context.Context, userID string, roles []string) error
	// PutMembership creates the membership or replaces its roles.
	PutMembership(ctx context.Context, m core.Membership) error
	// DeleteMembership removes the membership and the user's resource
	// group memberships in that tenant.
	DeleteMembership(ctx context.Context, tenantID, userID string) error
	PutCredential(ctx context.Context, c core.Credential) error

	CreateResourceGroup(ctx context.Context, g core.ResourceGroup) error
	UpdateResourceGroup(ctx context.Context, g core.ResourceGroup) error
	DeleteResourceGroup(ctx context.Context, id string) error
	AddResourceGroupMember(ctx context.Context, groupID, userID string, at time.Time) error
	RemoveResourceGroupMember(ctx context.Context, groupID, userID string) error

	CreateAPIKey(ctx context.Context, k core.APIKey) error
	// The writes of a key or a session each change one field and nothing
	// read before them, so that two made at once (on two nodes) never undo
	// each other: a last use written back must not bring back a key
	// revoked meanwhile. Each answers not found for a missing row.
	//
	// RecordAPIKeyUse sets when the key was last used to at, unless it was
	// at or after since already.
	RecordAPIKeyUse(ctx context.Context, id string, at, since time.Time) error
	// RevokeAPIKey marks the key revoked at at; one revoked before keeps
	// its time.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// SetAPIKeyElevation sets the key's elevation, or ends it (nil); a
	// revoked key is not found.
	SetAPIKeyElevation(ctx context.Context, id string, until *time.Time) error

	CreateSession(ctx context.Context, s core.Session) error
	// SetSessionElevation sets the session's elevation, or ends it (nil).
	SetSessionElevation(ctx context.Context, id string, until *time.Time) error
	// ExtendSession sets when the session expires.
	ExtendSession(ctx context.Context, id string, expires time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// RevokeSessionsAndResets ends every session of the users and makes
	// their unused password reset links expire at at: after a new
	// password, a new email or a disable, nothing issued before may let
	// anyone in.
	RevokeSessionsAndResets(ctx context.Context, userIDs []string, at time.Time) error

	CreateInvitation(ctx context.Context, inv core.Invitation) error
	// UpdateInvitation writes state, failed attempts, token hash, expiry,
	// accepted and revoked times.
	// RevokeInvitation ends the invitation at at if it still waits; it
	// reports whether it did (one accepted or revoked meanwhile stays so).
	RevokeInvitation(ctx context.Context, id string, at time.Time) (bool, error)
	// AddInvitationFailure counts a failed attempt at a pending
	// invitation, in one statement that changes nothing else: a revoke or
	// a resend made meanwhile stays.
	AddInvitationFailure(ctx context.Context, id string) error
	// ConsumeInvitation marks a pending, unexpired invitation accepted at
	// at, in one conditional statement: of two concurrent acceptances one
	// wins and the other gets a conflict.
	ConsumeInvitation(ctx context.Context, id string, at time.Time) error

	// CreateIdempotency inserts a pending record; an existing record with
	// the same scope and key is a conflict.
	CreateIdempotency(ctx context.Context, r IdempotencyRecord) error
	// CompleteIdempotency stores the answer of a pending record.
	CompleteIdempotency(ctx context.Context, r IdempotencyRecord) error
	DeleteIdempotency(ctx context.Context, scope, key string) error
	// DeleteExpiredIdempotency removes records that expired before t.
	DeleteExpiredIdempotency(ctx context.Context, t time.Time) (int, error)

	EnqueueOutbox(ctx context.Context, m core.OutboxMessage) error
	// ClaimOutbox leases up to limit messages that are due at now and not
	// leased to another worker, counting an attempt on each. Workers on
	// different nodes never claim the same message while its lease holds.
	ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, worker string, limit int) ([]core.OutboxMessage, error)
	// MarkOutboxSent records delivery and erases the message's data, which
	// holds a link with a token.
	MarkOutboxSent(ctx context.Context, id string, at time.Time) error
	// MarkOutboxFailed records a failed attempt of worker and when to try
	// again, and releases its lease; giving up also erases the message's
	// data. It changes nothing when the lease is no longer worker's (another
	// worker has the message now) or the message was sent.
	MarkOutboxFailed(ctx context.Context, id, worker, lastError string, next time.Time, giveUp bool) error
	// RenewOutboxLease extends worker's lease of a message to until, and
	// reports false when the lease is no longer worker's.
	RenewOutboxLease(ctx context.Context, id, worker string, until time.Time) (bool, error)
	// WithdrawOutbox parks every unsent message to recipient (compared as
	// emails are: core.NormalizeEmail) as of at, as a worker parks one it
	// gives up on (its data erased, next attempt ParkFor later), because
	// the address is no longer its user's. A message a worker is sending
	// meanwhile may still go.
	WithdrawOutbox(ctx context.Context, recipient string, at time.Time) error

	// AddLoginFailure counts a failed login for key. A count whose first
	// failure is older than windowStart starts again at this one, so that
	// failures less than a window apart do not add up forever. It returns
	// the failures now counted.
	AddLoginFailure(ctx context.Context, key string, at, windowStart time.Time) (int, error)
	// ForgiveLoginFailure takes back one failure counted for key (an
	// attempt counted before its password was checked that ended without
	// a verdict), never going below none.
	ForgiveLoginFailure(ctx context.Context, key string) error
	SetLoginBlock(ctx context.Context, key string, until time.Time) error
	ClearLoginThrottle(ctx context.Context, key string) error

	CreatePasswordReset(ctx context.Context, r core.PasswordReset) error
	UpdatePasswordReset(ctx context.Context, r core.PasswordReset) error
	// ConsumePasswordReset marks an unused, unexpired reset used, once.
	ConsumePasswordReset(ctx context.Context, id string, at time.Time) error
}
