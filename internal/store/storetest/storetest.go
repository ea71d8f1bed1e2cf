// Package storetest is the storage conformance suite: every backend runs
// RunTests with a constructor of fresh, empty, migrated stores, and must pass
// it unchanged.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// NewStore returns a fresh, empty, migrated store; the suite closes it.
type NewStore func(t *testing.T) store.Store

// RunTests runs the whole conformance suite against the backend.
func RunTests(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"Provider", testProvider},
		{"Tenants", testTenants},
		{"TenantListing", testTenantListing},
		{"Products", testProducts},
		{"UserCreateAndGet", testUserCreateAndGet},
		{"UserUniqueness", testUserUniqueness},
		{"LoginStrings", testLoginStrings},
		{"UnicodeForms", testUnicodeForms},
		{"UserUpdate", testUserUpdate},
		{"CreateUsers", testCreateUsers},
		{"UpdateUsers", testUpdateUsers},
		{"MatchUsers", testMatchUsers},
		{"Memberships", testMemberships},
		{"UserListingFilters", testUserListingFilters},
		{"UserListingPages", testUserListingPages},
		{"UserListingInvitationStatus", testUserListingInvitationStatus},
		{"UserSearch", testUserSearch},
		{"Credentials", testCredentials},
		{"ResourceGroups", testResourceGroups},
		{"APIKeys", testAPIKeys},
		{"Sessions", testSessions},
		{"Invitations", testInvitations},
		{"Idempotency", testIdempotency},
		{"TransactionRollback", testTransactionRollback},
		{"ConcurrentUniqueEmail", testConcurrentUniqueEmail},
		{"NotFound", testNotFound},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"WithdrawOutbox", testWithdrawOutbox},
		{"LoginThrottle", testLoginThrottle},
		{"PasswordResets", testPasswordResets},
		{"RevokeSessionsAndResets", testRevokeSessionsAndResets},
		{"TransactionsRacingClose", testTransactionsRacingClose},
		{"QueuedTransactions", testQueuedTransactions},
		{"QueuedRewrites", testQueuedRewrites},
		{"PrefixOfTheLastCharacter", testPrefixOfTheLastCharacter},
		{"AttributeNumbersAsWritten", testAttributeNumbersAsWritten},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.run(t, s)
		})
	}
}

var (
	ctx   = context.Background()
	epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func tx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(ctx, fn); err != nil {
		t.Fatalf("transaction: %v", err)
	}
}

func wantCode(t *testing.T, err error, code core.Code) *core.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got nil", code)
	}
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("want error %s, got %v", code, err)
	}
	return ce
}

func newTenant(t *testing.T, s store.Store, name string) core.Tenant {
	t.Helper()
	tn := core.Tenant{ID: core.NewID(), Name: name, Status: core.TenantActive, CreatedAt: epoch, UpdatedAt: epoch}
	tx(t, s, func(tx store.Tx) error { return tx.CreateTenant(ctx, &tn) })
	return tn
}

func userWith(email string) core.User {
	return core.User{ID: core.NewID(), Email: email, Name: "User " + email, Status: core.UserActive,
		Type: core.UserTypeCommon, SecurityRealm: "native", AuthTypes: []string{"password"},
		CreatedAt: epoch, UpdatedAt: epoch}
}

func newUser(t *testing.T, s store.Store, u core.User) core.User {
	t.Helper()
	tx(t, s, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) })
	return u
}

func addMember(t *testing.T, s store.Store, tenantID, userID string, roles ...string) {
	t.Helper()
	tx(t, s, func(tx store.Tx) error {
		return tx.PutMembership(ctx, core.Membership{TenantID: tenantID, UserID: userID, Roles: roles, CreatedAt: epoch})
	})
}

func ids(users []core.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func testProvider(t *testing.T, s store.Store) {
	_, err := s.GetProvider(ctx)
	wantCode(t, err, core.CodeNotFound)
	p := core.Provider{ID: core.NewID(), Name: "Acme Hosting", CreatedAt: epoch}
	tx(t, s, func(tx store.Tx) error { return tx.CreateProvider(ctx, p) })
	got, err := s.GetProvider(ctx)
	if err != nil || got != p {
		t.Fatalf("GetProvider = %+v, %v; want %+v", got, err, p)
	}
	// A database holds one provider.
	err = s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateProvider(ctx, core.Provider{ID: core.NewID(), Name: "Second", CreatedAt: epoch})
	})
	wantCode(t, err, core.CodeConflict)
}

func testTenants(t *testing.T, s store.Store) {
	a := core.Tenant{ID: core.NewID(), Name: "Alpha GmbH", Email: "ops@alpha.example", Phone: "+49 30 1234",
		CountryCode: "DE", Lang: "de", CustomID: "crm-1", IsTest: true, Status: core.TenantActive, SellerID: 7,
		PasswordPolicy: "complex", InviteTTL: 48 * time.Hour, CreatedAt: epoch, UpdatedAt: epoch,
		CreatedBy: "admin", UpdatedBy: "admin"}
	tx(t, s, func(tx store.Tx) error { return tx.CreateTenant(ctx, &a) })
	if a.Number == 0 {
		t.Fatal("CreateTenant did not assign a number")
	}
	b := newTenant(t, s, "Beta")
	if b.Number <= a.Number {
		t.Fatalf("numbers not increasing: %d then %d", a.Number, b.Number)
	}
	byID, err := s.GetTenant(ctx, store.TenantRef{ID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if byID != a {
		t.Fatalf("GetTenant = %+v\nwant %+v", byID, a)
	}
	byNumber, err := s.GetTenant(ctx, store.TenantRef{Number: a.Number})
	if err != nil || byNumber.ID != a.ID {
		t.Fatalf("GetTenant by number = %+v, %v", byNumber, err)
	}

	a.Name, a.Status, a.IsTest, a.InviteTTL, a.UpdatedAt = "Alpha AG", core.TenantSuspended, false, 0, epoch.Add(time.Hour)
	tx(t, s, func(tx store.Tx) error { return tx.UpdateTenant(ctx, a) })
	got, _ := s.GetTenant(ctx, store.TenantRef{ID: a.ID})
	if got != a {
		t.Fatalf("after update = %+v\nwant %+v", got, a)
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		return tx.UpdateTenant(ctx, core.Tenant{ID: core.NewID(), Name: "ghost", Status: core.TenantActive})
	})
	wantCode(t, err, core.CodeNotFound)
}

func testTenantListing(t *testing.T, s store.Store) {
	var all []core.Tenant
	for _, name := range []string{"Apple", "apricot", "Banana", "Cherry", "avocado"} {
		all = append(all, newTenant(t, s, name))
	}
	deleted := all[3]
	deleted.Status = core.TenantDeleted
	tx(t, s, func(tx store.Tx) error { return tx.UpdateTenant(ctx, deleted) })

	list, err := s.ListTenants(ctx, store.TenantFilter{})
	if err != nil || len(list) != 4 {
		t.Fatalf("ListTenants = %d, %v; want 4 (deleted hidden)", len(list), err)
	}
	list, _ = s.ListTenants(ctx, store.TenantFilter{Prefix: "AP"})
	if len(list) != 2 {
		t.Fatalf("prefix AP matched %d tenants, want 2", len(list))
	}
	list, _ = s.ListTenants(ctx, store.TenantFilter{Deleted: store.OnlyDeleted})
	if len(list) != 1 || list[0].ID != deleted.ID {
		t.Fatalf("only deleted = %v", list)
	}
	list, _ = s.ListTenants(ctx, store.TenantFilter{IDs: []string{all[0].ID, all[2].ID}})
	if len(list) != 2 {
		t.Fatalf("ids filter = %d", len(list))
	}
	list, _ = s.ListTenants(ctx, store.TenantFilter{IDs: []string{}})
	if len(list) != 0 {
		t.Fatalf("empty ids filter matched %d", len(list))
	}
	// Keyset pages walk every tenant once, in id order.
	var seen []string
	after := ""
	for {
		page, err := s.ListTenants(ctx, store.TenantFilter{Deleted: store.IncludeDeleted, After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, tn := range page {
			seen = append(seen, tn.ID)
		}
		after = page[len(page)-1].ID
	}
	if len(seen) != 5 || !sort.StringsAreSorted(seen) {
		t.Fatalf("keyset walk saw %v", seen)
	}
	page, _ := s.ListTenants(ctx, store.TenantFilter{Deleted: store.IncludeDeleted, Offset: 3, Limit: 10})
	if len(page) != 2 {
		t.Fatalf("offset 3 gave %d", len(page))
	}
	n, err := s.CountTenants(ctx, store.TenantFilter{})
	if err != nil || n != 4 {
		t.Fatalf("CountTenants = %d, %v", n, err)
	}
}

func testProducts(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "Products")
	defaults, err := s.ProductDefaults(ctx)
	if err != nil || len(defaults) != 0 {
		t.Fatalf("defaults of an empty store = %v, %v", defaults, err)
	}
	tx(t, s, func(tx store.Tx) error {
		return tx.SetProductDefaults(ctx, map[core.Product]bool{core.ProductCDN: true, core.ProductDNS: false})
	})
	tx(t, s, func(tx store.Tx) error {
		return tx.SetProductDefaults(ctx, map[core.Product]bool{core.ProductDNS: true})
	})
	defaults, _ = s.ProductDefaults(ctx)
	if !defaults[core.ProductCDN] || !defaults[core.ProductDNS] || len(defaults) != 2 {
		t.Fatalf("defaults = %v", defaults)
	}
	yes, no := true, false
	tx(t, s, func(tx store.Tx) error {
		return tx.SetTenantProductOverrides(ctx, tn.ID, map[core.Product]*bool{core.ProductCDN: &no, core.ProductCloud: &yes})
	})
	over, _ := s.TenantProductOverrides(ctx, tn.ID)
	if len(over) != 2 || over[core.ProductCDN] || !over[core.ProductCloud] {
		t.Fatalf("overrides = %v", over)
	}
	// nil removes an override.
	tx(t, s, func(tx store.Tx) error {
		return tx.SetTenantProductOverrides(ctx, tn.ID, map[core.Product]*bool{core.ProductCDN: nil})
	})
	over, _ = s.TenantProductOverrides(ctx, tn.ID)
	if _, ok := over[core.ProductCDN]; ok || len(over) != 1 {
		t.Fatalf("overrides after reset = %v", over)
	}
}

func testUserCreateAndGet(t *testing.T, s store.Store) {
	first := epoch.Add(time.Minute)
	u := core.User{ID: core.NewID(), ExternalID: "ext-1", Email: "Jane.Doe@Example.com", Username: "JaneD",
		Name: "Jane Doe", FirstName: "Jane", LastName: "Doe", Phone: "+1 555", Lang: "de", Type: core.UserTypeCommon,
		Status: core.UserActive, EmailConfirmed: true, TwoFA: true, AuthTypes: []string{"password", "sso"},
		SecurityRealm: "native", Attributes: map[string]any{"team": "red", "level": json.Number("3"), "big": json.Number("9007199254740993")},
		CreatedAt: epoch, UpdatedAt: epoch, CreatedBy: "admin", UpdatedBy: "admin", FirstLoginAt: &first}
	u = newUser(t, s, u)
	if u.Number == 0 {
		t.Fatal("CreateUser did not assign a number")
	}
	for _, ref := range []store.UserRef{{ID: u.ID}, {Number: u.Number}, {Email: "jane.doe@example.COM"}, {Username: "janed"}} {
		got, err := s.GetUser(ctx, ref)
		if err != nil {
			t.Fatalf("GetUser(%+v): %v", ref, err)
		}
		if got.ID != u.ID || got.Email != u.Email || got.Username != u.Username || got.Name != u.Name ||
			got.FirstName != "Jane" || got.LastName != "Doe" || got.Phone != u.Phone || got.Lang != "de" ||
			got.Status != core.UserActive || !got.EmailConfirmed || !got.TwoFA || got.SecurityRealm != "native" ||
			!slices.Equal(got.AuthTypes, u.AuthTypes) || got.Attributes["team"] != "red" ||
			got.Attributes["level"] != json.Number("3") || got.Attributes["big"] != json.Number("9007199254740993") || !got.CreatedAt.Equal(epoch) || got.CreatedBy != "admin" ||
			got.FirstLoginAt == nil || !got.FirstLoginAt.Equal(first) || got.LastLoginAt != nil ||
			got.ExternalID != "ext-1" || got.HasPassword || got.Number != u.Number {
			t.Fatalf("GetUser(%+v) = %+v\nwant %+v", ref, got, u)
		}
	}
	// An explicit number is kept (imports preserve ids).
	v := userWith("kept@example.com")
	v.Number = 50000
	v = newUser(t, s, v)
	if v.Number != 50000 {
		t.Fatalf("explicit number became %d", v.Number)
	}
	w := newUser(t, s, userWith("next@example.com"))
	if w.Number <= 50000 {
		t.Fatalf("number after an explicit one = %d, want > 50000", w.Number)
	}
}

func testUserUniqueness(t *testing.T, s store.Store) {
	u := userWith("taken@example.com")
	u.Username = "taken"
	newUser(t, s, u)

	dup := userWith("TAKEN@example.com")
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &dup) })
	ce := wantCode(t, err, core.CodeConflict)
	if len(ce.Fields) != 1 || ce.Fields[0].Field != "email" {
		t.Fatalf("email conflict fields = %+v", ce.Fields)
	}
	dup = userWith("other@example.com")
	dup.Username = "TAKEN"
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &dup) })
	ce = wantCode(t, err, core.CodeConflict)
	if len(ce.Fields) != 1 || ce.Fields[0].Field != "username" {
		t.Fatalf("username conflict fields = %+v", ce.Fields)
	}
	// Both clashes are reported, email first, whatever the backend.
	dup = userWith("Taken@Example.com")
	dup.Username = "Taken"
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &dup) })
	ce = wantCode(t, err, core.CodeConflict)
	if len(ce.Fields) != 2 || ce.Fields[0].Field != "email" || ce.Fields[1].Field != "username" {
		t.Fatalf("double conflict fields = %+v", ce.Fields)
	}
	// Users without email or username do not clash with each other.
	newUser(t, s, core.User{ID: core.NewID(), Username: "robot-1", Status: core.UserActive, CreatedAt: epoch, UpdatedAt: epoch})
	newUser(t, s, core.User{ID: core.NewID(), Username: "robot-2", Status: core.UserActive, CreatedAt: epoch, UpdatedAt: epoch})
	newUser(t, s, core.User{ID: core.NewID(), Email: "noname1@example.com", Status: core.UserActive, CreatedAt: epoch, UpdatedAt: epoch})
	newUser(t, s, core.User{ID: core.NewID(), Email: "noname2@example.com", Status: core.UserActive, CreatedAt: epoch, UpdatedAt: epoch})

	// A deleted user frees its email and username.
	gone, _ := s.GetUser(ctx, store.UserRef{Email: "taken@example.com"})
	gone.Status = core.UserDeleted
	deletedAt := epoch.Add(time.Hour)
	gone.DeletedAt = &deletedAt
	tx(t, s, func(tx store.Tx) error { return tx.UpdateUser(ctx, gone) })
	if _, err := s.GetUser(ctx, store.UserRef{Email: "taken@example.com"}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("deleted user still found by email: %v", err)
	}
	again := userWith("taken@example.com")
	again.Username = "taken"
	newUser(t, s, again)
	old, err := s.GetUser(ctx, store.UserRef{ID: gone.ID})
	if err != nil || old.Status != core.UserDeleted || old.DeletedAt == nil {
		t.Fatalf("deleted user by id = %+v, %v", old, err)
	}
	// Updating into a taken email is a conflict too.
	other, _ := s.GetUser(ctx, store.UserRef{Email: "other@example.com"})
	if other.ID == "" {
		other = newUser(t, s, userWith("other@example.com"))
	}
	other.Email = "Taken@Example.com"
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, other) })
	wantCode(t, err, core.CodeConflict)
}

