package xrpc

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/store"
)

func (e *testEnv) signingKey(did string) keys.PublicKey {
	e.t.Helper()
	var k keys.PrivateKey
	e.db.View(func(tx *store.Tx) error {
		a, err := tx.Account(did)
		if err != nil {
			e.t.Fatal(err)
		}
		k, err = keys.ParsePrivateString(a.SigningKey)
		if err != nil {
			e.t.Fatal(err)
		}
		return nil
	})
	return k.Public()
}

func TestSyncReads(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("kate")
	var rkeys []string
	for i := 0; i < 5; i++ {
		m := e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post("p")}).json(t)
		uri := m["uri"].(string)
		rkeys = append(rkeys, uri[strings.LastIndexByte(uri, '/')+1:])
	}
	r := e.get("com.atproto.sync.getRepo", "", "did="+a.DID)
	if r.Status != 200 || r.Header.Get("Content-Type") != carType {
		t.Fatalf("getRepo: %d %s", r.Status, r.Header)
	}
	snap, err := repo.ReadSnapshot(bytes.NewReader(r.Body), a.DID, e.signingKey(a.DID), car.Options{})
	if err != nil {
		t.Fatalf("exported CAR does not verify: %v", err)
	}
	if len(snap.Records) != 5 {
		t.Fatalf("snapshot has %d records", len(snap.Records))
	}
	lc := e.get("com.atproto.sync.getLatestCommit", "", "did="+a.DID).json(t)
	if lc["cid"] != snap.Commit.String() || lc["rev"] != snap.Rev {
		t.Fatalf("latest commit %v vs snapshot %s %s", lc, snap.Commit, snap.Rev)
	}

	// getRecord: a proof CAR holding the commit, the path and the record.
	pr := e.get("com.atproto.sync.getRecord", "", "did="+a.DID+"&collection=app.bsky.feed.post&rkey="+rkeys[2])
	root, blocks, err := car.ReadAll(bytes.NewReader(pr.Body), car.Options{})
	if err != nil || root != snap.Commit {
		t.Fatalf("proof CAR: root %s, %v", root, err)
	}
	want := snap.Records[2].CID
	if _, ok := blocks[want]; !ok {
		t.Fatal("proof CAR lacks the record")
	}

	// getBlocks, with one missing.
	gb := e.get("com.atproto.sync.getBlocks", "", "did="+a.DID+"&cids="+want.String())
	if _, blocks, err := car.ReadAll(bytes.NewReader(gb.Body), car.Options{}); err != nil || len(blocks) != 1 {
		t.Fatalf("getBlocks: %v %d", err, len(blocks))
	}
	missing := cid.Sum(cid.DagCBOR, []byte("nothing")).String()
	expectError(t, e.get("com.atproto.sync.getBlocks", "", "did="+a.DID+"&cids="+missing), 400, "BlockNotFound")

	// since: only the blocks after an earlier rev.
	sr := e.get("com.atproto.sync.getRepo", "", "did="+a.DID+"&since="+snap.Rev)
	if _, blocks, err := car.ReadAll(bytes.NewReader(sr.Body), car.Options{}); err != nil || len(blocks) != 1 {
		t.Fatalf("getRepo since head: %v, %d blocks (want only the commit)", err, len(blocks))
	}

	st := e.get("com.atproto.sync.getRepoStatus", "", "did="+a.DID).json(t)
	if st["active"] != true || st["rev"] != snap.Rev {
		t.Fatalf("getRepoStatus: %v", st)
	}
	e.createAccount("liam")
	lr := e.get("com.atproto.sync.listRepos", "", "limit=1").json(t)
	if len(lr["repos"].([]any)) != 1 || lr["cursor"] == nil {
		t.Fatalf("listRepos page 1: %v", lr)
	}
	lr2 := e.get("com.atproto.sync.listRepos", "", "limit=1&cursor="+lr["cursor"].(string)).json(t)
	if len(lr2["repos"].([]any)) != 1 {
		t.Fatalf("listRepos page 2: %v", lr2)
	}
	expectError(t, e.get("com.atproto.sync.getRepo", "", "did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"), 404, "RepoNotFound")
	expectError(t, e.get("com.atproto.sync.getRepo", "", "did="+a.DID+"&since=nope"), 400, "InvalidRequest")
}

func TestIdentity(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("mona")
	if m := e.get("com.atproto.identity.resolveHandle", "", "handle=mona.pds.test").json(t); m["did"] != a.DID {
		t.Fatalf("resolveHandle: %v", m)
	}
	expectError(t, e.get("com.atproto.identity.resolveHandle", "", "handle=bad..handle"), 400, "InvalidRequest")
	if r := e.post("com.atproto.identity.updateHandle", a.Access, map[string]any{"handle": "mona2.pds.test"}); r.Status != 200 {
		t.Fatalf("updateHandle: %d %s", r.Status, r.Body)
	}
	if len(e.plc.Log(a.DID)) != 2 {
		t.Fatalf("PLC log has %d ops after the handle change", len(e.plc.Log(a.DID)))
	}
	if m := e.get("com.atproto.identity.resolveHandle", "", "handle=mona2.pds.test").json(t); m["did"] != a.DID {
		t.Fatalf("new handle: %v", m)
	}
	b := e.createAccount("nick")
	expectError(t, e.post("com.atproto.identity.updateHandle", b.Access, map[string]any{"handle": "mona2.pds.test"}), 400, "HandleNotAvailable")
}

func TestWellKnown(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("paul")
	req, _ := http.NewRequest("GET", e.http.URL+"/.well-known/atproto-did", nil)
	req.Host = "paul.pds.test"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != a.DID {
		t.Fatalf("atproto-did for paul.pds.test: %d %q", res.StatusCode, body)
	}
	req.Host = "nobody.pds.test"
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 404 {
		t.Fatalf("unknown host: %d", res.StatusCode)
	}
	res, _ = http.Get(e.http.URL + "/.well-known/did.json")
	var doc map[string]any
	json.NewDecoder(res.Body).Decode(&doc)
	if doc["id"] != "did:web:pds.test" {
		t.Fatalf("did.json: %v", doc)
	}
}

func TestBringYourOwnDIDWeb(t *testing.T) {
	e := newEnv(t)
	pointsHere := true
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ReplaceAll(r.Host, ":", "%3A")
		ep := "http://pds.test"
		if !pointsHere {
			ep = "https://elsewhere.example"
		}
		json.NewEncoder(w).Encode(map[string]any{
			"id":      "did:web:" + host,
			"service": []map[string]string{{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": ep}},
		})
	}))
	defer web.Close()
	did := "did:web:" + strings.ReplaceAll(strings.TrimPrefix(web.URL, "http://"), "127.0.0.1:", "localhost%3A")
	in := map[string]any{"handle": "quinn.pds.test", "email": "q@example.com", "password": "pw", "did": did}
	pointsHere = false
	expectError(t, e.post("com.atproto.server.createAccount", "", in), 400, "InvalidRequest")
	pointsHere = true
	r := e.post("com.atproto.server.createAccount", "", in)
	if r.Status != 200 || r.json(t)["did"] != did {
		t.Fatalf("did:web sign-up: %d %s", r.Status, r.Body)
	}
	if e.plc.Len() != 0 {
		t.Fatal("a did:web account wrote to the PLC directory")
	}
	creds := e.get("com.atproto.identity.getRecommendedDidCredentials", r.json(t)["accessJwt"].(string), "").json(t)
	if creds["verificationMethods"].(map[string]any)["atproto"] == nil {
		t.Fatalf("credentials: %v", creds)
	}
}
