package egress

import (
	"context"
	"errors"
	"net"
)

// Sentinel errors; check them with errors.Is, also through Redact.
var (
	// ErrForbiddenAddress: the dialer refused a non-public address.
	ErrForbiddenAddress = errors.New("egress: forbidden address")
	// ErrTooManyRedirects: a fetch was redirected more often than its Use allows.
	ErrTooManyRedirects = errors.New("egress: too many redirects")
	// ErrInsecureRedirect: an https fetch was redirected to plain http.
	ErrInsecureRedirect = errors.New("egress: redirect from https to http")
	// ErrTooLarge: a response body is longer than its limit.
	ErrTooLarge = errors.New("egress: response too large")
	// ErrFetchFailed is what Redact returns: the fetch failed, and why is
	// in the log.
	ErrFetchFailed = errors.New("egress: fetch failed")
)

// fetchError is a failed fetch with its detail hidden. It matches, with
// errors.Is, ErrFetchFailed and whatever the detail matches, but it has no
// Unwrap: nothing holding it can print the address or the dial error.
type fetchError struct {
	detail  error
	timeout bool
}

func (e *fetchError) Error() string {
	if e.timeout {
		return "egress: fetch timed out"
	}
	return ErrFetchFailed.Error()
}

func (e *fetchError) Is(target error) bool {
	return target == ErrFetchFailed || errors.Is(e.detail, target)
}

// Timeout and Temporary make a fetchError a net.Error, so callers can still
// tell a slow service from a broken one.
func (e *fetchError) Timeout() bool   { return e.timeout }
func (e *fetchError) Temporary() bool { return e.timeout }

// Redact logs err, the failure of a fetch, with args (slog key-value pairs
// such as "url", u) and returns an error that names no address. A nil err
// stays nil; an error already redacted is returned as it is.
func (f *Factory) Redact(err error, args ...any) error {
	if err == nil {
		return nil
	}
	var fe *fetchError
	if errors.As(err, &fe) {
		return err
	}
	var ne net.Error
	timeout := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	f.log.Info("outbound fetch failed", append(args[:len(args):len(args)], "err", err)...)
	return &fetchError{detail: err, timeout: timeout}
}
