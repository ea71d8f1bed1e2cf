package service_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/mail"
	"roster/internal/password"
	"roster/internal/service"
	"roster/internal/store"
	"roster/internal/store/postgres"
	"roster/internal/testsupport"
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

// resetLinks gives the token of each password-reset mail, by recipient.
func resetLinks(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	msgs, err := st.ListOutbox(context.Background(), store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, m := range msgs {
		if m.Kind != mail.KindPasswordReset {
			continue
		}
		var d mail.Data
		if err := json.Unmarshal([]byte(m.Data), &d); err != nil {
			t.Fatal(err)
		}
		_, token, _ := strings.Cut(d.Link, "/reset/")
		links[m.Recipient] = token
	}
	return links
}

// A reset asked for an address that stops being the account's before the
// link is written (an email change committed between the lookup and the
// write) sends nothing: the link would open the account from the old
// mailbox, and the change's revocation of links came too early to see it.
// Nor does one for an account disabled meanwhile, whose link would work
// again once it is enabled.
func TestPasswordResetFollowsTheAccountAsItIsNow(t *testing.T) {
	ctx := context.Background()
	newEmail, disabled := "new@acme.example", core.UserDisabled
	for name, change := range map[string]service.UpdateUserInput{"an email change": {Email: &newEmail}, "a disable": {Status: &disabled}} {
		is := &interruptingStore{}
		svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { is.Store = s; return is })
		_, u := acmeUser(t, svc, "old@acme.example", true)
		is.hook = func() {
			if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, change); err != nil {
				t.Error(err)
			}
		}
		is.armed.Store(true)
		if err := svc.RequestPasswordReset(ctx, "old@acme.example"); err != nil {
			t.Fatal(err)
		}
		svc.Drain()
		if links := resetLinks(t, st); len(links) != 0 {
			t.Fatalf("after %s meanwhile, reset mails went out: %v", name, links)
		}
	}
}

// inTxCredentialHook fires, once armed, right after a credential is read
// inside a write transaction: the moment a login has checked the stored
// hash and not yet written its session.
type inTxCredentialHook struct {
	store.Store
	trigger
}

func (h *inTxCredentialHook) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return h.Store.InTx(ctx, func(tx store.Tx) error { return fn(&inTxCredentialHookTx{Tx: tx, h: h}) })
}

type inTxCredentialHookTx struct {
	store.Tx
	h *inTxCredentialHook
}

func (t *inTxCredentialHookTx) GetCredential(ctx context.Context, userID string) (core.Credential, error) {
	c, err := t.Tx.GetCredential(ctx, userID)
	t.h.fire()
	return c, err
}

