package service

import (
	"context"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/mail"
	"roster/internal/password"
	"roster/internal/store"
)

// InvitationView is what the invitation page shows. Looking at an
// invitation never consumes it: mail scanners fetch links too.
type InvitationView struct {
	Invitation  core.Invitation
	Status      core.InvitationStatus
	User        core.User
	TenantName  string
	OrgName     string
	InviterName string
	// Locked is true when too many failed attempts stopped the invitation.
	Locked bool
	// PasswordPolicies name the policies the chosen password must meet
	// (password.PolicyNIST, password.PolicyComplex): the invitation's
	// tenant's and those of any other tenant the user is in, so that the
	// page can say the rule before the person types.
	PasswordPolicies []string
}

func invalidInvitation(msg string) *core.Error {
	return &core.Error{Code: core.CodeInvitationInvalid, Message: msg}
}

// ViewInvitation describes the invitation behind a token.
func (s *Service) ViewInvitation(ctx context.Context, token string) (InvitationView, error) {
	id, secret, ok := core.SplitToken(token)
	if !ok {
		return InvitationView{}, invalidInvitation("this invitation link is not valid")
	}
	inv, err := s.store.GetInvitation(ctx, id)
	if err != nil {
		if core.ErrorCode(err) == core.CodeNotFound {
			return InvitationView{}, invalidInvitation("this invitation link is not valid")
		}
		return InvitationView{}, err
	}
	if !core.TokenMatches(secret, inv.TokenHash) {
		return InvitationView{}, invalidInvitation("this invitation link is not valid")
	}
	v := InvitationView{Invitation: inv, Status: inv.Status(s.now()), Locked: inv.FailedAttempts >= s.cfg.InviteMaxFailures}
	if v.User, err = s.store.GetUser(ctx, core.UserRef{ID: inv.UserID}); err != nil {
		return InvitationView{}, err
	}
	prov, err := s.providerInfo(ctx, s.store)
	if err != nil {
		return InvitationView{}, err
	}
	v.OrgName = prov.Name
	tenants := map[string]*core.Tenant{} // the invitation's, read once
	if inv.TenantID != "" {
		t, err := s.store.GetTenant(ctx, core.TenantRef{ID: inv.TenantID})
		if err != nil {
			return InvitationView{}, err
		}
		v.TenantName, v.OrgName = t.Name, t.Name
		tenants[t.ID] = &t
	}
	if v.PasswordPolicies, err = s.userPolicies(ctx, v.User, inv.TenantID, tenants); err != nil {
		return InvitationView{}, err
	}
	v.InviterName = v.OrgName
	if core.ValidID(inv.InvitedBy) {
		if inviter, err := s.store.GetUser(ctx, core.UserRef{ID: inv.InvitedBy}); err == nil {
			v.InviterName = inviter.DisplayName()
		}
	}
	if v.Status == core.InvitationPending && (v.Locked || v.User.Status != core.UserInvited || tenantDeleted(tenants[inv.TenantID])) {
		// A user disabled or deleted meanwhile cannot accept, nor anyone
		// join a deleted tenant (whose deletion revoked the invitations it
		// found: one made by a create that read the tenant before the
		// deletion and committed after it is refused here).
		v.Status = core.InvitationRevoked
	}
	return v, nil
}

func tenantDeleted(t *core.Tenant) bool { return t != nil && t.Status == core.TenantDeleted }

// AcceptInput is what the invited person chooses.
type AcceptInput struct {
	Name     string
	Password string
}

