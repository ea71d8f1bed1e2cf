package sqlstore

import (
	"context"
	"slices"
)

// writeBehind holds rows that the transactions of a group commit insert
// and that no statement has needed to see yet: the roles, memberships,
// credential and invitations of a user created in the group, and outbox
// emails. They are written together, a multi-row INSERT per table, just
// before the next statement that is not a new user's own and before the
// commit: a group of creates runs the statements of each user's row (one,
// or two with a uniqueness check) and a few for the whole group, instead
// of five or more per user, each a round trip on PostgreSQL. Every
// statement still sees every row written before it, so a transaction
// reads what it and those before it in the group wrote, as it would
// alone.
//
// A buffered row breaks a rule only when it is written; that error ends
// the group like any other, and its transactions run again one at a time,
// unbuffered, each told of its own clash.
type writeBehind struct {
	related
	invitations, outbox []any
	// once holds what was buffered for a new user, by kind and key: its
	// provider roles, a membership, its credential. A second write of one
	// replaces the first, which an INSERT cannot do, so it goes the
	// unbuffered way, after the buffer is written.
	once map[string]bool
	// err is the first failed write: once one failed, the group cannot
	// commit, whatever its transactions go on to do.
	err error
}

func (w *writeBehind) empty() bool {
	return len(w.providerRoles)+len(w.memberships)+len(w.memberRoles)+len(w.credentials)+
		len(w.invitations)+len(w.outbox) == 0
}

// flushPending writes the buffered rows, if any. A failure is kept: the
// group commit must not commit after it.
func (q *queries) flushPending(ctx context.Context) error {
	w := q.pending
	if w == nil {
		return nil
	}
	if w.err != nil || w.empty() {
		return w.err
	}
	defer q.holdPending()() // the writes below go straight through
	err := q.insertRelated(ctx, w.related, false)
	if err == nil {
		err = q.insertRows(ctx, "invitations", invitationInsertColumns, invitationInsertWidth, w.invitations, "", "", nil)
	}
	if err == nil {
		err = q.insertRows(ctx, "outbox", outboxInsertColumns, outboxInsertWidth, w.outbox, "", "", nil)
	}
	w.related = related{
		providerRoles: w.providerRoles[:0], memberships: w.memberships[:0],
		memberRoles: w.memberRoles[:0], credentials: w.credentials[:0],
	}
	w.invitations, w.outbox = w.invitations[:0], w.outbox[:0]
	w.err = err
	return err
}

// holdPending lets the statements of a new user's own row run before the
// buffered rows are written: they read and write users alone, which no
// buffered row is in. The returned function ends the hold.
func (q *queries) holdPending() func() {
	w := q.pending
	q.pending = nil
	return func() { q.pending = w }
}

// newUserBuffer returns the buffer for rows of userID, or nil: outside a
// group commit, and for a user the group did not create. A new user's row
// is written at once, before anything buffered for it, so every buffered
// row meets its foreign keys as it would written at once; an existing
// user's row must not be what lets a buffered row pass, since nothing then
// orders the two.
func (q *queries) newUserBuffer(userID string) *writeBehind {
	if w := q.pending; w != nil && slices.Contains(q.created, userID) {
		return w
	}
	return nil
}

// bufferFor returns the buffer to add the first write of something of a
// new user to (what names it, such as "roles", "credential" or a tenant's
// membership), or nil: where newUserBuffer gives none, and for a second
// write of the same thing.
func (q *queries) bufferFor(userID, what string) *writeBehind {
	w := q.newUserBuffer(userID)
	if w == nil {
		return nil
	}
	key := userID + " " + what
	if w.once[key] {
		return nil
	}
	if w.once == nil {
		w.once = map[string]bool{}
	}
	w.once[key] = true
	return w
}