// testLoginStrings: an email and a username are typed at the same login
// prompt, so one live user's email cannot be another's username, whichever
// way round, by any write.
func testLoginStrings(t *testing.T, s store.Store) {
	conflictOn := func(t *testing.T, err error, field string) {
		t.Helper()
		if ce := wantCode(t, err, core.CodeConflict); len(ce.Fields) != 1 || ce.Fields[0].Field != field {
			t.Fatalf("conflict fields = %+v, want %s", ce.Fields, field)
		}
	}
	create := func(u core.User) error {
		return s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) })
	}
	update := func(u core.User) error {
		return s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, u) })
	}
	alice := userWith("alice@example.com")
	alice.Username = "Alice@Old.Example" // email-shaped, and not her email
	alice = newUser(t, s, alice)

	conflictOn(t, create(userWith("ALICE@old.example")), "email")
	bob := userWith("bob@example.com")
	bob.Username = "alice@EXAMPLE.com"
	conflictOn(t, create(bob), "username")

	bob = newUser(t, s, userWith("bob@example.com"))
	moved := bob
	moved.Email = "alice@old.example"
	conflictOn(t, update(moved), "email")
	moved = bob
	moved.Username = "Alice@Example.com"
	conflictOn(t, update(moved), "username")

	// Imports write in batches: against a stored user, and within a batch.
	carol := userWith("alice@old.example")
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUsers(ctx, []store.NewUser{{User: &carol}}) })
	wantCode(t, err, core.CodeConflict)
	dave, erin := userWith("dave@example.com"), userWith("erin@example.com")
	erin.Username = "dave@example.com"
	err = s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateUsers(ctx, []store.NewUser{{User: &dave}, {User: &erin}})
	})
	wantCode(t, err, core.CodeConflict)
	if _, err := s.GetUser(ctx, store.UserRef{ID: dave.ID}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("a refused batch left its first user: %v", err)
	}
	replaced := bob
	replaced.Username = "alice@example.com"
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUsers(ctx, []store.NewUser{{User: &replaced}}) })
	wantCode(t, err, core.CodeConflict)

	// A user's own email may be its username, and stays so through updates;
	// a username without '@' is never an email.
	frank := userWith("frank@example.com")
	frank.Username = "FRANK@example.com"
	frank = newUser(t, s, frank)
	frank.Name = "Frank"
	if err := update(frank); err != nil {
		t.Fatalf("updating a user whose username is its email: %v", err)
	}
	plain := userWith("plain@example.com")
	plain.Username = "alice"
	newUser(t, s, plain)

	// A deleted user's strings are free; brought back while another user
	// holds one of them, it clashes.
	gone := alice
	gone.Status = core.UserDeleted
	deletedAt := epoch.Add(time.Hour)
	gone.DeletedAt = &deletedAt
	if err := update(gone); err != nil {
		t.Fatalf("deleting: %v", err)
	}
	newUser(t, s, userWith("alice@old.example"))
	back := alice
	back.Email = "alice.back@example.com"
	conflictOn(t, update(back), "username")
}

// testUnicodeForms: text whose accents came composed or decomposed is one
// email, one username and one name prefix.
func testUnicodeForms(t *testing.T, s store.Store) {
	composed, decomposed := "jos\u00e9@example.com", "JOSE\u0301@example.com"
	u := userWith(decomposed)
	u.Username, u.Name = "Zo\u00eb", "Ame\u0301lie Zola"
	u = newUser(t, s, u)
	for _, ref := range []store.UserRef{{Email: composed}, {Email: decomposed}, {Username: "zoe\u0308"}, {Username: "ZO\u00cb"}} {
		if got, err := s.GetUser(ctx, ref); err != nil || got.ID != u.ID {
			t.Fatalf("GetUser(%+v) = %v, %v", ref, got.ID, err)
		}
	}
	if got, _ := s.GetUser(ctx, store.UserRef{ID: u.ID}); got.Email != decomposed {
		t.Fatalf("the email as given is kept: %q", got.Email)
	}
	twin := userWith(composed)
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &twin) })
	if ce := wantCode(t, err, core.CodeConflict); len(ce.Fields) != 1 || ce.Fields[0].Field != "email" {
		t.Fatalf("conflict fields = %+v", ce.Fields)
	}
	for _, prefix := range []string{"JOSE\u0301", "jos\u00e9", "am\u00e9", "Ame\u0301l"} {
		page, err := s.ListUsers(ctx, store.UserFilter{Prefix: prefix, Limit: 10})
		if err != nil || len(page) != 1 || page[0].ID != u.ID {
			t.Fatalf("prefix %q: %v, %v", prefix, ids(page), err)
		}
	}
	tn := newTenant(t, s, "Caf\u00e9 Noir")
	if page, err := s.ListTenants(ctx, store.TenantFilter{Prefix: "CAFE\u0301", Limit: 10}); err != nil || len(page) != 1 || page[0].ID != tn.ID {
		t.Fatalf("tenant prefix: %+v, %v", page, err)
	}
}

