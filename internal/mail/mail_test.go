package mail_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"roster/internal/core"
	"roster/internal/mail"
	"roster/internal/store"
	"roster/internal/store/sqlite"
	"roster/internal/testsupport"
)

func TestMain(m *testing.M) { os.Exit(testsupport.MainOnEachBackend(m)) }

func TestRenderEveryKindAndLanguage(t *testing.T) {
	d := mail.Data{ProviderName: "Acme Cloud", TenantName: "Initech", InviterName: `Eve "<script>alert(1)</script>"`,
		RecipientName: "Bob", Email: "bob@example.com", Link: "https://id.example.com/invite/tok3n", ExpiresAt: time.Date(2026, 6, 4, 9, 0, 0, 0, time.UTC)}
	subjects := map[string]bool{}
	for _, kind := range []string{mail.KindInvitation, mail.KindPasswordReset} {
		for _, lang := range core.Languages {
			r, err := mail.Render(kind, lang, d)
			if err != nil {
				t.Fatalf("%s/%s: %v", kind, lang, err)
			}
			if r.Subject == "" || strings.Contains(r.Subject, "\n") || subjects[r.Subject] {
				t.Errorf("%s/%s: subject %q (empty, multi-line or not translated)", kind, lang, r.Subject)
			}
			subjects[r.Subject] = true
			for part, body := range map[string]string{"text": r.Text, "html": r.HTML} {
				if !strings.Contains(body, d.Link) || !strings.Contains(body, "2026-06-04 09:00 UTC") {
					t.Errorf("%s/%s %s lacks the link or the expiry:\n%s", kind, lang, part, body)
				}
			}
			if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, `lang="`+lang+`"`) {
				t.Errorf("%s/%s html does not escape names or lacks its language", kind, lang)
			}
			if kind == mail.KindInvitation && !strings.Contains(r.Text, "Initech") {
				t.Errorf("%s/%s does not name the tenant", kind, lang)
			}
		}
	}
	// A language without templates falls back to English.
	fr, _ := mail.Render(mail.KindInvitation, "fr", d)
	en, _ := mail.Render(mail.KindInvitation, "en", d)
	if fr != en {
		t.Fatal("an unknown language does not fall back to English")
	}
}

func invite(t *testing.T, env *testsupport.Env, tenant, email, lang string) {
	t.Helper()
	testsupport.NewClient(t, env.URL, nil).Bearer(testsupport.AdminKey).
		Do("POST", "/v1/users", map[string]any{"email": email, "tenant_id": tenant, "lang": lang, "name": "Invitee"}).Want(t, 201)
}

func newTenant(t *testing.T, env *testsupport.Env) string {
	t.Helper()
	return testsupport.NewClient(t, env.URL, nil).Bearer(testsupport.AdminKey).
		Do("POST", "/v1/tenants", map[string]any{"name": "Initech"}).Want(t, 201).Map(t)["id"].(string)
}

// An invitation's email arrives over real SMTP with its link, in the
// invitee's language; the outbox then holds it as sent, without its body.
func TestInvitationEmailIsDelivered(t *testing.T) {
	smtp := testsupport.StartSMTP(t)
	env := testsupport.Start(t, testsupport.Options{SMTPURL: smtp.URL()})
	invite(t, env, newTenant(t, env), "bob@example.com", "de")
	msgs := smtp.WaitFor(t, 1, 10*time.Second)
	m := msgs[0]
	if len(m.To) != 1 || m.To[0] != "bob@example.com" || !strings.Contains(m.Subject, "eingeladen") {
		t.Fatalf("delivered %+v", m)
	}
	links := m.Links()
	if len(links) != 1 || !strings.HasPrefix(links[0], env.URL+"/invite/") || !strings.Contains(m.HTML, links[0]) {
		t.Fatalf("links %v, html has it: %v", links, strings.Contains(m.HTML, links[0]))
	}
	// The worker records the message as sent after the server has taken
	// it, so the record may lag the arrival by a moment.
	var out []core.OutboxMessage
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		out, err = env.Store.ListOutbox(context.Background(), store.OutboxFilter{})
		if err != nil || len(out) != 1 {
			t.Fatalf("outbox %v, %v", out, err)
		}
		if out[0].SentAt != nil || time.Now().After(deadline) {
			break
		}
	}
	if out[0].SentAt == nil || out[0].Data != "" || out[0].MessageID != m.MessageID || !strings.HasSuffix(m.MessageID, "@127.0.0.1") {
		t.Fatalf("outbox after delivery %+v; delivered Message-ID %q", out[0], m.MessageID)
	}
}

