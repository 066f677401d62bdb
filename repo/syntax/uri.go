package syntax

import (
	"unicode"
	"unicode/utf8"
)

// MaxURILength is the lexicon limit on a "format: uri" string.
const MaxURILength = 8192

// ValidateURI checks a generic URI for lexicon "format: uri": at most
// 8 KiB, an RFC 3986 scheme (a letter, then letters, digits, '+', '.' or
// '-'), a ':', and a non-empty remainder without whitespace or control
// characters. Non-ASCII text is allowed (IRIs), as the reference
// implementation allows it; nothing else about the remainder is checked,
// since its grammar depends on the scheme.
func ValidateURI(s string) error {
	if len(s) > MaxURILength {
		return invalid("uri", s, "longer than 8 KiB")
	}
	i := 0
	for i < len(s) && (isAlpha(s[i]) || i > 0 && (isDigit(s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-')) {
		i++
	}
	if i == 0 || i == len(s) || s[i] != ':' {
		return invalid("uri", s, "no scheme")
	}
	rest := s[i+1:]
	if rest == "" {
		return invalid("uri", s, "nothing after the scheme")
	}
	for j := 0; j < len(rest); {
		c := rest[j]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f {
				return invalid("uri", s, "whitespace or control character")
			}
			j++
			continue
		}
		r, n := utf8.DecodeRuneInString(rest[j:])
		if r == utf8.RuneError && n == 1 {
			return invalid("uri", s, "not UTF-8")
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return invalid("uri", s, "whitespace or control character")
		}
		j += n
	}
	return nil
}
