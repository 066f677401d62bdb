package syntax

import (
	"fmt"
	"strings"

	"github.com/hearth-pds/hearth/identity"
)

// ATURI is a parsed at:// URI: an authority (DID or handle), and optionally
// a collection and a record key.
type ATURI struct {
	Authority  string
	Collection NSID
	RecordKey  string
	// Rest is a query and/or fragment, kept as given.
	Rest string
}

// ParseATURI parses the restricted AT-URI syntax used in records.
func ParseATURI(s string) (ATURI, error) {
	bad := func(why string) (ATURI, error) {
		return ATURI{}, fmt.Errorf("%w: at-uri %q: %s", ErrInvalid, trunc(s), why)
	}
	if len(s) > 8192 {
		return bad("too long")
	}
	rest, ok := strings.CutPrefix(s, "at://")
	if !ok {
		return bad("must start with at://")
	}
	var u ATURI
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		u.Rest, rest = rest[i:], rest[:i]
		if strings.ContainsAny(u.Rest, " \t\n\r") {
			return bad("whitespace")
		}
		if f := strings.IndexByte(u.Rest, '#'); f >= 0 && (!strings.HasPrefix(u.Rest[f:], "#/") || strings.Count(u.Rest, "#") > 1) {
			return bad("fragment must be one #/…")
		}
	}
	parts := strings.Split(rest, "/")
	if len(parts) > 3 {
		return bad("too many path segments")
	}
	auth := parts[0]
	if strings.HasPrefix(auth, "did:") {
		if _, err := identity.ParseDID(auth); err != nil {
			return bad("authority is not a DID")
		}
	} else if _, err := identity.ParseHandle(auth); err != nil {
		return bad("authority is not a handle or DID")
	}
	u.Authority = auth
	if len(parts) >= 2 {
		n, err := ParseNSID(parts[1])
		if err != nil {
			return bad("collection is not an NSID")
		}
		u.Collection = n
	}
	if len(parts) == 3 {
		k, err := ParseRecordKey(parts[2])
		if err != nil {
			return bad("record key")
		}
		u.RecordKey = k
	}
	return u, nil
}

// String reassembles the URI.
func (u ATURI) String() string {
	s := "at://" + u.Authority
	if u.Collection != "" {
		s += "/" + string(u.Collection)
		if u.RecordKey != "" {
			s += "/" + u.RecordKey
		}
	}
	return s + u.Rest
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
