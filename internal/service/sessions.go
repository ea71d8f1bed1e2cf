package service

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"roster/internal/core"
	"roster/internal/password"
	"roster/internal/store"
)

// LoginInput identifies a person by email or username, with a password.
type LoginInput struct {
	Login    string // an email or a username
	Password string
	// ClientAddr is the caller's address, throttled on its own.
	ClientAddr string
}

// accountKey, loginKey and addrKey name the throttles of an account, of a
// login that names no account, and of an address. An account has one
// throttle whichever of its email or username is typed; an unknown login
// is throttled by what was typed, in the same way, so that the answers
// tell nothing.
func accountKey(userID string) string { return "user:" + userID }
func loginKey(login string) string    { return "acct:" + core.Fold(login) }
func addrKey(addr string) string      { return "ip:" + core.ClientNetwork(addr) }

// loginAttempt counts an attempt at an account as a failure before its
// password is checked, and refuses it while the account or the address
// (keys[1:]) is locked out. The count comes first and takes the account's
// throttle row, so that attempts made at once, on one node or several,
// meet one after another: each sees the lockout the one before it set,
// where a check made before any of them had failed would let them all
// through. A refused attempt is not counted; a right password clears the
// account. The address counts failures only, after the
// verdict (addressFailed): it is shared by everyone behind one proxy, whose
// logins in flight at once must not lock it out.
func (s *Service) loginAttempt(ctx context.Context, keys []string) error {
	now := s.now()
	return s.inTx(ctx, func(tx store.Tx) error {
		n, err := tx.AddLoginFailure(ctx, keys[0], now, now.Add(-s.cfg.LoginWindow))
		if err != nil {
			return err
		}
		throttles, err := tx.LoginThrottles(ctx, keys)
		if err != nil {
			return err
		}
		wait := time.Duration(0)
		for _, t := range throttles {
			if t.BlockedUntil != nil && t.BlockedUntil.After(now) {
				wait = max(wait, t.BlockedUntil.Sub(now))
			}
		}
		if wait > 0 {
			secs := int((wait + time.Second - 1) / time.Second)
			return &core.Error{Code: core.CodeRateLimited, RetryAfter: secs,
				Message: "too many failed logins; try again in " + (time.Duration(secs) * time.Second).String()}
		}
		return s.lockOut(ctx, tx, keys[0], n, now)
	})
}

// lockOut locks key out once it has more failures than its free ones, for
// a time that doubles with every further failure.
func (s *Service) lockOut(ctx context.Context, tx store.Tx, key string, failures int, now time.Time) error {
	free := s.cfg.LoginFreeFailures
	if strings.HasPrefix(key, "ip:") {
		free = s.cfg.LoginFreeFailuresIP
	}
	if failures <= free {
		return nil
	}
	lock := s.cfg.LoginMaxLockout
	if shift := failures - free - 1; shift < 20 {
		lock = min(time.Second<<shift, s.cfg.LoginMaxLockout)
	}
	return tx.SetLoginBlock(ctx, key, now.Add(lock))
}

