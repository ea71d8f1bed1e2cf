package service

import (
	"context"
	"fmt"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

// StoredAnswer is the first answer to a request made with an
// Idempotency-Key, replayed to every retry.
type StoredAnswer struct {
	Status      int
	ContentType string
	Body        []byte
	// Header holds the headers a replay repeats: the Location of what was
	// made, and Vary.
	Header map[string][]string
	// Withheld is set for an answer that held a secret (a new API key, a
	// token): it is recorded as given, without its body, and a retry is
	// told so instead of being sent the secret again.
	Withheld bool
}

// checkIdempotencyKey accepts 1–255 printable ASCII characters.
func checkIdempotencyKey(key string) error {
	if len(key) == 0 || len(key) > 255 {
		return core.FieldInvalid("Idempotency-Key", "invalid", "must be 1 to 255 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return core.FieldInvalid("Idempotency-Key", "invalid", "must be printable ASCII without spaces")
		}
	}
	return nil
}

// idempotencyScope keeps each credential's keys apart: a user's keys limited
// to some roles must not be answered with what another of the user's
// credentials was allowed to do.
func idempotencyScope(p *core.Principal) string {
	if p.CredentialID != "" {
		return "credential:" + p.CredentialID
	}
	return p.Actor()
}

// BeginIdempotent reserves key for the principal's request, identified by
// requestHash (a digest of method, path and body). It returns the stored
// answer when the same request has been answered before; the same key with
// another request is refused, and a first request still running answers
// "pending". Records live in the database, so every roster node sees them.
func (s *Service) BeginIdempotent(ctx context.Context, p *core.Principal, key, requestHash string) (*StoredAnswer, error) {
	if err := checkIdempotencyKey(key); err != nil {
		return nil, err
	}
	now := s.now()
	var answer *StoredAnswer
	err := s.inTx(ctx, func(tx store.Tx) error {
		answer = nil // this may run again after a rollback
		rec, err := tx.GetIdempotency(ctx, idempotencyScope(p), key)
		switch {
		case core.ErrorCode(err) == core.CodeNotFound:
		case err != nil:
			return err
		case now.After(rec.ExpiresAt):
			if err := tx.DeleteIdempotency(ctx, rec.Scope, rec.Key); err != nil {
				return err
			}
		case rec.RequestHash != requestHash:
			return &core.Error{Code: core.CodeIdempotencyMismatch,
				Message: "this Idempotency-Key was used with a different request"}
		case rec.Done && rec.Withheld:
			return &core.Error{Code: core.CodeIdempotencyWithheld, Message: fmt.Sprintf("the first request with this Idempotency-Key "+
				"was answered with status %d; that answer held a secret, which is shown only once and was not kept", rec.Status)}
		case rec.Done:
			answer = &StoredAnswer{Status: rec.Status, ContentType: rec.ContentType, Body: rec.Body, Header: rec.Header}
			return nil
		case now.Sub(rec.CreatedAt) < s.cfg.IdempotencyPendingTimeout:
			return &core.Error{Code: core.CodeIdempotencyPending, RetryAfter: 1,
				Message: "the first request with this Idempotency-Key is still being processed"}
		default:
			// The first attempt died without an answer; this one takes over.
			if err := tx.DeleteIdempotency(ctx, rec.Scope, rec.Key); err != nil {
				return err
			}
		}
		return tx.CreateIdempotency(ctx, store.IdempotencyRecord{Scope: idempotencyScope(p), Key: key,
			RequestHash: requestHash, CreatedAt: now, ExpiresAt: now.Add(s.cfg.IdempotencyTTL)})
	})
	if core.ErrorCode(err) == core.CodeConflict {
		// Another node reserved the key between our read and our insert.
		return nil, &core.Error{Code: core.CodeIdempotencyPending, RetryAfter: 1,
			Message: "the first request with this Idempotency-Key is still being processed"}
	}
	return answer, err
}

// FinishIdempotent stores the answer to a reserved request.
func (s *Service) FinishIdempotent(ctx context.Context, p *core.Principal, key string, a StoredAnswer) error {
	rec := store.IdempotencyRecord{Scope: idempotencyScope(p), Key: key, Status: a.Status, Withheld: a.Withheld,
		ExpiresAt: s.now().Add(s.cfg.IdempotencyTTL)}
	if !a.Withheld {
		rec.ContentType, rec.Body, rec.Header = a.ContentType, a.Body, a.Header
	}
	return s.inTx(ctx, func(tx store.Tx) error { return tx.CompleteIdempotency(ctx, rec) })
}

// AbandonIdempotent releases a reservation whose request failed in a way
// that is worth retrying (a server error), so the retry runs again.
func (s *Service) AbandonIdempotent(ctx context.Context, p *core.Principal, key string) error {
	return s.inTx(ctx, func(tx store.Tx) error { return tx.DeleteIdempotency(ctx, idempotencyScope(p), key) })
}

// Janitor removes expired records until ctx ends.
func (s *Service) Janitor(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			var n int
			err := s.inTx(ctx, func(tx store.Tx) error {
				var err error
				n, err = tx.DeleteExpiredIdempotency(ctx, s.now())
				return err
			})
			if err != nil && ctx.Err() == nil {
				s.log.Warn("janitor failed", "error", err)
			} else if n > 0 {
				s.log.Debug("janitor removed expired idempotency records", "count", n)
			}
		}
	}
}
