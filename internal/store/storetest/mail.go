package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

func outboxMessage(i int, due time.Time) core.OutboxMessage {
	id := core.NewID()
	return core.OutboxMessage{ID: id, Kind: "invitation", MessageID: id + "@roster.test",
		Recipient: fmt.Sprintf("r%d@example.com", i), Subject: "Welcome", Lang: "de",
		Data: `{"Link":"https://x/invite/secret"}`, CreatedAt: epoch, NextAttemptAt: due}
}

func testOutbox(t *testing.T, s store.Store) {
	now := epoch.Add(time.Hour)
	due := outboxMessage(1, now.Add(-time.Minute))
	later := outboxMessage(2, now.Add(time.Hour))
	tx(t, s, func(tx store.Tx) error {
		if err := tx.EnqueueOutbox(ctx, due); err != nil {
			return err
		}
		return tx.EnqueueOutbox(ctx, later)
	})

	var claimed []core.OutboxMessage
	tx(t, s, func(tx store.Tx) error {
		var err error
		claimed, err = tx.ClaimOutbox(ctx, now, now.Add(time.Minute), "node-a", 10)
		return err
	})
	if len(claimed) != 1 || claimed[0].ID != due.ID || claimed[0].Attempts != 1 || claimed[0].LockedBy != "node-a" ||
		claimed[0].Data != due.Data || claimed[0].Lang != "de" || claimed[0].Recipient != due.Recipient {
		t.Fatalf("claimed %+v", claimed)
	}
	// A leased message is not claimed again until its lease runs out.
	tx(t, s, func(tx store.Tx) error {
		var err error
		claimed, err = tx.ClaimOutbox(ctx, now.Add(30*time.Second), now.Add(2*time.Minute), "node-b", 10)
		return err
	})
	if len(claimed) != 0 {
		t.Fatalf("claimed a leased message: %+v", claimed)
	}
	tx(t, s, func(tx store.Tx) error {
		var err error
		claimed, err = tx.ClaimOutbox(ctx, now.Add(2*time.Minute), now.Add(3*time.Minute), "node-b", 10)
		return err
	})
	if len(claimed) != 1 || claimed[0].Attempts != 2 || claimed[0].LockedBy != "node-b" {
		t.Fatalf("claim after an expired lease: %+v", claimed)
	}
	// Only the worker holding the lease renews it or records a failure.
	renew := func(worker string, until time.Time) bool {
		var ok bool
		tx(t, s, func(tx store.Tx) error {
			var err error
			ok, err = tx.RenewOutboxLease(ctx, due.ID, worker, until)
			return err
		})
		return ok
	}
	if renew("node-a", now.Add(5*time.Minute)) || !renew("node-b", now.Add(4*time.Minute)) {
		t.Fatal("a lease was renewed by the wrong worker, or not by its holder")
	}
	tx(t, s, func(tx store.Tx) error {
		return tx.MarkOutboxFailed(ctx, due.ID, "node-a", "late", now.Add(time.Minute), false)
	})
	if m, _ := s.GetOutbox(ctx, due.ID); m.LastError == "late" || m.LockedBy != "node-b" || !m.LockedUntil.Equal(now.Add(4*time.Minute)) {
		t.Fatalf("a failure recorded by a worker whose lease ran out: %+v", m)
	}
	// A failure releases the lease and schedules the next attempt.
	tx(t, s, func(tx store.Tx) error {
		return tx.MarkOutboxFailed(ctx, due.ID, "node-b", "421 try later", now.Add(10*time.Minute), false)
	})
	m, err := s.GetOutbox(ctx, due.ID)
	if err != nil || m.LastError != "421 try later" || m.LockedUntil != nil || !m.NextAttemptAt.Equal(now.Add(10*time.Minute)) || m.Data == "" {
		t.Fatalf("after failure: %+v, %v", m, err)
	}
	pending, _ := s.ListOutbox(ctx, store.OutboxFilter{Pending: true})
	if len(pending) != 2 {
		t.Fatalf("pending = %d", len(pending))
	}
	// Sent: the data, which carries the token, is erased.
	tx(t, s, func(tx store.Tx) error { return tx.MarkOutboxSent(ctx, due.ID, now.Add(11*time.Minute)) })
	m, _ = s.GetOutbox(ctx, due.ID)
	if m.SentAt == nil || m.Data != "" || m.Subject != "Welcome" || m.Lang != "de" {
		t.Fatalf("after sent: %+v", m)
	}
	sent, _ := s.ListOutbox(ctx, store.OutboxFilter{Sent: true})
	if len(sent) != 1 || sent[0].ID != due.ID {
		t.Fatalf("sent = %+v", sent)
	}
	tx(t, s, func(tx store.Tx) error {
		var err error
		claimed, err = tx.ClaimOutbox(ctx, now.Add(2*time.Hour), now.Add(3*time.Hour), "node-a", 10)
		return err
	})
	if len(claimed) != 1 || claimed[0].ID != later.ID {
		t.Fatalf("a sent message was claimed, or the later one was not: %+v", claimed)
	}
	all, _ := s.ListOutbox(ctx, store.OutboxFilter{Limit: 1})
	if len(all) != 1 {
		t.Fatalf("limit 1 gave %d", len(all))
	}
}

