package syntax

import (
	"fmt"
	"strings"
)

// MaxNSIDLength is the spec's limit on a whole NSID.
const MaxNSIDLength = 317

// NSID is a namespaced identifier such as app.bsky.feed.post: a domain
// authority written in reverse (app.bsky → bsky.app) and a name (post).
type NSID string

// ParseNSID checks NSID syntax: ASCII, at most 317 characters, at least
// three '.'-separated segments of 1–63 characters. Authority segments are
// letters, digits and hyphens with no hyphen at either end, and the first
// (the TLD) does not start with a digit; the name is letters and digits
// and does not start with a digit. The interop vectors accept authorities
// longer than 253 characters, so that DNS limit is not applied.
func ParseNSID(s string) (NSID, error) {
	if len(s) > MaxNSIDLength {
		return "", invalid("nsid", s, "longer than 317 characters")
	}
	last := strings.LastIndexByte(s, '.')
	if last < 0 {
		return "", invalid("nsid", s, "needs at least three segments")
	}
	auth, name := s[:last], s[last+1:]
	segs, start := 0, 0
	for i := 0; i <= len(auth); i++ {
		if i < len(auth) && auth[i] != '.' {
			continue
		}
		seg := auth[start:i]
		if why := checkDomainSegment(seg); why != "" {
			return "", invalid("nsid", s, why)
		}
		if segs == 0 && isDigit(seg[0]) {
			return "", invalid("nsid", s, "first segment starts with a digit")
		}
		segs++
		start = i + 1
	}
	if segs < 2 {
		return "", invalid("nsid", s, "needs at least three segments")
	}
	if len(name) == 0 || len(name) > 63 {
		return "", invalid("nsid", s, "name must be 1–63 characters")
	}
	if isDigit(name[0]) {
		return "", invalid("nsid", s, "name starts with a digit")
	}
	for i := 0; i < len(name); i++ {
		if !isAlnum(name[i]) {
			return "", invalid("nsid", s, fmt.Sprintf("name has character %q", name[i]))
		}
	}
	return NSID(s), nil
}

// checkDomainSegment returns why seg is not a DNS label, or "".
func checkDomainSegment(seg string) string {
	if len(seg) == 0 || len(seg) > 63 {
		return "segment must be 1–63 characters"
	}
	for j := 0; j < len(seg); j++ {
		c := seg[j]
		switch {
		case isAlnum(c):
		case c == '-':
			if j == 0 || j == len(seg)-1 {
				return "segment starts or ends with '-'"
			}
		default:
			return fmt.Sprintf("character %q", c)
		}
	}
	return ""
}

// String returns the NSID as a string.
func (n NSID) String() string { return string(n) }

// Authority returns the domain that controls the NSID, in DNS order and
// lower case: "bsky.app" for app.bsky.feed.post. That is the name under
// which the lexicon is published (_lexicon.<authority>) and what compares
// equal across case variants.
func (n NSID) Authority() string {
	i := strings.LastIndexByte(string(n), '.')
	if i < 0 {
		return ""
	}
	auth := string(n[:i])
	var b strings.Builder
	b.Grow(len(auth))
	for end := len(auth); end > 0; {
		start := strings.LastIndexByte(auth[:end], '.') + 1
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.ToLower(auth[start:end]))
		end = start - 1
	}
	return b.String()
}

// Name returns the last segment, e.g. "post". Unlike the authority it is
// case-sensitive.
func (n NSID) Name() string {
	return string(n[strings.LastIndexByte(string(n), '.')+1:])
}

// Normalize lower-cases the authority and keeps the name as it is, which
// is the spec's canonical form.
func (n NSID) Normalize() NSID {
	i := strings.LastIndexByte(string(n), '.')
	if i < 0 {
		return n
	}
	return NSID(strings.ToLower(string(n[:i])) + string(n[i:]))
}
