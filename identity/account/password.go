package account

import (
	"context"
	"errors"
	"strings"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/store"
)

// RequestPasswordReset mails a reset code to the account with that email.
// An unknown address is not an error, so the answer does not tell which
// addresses have accounts here. With no mail server the code goes to the
// daemon's log: whoever can read the log owns the machine.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return fail(ErrInvalidRequest, "email is required")
	}
	var did string
	_ = s.DB.View(func(tx *store.Tx) error {
		if a, err := tx.AccountByEmail(email); err == nil {
			did = a.DID
		}
		return nil
	})
	if did == "" {
		s.Log.Info("password reset asked for an unknown address")
		return nil
	}
	var code, handle string
	err := s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		handle = a.Handle
		var err error
		code, err = s.issue(tx, a, PurposeResetPassword, a.Email)
		return err
	})
	if err == nil && !s.MailConfigured() {
		s.Log.Warn("password reset code (no mail server is configured, so it is logged here)",
			"handle", handle, "code", code, "valid_for", TokenTTL.String())
	}
	return err
}

// ResetPassword spends a reset code, sets the new password and ends every
// session of the account: refresh tokens are deleted and access tokens
// already out stop working.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	token = normalToken(token)
	if token == "" {
		return fail(ErrTokenRequired, "A reset token is required")
	}
	var did string
	err := s.DB.View(func(tx *store.Tx) error {
		t, err := tx.FindEmailToken(PurposeResetPassword, token)
		if err != nil {
			return err
		}
		did = t.DID
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return fail(ErrInvalidToken, "Token is invalid")
	} else if err != nil {
		return err
	}
	hash, err := s.cfg.HashPassword(password)
	if err != nil {
		return err
	}
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		if err := consume(tx, did, PurposeResetPassword, token, s.Now()); err != nil {
			return err
		}
		return s.setPassword(tx, a, hash)
	})
}

// ChangePassword sets a new password after checking the current one (the
// account page), and ends every other session.
func (s *Service) ChangePassword(ctx context.Context, did, current, next string) error {
	if err := checkPassword(next); err != nil {
		return err
	}
	a, err := s.Get(did)
	if err != nil {
		return err
	}
	if auth.CheckPassword(a.PasswordHash, current) != nil {
		return fail(ErrBadCredentials, "The current password is wrong")
	}
	hash, err := s.cfg.HashPassword(next)
	if err != nil {
		return err
	}
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error { return s.setPassword(tx, a, hash) })
}

// SetPassword replaces the password without the old one (the admin's
// updateAccountPassword) and ends every session.
func (s *Service) SetPassword(ctx context.Context, did, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := s.cfg.HashPassword(password)
	if err != nil {
		return err
	}
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error { return s.setPassword(tx, a, hash) })
}

func (s *Service) setPassword(tx *store.Tx, a *store.Account, hash string) error {
	a.PasswordHash = hash
	return tx.DeleteRefreshTokensOf(a.DID)
}