// Claims from many workers at once never hand one message to two of them.
// Withdrawing an address parks its unsent messages, data erased, and
// leaves the sent ones and other addresses' alone.
func testWithdrawOutbox(t *testing.T, s store.Store) {
	now := epoch.Add(time.Hour)
	old1, old2, other, sent := outboxMessage(1, now), outboxMessage(1, now), outboxMessage(2, now), outboxMessage(1, now)
	tx(t, s, func(tx store.Tx) error {
		for _, m := range []core.OutboxMessage{old1, old2, other, sent} {
			if err := tx.EnqueueOutbox(ctx, m); err != nil {
				return err
			}
		}
		if err := tx.MarkOutboxSent(ctx, sent.ID, now); err != nil {
			return err
		}
		return tx.WithdrawOutbox(ctx, old1.Recipient, now)
	})
	for _, m := range []core.OutboxMessage{old1, old2} {
		got, err := s.GetOutbox(ctx, m.ID)
		if err != nil || got.Data != "" || got.NextAttemptAt.Before(now.Add(50*365*24*time.Hour)) || got.LastError == "" || got.SentAt != nil {
			t.Fatalf("withdrawn: %+v, %v", got, err)
		}
	}
	if got, _ := s.GetOutbox(ctx, other.ID); got.Data != other.Data || !got.NextAttemptAt.Equal(now) {
		t.Fatalf("another address's message: %+v", got)
	}
	if got, _ := s.GetOutbox(ctx, sent.ID); got.SentAt == nil || got.LastError != "" {
		t.Fatalf("a sent message: %+v", got)
	}
	var claimed []core.OutboxMessage
	tx(t, s, func(tx store.Tx) error {
		var err error
		claimed, err = tx.ClaimOutbox(ctx, now.Add(time.Hour), now.Add(2*time.Hour), "node-a", 10)
		return err
	})
	if len(claimed) != 1 || claimed[0].ID != other.ID {
		t.Fatalf("claimed after the withdrawal: %+v", claimed)
	}
}

func testOutboxConcurrentClaims(t *testing.T, s store.Store) {
	const messages, workers = 60, 6
	now := epoch.Add(time.Hour)
	tx(t, s, func(tx store.Tx) error {
		for i := 0; i < messages; i++ {
			if err := tx.EnqueueOutbox(ctx, outboxMessage(i, now)); err != nil {
				return err
			}
		}
		return nil
	})
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				var got []core.OutboxMessage
				err := s.InTx(ctx, func(tx store.Tx) error {
					var err error
					got, err = tx.ClaimOutbox(ctx, now, now.Add(time.Hour), fmt.Sprint("w", w), 4)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if len(seen) != messages {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), messages)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s claimed %d times", id, n)
		}
	}
}