// Attribute numbers come back as the client wrote them, on every backend:
// in the exponent's case and sign, trailing zeros and magnitudes no
// double (nor PostgreSQL's numeric) holds.
func testAttributeNumbersAsWritten(t *testing.T, s store.Store) {
	numbers := []string{"1E2", "-0", "0.10", "1e-20000", "123456789012345678901234567890"}
	u := userWith("numbers@example.com")
	u.Attributes = map[string]any{}
	for i, n := range numbers {
		u.Attributes[fmt.Sprint(i)] = json.Number(n)
	}
	u = newUser(t, s, u)
	got, err := s.GetUser(ctx, store.UserRef{ID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range numbers {
		if v := got.Attributes[fmt.Sprint(i)]; v != json.Number(n) {
			t.Errorf("%s came back as %v", n, v)
		}
	}
}

// A prefix of U+10FFFF alone, after which no character comes, still
// finds what starts with it: the range it scans is open above.
func testPrefixOfTheLastCharacter(t *testing.T, s store.Store) {
	u := userWith("last-character@example.com")
	u.Name = "\U0010FFFFbob"
	u = newUser(t, s, u)
	for _, f := range []store.UserFilter{
		{Prefix: "\U0010FFFF", Limit: 10},                                      // a search, in its own order
		{Prefix: "\U0010FFFF", Limit: 10, Sort: store.UserSort{Field: "name"}}, // a listing filtered by it
		{Prefix: "\U0010FFFFb", Limit: 10},
	} {
		if page, err := s.ListUsers(ctx, f); err != nil || len(page) != 1 || page[0].ID != u.ID {
			t.Errorf("%+v: %v, %v", f, ids(page), err)
		}
	}
	tn := newTenant(t, s, "\U0010FFFF Corp")
	if page, err := s.ListTenants(ctx, store.TenantFilter{Prefix: "\U0010FFFF", Limit: 10}); err != nil || len(page) != 1 || page[0].ID != tn.ID {
		t.Errorf("tenant prefix: %+v, %v", page, err)
	}
}

func testUserUpdate(t *testing.T, s store.Store) {
	u := newUser(t, s, userWith("before@example.com"))
	last := epoch.Add(2 * time.Hour)
	u.Email, u.Name, u.Status, u.Attributes, u.LastLoginAt = "after@example.com", "After", core.UserDisabled,
		map[string]any{"k": "v"}, &last
	u.UpdatedAt = epoch.Add(time.Hour)
	tx(t, s, func(tx store.Tx) error { return tx.UpdateUser(ctx, u) })
	got, err := s.GetUser(ctx, store.UserRef{Email: "AFTER@example.com"})
	if err != nil || got.Name != "After" || got.Status != core.UserDisabled || got.Attributes["k"] != "v" ||
		got.LastLoginAt == nil || !got.LastLoginAt.Equal(last) || !got.UpdatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("after update = %+v, %v", got, err)
	}
	if _, err := s.GetUser(ctx, store.UserRef{Email: "before@example.com"}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("old email still resolves: %v", err)
	}

	// Logins: the first one is kept, the last one moves.
	fresh := newUser(t, s, userWith("logins@example.com"))
	tx(t, s, func(tx store.Tx) error { return tx.RecordLogin(ctx, fresh.ID, epoch.Add(time.Hour)) })
	tx(t, s, func(tx store.Tx) error { return tx.RecordLogin(ctx, fresh.ID, epoch.Add(2*time.Hour)) })
	got, _ = s.GetUser(ctx, store.UserRef{ID: fresh.ID})
	if got.FirstLoginAt == nil || !got.FirstLoginAt.Equal(epoch.Add(time.Hour)) || got.LastLoginAt == nil || !got.LastLoginAt.Equal(epoch.Add(2*time.Hour)) {
		t.Fatalf("logins: first %v last %v", got.FirstLoginAt, got.LastLoginAt)
	}
}

func testCreateUsers(t *testing.T, s store.Store) {
	a, b := newTenant(t, s, "A"), newTenant(t, s, "B")
	old := newUser(t, s, userWith("old@example.com"))
	// 250 users: more than one statement's worth, and a remainder.
	const n = 250
	batch := make([]store.NewUser, n)
	for i := range batch {
		u := userWith(fmt.Sprintf("bulk%03d@example.com", i))
		u.Username = fmt.Sprintf("Bulk%03d", i)
		u.ExternalID = fmt.Sprintf("ext-%d", i)
		u.Attributes = map[string]any{"i": json.Number(fmt.Sprint(i))}
		switch {
		case i%10 == 0:
			u.ProviderRoles = []string{core.RoleProviderViewer}
		case i%3 == 0:
			u.Memberships = []core.Membership{
				{TenantID: a.ID, Roles: []string{core.RoleViewer, core.RoleEngineer}, CreatedAt: epoch},
				{TenantID: b.ID, CreatedAt: epoch},
			}
		}
		if i == 7 || i == 8 {
			u.Number = int64(90000 + i) // kept, as imports keep numbers
		}
		batch[i].User = &u
		if i%2 == 0 {
			batch[i].PasswordHash = fmt.Sprintf("$argon2id$v=19$bulk%d", i)
		}
	}
	tx(t, s, func(tx store.Tx) error { return tx.CreateUsers(ctx, batch) })
	numbers := map[int64]bool{old.Number: true}
	for i, nu := range batch {
		u := nu.User
		if numbers[u.Number] || u.Number == 0 {
			t.Fatalf("user %d got number %d, zero or given twice", i, u.Number)
		}
		numbers[u.Number] = true
		if (i == 7 || i == 8) && u.Number != int64(90000+i) {
			t.Fatalf("explicit number %d became %d", 90000+i, u.Number)
		}
		if i != 7 && i != 8 && u.Number <= 90008 {
			t.Fatalf("number %d given after explicit ones is not past them", u.Number)
		}
		got, err := s.GetUser(ctx, store.UserRef{Username: u.Username})
		if err != nil {
			t.Fatalf("GetUser(%s): %v", u.Username, err)
		}
		if got.ID != u.ID || got.Number != u.Number || got.Email != u.Email || got.ExternalID != u.ExternalID ||
			got.Attributes["i"] != json.Number(fmt.Sprint(i)) || got.HasPassword != (i%2 == 0) || !got.CreatedAt.Equal(epoch) {
			t.Fatalf("user %d = %+v\nwant %+v", i, got, *u)
		}
		if !slices.Equal(got.ProviderRoles, core.NormalizeRoles(u.ProviderRoles)) {
			t.Fatalf("user %d provider roles = %v", i, got.ProviderRoles)
		}
		if len(got.Memberships) != len(u.Memberships) {
			t.Fatalf("user %d memberships = %+v", i, got.Memberships)
		}
		if len(u.Memberships) > 0 {
			if m, _ := got.Membership(a.ID); !slices.Equal(m.Roles, []string{core.RoleEngineer, core.RoleViewer}) ||
				!m.CreatedAt.Equal(epoch) {
				t.Fatalf("user %d membership in A = %+v", i, m)
			}
			if m, _ := got.Membership(b.ID); len(m.Roles) != 0 {
				t.Fatalf("user %d membership in B = %+v", i, m)
			}
		}
		if i%2 == 0 {
			c, err := s.GetCredential(ctx, u.ID)
			if err != nil || c.Hash != nu.PasswordHash || !c.UpdatedAt.Equal(epoch) {
				t.Fatalf("user %d credential = %+v, %v", i, c, err)
			}
		}
	}
	if count, _ := s.CountUsers(ctx, store.UserFilter{}); count != n+1 {
		t.Fatalf("count = %d, want %d", count, n+1)
	}
	// Numbers given later follow the batch's.
	if next := newUser(t, s, userWith("after@example.com")); next.Number <= 90008 || numbers[next.Number] {
		t.Fatalf("number after the batch = %d", next.Number)
	}
	if members, _ := s.CountUsers(ctx, store.UserFilter{TenantIDs: []string{a.ID}}); members != 75 {
		t.Fatalf("members of A = %d, want 75", members)
	}

	// A clash with an existing user fails the call, and the transaction
	// leaves none of the batch behind.
	fresh, clash := userWith("fresh@example.com"), userWith("OLD@example.com")
	err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateUsers(ctx, []store.NewUser{{User: &fresh, PasswordHash: "$argon2id$v=19$x"}, {User: &clash}})
	})
	wantCode(t, err, core.CodeConflict)
	_, err = s.GetUser(ctx, store.UserRef{ID: fresh.ID})
	wantCode(t, err, core.CodeNotFound)
	// So does a clash inside the batch.
	twin1, twin2 := userWith("twin@example.com"), userWith("twin@example.com")
	err = s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateUsers(ctx, []store.NewUser{{User: &twin1}, {User: &twin2}})
	})
	wantCode(t, err, core.CodeConflict)
	_, err = s.GetUser(ctx, store.UserRef{ID: twin1.ID})
	wantCode(t, err, core.CodeNotFound)
	// Nothing to write is no error.
	tx(t, s, func(tx store.Tx) error { return tx.CreateUsers(ctx, nil) })
}

