package oauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

func TestSetAuthority(t *testing.T) {
	const a, b = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did:web:lex.example.com"
	txt := map[string][]string{
		"_lexicon.blog.example.com":  {"did=" + a, "did=" + a, "v=spf1"},
		"_lexicon.two.example.com":   {"did=" + a, "did=" + b},
		"_lexicon.none.example.com":  {"hello"},
		"_lexicon.other.example.com": {"did=https://evil.example"},
	}
	ps := &publishedSets{dids: &resolve.Resolver{LookupTXT: func(_ context.Context, name string) ([]string, error) {
		if v, ok := txt[name]; ok {
			return v, nil
		}
		return nil, errors.New("NXDOMAIN")
	}}}
	for _, c := range []struct{ nsid, did string }{
		{"com.example.blog.authWrite", a},
		{"COM.Example.Blog.authWrite", a}, // the authority is case-insensitive
		{"com.example.two.set", ""},       // two DIDs: ambiguous
		{"com.example.none.set", ""},
		{"com.example.other.set", ""},
		{"com.example.set", ""}, // _lexicon.example.com: no parent walk
	} {
		did, err := ps.authority(t.Context(), c.nsid)
		if did != c.did || (c.did == "") != errors.Is(err, ErrNoSet) {
			t.Errorf("%s: %q, %v; want %q", c.nsid, did, err, c.did)
		}
	}
}

func TestParsePermissionSet(t *testing.T) {
	const nsid = "com.example.blog.authWrite"
	set := `{"lexicon":1,"id":"` + nsid + `","defs":{"main":{"type":"permission-set","permissions":[
{"type":"permission","resource":"repo","collection":["com.example.blog.post"]}]}}}`
	if d, err := ParsePermissionSet(nsid, []byte(set)); err != nil || len(d.Permissions) != 1 {
		t.Fatalf("good record: %v", err)
	}
	for name, value := range map[string]string{
		"not JSON":       `<html>`,
		"not an object":  `[]`,
		"other id":       `{"lexicon":1,"id":"com.example.blog.other","defs":{"main":{"type":"permission-set","permissions":[]}}}`,
		"not a set":      `{"lexicon":1,"id":"` + nsid + `","defs":{"main":{"type":"query"}}}`,
		"bad permission": `{"lexicon":1,"id":"` + nsid + `","defs":{"main":{"type":"permission-set","permissions":[{"type":"x","resource":"repo"}]}}}`,
	} {
		if _, err := ParsePermissionSet(nsid, []byte(value)); !errors.Is(err, ErrNoSet) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParsePermissionSet(f *testing.F) {
	f.Add([]byte(`{"lexicon":1,"id":"com.example.a.set","defs":{"main":{"type":"permission-set","permissions":[{"type":"permission","resource":"repo","collection":["com.example.a.post"]}]}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParsePermissionSet("com.example.a.set", b)
		if err == nil && d.Type != "permission-set" {
			t.Fatal("accepted a schema that is not a permission set")
		}
		if err != nil {
			return
		}
		// Whatever it says, it grants only within com.example.a.
		sets := func(string) (*lexicon.Def, bool) { return d, true }
		p := ParseScope("atproto include:com.example.a.set?aud=did:web:x.example%23svc", sets)
		for _, r := range ParseExpanded(p.Expanded()).Repo {
			for _, c := range r.Collections {
				if !strings.HasPrefix(c, "com.example.a.") {
					t.Fatalf("the set granted %q", c)
				}
			}
		}
	})
}

// TestSetCancelledNotCached: a resolution cut short by its caller is not
// cached as the set's failure; one that fails on its own is.
func TestSetCancelledNotCached(t *testing.T) {
	lookups := 0
	ps := &publishedSets{now: time.Now, cache: map[string]cachedSet{}, dids: &resolve.Resolver{
		LookupTXT: func(ctx context.Context, name string) ([]string, error) {
			lookups++
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("NXDOMAIN")
		}}}
	const nsid = "com.example.blog.authWrite"
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for i, c := range []struct {
		ctx  context.Context
		want int
	}{{cancelled, 1}, {t.Context(), 2}, {t.Context(), 2}} {
		if _, err := ps.get(c.ctx, nsid); !errors.Is(err, ErrNoSet) {
			t.Fatalf("get %d: %v", i, err)
		}
		if lookups != c.want {
			t.Fatalf("get %d: %d lookups, want %d", i, lookups, c.want)
		}
	}
}