func testLoginThrottle(t *testing.T, s store.Store) {
	at := epoch
	count := func(key string, at, window time.Time) int {
		var n int
		tx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.AddLoginFailure(ctx, key, at, window)
			return err
		})
		return n
	}
	for i := 1; i <= 3; i++ {
		if n := count("acct:a@example.com", at.Add(time.Duration(i)*time.Second), at.Add(-time.Hour)); n != i {
			t.Fatalf("failure %d counted as %d", i, n)
		}
	}
	// Failures before the window start over.
	if n := count("acct:a@example.com", at.Add(2*time.Hour), at.Add(time.Hour)); n != 1 {
		t.Fatalf("failure after the window counted as %d", n)
	}
	// A count lasts a window from its first failure, however closely
	// failures follow one another: one every 50 minutes never counts more
	// than two in an hour.
	for i := 1; i <= 6; i++ {
		failed := at.Add(time.Duration(i) * 50 * time.Minute)
		if n := count("acct:slow@example.com", failed, failed.Add(-time.Hour)); n > 2 {
			t.Fatalf("failure %d, 50 minutes after the one before, counted as %d", i, n)
		}
	}
	count("ip:127.0.0.1", at, at.Add(-time.Hour))
	tx(t, s, func(tx store.Tx) error { return tx.SetLoginBlock(ctx, "ip:127.0.0.1", at.Add(time.Minute)) })
	got, err := s.LoginThrottles(ctx, []string{"acct:a@example.com", "ip:127.0.0.1", "acct:nobody"})
	if err != nil || len(got) != 2 || got[1].Key != "ip:127.0.0.1" || got[1].BlockedUntil == nil ||
		!got[1].BlockedUntil.Equal(at.Add(time.Minute)) || got[0].BlockedUntil != nil || got[0].Failures != 1 {
		t.Fatalf("throttles = %+v, %v", got, err)
	}
	// Forgiving takes one failure back, never below none, and leaves the
	// block alone.
	count("ip:127.0.0.1", at, at.Add(-time.Hour))
	for range 3 {
		tx(t, s, func(tx store.Tx) error { return tx.ForgiveLoginFailure(ctx, "ip:127.0.0.1") })
	}
	tx(t, s, func(tx store.Tx) error { return tx.ForgiveLoginFailure(ctx, "ip:never-failed") })
	got, _ = s.LoginThrottles(ctx, []string{"ip:127.0.0.1", "ip:never-failed"})
	if len(got) != 1 || got[0].Failures != 0 || got[0].BlockedUntil == nil {
		t.Fatalf("after forgiving: %+v", got)
	}
	tx(t, s, func(tx store.Tx) error { return tx.ClearLoginThrottle(ctx, "ip:127.0.0.1") })
	got, _ = s.LoginThrottles(ctx, []string{"ip:127.0.0.1"})
	if len(got) != 0 {
		t.Fatalf("after clear: %+v", got)
	}
	// Concurrent failures all count.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.AddLoginFailure(ctx, "acct:race", at, at.Add(-time.Hour))
				return err
			})
		}()
	}
	wg.Wait()
	got, _ = s.LoginThrottles(ctx, []string{"acct:race"})
	if len(got) != 1 || got[0].Failures != 10 {
		t.Fatalf("concurrent failures: %+v", got)
	}
}

