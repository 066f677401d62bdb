package syntax

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error of this package: the input does not
// have the syntax (or, for the Parse functions, the meaning) it must.
var ErrInvalid = errors.New("syntax: invalid")

// invalid builds an error wrapping ErrInvalid. Inputs come from the network
// and can be kilobytes long, so the message quotes only a prefix.
func invalid(kind, s, why string) error {
	return fmt.Errorf("%w %s %q: %s", ErrInvalid, kind, trunc(s), why)
}

// invalidPart is invalid for a part of s that another parser refused; the
// result wraps that parser's error too.
func invalidPart(kind, s, part string, err error) error {
	return fmt.Errorf("%w %s %q: %s: %w", ErrInvalid, kind, trunc(s), part, err)
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
