package identity

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every syntax error of this package, so callers
// can tell "the input is malformed" from a network or storage failure.
var ErrInvalid = errors.New("identity: invalid")

// MaxDIDLength is the spec's hard limit on a DID, in bytes.
const MaxDIDLength = 2048

// DID is a decentralized identifier, e.g. did:plc:ewvi7nxzyoun6zhxrhs64oiz.
type DID string

// ParseDID checks generic DID syntax as atproto restricts it: "did:", a
// method of lower-case letters, ":", and an identifier of ASCII letters,
// digits and ._:%- that does not end in ':' or '%'; at most 2 KiB. No path,
// query or fragment. It does not check that the method is one atproto
// supports: see ParsePLC and ParseWeb for that.
func ParseDID(s string) (DID, error) {
	if len(s) > MaxDIDLength {
		return "", invalid("did", s, "longer than 2048 bytes")
	}
	rest, ok := strings.CutPrefix(s, "did:")
	if !ok {
		return "", invalid("did", s, `must start with "did:"`)
	}
	i := 0
	for i < len(rest) && rest[i] >= 'a' && rest[i] <= 'z' {
		i++
	}
	if i == 0 || i == len(rest) || rest[i] != ':' {
		return "", invalid("did", s, "method must be lower-case letters followed by ':'")
	}
	id := rest[i+1:]
	if id == "" {
		return "", invalid("did", s, "empty identifier")
	}
	for j := 0; j < len(id); j++ {
		if !isDIDIDChar(id[j]) {
			return "", invalid("did", s, fmt.Sprintf("identifier has character %q", id[j]))
		}
	}
	if last := id[len(id)-1]; last == ':' || last == '%' {
		return "", invalid("did", s, "identifier ends in ':' or '%'")
	}
	return DID(s), nil
}

func isDIDIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '%' || c == '-'
}

// String returns the DID as a string.
func (d DID) String() string { return string(d) }

// Method returns the DID method, e.g. "plc", or "" if d has no "did:"
// prefix.
func (d DID) Method() string {
	rest, ok := strings.CutPrefix(string(d), "did:")
	if !ok {
		return ""
	}
	m, _, _ := strings.Cut(rest, ":")
	return m
}

// IsPLC reports whether d uses the did:plc method. It checks the prefix
// only; ParsePLC checks the whole identifier.
func (d DID) IsPLC() bool { return strings.HasPrefix(string(d), "did:plc:") }

// IsWeb reports whether d uses the did:web method. It checks the prefix
// only; ParseWeb checks the hostname.
func (d DID) IsWeb() bool { return strings.HasPrefix(string(d), "did:web:") }

// ParsePLC checks a did:plc: the prefix and exactly 24 characters of
// lower-case base32 ([a-z2-7]), which is what the PLC directory issues
// (the truncated hash of the genesis operation).
func ParsePLC(s string) (DID, error) {
	id, ok := strings.CutPrefix(s, "did:plc:")
	if !ok {
		return "", invalid("did:plc", s, `must start with "did:plc:"`)
	}
	if len(id) != 24 {
		return "", invalid("did:plc", s, fmt.Sprintf("identifier has %d characters, want 24", len(id)))
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", invalid("did:plc", s, fmt.Sprintf("character %q is not base32", c))
		}
	}
	return DID(s), nil
}

// ParseWeb checks a did:web as atproto allows it: a hostname only (no
// path), under a top-level domain that is not reserved (see
// IsDisallowedTLD; .test is let through, for development). The special
// name localhost is accepted, and only it may carry a port, percent-encoded
// as did:web:localhost%3A2583. Whether localhost or .test is acceptable in
// production is the caller's decision.
func ParseWeb(s string) (DID, error) {
	if _, err := ParseDID(s); err != nil {
		return "", err
	}
	host, ok := strings.CutPrefix(s, "did:web:")
	if !ok {
		return "", invalid("did:web", s, `must start with "did:web:"`)
	}
	if strings.IndexByte(host, ':') >= 0 {
		return "", invalid("did:web", s, "path-based did:web is not supported")
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		// The only escape a hostname-level did:web can need is the
		// port separator, %3A.
		name, enc := host[:i], host[i:]
		if len(enc) < 3 || enc[1] != '3' || enc[2]|0x20 != 'a' {
			return "", invalid("did:web", s, "percent-escape other than a port separator")
		}
		if !strings.EqualFold(name, "localhost") {
			return "", invalid("did:web", s, "a port is only allowed for localhost")
		}
		if !isPort(enc[3:]) {
			return "", invalid("did:web", s, "bad port")
		}
		return DID(s), nil
	}
	if strings.EqualFold(host, "localhost") {
		return DID(s), nil
	}
	h, err := ParseHandle(host)
	if err != nil {
		return "", invalid("did:web", s, "not a hostname")
	}
	if h.IsDisallowedTLD() && !h.IsTestTLD() {
		return "", invalid("did:web", s, "reserved top-level domain")
	}
	return DID(s), nil
}

// isPort reports 1–5 decimal digits naming a port 1–65535.
func isPort(s string) bool {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

// invalid builds an error wrapping ErrInvalid. Inputs can be up to 8 KiB of
// attacker-chosen bytes, so the message quotes only a prefix.
func invalid(kind, s, why string) error {
	return fmt.Errorf("%w %s %q: %s", ErrInvalid, kind, trunc(s), why)
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