// AcceptInvitation activates the invited user with a name and a password,
// marks the email confirmed (the link proved it), consumes the token and
// opens a session. Failed attempts count against the invitation; past the
// limit it stops working, and the user stays as it is, invited.
func (s *Service) AcceptInvitation(ctx context.Context, token string, in AcceptInput) (core.User, core.Session, string, error) {
	v, err := s.ViewInvitation(ctx, token)
	if err != nil {
		return core.User{}, core.Session{}, "", err
	}
	if v.Status != core.InvitationPending {
		return core.User{}, core.Session{}, "", invalidInvitation("this invitation is " + string(v.Status))
	}
	u := v.User
	name := strings.TrimSpace(in.Name)
	val := &core.Validation{}
	if name == "" {
		val.Add("name", "required", "is required")
	}
	checkText(val, "name", name, maxName)
	s.checkPasswordPolicies(val, "password", in.Password, v.PasswordPolicies, u.Email, u.Username)
	if err := val.Err(); err != nil {
		s.countInvitationFailure(ctx, v.Invitation)
		return core.User{}, core.Session{}, "", err
	}
	hash, err := s.pool.Hash(ctx, password.Interactive, in.Password)
	if err != nil {
		return core.User{}, core.Session{}, "", err
	}
	now := s.now()
	sessToken := core.NewSecret(SessionPrefix)
	sess := core.Session{ID: core.NewID(), Hash: core.HashSecret(sessToken), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL)}
	err = s.inTx(s.afterHash(ctx), func(tx store.Tx) error {
		// The user first, then the invitation, as a resend, an email
		// change and a deletion take them: no two of them wait for each
		// other (PostgreSQL, several nodes).
		cur, err := lockedUser(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if err := tx.ConsumeInvitation(ctx, v.Invitation.ID, now); err != nil {
			if core.ErrorCode(err) == core.CodeConflict {
				return invalidInvitation("this invitation was already used")
			}
			return err
		}
		if cur.Status != core.UserInvited {
			return invalidInvitation("this invitation is no longer valid")
		}
		u = cur
		u.Name, u.Status, u.EmailConfirmed, u.HasPassword = name, core.UserActive, true, true
		u.FirstLoginAt, u.LastLoginAt, u.UpdatedAt, u.UpdatedBy = &now, &now, now, u.ID
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: hash, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.CreateSession(ctx, sess)
	})
	if err != nil {
		return core.User{}, core.Session{}, "", err
	}
	s.log.InfoContext(ctx, "invitation accepted", "user_id", u.ID, "invitation_id", v.Invitation.ID)
	return u, sess, sessToken, nil
}

// countInvitationFailure records a failed acceptance; the invitation stops
// working at the limit. Errors here are logged, not returned: the person
// gets the validation problem either way.
func (s *Service) countInvitationFailure(ctx context.Context, inv core.Invitation) {
	err := s.inTx(ctx, func(tx store.Tx) error { return tx.AddInvitationFailure(ctx, inv.ID) })
	if err != nil {
		s.log.WarnContext(ctx, "counting a failed invitation attempt failed", "invitation_id", inv.ID, "error", err)
	}
}

// RequestPasswordReset emails a reset link to the account with this email,
// if there is one that is active; at most a few emails per account and
// hour are sent. Only the email's form is checked on the request path: the
// rest happens after the answer, so that the answer is the same, and takes
// as long, whether or not the account exists.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	v := &core.Validation{}
	checkEmail(v, "email", strings.TrimSpace(email), true)
	if err := v.Err(); err != nil {
		return err
	}
	select {
	case s.resetSlots <- struct{}{}:
	default:
		s.log.WarnContext(ctx, "password reset requests arrive faster than they are handled; one was dropped")
		return nil
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		defer func() { <-s.resetSlots }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.sendPasswordReset(ctx, email); err != nil {
			s.log.WarnContext(ctx, "handling a password reset request failed", "error", err)
		}
	}()
	return nil
}

// sendPasswordReset makes and emails a reset link, as RequestPasswordReset
// describes, or nothing for an email of no active account.
func (s *Service) sendPasswordReset(ctx context.Context, email string) error {
	u, err := s.store.GetUser(ctx, core.UserRef{Email: email})
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if u.Status != core.UserActive {
		return nil
	}
	now := s.now()
	resetID := core.NewID()
	token, hash := core.NewToken(resetID)
	reset := core.PasswordReset{ID: resetID, UserID: u.ID, TokenHash: hash,
		ExpiresAt: now.Add(s.cfg.ResetTTL), CreatedAt: now}
	sent := false
	err = s.inTx(ctx, func(tx store.Tx) error {
		sent = false // this may run again after a rollback
		// The user as it is now, held until the link is written: an email
		// change or a disable committed since the lookup revokes the links
		// it finds, and would not find this one. The mail goes to the
		// address asked for only while it is still the account's.
		cur, err := lockedUser(ctx, tx, u.ID)
		if core.ErrorCode(err) == core.CodeNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Status != core.UserActive || core.NormalizeEmail(cur.Email) != core.NormalizeEmail(email) {
			return nil
		}
		u = cur
		n, err := tx.AddLoginFailure(ctx, "reset:"+u.ID, now, now.Add(-time.Hour))
		if err != nil || n > 3 {
			return err
		}
		if err := tx.CreatePasswordReset(ctx, reset); err != nil {
			return err
		}
		prov, err := s.providerInfo(ctx, tx)
		if err != nil {
			return err
		}
		d := mail.Data{ProviderName: prov.Name, RecipientName: u.Name, Email: u.Email,
			Link: s.link("/reset/" + token), ExpiresAt: reset.ExpiresAt}
		if len(u.Memberships) == 1 {
			d.TenantName = u.Memberships[0].TenantName
		}
		m, err := s.outboxMessage(mail.KindPasswordReset, u.Lang, u.Email, d)
		if err != nil {
			return err
		}
		sent = true
		return tx.EnqueueOutbox(ctx, m)
	})
	if err != nil {
		return err
	}
	if sent {
		s.mailEnqueued()
		s.log.InfoContext(ctx, "password reset requested", "user_id", u.ID)
	}
	return nil
}