// A reset completed on another node while a login with the old password is
// in its write transaction waits for it, and then ends the session it
// opened and keeps the new password (the login's rehash of the old one
// does not win). Two nodes on PostgreSQL: one node runs its transactions
// one at a time.
func TestPasswordResetEndsASessionOpenedMeanwhile(t *testing.T) {
	ctx := context.Background()
	url := testsupport.PostgresSchemaURL(t)
	open := func() store.Store {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	hook := &inTxCredentialHook{Store: open()}
	nodeA := serviceOn(t, hook, service.Config{}, nil, "")
	nodeB := serviceOn(t, open(), service.Config{}, nil, "")
	_, u := acmeUser(t, nodeA, "race@acme.example", true)
	const old, fresh = "correct horse battery staple", "a brand new passphrase 2"
	staleCredential(t, hook.Store, u.ID, password.HashArgon2id(old, password.Params{Memory: 32, Time: 1, Threads: 1}))
	if err := nodeA.RequestPasswordReset(ctx, u.Email); err != nil {
		t.Fatal(err)
	}
	nodeA.Drain()
	token := resetLinks(t, hook.Store)[u.Email]
	if token == "" {
		t.Fatal("no reset mail")
	}
	reset := make(chan error, 1)
	hook.hook = func() {
		go func() {
			_, err := nodeB.ResetPassword(ctx, token, fresh)
			reset <- err
		}()
		// Long enough for the reset to commit, were it not to wait.
		time.Sleep(300 * time.Millisecond)
	}
	hook.armed.Store(true)
	_, session, loginErr := nodeA.Login(ctx, service.LoginInput{Login: u.Email, Password: old})
	if err := <-reset; err != nil {
		t.Fatalf("the reset: %v", err)
	}
	if loginErr == nil {
		if _, err := nodeA.Authenticate(ctx, session); err == nil {
			t.Fatal("the session opened with the old password outlived the reset")
		}
	}
	if _, _, err := nodeB.Login(ctx, service.LoginInput{Login: u.Email, Password: fresh}); err != nil {
		t.Fatalf("the reset's password: %v", err)
	}
	if _, _, err := nodeB.Login(ctx, service.LoginInput{Login: u.Email, Password: old}); core.ErrorCode(err) != core.CodeUnauthenticated {
		t.Fatalf("the old password after the reset: %v", err)
	}
}

// txStartHook fires, once armed, just before a write transaction begins.
type txStartHook struct {
	store.Store
	trigger
}

func (h *txStartHook) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	h.fire()
	return h.Store.InTx(ctx, fn)
}

// A reset link that an email change ended after the reset was asked for,
// but before its write began, sets no password: the old mailbox is what
// the change took away.
func TestResetLinkEndedByAnEmailChangeMeanwhile(t *testing.T) {
	ctx := context.Background()
	h := &txStartHook{}
	svc, st := importService(t, service.Config{}, func(s store.Store) store.Store { h.Store = s; return h })
	_, u := acmeUser(t, svc, "old@acme.example", true)
	if err := svc.RequestPasswordReset(ctx, "old@acme.example"); err != nil {
		t.Fatal(err)
	}
	svc.Drain()
	token := resetLinks(t, st)["old@acme.example"]
	if token == "" {
		t.Fatal("no reset mail")
	}
	newEmail := "new@acme.example"
	h.hook = func() {
		time.Sleep(5 * time.Millisecond) // the change lands a little after the reset began
		if _, err := svc.UpdateUser(ctx, core.System, core.UserRef{ID: u.ID}, service.UpdateUserInput{Email: &newEmail}); err != nil {
			t.Error(err)
		}
	}
	h.armed.Store(true)
	if _, err := svc.ResetPassword(ctx, token, "the old mailbox's new owner 42"); core.ErrorCode(err) != core.CodeInvitationInvalid {
		t.Fatalf("a reset through a link the email change ended: %v", err)
	}
}

// Reset requests coming less than an hour apart do not stop an account's
// reset emails for good: the count starts again an hour after its first.
func TestSlowResetRequestsDoNotStopResetsForGood(t *testing.T) {
	ctx := context.Background()
	clock := core.NewManualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	st := sqliteStore(t)
	svc := serviceOn(t, st, service.Config{}, clock, operatorKey)
	acmeUser(t, svc, "victim@acme.example", true)
	ask := func() {
		if err := svc.RequestPasswordReset(ctx, "victim@acme.example"); err != nil {
			t.Fatal(err)
		}
		svc.Drain()
	}
	sent := func() (n int) {
		msgs, err := st.ListOutbox(ctx, store.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Kind == mail.KindPasswordReset {
				n++
			}
		}
		return n
	}
	for range 4 { // a burst: the fourth sends nothing
		ask()
	}
	if n := sent(); n != 3 {
		t.Fatalf("a burst of four requests sent %d emails, want 3", n)
	}
	for range 24 { // then one every 55 minutes for a day
		clock.Advance(55 * time.Minute)
		ask()
	}
	if n := sent(); n <= 3 {
		t.Fatalf("a day of requests 55 minutes apart sent no more emails (%d in all)", n)
	}
}
