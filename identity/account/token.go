package account

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// Token purposes, as the reference PDS names them.
const (
	PurposeConfirmEmail  = "confirm_email"
	PurposeUpdateEmail   = "update_email"
	PurposeResetPassword = "reset_password"
	PurposeDeleteAccount = "delete_account"
	PurposePLCOperation  = "plc_operation"
	PurposeSignIn        = "sign_in"
)

// TokenTTL is how long an emailed token lasts.
const TokenTTL = 15 * time.Minute

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newToken returns a code of the shape XXXXX-XXXXX (50 random bits).
func newToken() string {
	var raw [10]byte
	rand.Read(raw[:])
	b := make([]byte, 0, 11)
	for i, x := range raw {
		if i == 5 {
			b = append(b, '-')
		}
		b = append(b, tokenAlphabet[x&31])
	}
	return string(b)
}

// normalToken is what people type, made comparable: upper case, no spaces.
func normalToken(t string) string { return strings.ToUpper(strings.TrimSpace(t)) }

// issue stores a fresh token of purpose for a, replacing the live one, and
// queues its mail to the address to (when a mail server is configured).
func (s *Service) issue(tx *store.Tx, a *store.Account, purpose, to string) (string, error) {
	now := s.Now().UTC()
	t := &store.EmailToken{DID: a.DID, Purpose: purpose, Token: newToken(), CreatedAt: now, ExpiresAt: now.Add(TokenTTL)}
	if err := tx.PutEmailToken(t); err != nil {
		return "", fmt.Errorf("account: store %s token: %w", purpose, err)
	}
	if s.MailConfigured() && to != "" {
		l := Letter{DID: a.DID, To: to, Handle: a.Handle, Purpose: purpose, Token: t.Token, Expires: TokenTTL}
		if err := s.Mailer.Queue(tx, l); err != nil {
			return "", fmt.Errorf("account: queue %s mail: %w", purpose, err)
		}
	}
	return t.Token, nil
}

// consume checks token against the live token of did for purpose and, if it
// matches and has not expired, deletes it so it cannot be used again. A
// refusal changes nothing.
func consume(tx *store.Tx, did, purpose, token string, now time.Time) error {
	token = normalToken(token)
	if token == "" {
		return fail(ErrTokenRequired, "A confirmation token is required")
	}
	t, err := tx.EmailToken(did, purpose)
	if errors.Is(err, store.ErrNotFound) {
		return fail(ErrInvalidToken, "Token is invalid")
	} else if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(t.Token), []byte(token)) != 1 {
		return fail(ErrInvalidToken, "Token is invalid")
	}
	if now.After(t.ExpiresAt) {
		return fail(ErrExpiredToken, "Token is expired")
	}
	return tx.DeleteEmailToken(did, purpose)
}

// Code is a live token, for the account page when there is no mail server.
type Code struct {
	Purpose string
	Token   string
	Expires time.Time
}

// PendingCodes lists the live tokens of did, newest first. The account page
// shows them to their owner when no mail server is configured.
func (s *Service) PendingCodes(did string) ([]Code, error) {
	var out []Code
	now := s.Now()
	err := s.DB.View(func(tx *store.Tx) error {
		list, err := tx.EmailTokensOf(did)
		for i := len(list) - 1; i >= 0; i-- {
			if t := list[i]; now.Before(t.ExpiresAt) {
				out = append(out, Code{Purpose: t.Purpose, Token: t.Token, Expires: t.ExpiresAt})
			}
		}
		return err
	})
	return out, err
}
