package identity

import (
	"fmt"
	"strings"
)

// MaxHandleLength is the spec's limit on a handle, the DNS name limit.
const MaxHandleLength = 253

// Handle is a DNS-name-shaped account handle, e.g. alice.bsky.social.
// Handles are case-insensitive; Normalize gives the canonical lower-case
// form.
type Handle string

// ParseHandle checks handle syntax: at most 253 ASCII characters, at least
// two labels separated by '.', each label 1–63 letters, digits or hyphens
// with no hyphen at either end, and a last label (the TLD) that does not
// start with a digit, which keeps IPv4 addresses out. It keeps the case
// of s; reserved TLDs pass (see IsDisallowedTLD), since the spec only bars
// them from registration.
func ParseHandle(s string) (Handle, error) {
	if len(s) > MaxHandleLength {
		return "", invalid("handle", s, "longer than 253 characters")
	}
	labels, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		if why := checkLabel(s[start:i]); why != "" {
			return "", invalid("handle", s, why)
		}
		labels++
		if i == len(s) {
			break
		}
		start = i + 1
	}
	if labels < 2 {
		return "", invalid("handle", s, "needs at least two labels")
	}
	if c := s[start]; c >= '0' && c <= '9' {
		return "", invalid("handle", s, "top-level label starts with a digit")
	}
	return Handle(s), nil
}

// checkLabel returns why l is not a DNS label, or "".
func checkLabel(l string) string {
	if len(l) == 0 {
		return "empty label"
	}
	if len(l) > 63 {
		return "label longer than 63 characters"
	}
	for j := 0; j < len(l); j++ {
		switch c := l[j]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-':
			if j == 0 || j == len(l)-1 {
				return "label starts or ends with '-'"
			}
		default:
			return fmt.Sprintf("character %q", c)
		}
	}
	return ""
}

// NormalizeHandle parses s and returns its canonical lower-case form.
func NormalizeHandle(s string) (Handle, error) {
	h, err := ParseHandle(s)
	if err != nil {
		return "", err
	}
	return h.Normalize(), nil
}

// Normalize lower-cases a handle. Handles compare case-insensitively, so
// only the normalized form should be stored or compared.
func (h Handle) Normalize() Handle { return Handle(strings.ToLower(string(h))) }

// String returns the handle as a string.
func (h Handle) String() string { return string(h) }

// tld returns the last label of h.
func (h Handle) tld() string { return string(h[strings.LastIndexByte(string(h), '.')+1:]) }

// disallowedTLDs are the special-use and reserved TLDs under which a PDS
// must not register handles: they cannot (or must not) resolve in public
// DNS. .test is among them: it is fine in development only, and a dev-mode
// caller exempts it with IsTestTLD.
var disallowedTLDs = [...]string{"local", "arpa", "invalid", "localhost", "internal", "example", "alt", "onion", "test"}

// IsDisallowedTLD reports a handle under a top-level domain a PDS must not
// register: .local, .arpa, .invalid, .localhost, .internal, .example, .alt,
// .onion, and also .test. The spec allows .test in testing and development,
// so a dev-mode caller should accept h when IsTestTLD is true; counting
// .test here keeps callers that forget about dev mode safe.
func (h Handle) IsDisallowedTLD() bool {
	tld := h.tld()
	for _, d := range disallowedTLDs {
		if strings.EqualFold(tld, d) {
			return true
		}
	}
	return false
}

// IsTestTLD reports a handle under .test, which only a development setup
// may hand out.
func (h Handle) IsTestTLD() bool { return strings.EqualFold(h.tld(), "test") }

// AtIdentifier is either a DID or a handle, as the "at-identifier" format
// and parameters such as "repo" allow. Exactly one field is set.
type AtIdentifier struct {
	DID    DID
	Handle Handle
}

// ParseAtIdentifier parses s as a DID if it starts with "did:", and as a
// handle otherwise: a handle never contains ':', so the split is
// unambiguous.
func ParseAtIdentifier(s string) (AtIdentifier, error) {
	if strings.HasPrefix(s, "did:") {
		d, err := ParseDID(s)
		if err != nil {
			return AtIdentifier{}, err
		}
		return AtIdentifier{DID: d}, nil
	}
	h, err := ParseHandle(s)
	if err != nil {
		return AtIdentifier{}, err
	}
	return AtIdentifier{Handle: h}, nil
}

// IsDID reports whether the identifier is a DID.
func (a AtIdentifier) IsDID() bool { return a.DID != "" }

// String returns the identifier as it was parsed.
func (a AtIdentifier) String() string {
	if a.DID != "" {
		return string(a.DID)
	}
	return string(a.Handle)
}