// UpdateUsers does what UpdateUser, SetProviderRoles, PutMembership and
// PutCredential do one at a time, for many users at once.
func testUpdateUsers(t *testing.T, s store.Store) {
	a, b := newTenant(t, s, "A"), newTenant(t, s, "B")
	// 130 users: more than one statement's worth, and a remainder.
	const n = 130
	batch := make([]store.NewUser, n)
	for i := range batch {
		u := userWith(fmt.Sprintf("before%03d@example.com", i))
		u.ProviderRoles = []string{core.RoleProviderViewer}
		u.Memberships = []core.Membership{{TenantID: a.ID, Roles: []string{core.RoleViewer}, CreatedAt: epoch}}
		batch[i] = store.NewUser{User: &u, PasswordHash: fmt.Sprintf("$argon2id$v=19$old%d", i)}
	}
	tx(t, s, func(tx store.Tx) error { return tx.CreateUsers(ctx, batch) })
	other := newUser(t, s, userWith("other@example.com"))

	later := epoch.Add(time.Hour)
	updates := make([]store.NewUser, n)
	for i, nu := range batch {
		u := *nu.User
		u.Email, u.Name, u.Username = fmt.Sprintf("after%03d@example.com", i), fmt.Sprintf("After %d", i), fmt.Sprintf("after%d", i)
		u.Attributes = map[string]any{"i": json.Number(fmt.Sprint(i))}
		u.UpdatedAt, u.UpdatedBy = later, "importer"
		u.CreatedAt = later // must not change
		u.ProviderRoles = nil
		if i%2 == 0 {
			u.ProviderRoles = []string{core.RoleProviderAdmin}
		}
		// Roles in A are replaced; odd users also join B.
		u.Memberships = []core.Membership{{TenantID: a.ID, UserID: u.ID, Roles: []string{core.RoleEngineer}, CreatedAt: later}}
		if i%2 == 1 {
			u.Memberships = append(u.Memberships, core.Membership{TenantID: b.ID, UserID: u.ID, Roles: []string{core.RoleViewer}, CreatedAt: later})
		}
		updates[i] = store.NewUser{User: &u}
		if i%3 == 0 {
			updates[i].PasswordHash = fmt.Sprintf("$argon2id$v=19$new%d", i)
		}
	}
	tx(t, s, func(tx store.Tx) error { return tx.UpdateUsers(ctx, updates) })
	for i, nu := range updates {
		got, err := s.GetUser(ctx, store.UserRef{ID: nu.User.ID})
		if err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
		if got.Email != nu.User.Email || got.Name != nu.User.Name || got.Username != nu.User.Username ||
			got.Number != batch[i].User.Number || got.Attributes["i"] != json.Number(fmt.Sprint(i)) || !got.UpdatedAt.Equal(later) ||
			got.UpdatedBy != "importer" || !got.CreatedAt.Equal(epoch) {
			t.Fatalf("user %d = %+v", i, got)
		}
		if found, err := s.GetUser(ctx, store.UserRef{Email: fmt.Sprintf("AFTER%03d@example.com", i)}); err != nil || found.ID != got.ID {
			t.Fatalf("user %d not found by its new email: %v", i, err)
		}
		if !slices.Equal(got.ProviderRoles, core.NormalizeRoles(nu.User.ProviderRoles)) {
			t.Fatalf("user %d provider roles = %v", i, got.ProviderRoles)
		}
		if m, ok := got.Membership(a.ID); !ok || !slices.Equal(m.Roles, []string{core.RoleEngineer}) || !m.CreatedAt.Equal(epoch) {
			t.Fatalf("user %d membership in A = %+v (kept since %v, roles replaced)", i, m, epoch)
		}
		if m, ok := got.Membership(b.ID); ok != (i%2 == 1) || (ok && !slices.Equal(m.Roles, []string{core.RoleViewer})) {
			t.Fatalf("user %d membership in B = %+v, %v", i, m, ok)
		}
		c, err := s.GetCredential(ctx, got.ID)
		want := batch[i].PasswordHash
		if i%3 == 0 {
			want = nu.PasswordHash
		}
		if err != nil || c.Hash != want {
			t.Fatalf("user %d credential = %+v, %v; want %s", i, c, err, want)
		}
	}
	if count, _ := s.CountUsers(ctx, store.UserFilter{}); count != n+1 {
		t.Fatalf("count = %d, want %d: an update added users", count, n+1)
	}
	// Updates draw no numbers: the next user gets the next one.
	if next := newUser(t, s, userWith("next@example.com")); next.Number != other.Number+1 {
		t.Fatalf("the user after the update got number %d, want %d", next.Number, other.Number+1)
	}

	// A user that does not exist fails the call, and the transaction
	// leaves the rest of it unwritten.
	first := *updates[0].User
	first.Name = "Not written"
	ghost := userWith("ghost@example.com")
	err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.UpdateUsers(ctx, []store.NewUser{{User: &first}, {User: &ghost}})
	})
	wantCode(t, err, core.CodeNotFound)
	if got, _ := s.GetUser(ctx, store.UserRef{ID: first.ID}); got.Name == "Not written" {
		t.Fatal("a failed UpdateUsers changed a user")
	}
	if _, err := s.GetUser(ctx, store.UserRef{ID: ghost.ID}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("a failed UpdateUsers created the missing user: %v", err)
	}
	// So does taking another user's email.
	clash := *updates[1].User
	clash.Email = "OTHER@example.com"
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUsers(ctx, []store.NewUser{{User: &clash}}) })
	wantCode(t, err, core.CodeConflict)
	if got, _ := s.GetUser(ctx, store.UserRef{Email: "other@example.com"}); got.ID != other.ID {
		t.Fatalf("other@example.com belongs to %s after a failed update", got.ID)
	}
	tx(t, s, func(tx store.Tx) error { return tx.UpdateUsers(ctx, nil) })
}

func testMemberships(t *testing.T, s store.Store) {
	a, b := newTenant(t, s, "A"), newTenant(t, s, "B")
	u := newUser(t, s, userWith("member@example.com"))
	addMember(t, s, b.ID, u.ID, "tenant-user")
	addMember(t, s, a.ID, u.ID, "viewer", "engineer", "viewer")
	tx(t, s, func(tx store.Tx) error { return tx.SetProviderRoles(ctx, u.ID, []string{"provider-viewer"}) })

	got, _ := s.GetUser(ctx, store.UserRef{ID: u.ID})
	if len(got.Memberships) != 2 || got.Memberships[0].TenantID != a.ID || got.Memberships[1].TenantID != b.ID {
		t.Fatalf("memberships = %+v (want ordered by tenant number)", got.Memberships)
	}
	m := got.Memberships[0]
	if m.TenantName != "A" || m.TenantNumber != a.Number || m.TenantStatus != a.Status || !slices.Equal(m.Roles, []string{"engineer", "viewer"}) {
		t.Fatalf("membership in A = %+v", m)
	}
	if !slices.Equal(got.ProviderRoles, []string{"provider-viewer"}) {
		t.Fatalf("provider roles = %v", got.ProviderRoles)
	}
	// Putting again replaces the roles.
	addMember(t, s, a.ID, u.ID, "tenant-admin")
	got, _ = s.GetUser(ctx, store.UserRef{ID: u.ID})
	if m, _ := got.Membership(a.ID); !slices.Equal(m.Roles, []string{"tenant-admin"}) {
		t.Fatalf("roles after replace = %v", m.Roles)
	}
	// Removing the membership removes the user from the tenant's groups.
	g := core.ResourceGroup{ID: core.NewID(), TenantID: a.ID, Name: "ops", CreatedAt: epoch, UpdatedAt: epoch}
	tx(t, s, func(tx store.Tx) error {
		if err := tx.CreateResourceGroup(ctx, g); err != nil {
			return err
		}
		return tx.AddResourceGroupMember(ctx, g.ID, u.ID, epoch)
	})
	got, _ = s.GetUser(ctx, store.UserRef{ID: u.ID})
	if m, _ := got.Membership(a.ID); !slices.Equal(m.ResourceGroupIDs, []string{g.ID}) {
		t.Fatalf("resource groups in membership = %v", m.ResourceGroupIDs)
	}
	tx(t, s, func(tx store.Tx) error { return tx.DeleteMembership(ctx, a.ID, u.ID) })
	got, _ = s.GetUser(ctx, store.UserRef{ID: u.ID})
	if len(got.Memberships) != 1 || got.Memberships[0].TenantID != b.ID {
		t.Fatalf("after delete = %+v", got.Memberships)
	}
	if members, _ := s.ListResourceGroupMembers(ctx, g.ID); len(members) != 0 {
		t.Fatalf("group members after membership removal = %v", members)
	}
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteMembership(ctx, a.ID, u.ID) })
	wantCode(t, err, core.CodeNotFound)
	tx(t, s, func(tx store.Tx) error { return tx.SetProviderRoles(ctx, u.ID, nil) })
	got, _ = s.GetUser(ctx, store.UserRef{ID: u.ID})
	if len(got.ProviderRoles) != 0 {
		t.Fatalf("provider roles after clearing = %v", got.ProviderRoles)
	}
}

func testUserListingFilters(t *testing.T, s store.Store) {
	a, b := newTenant(t, s, "A"), newTenant(t, s, "B")
	mk := func(email, username, name string, status core.UserStatus) core.User {
		u := userWith(email)
		u.Username, u.Name, u.Status = username, name, status
		return newUser(t, s, u)
	}
	alice := mk("alice@example.com", "", "Alice Smith", core.UserActive)
	bob := mk("bob@example.com", "bobby", "Robert", core.UserInvited)
	carol := mk("carol@corp.example", "", "Carol", core.UserDisabled)
	dave := mk("dave@example.com", "", "Dave", core.UserDeleted)
	erin := mk("erin@example.com", "", "Erin", core.UserActive)
	addMember(t, s, a.ID, alice.ID, "tenant-admin")
	addMember(t, s, a.ID, bob.ID, "tenant-user")
	addMember(t, s, b.ID, bob.ID, "viewer")
	addMember(t, s, b.ID, carol.ID, "tenant-user")
	addMember(t, s, a.ID, dave.ID, "tenant-user")
	tx(t, s, func(tx store.Tx) error { return tx.SetProviderRoles(ctx, erin.ID, []string{"provider-admin"}) })
	g := core.ResourceGroup{ID: core.NewID(), TenantID: a.ID, Name: "ops", CreatedAt: epoch, UpdatedAt: epoch}
	tx(t, s, func(tx store.Tx) error {
		if err := tx.CreateResourceGroup(ctx, g); err != nil {
			return err
		}
		return tx.AddResourceGroupMember(ctx, g.ID, bob.ID, epoch)
	})

	cases := []struct {
		name string
		f    store.UserFilter
		want []core.User
	}{
		{"default hides deleted", store.UserFilter{}, []core.User{alice, bob, carol, erin}},
		{"include deleted", store.UserFilter{Deleted: store.IncludeDeleted}, []core.User{alice, bob, carol, dave, erin}},
		{"only deleted", store.UserFilter{Deleted: store.OnlyDeleted}, []core.User{dave}},
		{"one tenant", store.UserFilter{TenantIDs: []string{a.ID}}, []core.User{alice, bob}},
		{"two tenants", store.UserFilter{TenantIDs: []string{a.ID, b.ID}}, []core.User{alice, bob, carol}},
		{"no tenants", store.UserFilter{TenantIDs: []string{}}, nil},
		{"email prefix", store.UserFilter{Prefix: "ALI"}, []core.User{alice}},
		{"username prefix", store.UserFilter{Prefix: "bobb"}, []core.User{bob}},
		{"name prefix", store.UserFilter{Prefix: "rob"}, []core.User{bob}},
		{"prefix matches domain? no", store.UserFilter{Prefix: "corp"}, nil},
		{"status", store.UserFilter{Statuses: []core.UserStatus{core.UserInvited, core.UserDisabled}}, []core.User{bob, carol}},
		{"role anywhere", store.UserFilter{Roles: []string{"tenant-user"}}, []core.User{bob, carol}},
		{"provider role", store.UserFilter{Roles: []string{"provider-admin"}}, []core.User{erin}},
		{"role in tenant", store.UserFilter{TenantIDs: []string{b.ID}, Roles: []string{"tenant-user"}}, []core.User{carol}},
		{"role not held in that tenant", store.UserFilter{TenantIDs: []string{a.ID}, Roles: []string{"viewer"}}, nil},
		{"resource group", store.UserFilter{ResourceGroupIDs: []string{g.ID}}, []core.User{bob}},
		{"tenant and prefix", store.UserFilter{TenantIDs: []string{b.ID}, Prefix: "c"}, []core.User{carol}},
	}
	for _, c := range cases {
		got, err := s.ListUsers(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(ids(got), ids(c.want)) {
			t.Errorf("%s: got %v, want %v", c.name, emails(got), emails(c.want))
		}
		n, err := s.CountUsers(ctx, c.f)
		if err != nil || n != len(c.want) {
			t.Errorf("%s: count = %d, %v; want %d", c.name, n, err, len(c.want))
		}
	}
	// Listed users carry their memberships.
	got, _ := s.ListUsers(ctx, store.UserFilter{Prefix: "bob"})
	if len(got) != 1 || len(got[0].Memberships) != 2 {
		t.Fatalf("listed bob = %+v", got)
	}
	if m, _ := got[0].Membership(a.ID); !slices.Equal(m.ResourceGroupIDs, []string{g.ID}) {
		t.Fatalf("listed membership groups = %v", m.ResourceGroupIDs)
	}
	// Sorting.
	got, _ = s.ListUsers(ctx, store.UserFilter{Sort: store.UserSort{Field: "email", Desc: true}})
	if want := []string{"erin@example.com", "carol@corp.example", "bob@example.com", "alice@example.com"}; !slices.Equal(emails(got), want) {
		t.Fatalf("sorted by email desc = %v", emails(got))
	}
	got, _ = s.ListUsers(ctx, store.UserFilter{Sort: store.UserSort{Field: "name"}, Offset: 1, Limit: 2})
	if want := []string{"carol@corp.example", "erin@example.com"}; !slices.Equal(emails(got), want) {
		t.Fatalf("sorted by name, offset 1 limit 2 = %v", emails(got))
	}
	if _, err := s.ListUsers(ctx, store.UserFilter{Sort: store.UserSort{Field: "password"}}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("unknown sort field: %v", err)
	}
}

func emails(users []core.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Email
	}
	return out
}

