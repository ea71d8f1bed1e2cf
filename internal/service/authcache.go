package service

import (
	"context"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// authCache remembers, for a moment, whom a secret authenticated as, so
// that a busy client does not cost five queries per request. Entries live
// Config.AuthCacheTTL (wall-clock time) and never past the credential's own
// expiry. Any change to users, roles, memberships, keys, sessions or
// tenants clears the cache of this node at once (see inTx); other nodes
// notice within the TTL.
type authCache struct{ *ttlCache[authEntry] }

type authEntry struct {
	p       core.Principal
	expires *time.Time // the credential's own expiry, on the service clock
}

const maxAuthEntries = 100_000

func newAuthCache(ttl time.Duration) authCache {
	return authCache{newTTLCache[authEntry](ttl, maxAuthEntries)}
}

// find returns the entry for a secret's hash while both it and the
// credential it stands for are current.
func (c authCache) find(hash string, now time.Time) (authEntry, bool) {
	e, ok := c.get(hash)
	if !ok || (e.expires != nil && !now.Before(*e.expires)) {
		return authEntry{}, false
	}
	return e, true
}

// remember stores a copy of e: the principal it was made from goes back to
// the caller, who must not be able to change the cache through it. gen is
// the cache's generation taken before the store was read.
func (c authCache) remember(hash string, gen uint64, e authEntry) {
	e.p = *e.principal()
	c.put(hash, gen, e)
}

// principal returns a deep copy, which the caller may not alter the cache
// through.
func (e authEntry) principal() *core.Principal {
	p := e.p
	p.ProviderRoles = append([]string(nil), e.p.ProviderRoles...)
	p.TenantRoles = make(map[string][]string, len(e.p.TenantRoles))
	for k, v := range e.p.TenantRoles {
		p.TenantRoles[k] = append([]string(nil), v...)
	}
	return &p
}

// inTx is how the service writes: store.InTx, with a Tx that notes
// whether anything a principal or a tenant is made of changed, and if so
// clears the authentication or tenant cache once the transaction has
// committed (or failed: clearing too often costs only a read).
func (s *Service) inTx(ctx context.Context, fn func(tx store.Tx) error) error {
	w := &watchedTx{}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		w.Tx = tx
		return fn(w)
	})
	if w.authChanged {
		s.auth.clear()
	}
	if w.tenantsChanged {
		s.tenants.clear()
	}
	return err
}

// watchedTx marks the writes that can change an authentication. Users
// created in the same transaction have no credential anyone could hold yet,
// so giving them roles changes nobody's principal.
type watchedTx struct {
	store.Tx
	authChanged    bool
	tenantsChanged bool
	created        map[string]bool
}

func (w *watchedTx) existing(userID string) bool { return !w.created[userID] }

func (w *watchedTx) CreateUser(ctx context.Context, u *core.User) error {
	if w.created == nil {
		w.created = map[string]bool{}
	}
	w.created[u.ID] = true
	return w.Tx.CreateUser(ctx, u)
}

// CreateUsers writes new users whole: nobody can have authenticated as
// them yet.
func (w *watchedTx) CreateUsers(ctx context.Context, users []store.NewUser) error {
	if w.created == nil {
		w.created = map[string]bool{}
	}
	for _, nu := range users {
		w.created[nu.User.ID] = true
	}
	return w.Tx.CreateUsers(ctx, users)
}

// UpdateUsers changes existing users, whose credentials may be cached.
func (w *watchedTx) UpdateUsers(ctx context.Context, users []store.NewUser) error {
	for _, nu := range users {
		w.authChanged = w.authChanged || w.existing(nu.User.ID)
	}
	return w.Tx.UpdateUsers(ctx, users)
}

func (w *watchedTx) UpdateUser(ctx context.Context, u core.User) error {
	w.authChanged = w.authChanged || w.existing(u.ID)
	return w.Tx.UpdateUser(ctx, u)
}

func (w *watchedTx) SetProviderRoles(ctx context.Context, userID string, roles []string) error {
	w.authChanged = w.authChanged || w.existing(userID)
	return w.Tx.SetProviderRoles(ctx, userID, roles)
}

func (w *watchedTx) PutMembership(ctx context.Context, m core.Membership) error {
	w.authChanged = w.authChanged || w.existing(m.UserID)
	return w.Tx.PutMembership(ctx, m)
}

func (w *watchedTx) DeleteMembership(ctx context.Context, tenantID, userID string) error {
	w.authChanged = true
	return w.Tx.DeleteMembership(ctx, tenantID, userID)
}

func (w *watchedTx) UpdateTenant(ctx context.Context, t core.Tenant) error {
	w.authChanged, w.tenantsChanged = true, true
	return w.Tx.UpdateTenant(ctx, t)
}

func (w *watchedTx) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	w.authChanged = true
	return w.Tx.RevokeAPIKey(ctx, id, at)
}

func (w *watchedTx) SetAPIKeyElevation(ctx context.Context, id string, until *time.Time) error {
	w.authChanged = true
	return w.Tx.SetAPIKeyElevation(ctx, id, until)
}

func (w *watchedTx) SetSessionElevation(ctx context.Context, id string, until *time.Time) error {
	w.authChanged = true
	return w.Tx.SetSessionElevation(ctx, id, until)
}

func (w *watchedTx) ExtendSession(ctx context.Context, id string, expires time.Time) error {
	w.authChanged = true
	return w.Tx.ExtendSession(ctx, id, expires)
}

func (w *watchedTx) DeleteSession(ctx context.Context, id string) error {
	w.authChanged = true
	return w.Tx.DeleteSession(ctx, id)
}

func (w *watchedTx) RevokeSessionsAndResets(ctx context.Context, userIDs []string, at time.Time) error {
	w.authChanged = true
	return w.Tx.RevokeSessionsAndResets(ctx, userIDs, at)
}
