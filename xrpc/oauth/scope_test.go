package oauth

import (
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

func sets(t testing.TB) SetResolver {
	c, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	return CatalogSets(c)
}

func TestScopeAllows(t *testing.T) {
	s := sets(t)
	const appview = "did:web:api.bsky.app#bsky_appview"
	repo := func(c, a string) Need { return Need{Resource: ResRepo, Collection: c, Action: a} }
	rpc := func(l, a string) Need { return Need{Resource: ResRPC, Lxm: l, Aud: a} }
	cases := []struct {
		scope string
		need  Need
		want  bool
	}{
		{"atproto repo:app.bsky.feed.like?action=create", repo("app.bsky.feed.like", "create"), true},
		{"atproto repo:app.bsky.feed.like?action=create", repo("app.bsky.feed.post", "create"), false},
		{"atproto repo:app.bsky.feed.like?action=create", repo("app.bsky.feed.like", "delete"), false},
		{"repo:app.bsky.feed.like", repo("app.bsky.feed.like", "create"), false}, // no atproto
		{"atproto repo:*", repo("any.thing.here", "update"), true},
		{"atproto repo?collection=a.b.c&collection=d.e.f&action=delete", repo("d.e.f", "delete"), true},
		{"atproto rpc:app.bsky.feed.getFeed?aud=" + appview, rpc("app.bsky.feed.getFeed", appview), true},
		{"atproto rpc:app.bsky.feed.getFeed?aud=did:web:api.bsky.app%23bsky_appview", rpc("app.bsky.feed.getFeed", appview), true},
		{"atproto rpc:app.bsky.feed.getFeed?aud=" + appview, rpc("app.bsky.feed.getFeed", "did:web:other#x"), false},
		{"atproto rpc:*?aud=*", rpc("app.bsky.feed.getFeed", appview), false},
		{"atproto transition:generic", rpc("app.bsky.feed.getTimeline", appview), true},
		{"atproto transition:generic", rpc("chat.bsky.convo.listConvos", "did:web:api.bsky.chat#bsky_chat"), false},
		{"atproto transition:generic transition:chat.bsky", rpc("chat.bsky.convo.listConvos", "did:web:api.bsky.chat#bsky_chat"), true},
		{"atproto blob:image/*", Need{Resource: ResBlob, MIME: "image/png"}, true},
		{"atproto blob:image/*", Need{Resource: ResBlob, MIME: "video/mp4"}, false},
		{"atproto account:email", Need{Resource: ResAccount, Attr: "email", Action: "read"}, true},
		{"atproto account:email", Need{Resource: ResAccount, Attr: "email", Action: "manage"}, false},
		{"atproto transition:email", Need{Resource: ResAccount, Attr: "email", Action: "read"}, true},
		{"atproto identity:handle", Need{Resource: ResIdentity, Attr: "handle"}, true},
		{"atproto identity:handle", Need{Resource: ResIdentity, Attr: "*"}, false},
		{"atproto include:app.bsky.authCreatePosts", repo("app.bsky.feed.post", "create"), true},
		{"atproto include:app.bsky.authCreatePosts", repo("app.bsky.feed.post", "delete"), false},
		{"atproto include:app.bsky.authCreatePosts?aud=" + appview, rpc("app.bsky.video.uploadVideo", appview), true},
		{"atproto include:com.example.unknownSet", repo("app.bsky.feed.post", "create"), false},
		{"atproto nonsense:thing", Need{Resource: ResAny}, true},
	}
	for _, c := range cases {
		if got := ParseScope(c.scope, s).Allows(c.need); got != c.want {
			t.Errorf("%q allows %v = %v, want %v", c.scope, c.need, got, c.want)
		}
	}
}

func TestScopeUnknownIgnored(t *testing.T) {
	p := ParseScope("atproto nonsense:thing repo:app.bsky.feed.like include:com.example.unknownSet", sets(t))
	if p.String() != "atproto repo:app.bsky.feed.like" {
		t.Fatalf("granted %q", p.String())
	}
}

var expansionNeeds = []Need{
	{Resource: ResRepo, Collection: "app.bsky.feed.post", Action: "create"},
	{Resource: ResRepo, Collection: "app.bsky.feed.post", Action: "delete"},
	{Resource: ResRepo, Collection: "app.bsky.feed.like", Action: "create"},
	{Resource: ResRPC, Lxm: "app.bsky.video.uploadVideo", Aud: "did:web:api.bsky.app#bsky_appview"},
	{Resource: ResRPC, Lxm: "app.bsky.feed.getTimeline", Aud: "did:web:api.bsky.app#bsky_appview"},
	{Resource: ResRPC, Lxm: "chat.bsky.convo.listConvos", Aud: "did:web:api.bsky.chat#bsky_chat"},
	{Resource: ResBlob, MIME: "image/png"},
	{Resource: ResAccount, Attr: "email", Action: "read"},
	{Resource: ResIdentity, Attr: "handle"},
	{Resource: ResAny},
}

// TestScopeExpanded: a stored expansion grants what the scope granted
// with its sets, and names no set any more.
func TestScopeExpanded(t *testing.T) {
	s := sets(t)
	for _, scope := range []string{
		"atproto include:app.bsky.authCreatePosts?aud=did:web:api.bsky.app%23bsky_appview repo:app.bsky.feed.like",
		"atproto include:app.bsky.authFullApp?aud=did:web:api.bsky.app%23bsky_appview",
		"atproto transition:generic transition:chat.bsky blob:image/*",
		"atproto include:chat.bsky.authFullChatClient?aud=did:web:api.bsky.chat%23bsky_chat account:email",
	} {
		p := ParseScope(scope, s)
		x := ParseExpanded(p.Expanded())
		if strings.Contains(p.Expanded(), "include:") {
			t.Errorf("%q expands to %q", scope, p.Expanded())
		}
		for _, n := range expansionNeeds {
			if x.Allows(n) != p.Allows(n) {
				t.Errorf("%q: expanded allows %v = %v, the scope %v", scope, n, x.Allows(n), p.Allows(n))
			}
		}
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"atproto", "atproto transition:generic", "repo:app.bsky.feed.post?action=create&action=delete",
		"rpc:app.bsky.feed.getFeed?aud=did:web:api.bsky.app#bsky_appview", "include:app.bsky.authFullApp?aud=did:web:x#y",
		"blob:*/*", "account:email?action=manage", "identity:*", "repo?collection=%zz"} {
		f.Add(s)
	}
	rs := sets(f)
	f.Fuzz(func(t *testing.T, s string) {
		p := ParseScope(s, rs)
		p.Allows(Need{Resource: ResRepo, Collection: "app.bsky.feed.post", Action: "create"})
		p.Describe()
		// What is granted parses to itself.
		if q := ParseScope(p.String(), rs); q.String() != p.String() {
			t.Fatalf("%q → %q → %q", s, p.String(), q.String())
		}
		// Its expansion grants the same, without the sets.
		x := ParseExpanded(p.Expanded())
		for _, n := range expansionNeeds {
			if x.Allows(n) != p.Allows(n) {
				t.Fatalf("%q expanded to %q: %v differs", s, p.Expanded(), n)
			}
		}
	})
}

func FuzzParseClientMetadata(f *testing.F) {
	f.Add([]byte(`{"client_id":"https://a.example/m.json","redirect_uris":["https://a.example/cb"],"scope":"atproto","grant_types":["authorization_code"],"response_types":["code"],"dpop_bound_access_tokens":true}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClientMetadata("https://a.example/m.json", b)
		if err == nil && (!c.DPoPBound || len(c.RedirectURIs) == 0) {
			t.Fatal("accepted metadata that breaks the rules")
		}
	})
}