// The mail server is down when the invitation is made: the email waits,
// the failure is recorded, and it goes out once the server is back.
func TestDeliveredAfterTheMailServerReturns(t *testing.T) {
	smtp := testsupport.StartSMTP(t)
	smtp.Stop()
	env := testsupport.Start(t, testsupport.Options{SMTPURL: smtp.URL()})
	invite(t, env, newTenant(t, env), "carol@example.com", "en")
	var pending []core.OutboxMessage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		pending, _ = env.Store.ListOutbox(context.Background(), store.OutboxFilter{Pending: true})
		if len(pending) == 1 && pending[0].Attempts == 1 && pending[0].LastError != "" && pending[0].LockedUntil == nil {
			break
		}
	}
	if len(pending) != 1 || pending[0].LastError == "" {
		all, _ := env.Store.ListOutbox(context.Background(), store.OutboxFilter{})
		t.Fatalf("no failed attempt recorded: %+v; all %+v; received %d; logs %s", pending, all, len(smtp.Messages()), env.Logs())
	}
	// The first retry is due within 5 seconds.
	if wait := pending[0].NextAttemptAt.Sub(env.Clock.Now()); wait <= 0 || wait > 5*time.Second {
		t.Fatalf("first retry in %v", wait)
	}
	smtp.Start(t)
	env.ManualClock().Advance(5 * time.Second)
	env.Worker.Wake()
	msgs := smtp.WaitFor(t, 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if len(smtp.Messages()) != 1 || msgs[0].To[0] != "carol@example.com" {
		t.Fatalf("delivered %d messages", len(smtp.Messages()))
	}
}

// An invitation waiting for the mail server goes nowhere once its user's
// email is corrected: the old address is not the user's, and the invitation
// is sent again to the new one only when asked (a resend).
func TestQueuedMailFollowsNoOldAddress(t *testing.T) {
	smtp := testsupport.StartSMTP(t)
	smtp.Stop()
	env := testsupport.Start(t, testsupport.Options{SMTPURL: smtp.URL()})
	admin := testsupport.NewClient(t, env.URL, nil).Bearer(testsupport.AdminKey)
	// Each message's first attempt has failed, and no worker holds it,
	// before the next step: one a worker is sending may still go.
	tried := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			msgs, _ := env.Store.ListOutbox(context.Background(), store.OutboxFilter{})
			done := 0
			for _, m := range msgs {
				if m.Attempts > 0 && m.LockedUntil == nil {
					done++
				}
			}
			if done == n {
				return
			}
		}
		t.Fatalf("%d messages not tried", n)
	}
	id := admin.Do("POST", "/v1/users", map[string]any{"email": "bob@exmaple.com", "tenant_id": newTenant(t, env), "name": "Bob"}).
		Want(t, 201).Map(t)["id"].(string)
	tried(1)
	admin.Do("PATCH", "/v1/users/"+id, map[string]any{"email": "bob@example.com"}).Want(t, 200)
	admin.Do("POST", "/v1/users/"+id+"/invitations", nil).Want(t, 201)
	tried(2)
	smtp.Start(t)
	env.ManualClock().Advance(time.Minute)
	env.Worker.Wake()
	msgs := smtp.WaitFor(t, 1, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if msgs = smtp.Messages(); len(msgs) != 1 || msgs[0].To[0] != "bob@example.com" {
		var to []string
		for _, m := range msgs {
			to = append(to, m.To...)
		}
		t.Fatalf("delivered to %v, want only the new address", to)
	}
}

