package xrpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// lexiconAuthority is a loopback stand-in for whoever publishes a
// permission set: its DNS answer, its did:web document and its PDS, which
// serves the com.atproto.lexicon.schema record.
type lexiconAuthority struct {
	did      string
	schema   atomic.Value // string: the record value served; "" answers 404
	txts     atomic.Int32 // TXT lookups
	fetches  atomic.Int32 // record fetches
	lookupFn func(ctx context.Context, name string) ([]string, error)
}

func newLexiconAuthority(t *testing.T, nsid string) *lexiconAuthority {
	a := &lexiconAuthority{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/did.json":
			fmt.Fprintf(w, `{"id":%q,"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"http://%s"}]}`, a.did, r.Host)
		case "/xrpc/com.atproto.repo.getRecord":
			a.fetches.Add(1)
			q := r.URL.Query()
			v, _ := a.schema.Load().(string)
			if v == "" || q.Get("repo") != a.did || q.Get("collection") != "com.atproto.lexicon.schema" || q.Get("rkey") != nsid {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"error":"RecordNotFound"}`)
				return
			}
			fmt.Fprintf(w, `{"uri":"at://%s/com.atproto.lexicon.schema/%s","value":%s}`, a.did, nsid, v)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	a.did = "did:web:localhost%3A" + u.Port()
	a.lookupFn = func(_ context.Context, name string) ([]string, error) {
		a.txts.Add(1)
		if name == "_lexicon.blog.example.com" {
			return []string{"v=spf1 -all", "did=" + a.did}, nil
		}
		return nil, errors.New("no such host")
	}
	return a
}

// blogSet grants posts of its own namespace, and tries more: a collection
// outside it and a resource nobody knows, both to be ignored.
const blogSet = `{"$type":"com.atproto.lexicon.schema","lexicon":1,"id":"com.example.blog.authWrite","defs":{"main":{
"type":"permission-set","title":"Write blog posts","permissions":[
{"type":"permission","resource":"repo","collection":["com.example.blog.post"],"action":["create"]},
{"type":"permission","resource":"repo","collection":["app.bsky.feed.post"]},
{"type":"permission","resource":"frobnicate","what":["everything"]}]}}}`

func blogPost(did string) map[string]any {
	return map[string]any{"repo": did, "collection": "com.example.blog.post", "record": map[string]any{
		"$type": "com.example.blog.post", "title": "hello", "createdAt": time.Now().UTC().Format(time.RFC3339)}}
}

// TestOAuthNetworkPermissionSet: a set outside the embedded lexicons is
// resolved at PAR through DNS, the DID document and the authority's PDS;
// it grants only within its namespace; the grant keeps what it granted
// when the set later disappears; answers are cached; a set that does not
// resolve is invalid_scope.
func TestOAuthNetworkPermissionSet(t *testing.T) {
	e := oauthEnv(t)
	const set = "com.example.blog.authWrite"
	auth := newLexiconAuthority(t, set)
	auth.schema.Store(blogSet)
	e.srv.resolver.LookupTXT = auth.lookupFn
	acct := e.createAccount("blogger")

	const scope = "atproto include:" + set
	c := newDPoPClient(e, scope)
	c.signIn(acct, scope)
	if r := c.xrpc("POST", "com.atproto.repo.createRecord", blogPost(acct.DID)); r.Status != 200 {
		t.Fatalf("write within the set: %d %s", r.Status, r.Body)
	}
	expectError(t, c.xrpc("POST", "com.atproto.repo.createRecord", postRecord(acct.DID)), 403, "ScopeMissingError")

	// The set is gone from the network: the grant still allows what it
	// allowed, and a second sign-in within the cache's life asks nobody.
	auth.schema.Store("")
	fetches := auth.fetches.Load()
	if r := c.xrpc("POST", "com.atproto.repo.createRecord", blogPost(acct.DID)); r.Status != 200 {
		t.Fatalf("write after the set went away: %d %s", r.Status, r.Body)
	}
	again := newDPoPClient(e, scope)
	again.signIn(acct, scope)
	if n := auth.fetches.Load(); n != fetches {
		t.Fatalf("the cached set was fetched again (%d → %d)", fetches, n)
	}

	// Sets that do not resolve: no TXT record, and (another client) a
	// record that is not there. Each is invalid_scope, and the failure is
	// cached too.
	for _, nsid := range []string{"com.example.nothing.set", "com.example.blog.authOther"} {
		sc := "atproto include:" + nsid
		bad := newDPoPClient(e, sc)
		for range 2 {
			r := bad.par(url.Values{"scope": {sc}})
			if r.Status != 400 || r.errName(t) != "invalid_scope" || !strings.Contains(string(r.Body), nsid) {
				t.Fatalf("%s: %d %s", nsid, r.Status, r.Body)
			}
		}
	}
	if n := auth.txts.Load(); n != 3 { // blog.example.com once, nothing.example.com once, authOther once
		t.Fatalf("%d TXT lookups: failures are not cached", n)
	}
}

// TestOAuthNetworkSetLimit: a PAR naming more permission sets from the
// network than one request may resolve is invalid_scope before any
// lookup.
func TestOAuthNetworkSetLimit(t *testing.T) {
	e := oauthEnv(t)
	auth := newLexiconAuthority(t, "com.example.blog.authWrite")
	e.srv.resolver.LookupTXT = auth.lookupFn
	scope := "atproto"
	for i := range 4 {
		scope += fmt.Sprintf(" include:com.example.blog.set%d", i)
	}
	// Four are looked up (and are not there).
	r := newDPoPClient(e, scope).par(url.Values{"scope": {scope}})
	if r.Status != 400 || strings.Contains(string(r.Body), "at most") || auth.txts.Load() == 0 {
		t.Fatalf("four sets: %d %s", r.Status, r.Body)
	}
	looked := auth.txts.Load()
	scope += " include:com.example.blog.set4"
	r = newDPoPClient(e, scope).par(url.Values{"scope": {scope}})
	if r.Status != 400 || r.errName(t) != "invalid_scope" || !strings.Contains(string(r.Body), "at most 4") {
		t.Fatalf("five sets: %d %s", r.Status, r.Body)
	}
	if n := auth.txts.Load(); n != looked {
		t.Fatalf("%d TXT lookups for a refused scope", n-looked)
	}
}

// TestOAuthRememberedConsentFollowsSet: a remembered consent covers what
// a permission set granted when it was approved; once the set is
// republished with more in it, the same scope asks again.
func TestOAuthRememberedConsentFollowsSet(t *testing.T) {
	e := oauthEnv(t)
	const set = "com.example.blog.authWrite"
	auth := newLexiconAuthority(t, set)
	auth.schema.Store(blogSet)
	e.srv.resolver.LookupTXT = auth.lookupFn
	acct := e.createAccount("blogger")
	const scope = "atproto include:" + set
	c := newDPoPClient(e, scope)
	o := e.srv.OAuth()
	pending := func() string {
		t.Helper()
		r := c.par(url.Values{"scope": {scope}})
		if r.Status != 201 {
			t.Fatalf("par: %d %s", r.Status, r.Body)
		}
		p, err := o.Pending(t.Context(), c.clientID, r.json(t)["request_uri"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	if _, err := o.Approve(t.Context(), pending(), acct.DID, true); err != nil {
		t.Fatal(err)
	}
	if !o.Remembered(pending(), acct.DID) {
		t.Fatal("the same set, unchanged: the consent is not remembered")
	}
	// The set now grants comments too; the cache has aged out.
	auth.schema.Store(strings.Replace(blogSet, `"collection":["com.example.blog.post"]`,
		`"collection":["com.example.blog.post","com.example.blog.comment"]`, 1))
	e.srv.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	t.Cleanup(func() { e.srv.now = time.Now })
	if o.Remembered(pending(), acct.DID) {
		t.Fatal("a republished set with more permissions was approved silently")
	}
}