func testUserListingPages(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "Paged")
	var want []string
	for i := 0; i < 23; i++ {
		u := newUser(t, s, userWith(fmt.Sprintf("page%02d@example.com", i)))
		if i%2 == 0 {
			addMember(t, s, tn.ID, u.ID, "tenant-user")
		}
		want = append(want, u.ID)
	}
	walk := func(f store.UserFilter) []string {
		var seen []string
		for {
			page, err := s.ListUsers(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page {
				seen = append(seen, u.ID)
			}
			if len(page) < f.Limit {
				return seen
			}
			last := page[len(page)-1]
			f.After = last.ID
			if f.Prefix != "" {
				f.AfterKey, _ = core.UserSearchKey(last, strings.ToLower(f.Prefix))
			}
		}
	}
	if got := walk(store.UserFilter{Limit: 5}); !slices.Equal(got, want) {
		t.Fatalf("keyset walk = %d users, want %d in creation order", len(got), len(want))
	}
	var inTenant []string
	for i, id := range want {
		if i%2 == 0 {
			inTenant = append(inTenant, id)
		}
	}
	if got := walk(store.UserFilter{TenantIDs: []string{tn.ID}, Limit: 4}); !slices.Equal(got, inTenant) {
		t.Fatalf("keyset walk in tenant = %v, want %v", got, inTenant)
	}
	if got := walk(store.UserFilter{Prefix: "page1", Limit: 3}); len(got) != 10 {
		t.Fatalf("keyset walk with prefix = %d users, want 10", len(got))
	}
	page, _ := s.ListUsers(ctx, store.UserFilter{Offset: 20, Limit: 10})
	if len(page) != 3 {
		t.Fatalf("offset page = %d, want 3", len(page))
	}
}

func testUserListingInvitationStatus(t *testing.T, s store.Store) {
	now := epoch.Add(24 * time.Hour)
	mk := func(email string, invs ...core.Invitation) core.User {
		u := userWith(email)
		u.Status = core.UserInvited
		u = newUser(t, s, u)
		for i, inv := range invs {
			inv.ID, inv.UserID, inv.Email, inv.TokenHash = core.NewID(), u.ID, email, core.HashSecret(core.NewSecret(""))
			inv.CreatedAt = epoch.Add(time.Duration(i) * time.Minute)
			tx(t, s, func(tx store.Tx) error { return tx.CreateInvitation(ctx, inv) })
		}
		return u
	}
	pending := mk("pending@example.com", core.Invitation{State: core.InvitationPending, ExpiresAt: now.Add(time.Hour)})
	expired := mk("expired@example.com", core.Invitation{State: core.InvitationPending, ExpiresAt: now.Add(-time.Hour)})
	// The newest invitation decides: revoked then re-sent is pending.
	resent := mk("resent@example.com",
		core.Invitation{State: core.InvitationRevoked, ExpiresAt: now.Add(time.Hour)},
		core.Invitation{State: core.InvitationPending, ExpiresAt: now.Add(2 * time.Hour)})
	accepted := mk("accepted@example.com", core.Invitation{State: core.InvitationAccepted, ExpiresAt: now.Add(-time.Hour)})
	mk("never@example.com")

	for _, c := range []struct {
		states []core.InvitationStatus
		want   []core.User
	}{
		{[]core.InvitationStatus{core.InvitationPending}, []core.User{pending, resent}},
		{[]core.InvitationStatus{core.InvitationExpired}, []core.User{expired}},
		{[]core.InvitationStatus{core.InvitationAccepted, core.InvitationExpired}, []core.User{expired, accepted}},
		{[]core.InvitationStatus{core.InvitationRevoked}, nil},
	} {
		got, err := s.ListUsers(ctx, store.UserFilter{InvitationStatuses: c.states, InvitationsAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), ids(c.want)) {
			t.Errorf("invitation status %v: got %v, want %v", c.states, emails(got), emails(c.want))
		}
	}
}

func testCredentials(t *testing.T, s store.Store) {
	u := newUser(t, s, userWith("cred@example.com"))
	_, err := s.GetCredential(ctx, u.ID)
	wantCode(t, err, core.CodeNotFound)
	tx(t, s, func(tx store.Tx) error {
		return tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: "$argon2id$v=19$first", UpdatedAt: epoch})
	})
	tx(t, s, func(tx store.Tx) error {
		return tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: "$argon2id$v=19$second", UpdatedAt: epoch.Add(time.Hour)})
	})
	c, err := s.GetCredential(ctx, u.ID)
	if err != nil || c.Hash != "$argon2id$v=19$second" || !c.UpdatedAt.Equal(epoch.Add(time.Hour)) {
		t.Fatalf("credential = %+v, %v", c, err)
	}
	got, _ := s.GetUser(ctx, store.UserRef{ID: u.ID})
	if !got.HasPassword {
		t.Fatal("HasPassword false after PutCredential")
	}
}

func testResourceGroups(t *testing.T, s store.Store) {
	a, b := newTenant(t, s, "A"), newTenant(t, s, "B")
	u1, u2 := newUser(t, s, userWith("g1@example.com")), newUser(t, s, userWith("g2@example.com"))
	g := core.ResourceGroup{ID: core.NewID(), TenantID: a.ID, Name: "Web Team", Description: "frontends", CreatedAt: epoch, UpdatedAt: epoch}
	tx(t, s, func(tx store.Tx) error { return tx.CreateResourceGroup(ctx, g) })
	// Names are unique per tenant, ignoring case; another tenant may reuse one.
	err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateResourceGroup(ctx, core.ResourceGroup{ID: core.NewID(), TenantID: a.ID, Name: "web team", CreatedAt: epoch, UpdatedAt: epoch})
	})
	if ce := wantCode(t, err, core.CodeConflict); len(ce.Fields) != 1 || ce.Fields[0].Field != "name" {
		t.Fatalf("group name conflict fields = %+v", ce.Fields)
	}
	tx(t, s, func(tx store.Tx) error {
		return tx.CreateResourceGroup(ctx, core.ResourceGroup{ID: core.NewID(), TenantID: b.ID, Name: "Web Team", CreatedAt: epoch, UpdatedAt: epoch})
	})
	tx(t, s, func(tx store.Tx) error {
		for _, u := range []core.User{u1, u2, u1} {
			if err := tx.AddResourceGroupMember(ctx, g.ID, u.ID, epoch); err != nil {
				return err
			}
		}
		return nil
	})
	members, _ := s.ListResourceGroupMembers(ctx, g.ID)
	if want := []string{u1.ID, u2.ID}; !slices.Equal(members, want) {
		t.Fatalf("members = %v, want %v", members, want)
	}
	got, err := s.GetResourceGroup(ctx, g.ID)
	if err != nil || got.MemberCount != 2 || got.Name != "Web Team" || got.Description != "frontends" {
		t.Fatalf("group = %+v, %v", got, err)
	}
	g.Name, g.Description, g.UpdatedAt = "Platform", "", epoch.Add(time.Hour)
	tx(t, s, func(tx store.Tx) error { return tx.UpdateResourceGroup(ctx, g) })
	list, _ := s.ListResourceGroups(ctx, a.ID)
	if len(list) != 1 || list[0].Name != "Platform" {
		t.Fatalf("list = %+v", list)
	}
	tx(t, s, func(tx store.Tx) error { return tx.RemoveResourceGroupMember(ctx, g.ID, u2.ID) })
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.RemoveResourceGroupMember(ctx, g.ID, u2.ID) })
	wantCode(t, err, core.CodeNotFound)
	// A deleted user keeps its group rows, but is neither counted nor
	// listed: the count and the listing agree.
	gone := u1
	gone.Status = core.UserDeleted
	tx(t, s, func(tx store.Tx) error { return tx.UpdateUser(ctx, gone) })
	if members, _ := s.ListResourceGroupMembers(ctx, g.ID); len(members) != 0 {
		t.Fatalf("a deleted user is listed among the members: %v", members)
	}
	if got, _ := s.GetResourceGroup(ctx, g.ID); got.MemberCount != 0 {
		t.Fatalf("a deleted user is counted: %d", got.MemberCount)
	}
	tx(t, s, func(tx store.Tx) error { return tx.DeleteResourceGroup(ctx, g.ID) })
	_, err = s.GetResourceGroup(ctx, g.ID)
	wantCode(t, err, core.CodeNotFound)
}

