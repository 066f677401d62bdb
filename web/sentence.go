package web

import (
	"errors"
	"log/slog"

	"github.com/hearth-pds/hearth/identity/account"
)

// Refusals of the pages themselves, beside the account sentinels.
var (
	errTooMany          = errors.New("too many attempts")
	errPasswordsDiffer  = errors.New("the new passwords differ")
	errNotSignedIn      = errors.New("not signed in")
	errMailNotAvailable = errors.New("no mail server")
	errSignInExpired    = errors.New("sign-in expired")
	errOwnerAccount     = errors.New("the owner's own account")
	errHandleMismatch   = errors.New("the typed handle differs")
	errRelays           = errors.New("a relay refused")
)

// sentences is what people read for each refusal: what happened, then what
// to do next. The first match wins, so specific kinds come first.
var sentences = []struct {
	kind error
	text string
}{
	{errTooMany, "Too many attempts from here: wait a few minutes, then try again."},
	{errPasswordsDiffer, "The two new passwords differ: type the same one in both boxes."},
	{errNotSignedIn, "Your sign-in has ended: sign in again."},
	{errSignInExpired, "That sign-in waited too long for its code: sign in again from the start."},
	{errOwnerAccount, "That is the owner's account, which this page will not take down or delete: to close it, sign in to it on the account page."},
	{errHandleMismatch, "The handle you typed is not this account's: type it exactly as shown to delete the account, or cancel."},
	{errRelays, "A relay did not take the request: its answer is under Relays below, and Hearth keeps asking on its own."},
	{errMailNotAvailable, "Sign-in codes need a mail server, and this Hearth has none: ask its owner to set one up."},
	{account.ErrBadCredentials, "That password (or handle or email) is wrong: check it and try again, or reset your password."},
	{account.ErrInvalidToken, "That code is not right: check it, or send a new one and use the newest."},
	{account.ErrExpiredToken, "That code has expired: send a new one and use it within 15 minutes."},
	{account.ErrTokenRequired, "This needs the code we sent: type it in, or send a new one."},
	{account.ErrInvalidEmail, "That email address does not look right: check it and try again."},
	{account.ErrEmailTaken, "Another account here already uses that email address: choose a different one."},
	{account.ErrDuplicateName, "You already have an app password with that name: pick another name, or revoke the old one first."},
	{account.ErrEmailNotConfirmed, "Your email address is not confirmed yet: send a confirmation code and type it in first."},
	{account.ErrTakendown, "This account has been taken down by the server's admin: ask them if you think it is a mistake."},
	{account.ErrNotFound, "There is no such account here: check the handle or email, or sign in again."},
	{account.ErrDeactivated, "This account is deactivated: reactivate it first."},
	{account.ErrUpstream, "A directory Hearth relies on did not answer: try again in a minute."},
}

// sentence is the one place a refusal becomes words. Anything unknown is
// logged, and the person gets a generic sentence.
func sentence(log *slog.Logger, err error) string {
	for _, s := range sentences {
		if errors.Is(err, s.kind) {
			return s.text
		}
	}
	var e *account.Error
	if errors.As(err, &e) {
		return account.Message(err)
	}
	log.Error("account page", "err", err)
	return "Something went wrong on the server: try again, and if it keeps failing, look at Hearth's log."
}

// purposeWords names what a code is for.
func purposeWords(purpose string) string {
	switch purpose {
	case account.PurposeConfirmEmail:
		return "Confirm your email"
	case account.PurposeUpdateEmail:
		return "Change your email or sign-in codes"
	case account.PurposeResetPassword:
		return "Reset your password"
	case account.PurposeDeleteAccount:
		return "Delete your account"
	case account.PurposePLCOperation:
		return "Change your DID document"
	case account.PurposeSignIn:
		return "Sign in"
	}
	return purpose
}
