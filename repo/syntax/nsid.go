package syntax

import (
	"fmt"
	"strings"
)

// NSID is a namespaced identifier like app.bsky.feed.post.
type NSID string

// ParseNSID checks s is an NSID: at least three dot-separated segments,
// ≤ 317 characters; domain segments are letters, digits and hyphens (1–63,
// no hyphen at either end, the first not starting with a digit); the name
// is letters and digits, not starting with a digit.
func ParseNSID(s string) (NSID, error) {
	bad := func(why string) (NSID, error) { return "", fmt.Errorf("%w: nsid %q: %s", ErrInvalid, s, why) }
	if len(s) > 317 {
		return bad("too long")
	}
	segs := strings.Split(s, ".")
	if len(segs) < 3 {
		return bad("fewer than three segments")
	}
	for i, seg := range segs {
		if len(seg) == 0 || len(seg) > 63 {
			return bad("segment length")
		}
		last := i == len(segs)-1
		for j := 0; j < len(seg); j++ {
			c := seg[j]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			case c >= '0' && c <= '9':
				if j == 0 && (i == 0 || last) {
					return bad("segment starts with a digit")
				}
			case c == '-' && !last:
				if j == 0 || j == len(seg)-1 {
					return bad("hyphen at segment edge")
				}
			default:
				return bad(fmt.Sprintf("character %q", c))
			}
		}
	}
	return NSID(s), nil
}

// Authority is the reversed domain part.
func (n NSID) Authority() string {
	i := strings.LastIndexByte(string(n), '.')
	return string(n[:i])
}

// Name is the last segment.
func (n NSID) Name() string {
	return string(n[strings.LastIndexByte(string(n), '.')+1:])
}

// ParseRecordKey checks s is a record key: 1–512 characters of
// A-Za-z0-9 . _ : ~ -, and not "." or "..".
func ParseRecordKey(s string) (string, error) {
	if len(s) == 0 || len(s) > 512 || s == "." || s == ".." {
		return "", fmt.Errorf("%w: record key %q", ErrInvalid, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:~-", c) >= 0) {
			return "", fmt.Errorf("%w: record key %q: character %q", ErrInvalid, s, c)
		}
	}
	return s, nil
}
