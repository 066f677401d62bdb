package xrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// lexiconAuthority is a loopback stand-in for whoever publishes a
// permission set: its DNS answer, its did:web document naming its K-256
// signing key, and its PDS, which serves the com.atproto.lexicon.schema
// record as com.atproto.sync.getRecord proves it (a CAR a real Hearth
// repository exports) and, as plain JSON, as com.atproto.repo.getRecord
// does; only the proof is to be believed.
type lexiconAuthority struct {
	did      string
	key      keys.PrivateKey
	proof    atomic.Value // []byte: the CAR served; empty answers 404
	value    atomic.Value // string: the repo.getRecord value; "" answers 404
	txts     atomic.Int32 // TXT lookups
	fetches  atomic.Int32 // record fetches, either kind
	lookupFn func(ctx context.Context, name string) ([]string, error)
}

func newLexiconAuthority(t *testing.T, nsid string) *lexiconAuthority {
	key, err := keys.GenerateK256()
	if err != nil {
		t.Fatal(err)
	}
	a := &lexiconAuthority{key: key}
	a.proof.Store([]byte(nil))
	a.value.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		found := q.Get("collection") == "com.atproto.lexicon.schema" && q.Get("rkey") == nsid
		switch r.URL.Path {
		case "/.well-known/did.json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":%q,"verificationMethod":[{"id":"%[1]s#atproto","type":"Multikey","controller":%[1]q,"publicKeyMultibase":%q}],
"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"http://%s"}]}`, a.did, key.Public().Multibase(), r.Host)
		case "/xrpc/com.atproto.sync.getRecord":
			a.fetches.Add(1)
			car := a.proof.Load().([]byte)
			if len(car) == 0 || q.Get("did") != a.did || !found {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"error":"RecordNotFound"}`)
				return
			}
			w.Header().Set("Content-Type", "application/vnd.ipld.car")
			w.Write(car)
		case "/xrpc/com.atproto.repo.getRecord":
			a.fetches.Add(1)
			w.Header().Set("Content-Type", "application/json")
			v := a.value.Load().(string)
			if v == "" || q.Get("repo") != a.did || !found {
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

// publish makes value the schema record of nsid in the authority's
// repository, proven and plain; "" takes it away.
func (a *lexiconAuthority) publish(t *testing.T, nsid, value string) {
	a.value.Store(value)
	if value == "" {
		a.proof.Store([]byte(nil))
		return
	}
	a.proof.Store(schemaProof(t, a.did, a.key, nsid, map[string]string{nsid: value}))
}

// schemaProof writes records (rkey: schema JSON) into a new repository of
// did signed by key, beside a few dozen other schemas so that the tree
// has more than one node, and returns the com.atproto.sync.getRecord CAR
// of the schema record rkey.
func schemaProof(t *testing.T, did string, key keys.PrivateKey, rkey string, records map[string]string) []byte {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "authority.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ops := []repo.Op{}
	put := func(rk, value string) {
		rec, err := dagcbor.RecordFromJSON([]byte(value))
		if err != nil {
			t.Fatal(err)
		}
		b, err := dagcbor.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, repo.Op{Action: repo.Create, Collection: "com.atproto.lexicon.schema", RKey: rk, Record: b})
	}
	for i := range 40 {
		id := fmt.Sprintf("com.example.blog.other%02d", i)
		put(id, `{"$type":"com.atproto.lexicon.schema","lexicon":1,"id":"`+id+`","defs":{}}`)
	}
	for rk, v := range records {
		put(rk, v)
	}
	w := &repo.Writer{Clock: syntax.NewTIDClock(3)}
	var buf bytes.Buffer
	err = db.Update(t.Context(), func(tx *store.Tx) error {
		if _, err := w.Create(tx, did, key); err != nil {
			return err
		}
		if _, err := w.Apply(tx, did, key, ops, nil); err != nil {
			return err
		}
		return repo.ExportRecordProof(tx, &buf, did, "com.atproto.lexicon.schema", rkey)
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
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

// blogSetNSID is the network permission set the tests publish.
const blogSetNSID = "com.example.blog.authWrite"

// blogSetEnv is an OAuth server whose resolver finds blogSet published by
// its authority, and an account to sign in with.
func blogSetEnv(t *testing.T) (*testEnv, *lexiconAuthority, testAccount) {
	e := oauthEnv(t)
	auth := newLexiconAuthority(t, blogSetNSID)
	auth.publish(t, blogSetNSID, blogSet)
	e.srv.resolver.LookupTXT = auth.lookupFn
	return e, auth, e.createAccount("blogger")
}

// TestOAuthNetworkPermissionSet: a set outside the embedded lexicons is
// resolved at PAR through DNS, the DID document and the authority's PDS;
// it grants only within its namespace; the grant keeps what it granted
// when the set later disappears; answers are cached; a set that does not
// resolve is invalid_scope.
func TestOAuthNetworkPermissionSet(t *testing.T) {
	const set = blogSetNSID
	e, auth, acct := blogSetEnv(t)

	const scope = "atproto include:" + set
	c := newDPoPClient(e, scope)
	c.signIn(acct, scope)
	if r := c.xrpc("POST", "com.atproto.repo.createRecord", blogPost(acct.DID)); r.Status != 200 {
		t.Fatalf("write within the set: %d %s", r.Status, r.Body)
	}
	expectError(t, c.xrpc("POST", "com.atproto.repo.createRecord", postRecord(acct.DID)), 403, "ScopeMissingError")

	// The set is gone from the network: the grant still allows what it
	// allowed, and a second sign-in within the cache's life asks nobody.
	auth.publish(t, set, "")
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
	const set = blogSetNSID
	e, auth, acct := blogSetEnv(t)
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
	auth.publish(t, set, strings.Replace(blogSet, `"collection":["com.example.blog.post"]`,
		`"collection":["com.example.blog.post","com.example.blog.comment"]`, 1))
	e.srv.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	t.Cleanup(func() { e.srv.now = time.Now })
	if o.Remembered(pending(), acct.DID) {
		t.Fatal("a republished set with more permissions was approved silently")
	}
}

// TestOAuthNetworkSetProofRefused: a permission set is believed only as a
// proof from its authority's repository proves it. The stand-in answers
// com.atproto.repo.getRecord with the set each attack wants granted, and
// com.atproto.sync.getRecord with a proof that does not prove it; each is
// invalid_scope.
func TestOAuthNetworkSetProofRefused(t *testing.T) {
	const set = "com.example.blog.authWrite"
	more := strings.Replace(blogSet, `"collection":["com.example.blog.post"]`,
		`"collection":["com.example.blog.post","com.example.blog.comment"]`, 1)
	other, err := keys.GenerateK256()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		proof func(a *lexiconAuthority) []byte
	}{
		{"record bytes differ from the proven CID", func(a *lexiconAuthority) []byte {
			good := schemaProof(t, a.did, a.key, set, map[string]string{set: blogSet})
			return swapRecord(t, good, blogSet, more, false)
		}},
		{"another record beside the proven CID", func(a *lexiconAuthority) []byte {
			good := schemaProof(t, a.did, a.key, set, map[string]string{set: blogSet})
			return swapRecord(t, good, blogSet, more, true)
		}},
		{"commit signed by another key", func(a *lexiconAuthority) []byte {
			return schemaProof(t, a.did, other, set, map[string]string{set: more})
		}},
		{"proof of another NSID", func(a *lexiconAuthority) []byte {
			return schemaProof(t, a.did, a.key, "com.example.blog.authOther", map[string]string{"com.example.blog.authOther": more})
		}},
		{"commit of another DID", func(a *lexiconAuthority) []byte {
			return schemaProof(t, "did:web:elsewhere.example", a.key, set, map[string]string{set: more})
		}},
		{"truncated CAR", func(a *lexiconAuthority) []byte {
			good := schemaProof(t, a.did, a.key, set, map[string]string{set: more})
			return good[:len(good)-16]
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := oauthEnv(t)
			auth := newLexiconAuthority(t, set)
			e.srv.resolver.LookupTXT = auth.lookupFn
			auth.value.Store(more)
			auth.proof.Store(c.proof(auth))
			const scope = "atproto include:" + set
			r := newDPoPClient(e, scope).par(url.Values{"scope": {scope}})
			if r.Status != 400 || r.errName(t) != "invalid_scope" || !strings.Contains(string(r.Body), set) {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if auth.fetches.Load() == 0 {
				t.Fatal("refused before the record was fetched")
			}
		})
	}
}

// swapRecord rewrites a proof whose record block holds from so that it
// holds to instead: under from's CID, or (beside) under its own CID,
// leaving the proven CID without its block.
func swapRecord(t *testing.T, proof []byte, from, to string, beside bool) []byte {
	t.Helper()
	enc := func(v string) []byte {
		rec, err := dagcbor.RecordFromJSON([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		b, err := dagcbor.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	proven, forged := cid.Sum(cid.DagCBOR, enc(from)), enc(to)
	cr, err := car.NewReader(bytes.NewReader(proof), car.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cw, err := car.NewWriter(&out, cr.Roots()...)
	if err != nil {
		t.Fatal(err)
	}
	swapped := false
	for {
		c, data, err := cr.Next()
		if err != nil {
			break
		}
		if c == proven {
			c, data, swapped = cid.Sum(cid.DagCBOR, forged), forged, true
			if !beside {
				c = proven
			}
		}
		if err := cw.WriteBlock(c, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Flush(); err != nil || !swapped {
		t.Fatalf("the proof has no record %s (%v)", proven, err)
	}
	return out.Bytes()
}