// PasswordResetView says whether a reset link still works.
type PasswordResetView struct {
	Valid bool
	// Reason is unknown, used or expired when not valid.
	Reason string
	Email  string
	// PasswordPolicies name the policies the new password must meet: one
	// per distinct policy of the user's tenants.
	PasswordPolicies []string
}

// ViewPasswordReset looks at a reset link without using it.
func (s *Service) ViewPasswordReset(ctx context.Context, token string) (PasswordResetView, error) {
	r, err := s.passwordReset(ctx, token)
	if core.ErrorCode(err) == core.CodeNotFound {
		return PasswordResetView{Reason: "unknown"}, nil
	}
	if err != nil {
		return PasswordResetView{}, err
	}
	u, err := s.store.GetUser(ctx, core.UserRef{ID: r.UserID})
	if err != nil {
		return PasswordResetView{}, err
	}
	switch {
	case r.UsedAt != nil:
		return PasswordResetView{Reason: "used", Email: u.Email}, nil
	case !s.now().Before(r.ExpiresAt), u.Status != core.UserActive:
		return PasswordResetView{Reason: "expired", Email: u.Email}, nil
	}
	policies, err := s.userPolicies(ctx, u, "", nil)
	if err != nil {
		return PasswordResetView{}, err
	}
	return PasswordResetView{Valid: true, Email: u.Email, PasswordPolicies: policies}, nil
}

// ResetPassword sets a new password through a reset link, once, and ends
// every session of the account and every other reset link sent to it.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string) (core.User, error) {
	view, err := s.ViewPasswordReset(ctx, token)
	if err != nil {
		return core.User{}, err
	}
	if !view.Valid {
		return core.User{}, invalidInvitation("this password reset link is " + view.Reason)
	}
	r, err := s.passwordReset(ctx, token)
	if err != nil {
		return core.User{}, err
	}
	u, err := s.store.GetUser(ctx, core.UserRef{ID: r.UserID})
	if err != nil {
		return core.User{}, err
	}
	v := &core.Validation{}
	s.checkPasswordPolicies(v, "password", newPassword, view.PasswordPolicies, u.Email, u.Username)
	if err := v.Err(); err != nil {
		return core.User{}, err
	}
	hash, err := s.pool.Hash(ctx, password.Interactive, newPassword)
	if err != nil {
		return core.User{}, err
	}
	err = s.inTx(s.afterHash(ctx), func(tx store.Tx) error {
		// The user first, as a login's write and an invitation's acceptance
		// take it: a login checking the old password on another node ends
		// before this, and its session is then among those revoked.
		cur, err := lockedUser(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if cur.Status != core.UserActive {
			return invalidInvitation("this password reset link is expired")
		}
		u = cur
		// The time is read under the user's lock: a change that ended the
		// link (a new email, a password set) expired it at its own time,
		// which a time read before the lock would come before.
		now := s.now()
		if err := tx.ConsumePasswordReset(ctx, r.ID, now); err != nil {
			if core.ErrorCode(err) == core.CodeConflict {
				return invalidInvitation("this password reset link was already used")
			}
			return err
		}
		if err := tx.PutCredential(ctx, core.Credential{UserID: u.ID, Hash: hash, UpdatedAt: now}); err != nil {
			return err
		}
		// Every session ends, and every other link sent before this one.
		if err := tx.RevokeSessionsAndResets(ctx, []string{u.ID}, now); err != nil {
			return err
		}
		return tx.ClearLoginThrottle(ctx, accountKey(u.ID))
	})
	if err != nil {
		return core.User{}, err
	}
	s.log.InfoContext(ctx, "password reset", "user_id", u.ID)
	return u, nil
}

// passwordReset finds the reset behind a token: not found unless the token
// is well formed and its secret matches.
func (s *Service) passwordReset(ctx context.Context, token string) (core.PasswordReset, error) {
	notFound := core.Errorf(core.CodeNotFound, "password reset not found")
	id, secret, ok := core.SplitToken(token)
	if !ok {
		return core.PasswordReset{}, notFound
	}
	r, err := s.store.GetPasswordReset(ctx, id)
	if err != nil {
		return r, err
	}
	if !core.TokenMatches(secret, r.TokenHash) {
		return core.PasswordReset{}, notFound
	}
	return r, nil
}
