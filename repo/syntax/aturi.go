package syntax

import (
	"strings"
	"unicode/utf8"

	"github.com/hearth-pds/hearth/identity"
)

// MaxATURILength is the spec's limit on an AT-URI.
const MaxATURILength = 8192

// ATURI is a parsed at:// URI in the restricted form records and lexicons
// use: an authority (a DID or a handle), optionally a collection, and with
// a collection optionally a record key; optionally a fragment.
type ATURI struct {
	Authority  string
	Collection NSID
	RecordKey  string
	// Fragment is the JSON pointer after '#', starting with '/', kept as
	// written (percent-escapes included); "" when there is none.
	Fragment string
}

// ParseATURI parses an AT-URI:
//
//	"at://" AUTHORITY [ "/" COLLECTION [ "/" RKEY ] ] [ "#" JSON-POINTER ]
//
// at most 8 KiB. The authority must be a valid DID or handle, the
// collection an NSID and the key a record key; empty segments and a
// trailing slash are refused. Queries are refused, as the lexicon
// at-uri format does not support them. The fragment, accepted as the
// reference implementation does, must be "/" followed by RFC 3986
// fragment characters with well-formed percent-escapes of UTF-8.
func ParseATURI(s string) (ATURI, error) {
	if len(s) > MaxATURILength {
		return ATURI{}, invalid("at-uri", s, "longer than 8 KiB")
	}
	rest, ok := strings.CutPrefix(s, "at://")
	if !ok {
		return ATURI{}, invalid("at-uri", s, `must start with "at://"`)
	}
	var u ATURI
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		u.Fragment = rest[i+1:]
		rest = rest[:i]
		if why := checkFragment(u.Fragment); why != "" {
			return ATURI{}, invalid("at-uri", s, why)
		}
	}
	if strings.IndexByte(rest, '?') >= 0 {
		return ATURI{}, invalid("at-uri", s, "query parts are not supported")
	}
	auth, path, hasPath := strings.Cut(rest, "/")
	if _, err := identity.ParseAtIdentifier(auth); err != nil {
		return ATURI{}, invalidPart("at-uri", s, "authority", err)
	}
	u.Authority = auth
	if !hasPath {
		return u, nil
	}
	coll, rkey, hasKey := strings.Cut(path, "/")
	n, err := ParseNSID(coll)
	if err != nil {
		return ATURI{}, invalidPart("at-uri", s, "collection", err)
	}
	u.Collection = n
	if !hasKey {
		return u, nil
	}
	// ParseRecordKey refuses '/', and with it extra or trailing segments.
	if _, err := ParseRecordKey(rkey); err != nil {
		return ATURI{}, invalidPart("at-uri", s, "record key", err)
	}
	u.RecordKey = rkey
	return u, nil
}

// checkFragment returns why f (the text after '#') is not a JSON pointer
// an AT-URI may carry, or "".
func checkFragment(f string) string {
	if f == "" || f[0] != '/' {
		return "fragment must be a JSON pointer starting with '/'"
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '%':
			if i+2 >= len(f) || unhex(f[i+1]) < 0 || unhex(f[i+2]) < 0 {
				return "bad percent-escape in fragment"
			}
			i += 2
		case isAlnum(c), strings.IndexByte("._~:@!$&'()*+,;=[]/-", c) >= 0:
		default:
			return "fragment has a character that must be escaped"
		}
	}
	if strings.IndexByte(f, '%') < 0 {
		return ""
	}
	// Escapes must decode to UTF-8, as a consumer will decode them.
	dec := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		if f[i] == '%' {
			dec = append(dec, byte(unhex(f[i+1])<<4|unhex(f[i+2])))
			i += 2
		} else {
			dec = append(dec, f[i])
		}
	}
	if !utf8.Valid(dec) {
		return "fragment escapes are not UTF-8"
	}
	return ""
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return int(c|0x20-'a') + 10
	}
	return -1
}

// String reassembles the URI; for a parsed ATURI it is the input.
func (u ATURI) String() string {
	n := 5 + len(u.Authority) + 1 + len(u.Collection) + 1 + len(u.RecordKey) + 1 + len(u.Fragment)
	var b strings.Builder
	b.Grow(n)
	b.WriteString("at://")
	b.WriteString(u.Authority)
	if u.Collection != "" {
		b.WriteByte('/')
		b.WriteString(string(u.Collection))
		if u.RecordKey != "" {
			b.WriteByte('/')
			b.WriteString(u.RecordKey)
		}
	}
	if u.Fragment != "" {
		b.WriteByte('#')
		b.WriteString(u.Fragment)
	}
	return b.String()
}
