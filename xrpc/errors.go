package xrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"syscall"

	"github.com/hearth-pds/hearth/identity/account"
)

// Error is an XRPC error response: an HTTP status and a body
// {"error": Name, "message": Message}.
type Error struct {
	Status  int
	Name    string
	Message string
	// Headers are extra response headers, e.g. Retry-After.
	Headers map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Name, e.Message) }

func errorf(status int, name, format string, args ...any) *Error {
	return &Error{Status: status, Name: name, Message: fmt.Sprintf(format, args...)}
}

// The errors handlers use most.
func invalidRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "InvalidRequest", format, args...)
}

// authRequired is a credential that was sent and is wrong.
func authRequired(format string, args ...any) *Error {
	return errorf(http.StatusUnauthorized, "AuthenticationRequired", format, args...)
}

// authMissing is a call that needs credentials and sent none.
func authMissing() *Error {
	return errorf(http.StatusUnauthorized, "AuthMissing", "Authentication Required")
}

func forbidden(format string, args ...any) *Error {
	return errorf(http.StatusForbidden, "Forbidden", format, args...)
}

func internal() *Error {
	return errorf(http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	for k, v := range e.Headers {
		w.Header().Set(k, v)
	}
	writeJSON(w, e.Status, map[string]string{"error": e.Name, "message": e.Message})
}

// diskFull answers a write the store could not make for want of space. It
// tells the owner what to do, since only they can fix it. The status is
// 503 with Retry-After, not WebDAV's 507: clients know 503 as "this server,
// for now", and retry a write later rather than report it as refused; the
// store recovers by itself once space returns (nothing acknowledged is
// lost, since a failed commit is rolled back whole).
func diskFull() *Error {
	e := errorf(http.StatusServiceUnavailable, "InsufficientStorage",
		"The server's disk is full: free some space on the device that holds Hearth's data folder, then try again.")
	e.Headers = map[string]string{"Retry-After": "60"}
	return e
}

// asXRPC converts any handler error to an XRPC error; unknown errors become
// a 500 whose detail is logged, not sent. The bool reports whether the error
// is a known refusal; false means the caller must log it at Error.
func asXRPC(err error) (*Error, bool) {
	if errors.Is(err, syscall.ENOSPC) {
		// Not "known": a full disk is the owner's emergency, so it is
		// logged at Error like any failure, but answered in words.
		return diskFull(), false
	}
	var xe *Error
	if errors.As(err, &xe) {
		return xe, true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "request body is over %d bytes", mbe.Limit), true
	}
	for _, m := range accountErrors {
		if errors.Is(err, m.kind) {
			return &Error{Status: m.status, Name: m.name, Message: account.Message(err)}, true
		}
	}
	return internal(), false
}

// accountErrors names the account operations' refusals as the reference
// PDS does.
var accountErrors = []struct {
	kind   error
	status int
	name   string
}{
	{account.ErrInvalidRequest, http.StatusBadRequest, "InvalidRequest"},
	{account.ErrBadCredentials, http.StatusUnauthorized, "AuthenticationRequired"},
	{account.ErrAuthFactorRequired, http.StatusUnauthorized, "AuthFactorTokenRequired"},
	{account.ErrInvalidToken, http.StatusBadRequest, "InvalidToken"},
	{account.ErrExpiredToken, http.StatusBadRequest, "ExpiredToken"},
	{account.ErrTokenRequired, http.StatusBadRequest, "TokenRequired"},
	{account.ErrNotFound, http.StatusBadRequest, "AccountNotFound"},
	{account.ErrTakendown, http.StatusUnauthorized, "AccountTakedown"},
	{account.ErrDeactivated, http.StatusUnauthorized, "AccountDeactivated"},
	{account.ErrInvalidHandle, http.StatusBadRequest, "InvalidHandle"},
	{account.ErrUnsupportedDomain, http.StatusBadRequest, "UnsupportedDomain"},
	{account.ErrHandleTaken, http.StatusBadRequest, "HandleNotAvailable"},
	{account.ErrInvalidEmail, http.StatusBadRequest, "InvalidEmail"},
	{account.ErrEmailTaken, http.StatusBadRequest, "InvalidRequest"},
	{account.ErrInvalidInvite, http.StatusBadRequest, "InvalidInviteCode"},
	{account.ErrDuplicateName, http.StatusBadRequest, "DuplicateName"},
	{account.ErrRepoExists, http.StatusBadRequest, "AlreadyExists"},
	{account.ErrUpstream, http.StatusBadGateway, "UpstreamFailure"},
	{account.ErrEmailNotConfirmed, http.StatusBadRequest, "InvalidRequest"},
	{account.ErrServiceAuthRequired, http.StatusUnauthorized, "AuthenticationRequired"},
}