func testAPIKeys(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "Keys")
	u := newUser(t, s, userWith("owner@example.com"))
	if n, _ := s.CountAPIKeys(ctx); n != 0 {
		t.Fatalf("count on empty store = %d", n)
	}
	exp := epoch.Add(24 * time.Hour)
	owned := core.APIKey{ID: core.NewID(), Name: "ci", Prefix: "rk_abcd", Hash: core.HashSecret("secret-1"),
		UserID: u.ID, Roles: []string{"provider-admin"}, ExpiresAt: &exp, CreatedAt: epoch, CreatedBy: u.ID}
	service := core.APIKey{ID: core.NewID(), Name: "svc", Prefix: "rk_efgh", Hash: core.HashSecret("secret-2"),
		TenantID: tn.ID, Roles: []string{"tenant-admin", "viewer"}, CreatedAt: epoch}
	tx(t, s, func(tx store.Tx) error {
		if err := tx.CreateAPIKey(ctx, owned); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, service)
	})
	got, err := s.GetAPIKeyByHash(ctx, core.HashSecret("secret-1"))
	if err != nil || got.ID != owned.ID || got.UserID != u.ID || got.TenantID != "" || got.ExpiresAt == nil ||
		!got.ExpiresAt.Equal(exp) || !slices.Equal(got.Roles, owned.Roles) || got.RevokedAt != nil {
		t.Fatalf("by hash = %+v, %v", got, err)
	}
	got, _ = s.GetAPIKey(ctx, service.ID)
	if got.TenantID != tn.ID || got.UserID != "" || !slices.Equal(got.Roles, service.Roles) {
		t.Fatalf("service key = %+v", got)
	}
	dup := owned
	dup.ID = core.NewID()
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.CreateAPIKey(ctx, dup) })
	wantCode(t, err, core.CodeConflict)

	// Each write changes its own field only.
	used, revoked := epoch.Add(time.Minute), epoch.Add(time.Hour)
	tx(t, s, func(tx store.Tx) error { return tx.SetAPIKeyElevation(ctx, owned.ID, &exp) })
	tx(t, s, func(tx store.Tx) error { return tx.RecordAPIKeyUse(ctx, owned.ID, used, used.Add(-time.Minute)) })
	// A use within the interval of the last one is not written.
	tx(t, s, func(tx store.Tx) error {
		return tx.RecordAPIKeyUse(ctx, owned.ID, used.Add(time.Second), used.Add(-time.Minute))
	})
	tx(t, s, func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, owned.ID, revoked) })
	tx(t, s, func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, owned.ID, revoked.Add(time.Hour)) }) // keeps the first
	got, _ = s.GetAPIKey(ctx, owned.ID)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) ||
		got.ElevatedUntil == nil || !got.ElevatedUntil.Equal(exp) || got.Name != owned.Name {
		t.Fatalf("after the writes = %+v", got)
	}
	// A revoked key is not elevated, and its last use is still written.
	wantCode(t, s.InTx(ctx, func(tx store.Tx) error { return tx.SetAPIKeyElevation(ctx, owned.ID, nil) }), core.CodeNotFound)
	later := used.Add(2 * time.Hour)
	tx(t, s, func(tx store.Tx) error { return tx.RecordAPIKeyUse(ctx, owned.ID, later, later.Add(-time.Minute)) })
	if got, _ = s.GetAPIKey(ctx, owned.ID); !got.LastUsedAt.Equal(later) || !got.RevokedAt.Equal(revoked) || got.ElevatedUntil == nil {
		t.Fatalf("after a later use = %+v", got)
	}
	for _, write := range []func(tx store.Tx) error{
		func(tx store.Tx) error { return tx.RevokeAPIKey(ctx, core.NewID(), revoked) },
		func(tx store.Tx) error { return tx.SetAPIKeyElevation(ctx, core.NewID(), &exp) },
	} {
		wantCode(t, s.InTx(ctx, write), core.CodeNotFound)
	}
	list, _ := s.ListAPIKeys(ctx, store.APIKeyFilter{})
	if len(list) != 1 || list[0].ID != service.ID {
		t.Fatalf("active keys = %+v", list)
	}
	list, _ = s.ListAPIKeys(ctx, store.APIKeyFilter{IncludeRevoked: true})
	if len(list) != 2 {
		t.Fatalf("all keys = %d", len(list))
	}
	list, _ = s.ListAPIKeys(ctx, store.APIKeyFilter{TenantIDs: []string{tn.ID}})
	if len(list) != 1 || list[0].ID != service.ID {
		t.Fatalf("tenant keys = %+v", list)
	}
	list, _ = s.ListAPIKeys(ctx, store.APIKeyFilter{UserID: u.ID, IncludeRevoked: true})
	if len(list) != 1 || list[0].ID != owned.ID {
		t.Fatalf("user keys = %+v", list)
	}
	if n, _ := s.CountAPIKeys(ctx); n != 2 {
		t.Fatalf("count = %d, want 2 (revoked keys count)", n)
	}
}

func testSessions(t *testing.T, s store.Store) {
	u := newUser(t, s, userWith("session@example.com"))
	sess := core.Session{ID: core.NewID(), Hash: core.HashSecret("tok"), UserID: u.ID, CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)}
	tx(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, sess) })
	got, err := s.GetSessionByHash(ctx, sess.Hash)
	if err != nil || got.ID != sess.ID || got.UserID != u.ID || !got.ExpiresAt.Equal(sess.ExpiresAt) || got.ElevatedUntil != nil {
		t.Fatalf("session = %+v, %v", got, err)
	}
	elevated := epoch.Add(10 * time.Minute)
	sess.ExpiresAt = epoch.Add(2 * time.Hour)
	tx(t, s, func(tx store.Tx) error { return tx.SetSessionElevation(ctx, sess.ID, &elevated) })
	tx(t, s, func(tx store.Tx) error { return tx.ExtendSession(ctx, sess.ID, sess.ExpiresAt) })
	got, _ = s.GetSession(ctx, sess.ID)
	if got.ElevatedUntil == nil || !got.ElevatedUntil.Equal(elevated) || !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("after the writes = %+v", got)
	}
	tx(t, s, func(tx store.Tx) error { return tx.SetSessionElevation(ctx, sess.ID, nil) })
	if got, _ = s.GetSession(ctx, sess.ID); got.ElevatedUntil != nil || !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("after the elevation ended = %+v", got)
	}
	for _, write := range []func(tx store.Tx) error{
		func(tx store.Tx) error { return tx.SetSessionElevation(ctx, core.NewID(), &elevated) },
		func(tx store.Tx) error { return tx.ExtendSession(ctx, core.NewID(), elevated) },
	} {
		wantCode(t, s.InTx(ctx, write), core.CodeNotFound)
	}
	tx(t, s, func(tx store.Tx) error { return tx.DeleteSession(ctx, sess.ID) })
	_, err = s.GetSessionByHash(ctx, sess.Hash)
	wantCode(t, err, core.CodeNotFound)

	for i := 0; i < 3; i++ {
		other := core.Session{ID: core.NewID(), Hash: core.HashSecret(fmt.Sprint("tok", i)), UserID: u.ID, CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)}
		tx(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, other) })
	}
	tx(t, s, func(tx store.Tx) error { return tx.RevokeSessionsAndResets(ctx, []string{u.ID}, epoch) })
	_, err = s.GetSessionByHash(ctx, core.HashSecret("tok1"))
	wantCode(t, err, core.CodeNotFound)
}