// addressFailed counts a wrong password against the addresses it came
// from (the account's count was taken before the check).
func (s *Service) addressFailed(ctx context.Context, keys []string) {
	if len(keys) < 2 {
		return
	}
	now := s.now()
	ctx = context.WithoutCancel(ctx)
	err := s.inTx(ctx, func(tx store.Tx) error {
		for _, key := range keys[1:] {
			n, err := tx.AddLoginFailure(ctx, key, now, now.Add(-s.cfg.LoginWindow))
			if err != nil {
				return err
			}
			if err := s.lockOut(ctx, tx, key, n, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "recording a failed login failed", "error", err)
	}
}

// forgiveAttempt takes back the account's count of an attempt that ended
// without a verdict, and the lockout that count started, if it did.
func (s *Service) forgiveAttempt(ctx context.Context, keys []string) {
	ctx = context.WithoutCancel(ctx)
	now := s.now()
	err := s.inTx(ctx, func(tx store.Tx) error {
		if err := tx.ForgiveLoginFailure(ctx, keys[0]); err != nil {
			return err
		}
		throttles, err := tx.LoginThrottles(ctx, keys[:1])
		if err != nil || len(throttles) == 0 || throttles[0].Failures > s.cfg.LoginFreeFailures || throttles[0].BlockedUntil == nil {
			return err
		}
		return tx.SetLoginBlock(ctx, keys[0], now) // over at once
	})
	if err != nil {
		s.log.WarnContext(ctx, "taking back a login attempt's count failed", "error", err)
	}
}

// Login checks a password and opens a session. An unknown login and a wrong
// password get the same error after the same work, so that answers do not
// tell which accounts exist.
func (s *Service) Login(ctx context.Context, in LoginInput) (core.Session, string, error) {
	fail := &core.Error{Code: core.CodeUnauthenticated, Message: "the login or the password is wrong"}
	login := strings.TrimSpace(in.Login)
	if login == "" || in.Password == "" || len(in.Password) > 1024 || !searchable(login) {
		return core.Session{}, "", fail // no account has such a login
	}
	ref := core.UserRef{Username: login}
	if strings.Contains(login, "@") {
		ref = core.UserRef{Email: login}
	}
	u, err := s.store.GetUser(ctx, ref)
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return core.Session{}, "", err
	}
	if err != nil && ref.Email != "" {
		// An email-shaped username.
		u, err = s.store.GetUser(ctx, core.UserRef{Username: login})
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return core.Session{}, "", err
		}
	}
	found := err == nil
	keys := []string{loginKey(login)}
	if found {
		keys[0] = accountKey(u.ID)
	}
	if in.ClientAddr != "" {
		keys = append(keys, addrKey(in.ClientAddr))
	}
	if err := s.loginAttempt(ctx, keys); err != nil {
		return core.Session{}, "", err
	}
	// An attempt that ends without a verdict on its password (a database
	// error, an overloaded pool, the client gone) is not a failure.
	undecided := func(err error) (core.Session, string, error) {
		s.forgiveAttempt(ctx, keys)
		return core.Session{}, "", err
	}
	failed := func() (core.Session, string, error) {
		s.addressFailed(ctx, keys) // the account's count was taken already
		return core.Session{}, "", fail
	}
	// The password is checked outside the write transaction, against the
	// hash of that moment; the transaction finds out whether it is still
	// the user's. If not, it is checked once more against what is there
	// now: another login of the user may have replaced a stale hash with
	// its rehash (the same password), where a new password or a disable
	// must win.
	var (
		sess   core.Session
		token  string
		rehash string
	)
	for attempt := 1; ; attempt++ {
		hash := s.dummyHash()
		if found {
			if c, cerr := s.store.GetCredential(ctx, u.ID); cerr == nil {
				hash = c.Hash
			} else if core.ErrorCode(cerr) != core.CodeNotFound {
				return undecided(cerr)
			}
		}
		ok, verr := s.pool.Verify(ctx, hash, in.Password)
		if verr != nil {
			if ce := core.AsError(verr); ce.Code == core.CodeOverloaded || ctx.Err() != nil {
				return undecided(verr)
			}
			s.log.WarnContext(ctx, "stored password hash cannot be verified", "user_id", u.ID, "error", verr)
			ok = false
		}
		// A hash imported in another format, or made with older
		// parameters, costs more or less than a current one.
		stale := s.pool.NeedsRehash(hash)
		if !found || !ok || u.Status != core.UserActive {
			if stale {
				// A failure pays for a current hash too, as an unknown
				// login does, so that its time does not tell that the
				// account exists (a right password pays for the rehash).
				_, _ = s.pool.Verify(ctx, s.dummyHash(), in.Password)
			}
			return failed()
		}
		// The stale hash is replaced now that the password is known.
		rehash = ""
		if stale && password.SafeToRehash(hash, in.Password) {
			if rehash, err = s.pool.Hash(ctx, password.Interactive, in.Password); err != nil {
				s.log.WarnContext(ctx, "rehash on login failed", "user_id", u.ID, "error", err)
				rehash = ""
			}
		}
		now := s.now()
		token = core.NewSecret(SessionPrefix)
		sess = core.Session{ID: core.NewID(), Hash: core.HashSecret(token), UserID: u.ID, CreatedAt: now,
			ExpiresAt: now.Add(s.cfg.SessionTTL)}
		err = s.inTx(s.afterHash(ctx), func(tx store.Tx) error {
			cur, err := lockedUser(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			c, err := tx.GetCredential(ctx, u.ID)
			if core.ErrorCode(err) == core.CodeNotFound || (err == nil && c.Hash != hash) || cur.Status != core.UserActive {
				return errChangedMeanwhile
			}
			if err != nil {
				return err
			}
			if err := tx.CreateSession(ctx, sess); err != nil {
				return err
			}
			if rehash != "" {
				if err := tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: rehash, UpdatedAt: now}); err != nil {
					return err
				}
			}
			if err := tx.ClearLoginThrottle(ctx, keys[0]); err != nil { // a right password starts the account afresh
				return err
			}
			return tx.RecordLogin(ctx, u.ID, now)
		})
		if !errors.Is(err, errChangedMeanwhile) {
			break
		}
		if attempt == 2 {
			return failed()
		}
		if u, err = s.store.GetUser(ctx, core.UserRef{ID: u.ID}); err != nil {
			return undecided(err)
		}
	}
	if err != nil {
		return undecided(err)
	}
	s.log.InfoContext(ctx, "login", "user_id", u.ID, "session_id", sess.ID, "rehashed", rehash != "")
	return sess, token, nil
}