func testPasswordResets(t *testing.T, s store.Store) {
	u := newUser(t, s, userWith("reset@example.com"))
	r := core.PasswordReset{ID: core.NewID(), UserID: u.ID, TokenHash: core.HashSecret("reset-token"),
		ExpiresAt: epoch.Add(time.Hour), CreatedAt: epoch}
	tx(t, s, func(tx store.Tx) error { return tx.CreatePasswordReset(ctx, r) })
	got, err := s.GetPasswordReset(ctx, r.ID)
	if err != nil || got.TokenHash != r.TokenHash || got.UserID != u.ID || got.UsedAt != nil || !got.ExpiresAt.Equal(r.ExpiresAt) {
		t.Fatalf("reset = %+v, %v", got, err)
	}
	used := epoch.Add(time.Minute)
	r.UsedAt = &used
	tx(t, s, func(tx store.Tx) error { return tx.UpdatePasswordReset(ctx, r) })
	got, _ = s.GetPasswordReset(ctx, r.ID)
	if got.UsedAt == nil || !got.UsedAt.Equal(used) {
		t.Fatalf("after use: %+v", got)
	}
	_, err = s.GetPasswordReset(ctx, core.NewID())
	wantCode(t, err, core.CodeNotFound)

	fresh := core.PasswordReset{ID: core.NewID(), UserID: u.ID, TokenHash: core.HashSecret("reset-2"),
		ExpiresAt: epoch.Add(time.Hour), CreatedAt: epoch}
	tx(t, s, func(tx store.Tx) error { return tx.CreatePasswordReset(ctx, fresh) })
	wantCode(t, s.InTx(ctx, func(tx store.Tx) error { return tx.ConsumePasswordReset(ctx, fresh.ID, epoch.Add(2*time.Hour)) }), core.CodeConflict)
	tx(t, s, func(tx store.Tx) error { return tx.ConsumePasswordReset(ctx, fresh.ID, epoch.Add(time.Minute)) })
	wantCode(t, s.InTx(ctx, func(tx store.Tx) error { return tx.ConsumePasswordReset(ctx, fresh.ID, epoch.Add(time.Minute)) }), core.CodeConflict)
}

func testRevokeSessionsAndResets(t *testing.T, s store.Store) {
	a, b, keep := newUser(t, s, userWith("a@example.com")), newUser(t, s, userWith("b@example.com")), newUser(t, s, userWith("keep@example.com"))
	at := epoch.Add(10 * time.Minute)
	used := epoch.Add(time.Minute)
	var sessions []core.Session
	resets := map[string]core.PasswordReset{}
	tx(t, s, func(tx store.Tx) error {
		for i, u := range []core.User{a, b, keep} {
			sess := core.Session{ID: core.NewID(), Hash: core.HashSecret(fmt.Sprint("revoke-tok", i)), UserID: u.ID, CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)}
			if err := tx.CreateSession(ctx, sess); err != nil {
				return err
			}
			sessions = append(sessions, sess)
			for _, kind := range []string{"open", "used", "expired"} {
				r := core.PasswordReset{ID: core.NewID(), UserID: u.ID, TokenHash: core.HashSecret(u.ID + kind),
					ExpiresAt: epoch.Add(time.Hour), CreatedAt: epoch}
				switch kind {
				case "used":
					r.UsedAt = &used
				case "expired":
					r.ExpiresAt = epoch.Add(5 * time.Minute)
				}
				if err := tx.CreatePasswordReset(ctx, r); err != nil {
					return err
				}
				resets[u.ID+" "+kind] = r
			}
		}
		return nil
	})
	tx(t, s, func(tx store.Tx) error { return tx.RevokeSessionsAndResets(ctx, []string{a.ID, b.ID}, at) })
	tx(t, s, func(tx store.Tx) error { return tx.RevokeSessionsAndResets(ctx, nil, at) })

	for i, sess := range sessions {
		_, err := s.GetSession(ctx, sess.ID)
		if i < 2 {
			wantCode(t, err, core.CodeNotFound)
		} else if err != nil {
			t.Fatalf("another user's session: %v", err)
		}
	}
	for key, want := range resets {
		got, err := s.GetPasswordReset(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(key, keep.ID) || !strings.HasSuffix(key, " open") {
			if !got.ExpiresAt.Equal(want.ExpiresAt) || (got.UsedAt == nil) != (want.UsedAt == nil) {
				t.Fatalf("%s changed: %+v", key, got)
			}
		} else if !got.ExpiresAt.Equal(at) || got.UsedAt != nil {
			t.Fatalf("%s = %+v, want expired at %v", key, got, at)
		}
	}
}
