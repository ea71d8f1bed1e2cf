package service

import (
	"context"
	"strings"

	"roster/internal/core"
	"roster/internal/store"
)

// BootstrapUsername is the built-in provider administrator.
const BootstrapUsername = "admin"

// MinBootstrapKeyLength is the shortest key an operator may choose.
const MinBootstrapKeyLength = 32

// BootstrapResult says what Bootstrap did.
type BootstrapResult struct {
	CreatedProvider bool
	// GeneratedKey is a new random key for the admin user, to be shown to
	// the operator once; empty when none was generated.
	GeneratedKey string
	// UsedOperatorKey reports that the operator's chosen key was installed.
	UsedOperatorKey bool
}

// Bootstrap prepares an empty database: the provider, the built-in admin
// user (provider-admin, username admin) and one API key owned by it. The key
// is operatorKey when given (at least 32 characters), else a random one.
// On a database that has a provider, it only installs operatorKey, and only
// while no API key exists at all. It is safe to run on every start, on every
// node.
func (s *Service) Bootstrap(ctx context.Context, operatorKey string) (BootstrapResult, error) {
	var res BootstrapResult
	// As a request's credential is read: white space around it (a file's
	// last newline) is not part of it.
	operatorKey = strings.TrimSpace(operatorKey)
	if operatorKey != "" && len(operatorKey) < MinBootstrapKeyLength {
		return res, core.Errorf(core.CodeInvalid, "the bootstrap API key must be at least %d characters", MinBootstrapKeyLength)
	}
	var err error
	// Nodes starting together race to bootstrap; the loser retries and
	// finds the winner's provider.
	for attempt := 0; attempt < 3; attempt++ {
		if res, err = s.bootstrapOnce(ctx, operatorKey); core.ErrorCode(err) != core.CodeConflict {
			break
		}
	}
	return res, err
}

// checkOperatorKey refuses to install a chosen key that could never
// authenticate: one too long, holding anything but visible ASCII (it goes
// in a header), or starting as session tokens do. A key installed before
// is not checked again: once keys exist, the variable is ignored.
func checkOperatorKey(key string) error {
	switch {
	case len(key) > maxSecretLength:
		return core.Errorf(core.CodeInvalid, "the bootstrap API key must be at most %d characters", maxSecretLength)
	case strings.IndexFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0:
		return core.Errorf(core.CodeInvalid, "the bootstrap API key must be visible ASCII characters, without spaces")
	case strings.HasPrefix(key, SessionPrefix):
		return core.Errorf(core.CodeInvalid, "the bootstrap API key must not start with %q, which marks session tokens", SessionPrefix)
	}
	return nil
}

func (s *Service) bootstrapOnce(ctx context.Context, operatorKey string) (BootstrapResult, error) {
	var res BootstrapResult
	now := s.now()
	err := s.inTx(ctx, func(tx store.Tx) error {
		_, err := tx.GetProvider(ctx)
		switch core.ErrorCode(err) {
		case "":
		case core.CodeNotFound:
			if err := tx.CreateProvider(ctx, core.Provider{ID: core.NewID(), Name: s.cfg.ProviderName, CreatedAt: now}); err != nil {
				return err
			}
			admin := core.User{ID: core.NewID(), Username: BootstrapUsername, Name: "Administrator", Lang: core.Languages[0],
				Type: core.UserTypeReseller, Status: core.UserActive, AuthTypes: []string{"password"},
				SecurityRealm: "native", Builtin: true, CreatedAt: now, UpdatedAt: now,
				CreatedBy: core.System.Actor(), UpdatedBy: core.System.Actor()}
			if err := tx.CreateUser(ctx, &admin); err != nil {
				return err
			}
			if err := tx.SetProviderRoles(ctx, admin.ID, []string{core.RoleProviderAdmin}); err != nil {
				return err
			}
			res.CreatedProvider = true
		default:
			return err
		}
		n, err := tx.CountAPIKeys(ctx)
		if err != nil || n > 0 {
			return err
		}
		admin, err := tx.GetUser(ctx, core.UserRef{Username: BootstrapUsername})
		if err != nil {
			return err
		}
		secret := operatorKey
		if secret == "" {
			if !res.CreatedProvider {
				// Keys were all deleted by hand; do not mint one silently.
				return nil
			}
			secret = core.NewSecret(APIKeyPrefix)
			res.GeneratedKey = secret
		} else {
			if err := checkOperatorKey(secret); err != nil {
				return err
			}
			res.UsedOperatorKey = true
		}
		prefix := secret[:min(len(secret), len(APIKeyPrefix)+6)]
		return tx.CreateAPIKey(ctx, core.APIKey{ID: core.NewID(), Name: "bootstrap", Prefix: prefix,
			Hash: core.HashSecret(secret), UserID: admin.ID, Roles: []string{core.RoleProviderAdmin},
			CreatedAt: now, CreatedBy: core.System.Actor()})
	})
	if err != nil {
		return BootstrapResult{}, err
	}
	return res, nil
}
