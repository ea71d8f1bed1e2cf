package storetest

import (
	"context"
	"fmt"
	"testing"

	"roster/internal/core"
	"roster/internal/store"
)

// Explainer is a store that shows the plans of its own queries.
type Explainer interface {
	store.Store
	ExplainUserLookup(ctx context.Context, ref core.UserRef) (string, error)
	ExplainUserList(ctx context.Context, f store.UserFilter) (string, error)
	ExplainMatchUsers(ctx context.Context, k store.UserKeys) (string, error)
	Exec(ctx context.Context, query string, args ...any) error
}

// IndexCase is a backend's way of filling a database fast and of reading
// its plans.
type IndexCase struct {
	// Fill statements insert Users users (user<n>@example.com, username
	// u<n>, name "Name <n>") with ids whose order is n's, a tenant with id
	// TenantID whose members are every tenth user, and refresh statistics.
	Fill     []string
	Users    int
	TenantID string
	// IDOf returns the id the fill gave user n.
	IDOf func(n int) string
	// FullScan reports whether a plan reads a whole table (of users or
	// memberships) instead of searching an index.
	FullScan func(plan string) bool
}

// RunIndexTests fills s at a realistic size and checks that the queries
// behind lookups, prefix search and keyset pages use indexes.
func RunIndexTests(t *testing.T, s Explainer, c IndexCase) {
	ctx := context.Background()
	for _, q := range c.Fill {
		if err := s.Exec(ctx, q); err != nil {
			t.Fatalf("fill: %v\n%s", err, q)
		}
	}
	n, err := s.CountUsers(ctx, store.UserFilter{})
	if err != nil || n != c.Users {
		t.Fatalf("filled %d users (%v), want %d", n, err, c.Users)
	}
	mid := c.IDOf(c.Users / 2)
	lookups := map[string]core.UserRef{
		"by email":    {Email: fmt.Sprintf("User%d@Example.com", c.Users/3)},
		"by username": {Username: fmt.Sprintf("u%d", c.Users/3)},
		"by id":       {ID: mid},
		"by number":   {Number: int64(c.Users / 3)},
	}
	for name, ref := range lookups {
		plan, err := s.ExplainUserLookup(ctx, ref)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.FullScan(plan) {
			t.Errorf("lookup %s scans a whole table:\n%s", name, plan)
		}
		if _, err := s.GetUser(ctx, ref); err != nil {
			t.Errorf("lookup %s: %v", name, err)
		}
	}
	lists := map[string]store.UserFilter{
		"keyset page":             {After: mid, Limit: 101},
		"keyset page in a tenant": {TenantIDs: []string{c.TenantID}, After: mid, Limit: 101},
		"first page":              {Limit: 101},
		"email prefix":            {Prefix: fmt.Sprintf("user%d", c.Users/7), Limit: 101},
		"name prefix":             {Prefix: fmt.Sprintf("name %d", c.Users/7), Limit: 101},
		"prefix keyset page":      {Prefix: "user4", After: mid, Limit: 101},
	}
	for name, f := range lists {
		plan, err := s.ExplainUserList(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.FullScan(plan) {
			t.Errorf("listing %s scans a whole table:\n%s", name, plan)
		}
		t.Logf("plan of %s:\n%s", name, plan)
		page, err := s.ListUsers(ctx, f)
		if err != nil || len(page) == 0 {
			t.Errorf("listing %s: %d users, %v", name, len(page), err)
		}
	}

	// An import batch looks its users up by every key at once. A batch is
	// 500 users, against tables of a million; at this size the planner
	// rightly reads the table for 500 keys, so the batch is scaled down.
	var keys store.UserKeys
	batch := max(c.Users/1000, 10)
	for i := 1; i <= batch; i++ {
		n := i * c.Users / (batch + 1)
		keys.IDs = append(keys.IDs, c.IDOf(n))
		keys.ExternalIDs = append(keys.ExternalIDs, fmt.Sprintf("ext-%d", n))
		keys.Emails = append(keys.Emails, fmt.Sprintf("user%d@example.com", n))
		keys.Usernames = append(keys.Usernames, fmt.Sprintf("u%d", n))
	}
	plan, err := s.ExplainMatchUsers(ctx, keys)
	if err != nil {
		t.Fatalf("match: %v", err)
	}
	if c.FullScan(plan) {
		t.Errorf("matching an import batch scans a whole table:\n%s", plan)
	}
	matched, err := s.MatchUsers(ctx, keys)
	if err != nil || len(matched) != batch {
		t.Errorf("matching %d users by four keys each: %d users, %v", batch, len(matched), err)
	}
}
