package mail

import "errors"

// Sentinel errors callers branch on.
var (
	// ErrUnknownKind: Render was asked for a kind of mail it has no template for.
	ErrUnknownKind = errors.New("mail: unknown kind of mail")
	// ErrIncomplete: the Data lacks what the kind needs (a token, a subject).
	ErrIncomplete = errors.New("mail: data incomplete for this kind")
	// ErrHeaderInjection: a header value held a CR or LF, which would let it
	// add headers of its own.
	ErrHeaderInjection = errors.New("mail: line break in a header value")
	// ErrBadAddress: an address does not parse as RFC 5322.
	ErrBadAddress = errors.New("mail: invalid address")
	// ErrBadURL: the SMTP server URL in the configuration is not usable.
	ErrBadURL = errors.New("mail: invalid SMTP URL")
)
