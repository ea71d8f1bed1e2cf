package service_test

import (
	"context"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/service"
	"roster/internal/store"
)

// gatedStore holds every lookup of a user by email until open is closed.
type gatedStore struct {
	store.Store
	open chan struct{}
}

func (g *gatedStore) GetUser(ctx context.Context, ref core.UserRef) (core.User, error) {
	if ref.Email != "" {
		<-g.open
	}
	return g.Store.GetUser(ctx, ref)
}

// A reset request is answered before the account is even looked up, so
// that the answer takes as long whether or not the account exists; the
// email follows.
func TestPasswordResetIsAnsweredBeforeTheLookup(t *testing.T) {
	ctx := context.Background()
	gate := &gatedStore{open: make(chan struct{})}
	svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { gate.Store = s; return gate })
	acmeUser(t, svc, "known@acme.example", true)

	for _, email := range []string{"known@acme.example", "unknown@acme.example"} {
		done := make(chan error, 1)
		go func() { done <- svc.RequestPasswordReset(ctx, email) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", email, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the request for %s waited for the account's lookup", email)
		}
	}
	if err := svc.RequestPasswordReset(ctx, "not an email"); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("a malformed email: %v", err)
	}

	close(gate.open)
	svc.Drain()
	msgs, err := st.ListOutbox(ctx, store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]int{}
	for _, m := range msgs {
		sent[m.Kind+" "+m.Recipient]++
	}
	if len(sent) != 1 || sent["password_reset known@acme.example"] != 1 {
		t.Fatalf("emails after the requests: %v", sent)
	}
}

// The Message-ID's domain comes from the public URL's host, unless that is
// an IPv6 address (roster listening on [::]), which is no dotted name.
func TestMailDomain(t *testing.T) {
	for url, want := range map[string]string{
		"https://id.example.com/": "id.example.com",
		"http://127.0.0.1:8080":   "127.0.0.1",
		"http://[::]:8080":        "roster.invalid",
		"http://[2001:db8::1]/":   "roster.invalid",
	} {
		if got := service.New(nil, nil, nil, service.Config{PublicURL: url}, nil).Config().MailDomain; got != want {
			t.Errorf("public URL %s: mail domain %q, want %q", url, got, want)
		}
	}
}