func testInvitations(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "Inv")
	u := newUser(t, s, userWith("invitee@example.com"))
	now := epoch.Add(time.Hour)
	inv := core.Invitation{ID: core.NewID(), UserID: u.ID, TenantID: tn.ID, Email: u.Email, InvitedBy: "admin",
		TokenHash: core.HashSecret("token-1"), State: core.InvitationPending, ExpiresAt: epoch.Add(72 * time.Hour), CreatedAt: epoch}
	old := core.Invitation{ID: core.NewID(), UserID: u.ID, Email: u.Email, TokenHash: core.HashSecret("token-0"),
		State: core.InvitationPending, ExpiresAt: epoch.Add(-time.Minute), CreatedAt: epoch.Add(-time.Hour)}
	tx(t, s, func(tx store.Tx) error {
		if err := tx.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		return tx.CreateInvitation(ctx, old)
	})
	got, err := s.GetInvitation(ctx, inv.ID)
	if err != nil || got.ID != inv.ID || got.TokenHash != core.HashSecret("token-1") || got.TenantID != tn.ID || got.Status(now) != core.InvitationPending {
		t.Fatalf("by token = %+v, %v", got, err)
	}
	if st := got.Status(epoch.Add(72 * time.Hour)); st != core.InvitationExpired {
		t.Fatalf("status at expiry = %s", st)
	}
	list, _ := s.ListInvitations(ctx, store.InvitationFilter{States: []core.InvitationStatus{core.InvitationExpired}, At: now})
	if len(list) != 1 || list[0].ID != old.ID {
		t.Fatalf("expired = %+v", list)
	}
	list, _ = s.ListInvitations(ctx, store.InvitationFilter{TenantIDs: []string{tn.ID}})
	if len(list) != 1 || list[0].ID != inv.ID {
		t.Fatalf("by tenant = %+v", list)
	}
	for range 2 {
		tx(t, s, func(tx store.Tx) error { return tx.AddInvitationFailure(ctx, inv.ID) })
	}
	tx(t, s, func(tx store.Tx) error { return tx.ConsumeInvitation(ctx, inv.ID, now) })
	got, _ = s.GetInvitation(ctx, inv.ID)
	if got.State != core.InvitationAccepted || got.AcceptedAt == nil || got.FailedAttempts != 2 {
		t.Fatalf("after acceptance = %+v", got)
	}
	// A revocation ends a waiting invitation only: an accepted one stays
	// accepted, whatever was read before.
	revoke := func(id string) bool {
		var done bool
		tx(t, s, func(tx store.Tx) (err error) { done, err = tx.RevokeInvitation(ctx, id, now); return err })
		return done
	}
	if revoke(inv.ID) {
		t.Fatal("an accepted invitation was revoked")
	}
	if got, _ = s.GetInvitation(ctx, inv.ID); got.State != core.InvitationAccepted || got.RevokedAt != nil || got.AcceptedAt == nil {
		t.Fatalf("after revoking an accepted invitation = %+v", got)
	}
	list, _ = s.ListInvitations(ctx, store.InvitationFilter{UserID: u.ID, Limit: 1})
	if len(list) != 1 {
		t.Fatalf("limit 1 gave %d", len(list))
	}

	// Consuming: only a pending, unexpired invitation, and only once.
	fresh := core.Invitation{ID: core.NewID(), UserID: u.ID, Email: u.Email, TokenHash: core.HashSecret("token-2"),
		State: core.InvitationPending, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
	tx(t, s, func(tx store.Tx) error { return tx.CreateInvitation(ctx, fresh) })

	// A failed attempt counts on a pending invitation and changes nothing
	// else; on one no longer pending it changes nothing at all.
	for range 3 {
		tx(t, s, func(tx store.Tx) error { return tx.AddInvitationFailure(ctx, fresh.ID) })
	}
	tx(t, s, func(tx store.Tx) error { return tx.AddInvitationFailure(ctx, inv.ID) })
	if got, _ := s.GetInvitation(ctx, fresh.ID); got.FailedAttempts != 3 || got.State != core.InvitationPending || got.TokenHash != fresh.TokenHash {
		t.Fatalf("after three failures = %+v", got)
	}
	if got, _ := s.GetInvitation(ctx, inv.ID); got.FailedAttempts != 2 || got.State != core.InvitationAccepted {
		t.Fatalf("a failure counted on an accepted invitation: %+v", got)
	}
	waiting := fresh
	waiting.ID, waiting.TokenHash = core.NewID(), core.HashSecret("token-3")
	tx(t, s, func(tx store.Tx) error { return tx.CreateInvitation(ctx, waiting) })
	if !revoke(waiting.ID) || revoke(waiting.ID) {
		t.Fatal("a waiting invitation is revoked once")
	}
	if got, _ := s.GetInvitation(ctx, waiting.ID); got.State != core.InvitationRevoked || got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
		t.Fatalf("after revoking = %+v", got)
	}
	wantCode(t, s.InTx(ctx, func(tx store.Tx) error { return tx.ConsumeInvitation(ctx, old.ID, now) }), core.CodeConflict)
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = s.InTx(ctx, func(tx store.Tx) error { return tx.ConsumeInvitation(ctx, fresh.ID, now) })
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch core.ErrorCode(err) {
		case "":
			wins++
		case core.CodeConflict:
		default:
			t.Fatalf("consume: %v", err)
		}
	}
	got, _ = s.GetInvitation(ctx, fresh.ID)
	if wins != 1 || got.State != core.InvitationAccepted || got.AcceptedAt == nil {
		t.Fatalf("%d concurrent acceptances won; invitation %+v", wins, got)
	}
}

func testIdempotency(t *testing.T, s store.Store) {
	r := store.IdempotencyRecord{Scope: "key:1", Key: "abc", RequestHash: "h1", CreatedAt: epoch, ExpiresAt: epoch.Add(24 * time.Hour)}
	tx(t, s, func(tx store.Tx) error { return tx.CreateIdempotency(ctx, r) })
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateIdempotency(ctx, r) })
	wantCode(t, err, core.CodeConflict)
	// The same key from another caller is another record.
	other := r
	other.Scope = "key:2"
	tx(t, s, func(tx store.Tx) error { return tx.CreateIdempotency(ctx, other) })

	got, err := s.GetIdempotency(ctx, "key:1", "abc")
	if err != nil || got.Done || got.RequestHash != "h1" || got.Header != nil {
		t.Fatalf("pending record = %+v, %v", got, err)
	}
	r.Status, r.ContentType, r.Body = 201, "application/json", []byte(`{"id":"x"}`)
	r.Header = map[string][]string{"Location": {"/v1/users/x"}, "Vary": {"Accept", "Origin"}}
	tx(t, s, func(tx store.Tx) error { return tx.CompleteIdempotency(ctx, r) })
	got, _ = s.GetIdempotency(ctx, "key:1", "abc")
	if !got.Done || got.Status != 201 || got.ContentType != "application/json" || string(got.Body) != `{"id":"x"}` || got.Withheld ||
		!reflect.DeepEqual(got.Header, r.Header) {
		t.Fatalf("completed record = %+v", got)
	}
	// An answer withheld is recorded without its body.
	secret := store.IdempotencyRecord{Scope: "key:1", Key: "secret", RequestHash: "h2", CreatedAt: epoch, ExpiresAt: epoch.Add(24 * time.Hour)}
	tx(t, s, func(tx store.Tx) error { return tx.CreateIdempotency(ctx, secret) })
	secret.Status, secret.Withheld = 201, true
	tx(t, s, func(tx store.Tx) error { return tx.CompleteIdempotency(ctx, secret) })
	if got, _ = s.GetIdempotency(ctx, "key:1", "secret"); !got.Done || !got.Withheld || got.Status != 201 || len(got.Body) != 0 {
		t.Fatalf("withheld record = %+v", got)
	}
	tx(t, s, func(tx store.Tx) error { return tx.DeleteIdempotency(ctx, "key:1", "secret") })
	tx(t, s, func(tx store.Tx) error { return tx.DeleteIdempotency(ctx, "key:2", "abc") })
	_, err = s.GetIdempotency(ctx, "key:2", "abc")
	wantCode(t, err, core.CodeNotFound)
	var n int
	tx(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteExpiredIdempotency(ctx, epoch.Add(25*time.Hour))
		return err
	})
	if n != 1 {
		t.Fatalf("expired records deleted = %d, want 1", n)
	}
}

func testTransactionRollback(t *testing.T, s store.Store) {
	boom := errors.New("boom")
	u := userWith("rollback@example.com")
	err := s.InTx(ctx, func(tx store.Tx) error {
		tn := core.Tenant{ID: core.NewID(), Name: "Rolled back", Status: core.TenantActive, CreatedAt: epoch, UpdatedAt: epoch}
		if err := tx.CreateTenant(ctx, &tn); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		// Reads inside the transaction see its own writes.
		if _, err := tx.GetUser(ctx, store.UserRef{ID: u.ID}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want the function's error", err)
	}
	if _, err := s.GetUser(ctx, store.UserRef{Email: u.Email}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("user survived rollback: %v", err)
	}
	if n, _ := s.CountTenants(ctx, store.TenantFilter{}); n != 0 {
		t.Fatalf("tenant survived rollback: %d", n)
	}
	// A failed statement inside fn rolls back the earlier ones too.
	first := userWith("first@example.com")
	newUser(t, s, userWith("second@example.com"))
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, &first); err != nil {
			return err
		}
		dup := userWith("second@example.com")
		return tx.CreateUser(ctx, &dup)
	})
	wantCode(t, err, core.CodeConflict)
	if _, err := s.GetUser(ctx, store.UserRef{Email: "first@example.com"}); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("first user survived a failed transaction: %v", err)
	}
}

func testConcurrentUniqueEmail(t *testing.T, s store.Store) {
	const n = 20
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		created   int
		conflicts int
		others    []error
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := userWith("race@example.com")
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) })
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case core.ErrorCode(err) == core.CodeConflict:
				conflicts++
			default:
				others = append(others, err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || conflicts != n-1 || len(others) > 0 {
		t.Fatalf("created %d, conflicts %d, other errors %v", created, conflicts, others)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	missing := core.NewID()
	_, err := s.GetTenant(ctx, store.TenantRef{ID: missing})
	wantCode(t, err, core.CodeNotFound)
	_, err = s.GetUser(ctx, store.UserRef{ID: missing})
	wantCode(t, err, core.CodeNotFound)
	_, err = s.GetUser(ctx, store.UserRef{Number: 987654})
	wantCode(t, err, core.CodeNotFound)
	_, err = s.GetUser(ctx, store.UserRef{})
	wantCode(t, err, core.CodeNotFound)
	_, err = s.GetAPIKeyByHash(ctx, "nope")
	wantCode(t, err, core.CodeNotFound)
	_, err = s.GetInvitation(ctx, missing)
	wantCode(t, err, core.CodeNotFound)
	_, err = s.GetResourceGroup(ctx, missing)
	wantCode(t, err, core.CodeNotFound)
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, core.User{ID: missing, Status: core.UserActive}) })
	wantCode(t, err, core.CodeNotFound)
	// A write naming a row that is not there (removed meanwhile): not
	// found, not an internal error.
	u := newUser(t, s, userWith("refers@example.com"))
	err = s.InTx(ctx, func(tx store.Tx) error {
		return tx.PutMembership(ctx, core.Membership{TenantID: missing, UserID: u.ID, Roles: []string{"viewer"}, CreatedAt: epoch})
	})
	wantCode(t, err, core.CodeNotFound)
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.AddResourceGroupMember(ctx, missing, u.ID, epoch) })
	wantCode(t, err, core.CodeNotFound)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testMatchUsers(t *testing.T, s store.Store) {
	a := userWith("Match.A@example.com")
	a.ExternalID, a.Username = "ext-a", "MatchA"
	a = newUser(t, s, a)
	b := newUser(t, s, userWith("match.b@example.com"))
	tn := newTenant(t, s, "Match")
	addMember(t, s, tn.ID, b.ID, "tenant-admin")
	gone := userWith("gone@example.com")
	gone.Status, gone.ExternalID = core.UserDeleted, "ext-gone"
	gone = newUser(t, s, gone)
	newUser(t, s, userWith("other@example.com"))

	got, err := s.MatchUsers(ctx, store.UserKeys{Emails: []string{"MATCH.A@EXAMPLE.COM", "nobody@example.com", "gone@example.com"},
		IDs: []string{b.ID}, ExternalIDs: []string{"ext-gone"}, Usernames: []string{"matcha"}})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, u := range got {
		found = append(found, u.ID)
	}
	slices.Sort(found)
	want := []string{a.ID, b.ID, gone.ID}
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Fatalf("matched %v, want %v (a deleted user matches by external id, not by email)", found, want)
	}
	// The import decides with the memberships who may change a match.
	for _, u := range got {
		if u.ID == b.ID && (len(u.Memberships) != 1 || u.Memberships[0].TenantID != tn.ID ||
			!slices.Equal(u.Memberships[0].Roles, []string{"tenant-admin"})) {
			t.Fatalf("match without its membership: %+v", u.Memberships)
		}
	}
	if got, _ := s.MatchUsers(ctx, store.UserKeys{Emails: []string{"gone@example.com"}}); len(got) != 0 {
		t.Fatalf("a deleted user matched by email: %+v", got)
	}
	if got, err := s.MatchUsers(ctx, store.UserKeys{}); err != nil || len(got) != 0 {
		t.Fatalf("no keys: %v, %v", got, err)
	}
}

