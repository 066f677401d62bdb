package identity

import (
	"fmt"
	"strings"
)

// Handle is a DNS-name-shaped account handle.
type Handle string

// ParseHandle checks handle syntax: ≤ 253 ASCII characters, at least two
// labels of 1–63 letters, digits and hyphens (no hyphen at either end), the
// last label not starting with a digit.
func ParseHandle(s string) (Handle, error) {
	bad := func(why string) (Handle, error) {
		return "", fmt.Errorf("%w: handle %q: %s", ErrInvalid, trunc(s), why)
	}
	if len(s) > 253 {
		return bad("too long")
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return bad("needs at least two labels")
	}
	for i, l := range labels {
		if len(l) == 0 || len(l) > 63 {
			return bad("label length")
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			case c == '-' && j > 0 && j < len(l)-1:
			default:
				return bad(fmt.Sprintf("character %q", c))
			}
		}
		if i == len(labels)-1 && l[0] >= '0' && l[0] <= '9' {
			return bad("top-level label starts with a digit")
		}
	}
	return Handle(s), nil
}

// Normalize lower-cases a handle.
func (h Handle) Normalize() Handle { return Handle(strings.ToLower(string(h))) }

// IsDisallowedTLD reports a handle under a TLD a PDS must not register.
func (h Handle) IsDisallowedTLD() bool {
	s := strings.ToLower(string(h))
	for _, tld := range []string{".local", ".arpa", ".invalid", ".localhost", ".internal", ".example", ".alt", ".onion", ".test"} {
		if strings.HasSuffix(s, tld) {
			return true
		}
	}
	return false
}

// AtIdentifier is a handle or a DID.
type AtIdentifier struct {
	DID    DID
	Handle Handle
}

// ParseAtIdentifier parses a handle or a DID.
func ParseAtIdentifier(s string) (AtIdentifier, error) {
	if strings.HasPrefix(s, "did:") {
		d, err := ParseDID(s)
		return AtIdentifier{DID: d}, err
	}
	h, err := ParseHandle(s)
	return AtIdentifier{Handle: h}, err
}
