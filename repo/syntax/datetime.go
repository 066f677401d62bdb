package syntax

import (
	"fmt"
	"time"
)

// ValidateDatetime checks the atproto datetime syntax: the RFC 3339 /
// ISO 8601 overlap, YYYY-MM-DDTHH:MM:SS, optional fraction, and a zone of
// Z or ±HH:MM (not -00:00).
func ValidateDatetime(s string) error {
	bad := func(why string) error { return fmt.Errorf("%w: datetime %q: %s", ErrInvalid, trunc(s), why) }
	if len(s) > 64 {
		return bad("too long")
	}
	if len(s) < 20 {
		return bad("too short")
	}
	digits := func(from, to int) bool {
		for i := from; i < to; i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	if !digits(0, 4) || s[4] != '-' || !digits(5, 7) || s[7] != '-' || !digits(8, 10) || s[10] != 'T' ||
		!digits(11, 13) || s[13] != ':' || !digits(14, 16) || s[16] != ':' || !digits(17, 19) {
		return bad("not YYYY-MM-DDTHH:MM:SS")
	}
	i := 19
	if s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 {
			return bad("empty fraction")
		}
		i = j
	}
	zone := s[i:]
	switch {
	case zone == "Z":
	case len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':':
		for _, k := range []int{1, 2, 4, 5} {
			if zone[k] < '0' || zone[k] > '9' {
				return bad("zone")
			}
		}
		if zone == "-00:00" {
			return bad("zone -00:00")
		}
	default:
		return bad("zone must be Z or ±HH:MM")
	}
	return nil
}

// ParseDatetime checks the syntax and that the value is a real instant.
func ParseDatetime(s string) (time.Time, error) {
	if err := ValidateDatetime(s); err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: datetime %q: %v", ErrInvalid, trunc(s), err)
	}
	if t.UTC().Year() < 0 || t.UTC().Year() > 9999 {
		return time.Time{}, fmt.Errorf("%w: datetime %q: out of range", ErrInvalid, trunc(s))
	}
	return t, nil
}
