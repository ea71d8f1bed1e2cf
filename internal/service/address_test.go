package service_test

import (
	"context"
	"testing"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store"
)

// unsentTo counts the messages to recipient that could still be sent.
func unsentTo(t *testing.T, st store.Store, recipient string) (n int) {
	t.Helper()
	msgs, err := st.ListOutbox(context.Background(), store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Recipient == recipient && m.SentAt == nil && m.Data != "" {
			n++
		}
	}
	return n
}

// Mail not yet sent to a user's old address goes nowhere once the email
// changes, by PATCH or by an import's upsert, whatever the case of the
// address it was queued for.
func TestEmailChangeWithdrawsMailToTheOldAddress(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		change func(svc *service.Service, u core.User) error
	}{
		{"patch", func(svc *service.Service, u core.User) error {
			lower, other := "bob@acme.example", "robert@elsewhere.example"
			// A change of case alone is no change of address.
			if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Email: &lower}); err != nil {
				return err
			}
			_, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Email: &other})
			return err
		}},
		{"upsert", func(svc *service.Service, u core.User) error {
			res, err := svc.ImportUsers(ctx, core.System, service.ImportUpsert, []service.ImportItem{{Line: 1, ID: u.ID,
				Email: "robert@elsewhere.example", Given: service.GivenEmail}})
			if err == nil && res[0].Status != "updated" {
				t.Fatalf("upsert: %+v", res[0])
			}
			return err
		}},
	} {
		svc, st := importService(t, service.Config{}, nil)
		_, u := acmeUser(t, svc, "Bob@Acme.example", true)
		if err := svc.RequestPasswordReset(ctx, "Bob@Acme.example"); err != nil {
			t.Fatal(err)
		}
		svc.Drain()
		if n := unsentTo(t, st, "Bob@Acme.example"); n != 1 {
			t.Fatalf("%s: %d reset mails queued, want 1", c.name, n)
		}
		if err := c.change(svc, u); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := unsentTo(t, st, "Bob@Acme.example"); n != 0 {
			t.Errorf("%s: %d messages to the old address may still go", c.name, n)
		}
	}
}

// Nor do letters outside ASCII, in another case or Unicode form, keep
// mail going to an address the user has left.
func TestWithdrawalComparesAddressesAsEmails(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ queued, corrected string }{
		{"JÜRGEN@Acme.example", "jürgen@acme.example"},       // Unicode case
		{"ju\u0308rgen@acme.example", "jürgen@acme.example"}, // decomposed, then composed
	} {
		svc, st := importService(t, service.Config{}, nil)
		_, u := acmeUser(t, svc, c.queued, true)
		if err := svc.RequestPasswordReset(ctx, c.queued); err != nil {
			t.Fatal(err)
		}
		svc.Drain()
		if n := unsentTo(t, st, c.queued); n != 1 {
			t.Fatalf("%q: %d reset mails queued, want 1", c.queued, n)
		}
		corrected, other := c.corrected, "robert@elsewhere.example"
		for _, email := range []*string{&corrected, &other} {
			if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Email: email}); err != nil {
				t.Fatal(err)
			}
		}
		if n := unsentTo(t, st, c.queued); n != 0 {
			t.Errorf("%q, then %q, then away: %d messages to the old address may still go", c.queued, c.corrected, n)
		}
	}
}
