package syntax

import (
	"fmt"
	"strings"
)

// ValidateURI checks a generic URI for lexicon "format: uri": a scheme
// (letter, then letters, digits, + . -), a colon, a non-empty rest with no
// whitespace, at most 8 KiB.
func ValidateURI(s string) error {
	bad := func(why string) error { return fmt.Errorf("%w: uri %q: %s", ErrInvalid, trunc(s), why) }
	if len(s) > 8192 {
		return bad("too long")
	}
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return bad("no scheme")
	}
	for j := 0; j < i; j++ {
		c := s[j]
		if !(c|0x20 >= 'a' && c|0x20 <= 'z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-')) {
			return bad("scheme")
		}
	}
	rest := s[i+1:]
	if rest == "" {
		return bad("nothing after the scheme")
	}
	for j := 0; j < len(rest); j++ {
		if c := rest[j]; c <= ' ' || c == 0x7f {
			return bad("whitespace or control character")
		}
	}
	return nil
}

// ValidateCIDString is the loose check of lexicon "format: cid": 8–256
// characters of [A-Za-z0-9+=], not a CIDv0.
func ValidateCIDString(s string) error {
	if len(s) < 8 || len(s) > 256 || strings.HasPrefix(s, "Qmb") {
		return fmt.Errorf("%w: cid %q", ErrInvalid, trunc(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '=') {
			return fmt.Errorf("%w: cid %q", ErrInvalid, trunc(s))
		}
	}
	return nil
}