// A server that refuses the message (451) is retried with a growing wait.
func TestRefusedMessageIsRetried(t *testing.T) {
	smtp := testsupport.StartSMTP(t)
	smtp.Reject(errors.New("greylisted, try again later"))
	env := testsupport.Start(t, testsupport.Options{SMTPURL: smtp.URL()})
	invite(t, env, newTenant(t, env), "dave@example.com", "en")
	var waits []time.Duration
	for attempt := 1; attempt <= 3; attempt++ {
		var m core.OutboxMessage
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			msgs, _ := env.Store.ListOutbox(context.Background(), store.OutboxFilter{Pending: true})
			if len(msgs) == 1 && msgs[0].Attempts == attempt && msgs[0].LockedUntil == nil {
				m = msgs[0]
				break
			}
		}
		if m.Attempts != attempt || !strings.Contains(m.LastError, "greylisted") {
			t.Fatalf("attempt %d: %+v", attempt, m)
		}
		waits = append(waits, m.NextAttemptAt.Sub(env.Clock.Now()))
		if attempt == 3 {
			// The server takes mail again before the fourth attempt, which
			// the wake below may start at once.
			smtp.Reject(nil)
		}
		env.ManualClock().Advance(m.NextAttemptAt.Sub(env.Clock.Now()))
		env.Worker.Wake()
	}
	if !(waits[0] < waits[1] && waits[1] < waits[2]) {
		t.Fatalf("waits do not grow: %v", waits)
	}
	smtp.WaitFor(t, 1, 10*time.Second)
}

// roster stops with mail in the outbox and starts again: the mail goes
// out, once.
func TestOutboxSurvivesARestart(t *testing.T) {
	if os.Getenv("ROSTER_TEST_BACKEND") == "postgres" {
		t.Skip("uses a SQLite file to play the restart; the multi-node test covers PostgreSQL")
	}
	path := filepath.Join(t.TempDir(), "roster.db")
	open := func() store.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// First life: no mail server configured; the email waits.
	first := testsupport.Start(t, testsupport.Options{Store: open()})
	tenant := newTenant(t, first)
	invite(t, first, tenant, "erin@example.com", "en")
	invite(t, first, tenant, "frank@example.com", "ru")
	if msgs, _ := first.Store.ListOutbox(context.Background(), store.OutboxFilter{Pending: true}); len(msgs) != 2 {
		t.Fatalf("pending before the restart: %d", len(msgs))
	}
	first.Store.Close()

	// Second life, with a mail server.
	smtp := testsupport.StartSMTP(t)
	testsupport.Start(t, testsupport.Options{Store: open(), SMTPURL: smtp.URL()}).Worker.Wake()
	smtp.WaitFor(t, 2, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(smtp.Messages()); n != 2 {
		t.Fatalf("delivered %d messages, want 2", n)
	}
}

type downSender struct{}

func (downSender) Send(context.Context, core.OutboxMessage, mail.Rendered) error {
	return errors.New("dial tcp: connection refused")
}

// A mail server down for longer than MaxAttempts' worth of retries does
// not lose an invitation whose link still works: it is tried until the
// link expires, and only then given up, its link erased.
func TestLongOutageRetriesUntilTheLinkExpires(t *testing.T) {
	env := testsupport.Start(t, testsupport.Options{})
	invite(t, env, newTenant(t, env), "erin@example.com", "en")
	ctx := context.Background()
	worker := mail.NewWorker(env.Store, downSender{}, env.Clock, mail.WorkerConfig{MaxAttempts: 3, FirstRetry: time.Minute, MaxRetry: time.Hour},
		slog.New(slog.DiscardHandler), nil)
	pending := func() core.OutboxMessage {
		msgs, err := env.Store.ListOutbox(ctx, store.OutboxFilter{})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("outbox: %+v, %v", msgs, err)
		}
		return msgs[0]
	}
	for range 10 {
		if worker.RunOnce(ctx) != 1 {
			t.Fatalf("nothing to try: %+v", pending())
		}
		m := pending()
		if m.Data == "" || m.SentAt != nil || m.NextAttemptAt.Sub(env.Clock.Now()) > time.Hour {
			t.Fatalf("after attempt %d of a link still valid: %+v", m.Attempts, m)
		}
		env.ManualClock().Advance(m.NextAttemptAt.Sub(env.Clock.Now()))
	}
	env.ManualClock().Advance(72 * time.Hour)
	worker.RunOnce(ctx)
	m := pending()
	if m.Data != "" || m.NextAttemptAt.Before(env.Clock.Now().Add(24*time.Hour)) || !strings.Contains(m.LastError, "expired") {
		t.Fatalf("a message whose link expired: %+v", m)
	}
}