var (
	dummyOnce sync.Once
	dummy     string
)

// dummyHash is verified when no user matches, so that an unknown login
// costs what a wrong password costs.
func (s *Service) dummyHash() string {
	dummyOnce.Do(func() { dummy = password.HashArgon2id("no such user; this hash only spends time", s.pool.Params()) })
	return dummy
}

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, p *core.Principal) error {
	if p.Kind != core.PrincipalSession {
		return core.Errorf(core.CodeInvalid, "only a session can log out; revoke an API key instead")
	}
	return s.inTx(ctx, func(tx store.Tx) error { return tx.DeleteSession(ctx, p.CredentialID) })
}

// Me returns the principal's own user.
func (s *Service) Me(ctx context.Context, p *core.Principal) (core.User, error) {
	if p.UserID == "" {
		return core.User{}, core.Errorf(core.CodeNotFound, "this credential belongs to no user")
	}
	// A key limited to a tenant or to roles is shown what it acts in.
	return showTo(p)(s.store.GetUser(ctx, core.UserRef{ID: p.UserID}))
}

// Elevate grants the principal's credential elevated permissions for the
// configured time (ECE's _elevate). Only provider administrators need it.
func (s *Service) Elevate(ctx context.Context, p *core.Principal) (time.Time, error) {
	if !isProviderAdmin(p) {
		return time.Time{}, forbidden("only provider administrators can elevate their permissions")
	}
	until := s.now().Add(s.cfg.ElevationTTL)
	return until, s.setElevation(ctx, p, &until)
}

// Deelevate ends an elevation early.
func (s *Service) Deelevate(ctx context.Context, p *core.Principal) error {
	return s.setElevation(ctx, p, nil)
}

func (s *Service) setElevation(ctx context.Context, p *core.Principal, until *time.Time) error {
	return s.inTx(ctx, func(tx store.Tx) error {
		switch p.Kind {
		case core.PrincipalSession:
			return tx.SetSessionElevation(ctx, p.CredentialID, until)
		case core.PrincipalAPIKey:
			return tx.SetAPIKeyElevation(ctx, p.CredentialID, until)
		}
		return forbidden("this credential cannot be elevated")
	})
}

// RefreshSession extends the principal's session by the full session
// lifetime from now (ECE's _refresh), but never past SessionMaxAge after
// its login, so that a token refreshed by a program every minute still
// ends; it returns the new expiry. The token stays the same; an elevation
// keeps its own expiry.
func (s *Service) RefreshSession(ctx context.Context, p *core.Principal) (time.Time, error) {
	if p.Kind != core.PrincipalSession {
		return time.Time{}, core.Errorf(core.CodeInvalid, "only a login session can be refreshed; API keys do not expire by session")
	}
	var until time.Time
	err := s.inTx(ctx, func(tx store.Tx) error {
		sess, err := tx.GetSession(ctx, p.CredentialID)
		if core.ErrorCode(err) == core.CodeNotFound {
			return errUnauthenticated // ended meanwhile
		}
		if err != nil {
			return err
		}
		until = s.now().Add(s.cfg.SessionTTL)
		if limit := sess.CreatedAt.Add(s.cfg.SessionMaxAge); until.After(limit) {
			until = limit
		}
		if !until.After(sess.ExpiresAt) {
			until = sess.ExpiresAt // at its limit already: left as it is
			return nil
		}
		err = tx.ExtendSession(ctx, p.CredentialID, until)
		if core.ErrorCode(err) == core.CodeNotFound {
			return errUnauthenticated // ended meanwhile
		}
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	return until, nil
}
