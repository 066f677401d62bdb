package account

import (
	"context"
	"strings"

	"github.com/hearth-pds/hearth/store"
)

// RequestEmailConfirmation mails (or, with no mail server, shows on the
// account page) a code that confirms the account's address.
func (s *Service) RequestEmailConfirmation(ctx context.Context, did string) error {
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		if a.Email == "" {
			return fail(ErrInvalidRequest, "account does not have an email address")
		}
		_, err := s.issue(tx, a, PurposeConfirmEmail, a.Email)
		return err
	})
}

// ConfirmEmail spends a confirm_email token for the account's current
// address and marks it confirmed.
func (s *Service) ConfirmEmail(ctx context.Context, did, email, token string) error {
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		if !strings.EqualFold(strings.TrimSpace(email), a.Email) {
			return fail(ErrInvalidEmail, "invalid email")
		}
		if err := consume(tx, did, PurposeConfirmEmail, token, s.Now()); err != nil {
			return err
		}
		now := s.Now().UTC()
		a.EmailConfirmed = &now
		return nil
	})
}

// RequestEmailUpdate starts an email change. A confirmed address must
// approve the change with a code mailed to it; tokenRequired tells the
// client whether to ask for one.
func (s *Service) RequestEmailUpdate(ctx context.Context, did string) (tokenRequired bool, err error) {
	err = s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		if a.Email == "" {
			return fail(ErrInvalidRequest, "account does not have an email address")
		}
		tokenRequired = a.EmailConfirmed != nil
		if !tokenRequired {
			return nil
		}
		_, err := s.issue(tx, a, PurposeUpdateEmail, a.Email)
		return err
	})
	return tokenRequired, err
}

// UpdateEmailInput is an email change, or the two-factor switch when Email
// is the current address.
type UpdateEmailInput struct {
	Email           string
	EmailAuthFactor *bool
	Token           string
}

// UpdateEmail changes the address (which un-confirms it, turns two-factor
// sign-in off and voids the account's other codes) and sets the two-factor
// switch. Once the address is confirmed, an update_email token is needed.
func (s *Service) UpdateEmail(ctx context.Context, did string, in UpdateEmailInput) error {
	email := strings.TrimSpace(in.Email)
	if err := checkEmail(email); err != nil {
		return err
	}
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		if a.EmailConfirmed != nil {
			if strings.TrimSpace(in.Token) == "" {
				return fail(ErrTokenRequired, "confirmation token required")
			}
			if err := consume(tx, did, PurposeUpdateEmail, in.Token, s.Now()); err != nil {
				return err
			}
		}
		if !strings.EqualFold(email, a.Email) {
			if other, err := tx.AccountByEmail(email); err == nil && other.DID != did {
				return fail(ErrEmailTaken, "This email address is already in use, please use a different email.")
			}
			a.Email, a.EmailConfirmed, a.EmailAuthFactor = email, nil, false
			if err := tx.DeleteEmailTokensOf(did); err != nil {
				return err
			}
			return nil
		}
		if in.EmailAuthFactor != nil {
			if *in.EmailAuthFactor && a.EmailConfirmed == nil {
				return fail(ErrEmailNotConfirmed, "Confirm your email address before turning on sign-in codes")
			}
			if *in.EmailAuthFactor && !s.MailConfigured() {
				return fail(ErrInvalidRequest, "Sign-in codes need a mail server: this Hearth has none configured")
			}
			a.EmailAuthFactor = *in.EmailAuthFactor
		}
		return nil
	})
}