type countingSender struct {
	mu   sync.Mutex
	sent map[string]int
}

func (c *countingSender) Send(_ context.Context, m core.OutboxMessage, _ mail.Rendered) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[m.MessageID]++
	return nil
}

// Three workers on one database (three nodes) send each message once.
func TestWorkersOnOneDatabaseSendEachMessageOnce(t *testing.T) {
	env := testsupport.Start(t, testsupport.Options{})
	tenant := newTenant(t, env)
	const n = 30
	for i := 0; i < n; i++ {
		invite(t, env, tenant, fmt.Sprintf("user%02d@example.com", i), "en")
	}
	sender := &countingSender{sent: map[string]int{}}
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		worker := mail.NewWorker(env.Store, sender, env.Clock, mail.WorkerConfig{Batch: 2}, slog.New(slog.DiscardHandler), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for worker.RunOnce(context.Background()) > 0 {
			}
		}()
	}
	wg.Wait()
	if len(sender.sent) != n {
		t.Fatalf("sent %d distinct messages, want %d", len(sender.sent), n)
	}
	for id, k := range sender.sent {
		if k != 1 {
			t.Fatalf("message %s sent %d times", id, k)
		}
	}
}

// A refusal for good (5xx: no such mailbox) is not tried again and again
// until the link expires: the message is parked at once, its error kept.
func TestPermanentRefusalIsNotRetried(t *testing.T) {
	server := testsupport.StartSMTP(t)
	server.Reject(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"})
	env := testsupport.Start(t, testsupport.Options{SMTPURL: server.URL()})
	invite(t, env, newTenant(t, env), "nobody@example.com", "en")
	var m core.OutboxMessage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		msgs, _ := env.Store.ListOutbox(context.Background(), store.OutboxFilter{})
		if len(msgs) == 1 && msgs[0].Attempts == 1 && msgs[0].LockedUntil == nil {
			m = msgs[0]
			break
		}
	}
	if !strings.Contains(m.LastError, "no such mailbox") || m.NextAttemptAt.Sub(env.Clock.Now()) < 24*time.Hour*365 {
		t.Fatalf("after a 550: %+v", m)
	}
}

// A name holding an RFC 2047 encoded word reaches the reader as typed, not
// decoded into other words or a second line; a domain outside ASCII is sent
// in its ASCII form, which any server takes.
func TestSubjectAndAddressAreSentSafely(t *testing.T) {
	server := testsupport.StartSMTP(t)
	env := testsupport.Start(t, testsupport.Options{SMTPURL: server.URL()})
	const name = "=?UTF-8?Q?Initech=0D=0AAction_required?="
	tenant := testsupport.NewClient(t, env.URL, nil).Bearer(testsupport.AdminKey).
		Do("POST", "/v1/tenants", map[string]any{"name": name}).Want(t, 201).Map(t)["id"].(string)
	invite(t, env, tenant, "bob@exämple.de", "en")
	msgs := server.WaitFor(t, 1, 10*time.Second)
	if !strings.Contains(msgs[0].Subject, name) || strings.ContainsAny(msgs[0].Subject, "\r\n") {
		t.Fatalf("subject as read: %q", msgs[0].Subject)
	}
	if len(msgs[0].To) != 1 || msgs[0].To[0] != "bob@xn--exmple-cua.de" {
		t.Fatalf("recipient: %v", msgs[0].To)
	}
	// An encoded subject as long as names allow is folded, its lines
	// within what mail allows, and reads whole.
	long := "=?" + strings.Repeat("𝔄", 198)
	tenant = testsupport.NewClient(t, env.URL, nil).Bearer(testsupport.AdminKey).
		Do("POST", "/v1/tenants", map[string]any{"name": long}).Want(t, 201).Map(t)["id"].(string)
	invite(t, env, tenant, "carol@example.com", "en")
	msgs = server.WaitFor(t, 2, 10*time.Second)
	if !strings.Contains(msgs[1].Subject, long) {
		t.Fatalf("long subject as read: %q", msgs[1].Subject)
	}
	for _, line := range strings.Split(string(msgs[1].Raw), "\r\n") {
		if len(line) > 78 && strings.HasPrefix(line, "Subject:") || len(line) > 998 {
			t.Fatalf("a line of %d characters: %.60s…", len(line), line)
		}
	}
}
