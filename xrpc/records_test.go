package xrpc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/store"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func post(text string) map[string]any {
	return map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2024-05-01T12:00:00.000Z"}
}

// head returns the repo's current commit CID, to prove a rejected write
// changed nothing.
func (e *testEnv) head(did string) string {
	e.t.Helper()
	m := e.get("com.atproto.sync.getLatestCommit", "", "did="+did).json(e.t)
	return fmt.Sprint(m["cid"], "@", m["rev"])
}

func TestRecordLifecycle(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("gina")
	r := e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.Handle, "collection": "app.bsky.feed.post", "record": post("hello")})
	if r.Status != 200 {
		t.Fatalf("createRecord: %d %s", r.Status, r.Body)
	}
	m := r.json(t)
	uri := m["uri"].(string)
	rkey := uri[strings.LastIndexByte(uri, '/')+1:]
	if m["validationStatus"] != "valid" || !strings.HasPrefix(uri, "at://"+a.DID+"/app.bsky.feed.post/") {
		t.Fatalf("createRecord: %v", m)
	}
	g := e.get("com.atproto.repo.getRecord", "", "repo="+a.DID+"&collection=app.bsky.feed.post&rkey="+rkey).json(t)
	if g["cid"] != m["cid"] || g["value"].(map[string]any)["text"] != "hello" {
		t.Fatalf("getRecord: %v", g)
	}
	// put: update, then create at a new key.
	p := e.post("com.atproto.repo.putRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.actor.profile", "rkey": "self", "record": map[string]any{"displayName": "Gina"}})
	if p.Status != 200 {
		t.Fatalf("putRecord: %d %s", p.Status, p.Body)
	}
	p2 := e.post("com.atproto.repo.putRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.actor.profile", "rkey": "self", "record": map[string]any{"displayName": "Gina G"}, "swapRecord": p.json(t)["cid"]})
	if p2.Status != 200 {
		t.Fatalf("putRecord update: %d %s", p2.Status, p2.Body)
	}
	// list
	for i := 0; i < 4; i++ {
		e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post(fmt.Sprint("n", i))})
	}
	l := e.get("com.atproto.repo.listRecords", "", "repo="+a.DID+"&collection=app.bsky.feed.post&limit=3").json(t)
	recs := l["records"].([]any)
	if len(recs) != 3 || l["cursor"] == nil {
		t.Fatalf("listRecords: %v", l)
	}
	l2 := e.get("com.atproto.repo.listRecords", "", "repo="+a.DID+"&collection=app.bsky.feed.post&limit=3&cursor="+l["cursor"].(string)).json(t)
	if len(l2["records"].([]any)) != 2 {
		t.Fatalf("second page: %v", l2)
	}
	d := e.get("com.atproto.repo.describeRepo", "", "repo="+a.Handle).json(t)
	if fmt.Sprint(d["collections"]) != "[app.bsky.actor.profile app.bsky.feed.post]" {
		t.Fatalf("describeRepo: %v", d)
	}
	// delete
	if r := e.post("com.atproto.repo.deleteRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "rkey": rkey}); r.Status != 200 {
		t.Fatalf("deleteRecord: %d %s", r.Status, r.Body)
	}
	expectError(t, e.get("com.atproto.repo.getRecord", "", "repo="+a.DID+"&collection=app.bsky.feed.post&rkey="+rkey), 404, "RecordNotFound")
}

func TestApplyWrites(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("hank")
	const ns = "com.atproto.repo.applyWrites#"
	r := e.post("com.atproto.repo.applyWrites", a.Access, map[string]any{"repo": a.DID, "writes": []any{
		map[string]any{"$type": ns + "create", "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2a", "value": post("one")},
		map[string]any{"$type": ns + "create", "collection": "app.bsky.feed.post", "value": post("two")},
		map[string]any{"$type": ns + "create", "collection": "app.bsky.actor.profile", "rkey": "self", "value": map[string]any{"displayName": "H"}},
	}})
	if r.Status != 200 {
		t.Fatalf("applyWrites: %d %s", r.Status, r.Body)
	}
	res := r.json(t)["results"].([]any)
	if len(res) != 3 || res[0].(map[string]any)["$type"] != ns+"createResult" {
		t.Fatalf("results: %v", res)
	}
	before := e.head(a.DID)
	// One bad write fails the whole batch.
	bad := e.post("com.atproto.repo.applyWrites", a.Access, map[string]any{"repo": a.DID, "writes": []any{
		map[string]any{"$type": ns + "delete", "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2a"},
		map[string]any{"$type": ns + "update", "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2b", "value": post("missing")},
	}})
	expectError(t, bad, 400, "RecordNotFound")
	if e.head(a.DID) != before {
		t.Fatal("a rejected batch changed the repo")
	}
	if g := e.get("com.atproto.repo.getRecord", "", "repo="+a.DID+"&collection=app.bsky.feed.post&rkey=3jzfcijpj2z2a"); g.Status != 200 {
		t.Fatal("a rejected batch deleted a record")
	}
	writes := make([]any, 201)
	for i := range writes {
		writes[i] = map[string]any{"$type": ns + "create", "collection": "app.bsky.feed.post", "value": post("x")}
	}
	expectError(t, e.post("com.atproto.repo.applyWrites", a.Access, map[string]any{"repo": a.DID, "writes": writes}), 400, "InvalidRequest")
}

