package account

import (
	"errors"
	"fmt"
)

// Sentinel errors: what callers branch on. The XRPC layer maps each to the
// reference PDS's error name and status; the pages to a sentence.
var (
	ErrInvalidRequest      = errors.New("invalid request")
	ErrBadCredentials      = errors.New("invalid identifier or password")
	ErrAuthFactorRequired  = errors.New("a sign-in code is required")
	ErrInvalidToken        = errors.New("token is invalid")
	ErrExpiredToken        = errors.New("token is expired")
	ErrTokenRequired       = errors.New("a confirmation token is required")
	ErrNotFound            = errors.New("account not found")
	ErrTakendown           = errors.New("account has been taken down")
	ErrDeactivated         = errors.New("account is deactivated")
	ErrInvalidHandle       = errors.New("invalid handle")
	ErrUnsupportedDomain   = errors.New("unsupported handle domain")
	ErrHandleTaken         = errors.New("handle not available")
	ErrInvalidEmail        = errors.New("invalid email")
	ErrEmailTaken          = errors.New("email already in use")
	ErrInvalidInvite       = errors.New("invalid invite code")
	ErrDuplicateName       = errors.New("duplicate app password name")
	ErrRepoExists          = errors.New("repository already exists")
	ErrUpstream            = errors.New("upstream service failed")
	ErrEmailNotConfirmed   = errors.New("email not confirmed")
	ErrAccountNotActivated = errors.New("account is not active")
	ErrServiceAuthRequired = errors.New("a service token is required")
)

// Error is a refusal with a message for the person or client: it matches
// its Kind with errors.Is, and its text is safe to show.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Message is the text of err to show to a caller: the message of an
// *Error, or a generic sentence for anything else (whose detail belongs in
// the log, not in an answer).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return "Internal Server Error"
}
