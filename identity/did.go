package identity

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every syntax error of this package.
var ErrInvalid = errors.New("identity: invalid")

// DID is a decentralized identifier.
type DID string

// ParseDID checks generic DID syntax: did:method:identifier, ≤ 2048 chars,
// method lower-case letters, identifier of A-Za-z0-9._:%- not ending in
// ':' or '%'.
func ParseDID(s string) (DID, error) {
	bad := func(why string) (DID, error) { return "", fmt.Errorf("%w: did %q: %s", ErrInvalid, trunc(s), why) }
	if len(s) > 2048 {
		return bad("too long")
	}
	rest, ok := strings.CutPrefix(s, "did:")
	if !ok {
		return bad("must start with did:")
	}
	method, id, ok := strings.Cut(rest, ":")
	if !ok || method == "" || id == "" {
		return bad("must be did:method:identifier")
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; c < 'a' || c > 'z' {
			return bad("method must be lower-case letters")
		}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:%-", c) >= 0) {
			return bad(fmt.Sprintf("character %q", c))
		}
	}
	if last := id[len(id)-1]; last == ':' || last == '%' {
		return bad("ends with : or %")
	}
	return DID(s), nil
}

// Method returns the DID method, e.g. "plc".
func (d DID) Method() string {
	m, _, _ := strings.Cut(strings.TrimPrefix(string(d), "did:"), ":")
	return m
}

// IsPLC reports whether d is a did:plc.
func (d DID) IsPLC() bool { return strings.HasPrefix(string(d), "did:plc:") }

// IsWeb reports whether d is a did:web.
func (d DID) IsWeb() bool { return strings.HasPrefix(string(d), "did:web:") }

// ParsePLC checks a did:plc: 24 characters of base32 [a-z2-7].
func ParsePLC(s string) (DID, error) {
	id, ok := strings.CutPrefix(s, "did:plc:")
	if !ok || len(id) != 24 {
		return "", fmt.Errorf("%w: %q is not a did:plc", ErrInvalid, trunc(s))
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", fmt.Errorf("%w: %q is not a did:plc", ErrInvalid, trunc(s))
		}
	}
	return DID(s), nil
}

// ParseWeb checks a did:web naming a hostname (a port only for localhost,
// percent-encoded as %3A).
func ParseWeb(s string) (DID, error) {
	host, ok := strings.CutPrefix(s, "did:web:")
	if !ok || strings.Contains(host, ":") {
		return "", fmt.Errorf("%w: %q is not a did:web without path", ErrInvalid, trunc(s))
	}
	name, port, hasPort := strings.Cut(host, "%3A")
	if hasPort {
		if name != "localhost" || port == "" {
			return "", fmt.Errorf("%w: %q: a port is only allowed for localhost", ErrInvalid, trunc(s))
		}
		return DID(s), nil
	}
	if _, err := ParseHandle(name); err != nil {
		return "", fmt.Errorf("%w: %q: not a hostname", ErrInvalid, trunc(s))
	}
	return DID(s), nil
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