func TestWritesRejectBadInput(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("ivan")
	other := e.createAccount("judy")
	ok := e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2a", "record": post("keep")})
	if ok.Status != 200 {
		t.Fatalf("seed: %d %s", ok.Status, ok.Body)
	}
	before := e.head(a.DID)
	long := strings.Repeat("é", 301)
	cases := []struct {
		name   string
		token  string
		body   any
		status int
		err    string
	}{
		{"no auth", "", map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post("x")}, 401, "AuthMissing"},
		{"someone else's repo", other.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post("x")}, 403, "Forbidden"},
		{"unknown repo", a.Access, map[string]any{"repo": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "collection": "app.bsky.feed.post", "record": post("x")}, 404, "RepoNotFound"},
		{"bad collection", a.Access, map[string]any{"repo": a.DID, "collection": "not an nsid", "record": post("x")}, 400, "InvalidRequest"},
		{"bad rkey", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "rkey": "..", "record": post("x")}, 400, "InvalidRequest"},
		{"text too long", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post(long)}, 400, "InvalidRequest"},
		{"missing createdAt", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": map[string]any{"text": "x"}}, 400, "InvalidRequest"},
		{"wrong $type", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": map[string]any{"$type": "app.bsky.feed.like", "text": "x"}}, 400, "InvalidRequest"},
		{"float", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": map[string]any{"text": "x", "createdAt": "2024-05-01T12:00:00Z", "n": 1.5}}, 400, "InvalidRequest"},
		{"not an object", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": "x"}, 400, "InvalidRequest"},
		{"existing rkey", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2a", "record": post("x")}, 400, "InvalidRequest"},
		{"swapCommit mismatch", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post("x"), "swapCommit": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}, 400, "InvalidSwap"},
		{"bad swapCommit", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post("x"), "swapCommit": "nope"}, 400, "InvalidRequest"},
		{"unknown lexicon with validate", a.Access, map[string]any{"repo": a.DID, "collection": "com.example.thing", "validate": true, "record": map[string]any{"a": 1}}, 400, "InvalidRequest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, e.post("com.atproto.repo.createRecord", c.token, c.body), c.status, c.err)
			if e.head(a.DID) != before {
				t.Fatal("rejected write changed the repo")
			}
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		big := post(strings.Repeat("a", 2<<20))
		r := e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": big})
		expectError(t, r, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	})
	t.Run("swapRecord mismatch on delete", func(t *testing.T) {
		r := e.post("com.atproto.repo.deleteRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2a", "swapRecord": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"})
		expectError(t, r, 400, "InvalidSwap")
	})
	if e.head(a.DID) != before {
		t.Fatal("rejected writes changed the repo")
	}
	// Unknown collections are accepted without validate=true.
	if r := e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "com.example.thing", "record": map[string]any{"a": 1}}); r.Status != 200 || r.json(t)["validationStatus"] != "unknown" {
		t.Fatalf("unknown collection: %d %s", r.Status, r.Body)
	}
}

func TestPutRecordSwapNull(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("bert")
	body := func(name string, swap any) string {
		return `{"repo":"` + a.DID + `","collection":"app.bsky.actor.profile","rkey":"self","record":{"displayName":"` + name + `"},"swapRecord":` + mustJSON(t, swap) + `}`
	}
	// null: the record must not exist yet.
	if r := e.post("com.atproto.repo.putRecord", a.Access, body("one", nil)); r.Status != 200 {
		t.Fatalf("first put: %d %s", r.Status, r.Body)
	}
	expectError(t, e.post("com.atproto.repo.putRecord", a.Access, body("two", nil)), 400, "InvalidSwap")
	expectError(t, e.post("com.atproto.repo.putRecord", a.Access, body("two", 5)), 400, "InvalidRequest")
}

func TestPutIdenticalRecordMakesNoCommit(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("ivy")
	profile := map[string]any{"repo": a.DID, "collection": "app.bsky.actor.profile", "rkey": "self", "record": map[string]any{"displayName": "Ivy"}}
	first := e.post("com.atproto.repo.putRecord", a.Access, profile)
	if first.Status != 200 {
		t.Fatalf("putRecord: %d %s", first.Status, first.Body)
	}
	head := e.head(a.DID)
	var seq int64
	e.db.View(func(tx *store.Tx) error { seq = tx.LastSeq(); return nil })

	again := e.post("com.atproto.repo.putRecord", a.Access, profile)
	if again.Status != 200 {
		t.Fatalf("identical putRecord: %d %s", again.Status, again.Body)
	}
	f, g := first.json(t), again.json(t)
	if g["uri"] != f["uri"] || g["cid"] != f["cid"] || mustJSON(t, g["commit"]) != mustJSON(t, f["commit"]) {
		t.Fatalf("identical putRecord answered %s, want uri, cid and commit of %s", again.Body, first.Body)
	}
	if now := e.head(a.DID); now != head {
		t.Fatalf("identical putRecord moved the head: %s → %s", head, now)
	}
	e.db.View(func(tx *store.Tx) error {
		if tx.LastSeq() != seq {
			t.Fatalf("identical putRecord emitted events %d..%d", seq+1, tx.LastSeq())
		}
		return nil
	})
}
