package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/internal/core"
)

// In a group commit, the invitations of users the group created and
// emails wait in memory until a statement could see them: one INSERT per
// table then writes them all.
// A row that breaks a rule fails the write, and the failure stays, so
// that the group cannot commit.
func TestWriteBehindWaitsForAReader(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "behind.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	schema := []string{
		`CREATE TABLE invitations (` + invitationInsertColumns + `, PRIMARY KEY (id))`,
		`CREATE TABLE outbox (` + outboxInsertColumns + `)`,
	}
	for _, stmt := range schema {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	unique := func(err error) (string, bool) { return "", strings.Contains(err.Error(), "UNIQUE constraint failed") }
	d := &Dialect{Name: "sqlite", UniqueViolation: unique,
		EncodeTime: func(t time.Time) any { return t.UnixMicro() }}
	// u1 and u2 stand for users the group created.
	q := &queries{db: tx, tx: tx, d: d, grouped: true, pending: &writeBehind{}, created: []string{"u1", "u2"}}
	count := func(table string) int {
		var n int
		// Straight on the transaction, past the buffer.
		if err := tx.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	now := time.Now()
	invs := []core.Invitation{{ID: core.NewID(), UserID: "u1", Email: "a@x", TokenHash: "h1", State: "pending", ExpiresAt: now, CreatedAt: now},
		{ID: core.NewID(), UserID: "u2", TenantID: "t1", Email: "b@x", TokenHash: "h2", State: "pending", ExpiresAt: now, CreatedAt: now}}
	for _, inv := range invs {
		if err := q.CreateInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.EnqueueOutbox(ctx, core.OutboxMessage{ID: core.NewID(), Kind: "invitation", Recipient: "a@x", CreatedAt: now,
		NextAttemptAt: now}); err != nil {
		t.Fatal(err)
	}
	if n := count("invitations") + count("outbox"); n != 0 {
		t.Fatalf("%d rows written before anything read them", n)
	}
	got, err := q.GetInvitation(ctx, invs[1].ID)
	if err != nil || got.TenantID != "t1" || got.Email != "b@x" {
		t.Fatalf("read after the buffered writes: %+v, %v", got, err)
	}
	if count("invitations") != 2 || count("outbox") != 1 || !q.pending.empty() {
		t.Fatalf("after a read: %d invitations, %d emails, buffer empty %v", count("invitations"), count("outbox"), q.pending.empty())
	}

	// An invitation of a user the group did not create is written at once:
	// nothing written later without the buffer may be what its foreign
	// key needs.
	if err := q.CreateInvitation(ctx, core.Invitation{ID: core.NewID(), UserID: "u0", Email: "c@x", TokenHash: "h0",
		State: "pending", ExpiresAt: now, CreatedAt: now}); err != nil || count("invitations") != 3 {
		t.Fatalf("an existing user's invitation: %v, %d invitations", err, count("invitations"))
	}

	// The same id again: the buffered write fails when it is written,
	// and every later attempt says so.
	if err := q.CreateInvitation(ctx, invs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := q.exec(ctx, `SELECT 1`); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("a statement after a clashing buffered row: %v, want the clash", err)
	}
	if err := q.flushPending(ctx); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("the group's last write: %v, want the clash kept", err)
	}
}