// A prefix search matches email, username or name, lists each user once,
// in the order of what matched first (then id), and pages without gaps or
// repeats whatever the page size.
func testUserSearch(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "Search")
	mk := func(email, username, name string, member bool) core.User {
		u := userWith(email)
		u.Username, u.Name = username, name
		u = newUser(t, s, u)
		if member {
			addMember(t, s, tn.ID, u.ID, "tenant-user")
		}
		return u
	}
	// "jo" matches: by email only, by name only, by username only, by all
	// three with different texts, and twice with equal keys.
	a := mk("joan@example.com", "", "Zed", true)
	b := mk("zed@example.com", "", "Jo Black", false)
	c := mk("x1@example.com", "jobs", "Ann", true)
	d := mk("jonas@example.com", "jo_user", "Jo Adams", true)
	e1 := mk("jo.same@example.com", "", "", false)
	e2 := mk("jo.same@example.org", "", "", true)
	mk("ann@example.com", "annie", "Ann Jo", true) // "jo" inside, not a prefix
	gone := mk("jo.gone@example.com", "", "", true)
	gone.Status = core.UserDeleted
	tx(t, s, func(tx store.Tx) error { return tx.UpdateUser(ctx, gone) })

	want := []core.User{a, b, c, d, e1, e2}
	keyOf := func(u core.User) string { k, _ := core.UserSearchKey(u, "jo"); return k }
	slices.SortFunc(want, func(x, y core.User) int {
		if c := strings.Compare(keyOf(x), keyOf(y)); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	if keyOf(d) != "jo adams" || keyOf(c) != "jobs" || keyOf(b) != "jo black" {
		t.Fatalf("search keys: %q %q %q", keyOf(d), keyOf(c), keyOf(b))
	}
	all, err := s.ListUsers(ctx, store.UserFilter{Prefix: "JO"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(all), ids(want)) {
		t.Fatalf("search order: got %v, want %v", emails(all), emails(want))
	}
	for _, size := range []int{1, 2, 4} {
		var got []core.User
		f := store.UserFilter{Prefix: "jo", Limit: size}
		for {
			page, err := s.ListUsers(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if len(page) < size {
				break
			}
			last := page[len(page)-1]
			f.After, f.AfterKey = last.ID, keyOf(last)
		}
		if !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("pages of %d: got %v, want %v", size, emails(got), emails(want))
		}
	}
	// A prefix whose last character's UTF-8 ends in byte 0xBF (п, ÿ):
	// its range's bound must still be UTF-8, which PostgreSQL insists on.
	pavel := mk("pavel@example.ru", "", "павел", false)
	for _, prefix := range []string{"п", "П", "ÿ"} {
		found, err := s.ListUsers(ctx, store.UserFilter{Prefix: prefix})
		if err != nil || (prefix != "ÿ" && (len(found) != 1 || found[0].ID != pavel.ID)) || (prefix == "ÿ" && len(found) != 0) {
			t.Fatalf("search %q: %v, %v", prefix, emails(found), err)
		}
	}
	tenants, err := s.ListTenants(ctx, store.TenantFilter{Prefix: "п"})
	if err != nil || len(tenants) != 0 {
		t.Fatalf("tenant search п: %v, %v", tenants, err)
	}
	// With other filters: members of the tenant only.
	inTenant, err := s.ListUsers(ctx, store.UserFilter{Prefix: "jo", TenantIDs: []string{tn.ID}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var wantTenant []core.User
	for _, u := range want {
		if u.ID != b.ID && u.ID != e1.ID {
			wantTenant = append(wantTenant, u)
		}
	}
	if !slices.Equal(ids(inTenant), ids(wantTenant)) {
		t.Fatalf("search in tenant: got %v, want %v", emails(inTenant), emails(wantTenant))
	}
	// Listed users carry their memberships, as in every listing.
	if m, ok := inTenant[0].Membership(tn.ID); !ok || len(m.Roles) != 1 {
		t.Fatalf("search result lacks its membership: %+v", inTenant[0])
	}
	if n, err := s.CountUsers(ctx, store.UserFilter{Prefix: "jo"}); err != nil || n != len(want) {
		t.Fatalf("count = %d, %v", n, err)
	}
}

// testTransactionsRacingClose: work still in flight when the store closes
// (an API key's last use, written in the background) either commits or
// gets an error; it never panics or hangs, and a closed store refuses more.
func testTransactionsRacingClose(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tn := core.Tenant{ID: core.NewID(), Name: fmt.Sprintf("racing-%d", i), Status: core.TenantActive, CreatedAt: epoch, UpdatedAt: epoch}
			_ = s.InTx(ctx, func(tx store.Tx) error { return tx.CreateTenant(ctx, &tn) })
		}()
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("transactions racing Close did not finish")
	}
	err := s.InTx(ctx, func(tx store.Tx) error { return nil })
	if err == nil {
		t.Fatal("a closed store accepted a transaction")
	}
}

// LegacyLoginClash names the two users a backend's test writes before the
// login-string migration, sharing one string as an email and a username.
var LegacyLoginClash = struct{ Login, OtherEmail, HolderUsername string }{
	Login: "legacy@example.com", OtherEmail: "other@example.com", HolderUsername: "legacy-holder",
}

// RunLegacyLoginClash checks a database migrated with such a pair (holder:
// email Login, username HolderUsername; other: email OtherEmail, username
// Login): both stay editable wherever an edit leaves the shared string
// alone, nobody new can take it, and once the holder's email moves, the
// other user still holds it. Every backend behaves alike.
func RunLegacyLoginClash(t *testing.T, s store.Store) {
	l := LegacyLoginClash
	holder, err := s.GetUser(ctx, store.UserRef{Email: l.Login})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.GetUser(ctx, store.UserRef{Username: l.Login})
	if err != nil || other.ID == holder.ID {
		t.Fatalf("the other user: %+v, %v", other, err)
	}
	update := func(u core.User) error { return s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, u) }) }
	// An import's upsert rewrites both whole, their strings as they were.
	holder.Name, other.Name = "Holder, imported", "Other, imported"
	if err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.UpdateUsers(ctx, []store.NewUser{{User: &holder}, {User: &other}})
	}); err != nil {
		t.Fatalf("an upsert leaving both users' strings alone: %v", err)
	}
	other.Name, other.Email = "Other", "other.moved@example.com"
	if err := update(other); err != nil {
		t.Fatalf("editing the other user's name and email: %v", err)
	}
	holder.Name, holder.Username = "Holder", "holder-renamed"
	if err := update(holder); err != nil {
		t.Fatalf("editing the holder's name and username: %v", err)
	}
	create := func(u core.User) error { return s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) }) }
	wantCode(t, create(userWith(l.Login)), core.CodeConflict)
	newcomer := userWith("newcomer@example.com")
	newcomer.Username = l.Login
	wantCode(t, create(newcomer), core.CodeConflict)

	holder.Email = "holder.moved@example.com"
	if err := update(holder); err != nil {
		t.Fatalf("moving the holder's email: %v", err)
	}
	wantCode(t, create(userWith(l.Login)), core.CodeConflict) // the other's username still
	holder.Email = l.Login
	wantCode(t, update(holder), core.CodeConflict)
}

// Unfolded is what a backend's test writes before the refold migration
// (version 6), with compared forms lower-cased only, as before: users
// (email, username, name) and a tenant's name. The first user's email and
// the second's differ only in how the accent is encoded.
var Unfolded = struct {
	Users  [][3]string
	Tenant string
}{
	Users: [][3]string{
		{"Rene\u0301@example.com", "", "Rene\u0301"},
		{"ren\u00e9@example.com", "", "Ren\u00e9"},
		{"Zoe\u0308@example.com", "Zoe\u0308", "Zoe\u0308 Zola"},
	},
	Tenant: "Cafe\u0301 Noir",
}

// RunRefolded checks a database migrated with the Unfolded rows: forms
// that fold alone are refolded, so that any encoding of the text finds
// them; of the two that fold to one email, the one already folded holds
// it, and the other is left as it was, named in the migration's log
// (logged), until its email is changed.
func RunRefolded(t *testing.T, s store.Store, logged string) {
	for _, ref := range []store.UserRef{{Email: "ZO\u00cb@example.com"}, {Username: "zo\u00eb"}, {Email: "zoe\u0308@EXAMPLE.com"}} {
		if got, err := s.GetUser(ctx, ref); err != nil || got.Name != "Zoe\u0308 Zola" {
			t.Fatalf("GetUser(%+v) = %+v, %v", ref, got.Name, err)
		}
	}
	if page, err := s.ListUsers(ctx, store.UserFilter{Prefix: "zo\u00eb z", Limit: 10}); err != nil || len(page) != 1 {
		t.Fatalf("name prefix: %v, %v", ids(page), err)
	}
	if page, err := s.ListTenants(ctx, store.TenantFilter{Prefix: "caf\u00e9", Limit: 10}); err != nil || len(page) != 1 {
		t.Fatalf("tenant prefix: %+v, %v", page, err)
	}
	if got, err := s.GetUser(ctx, store.UserRef{Email: "rene\u0301@example.com"}); err != nil || got.Name != "Ren\u00e9" {
		t.Fatalf("the folded email's holder: %+v, %v", got.Name, err)
	}
	all, err := s.ListUsers(ctx, store.UserFilter{Limit: 10})
	if err != nil || len(all) != 3 {
		t.Fatalf("users after the migration: %v, %v", ids(all), err)
	}
	i := slices.IndexFunc(all, func(u core.User) bool { return u.Name == "Rene\u0301" })
	if i < 0 {
		t.Fatalf("the user left unfolded is gone: %+v", all)
	}
	left := all[i]
	if !strings.Contains(logged, left.ID) || !strings.Contains(logged, "email") {
		t.Fatalf("the migration's log does not name the user left unfolded (%s):\n%s", left.ID, logged)
	}
	left.Email = "rene.other@example.com"
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, left) }); err != nil {
		t.Fatalf("changing the email of the user left unfolded: %v", err)
	}
	left.Status = core.UserDisabled
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, left) }); err != nil {
		t.Fatalf("then disabling it: %v", err)
	}
}
