package xrpc

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc/plctest"
)

// twoHosts are two servers on one PLC directory: where an account lives
// now and where it moves.
func twoHosts(t *testing.T) (old, next *testEnv) {
	fp := plctest.New()
	plcSrv := httptest.NewServer(fp)
	t.Cleanup(plcSrv.Close)
	old = newEnvOn(t, fp, plcSrv, nil)
	next = newEnvOn(t, fp, plcSrv, nil, func(c *Config) {
		c.Hostname, c.PublicURL, c.HandleDomains = "pds2.test", "http://pds2.test", []string{".pds2.test"}
	})
	return old, next
}

func (e *testEnv) raw(method, nsid, token, params, ctype string, body []byte) resp {
	e.t.Helper()
	u := e.http.URL + "/xrpc/" + nsid
	if params != "" {
		u += "?" + params
	}
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Body: data, Header: res.Header}
}

func serviceToken(t *testing.T, from *testEnv, a testAccount, aud, lxm string) string {
	t.Helper()
	r := from.get("com.atproto.server.getServiceAuth", a.Access, "aud="+aud+"&lxm="+lxm)
	okStatus(t, r, "getServiceAuth")
	return r.json(t)["token"].(string)
}

func TestMigrationBetweenHearths(t *testing.T) {
	old, next := twoHosts(t)
	a := old.createAccount("mira")
	const srv, rp, sy, id = "com.atproto.server.", "com.atproto.repo.", "com.atproto.sync.", "com.atproto.identity."

	// Life on the old host: posts, an image, preferences.
	for _, text := range []string{"one", "two"} {
		okStatus(t, old.post(rp+"createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post",
			"record": map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-01-01T00:00:00Z"}}), "post")
	}
	img := tinyJPEG(false, 7)
	up := old.upload(a.Access, "image/jpeg", img)
	okStatus(t, up, "upload")
	blobRef := up.json(t)["blob"].(map[string]any)
	imgCID := blobRef["ref"].(map[string]any)["$link"].(string)
	okStatus(t, old.post(rp+"createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": imagePost(blobRef)}), "image post")
	prefs := []any{map[string]any{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": true}}
	okStatus(t, old.post("app.bsky.actor.putPreferences", a.Access, map[string]any{"preferences": prefs}), "prefs")

	// 1. An account on the new host, with the old host's service token.
	newDID := next.srv.ServiceDID()
	create := map[string]any{"did": a.DID, "handle": "mira.pds2.test", "email": "mira@example.com", "password": a.Password}
	expectError(t, next.post(srv+"createAccount", "", create), 401, "AuthenticationRequired")
	wrongLxm := serviceToken(t, old, a, newDID, "com.atproto.repo.uploadBlob")
	expectError(t, next.post(srv+"createAccount", wrongLxm, create), 400, "InvalidToken")
	forged := forgeServiceToken(t, a.DID, newDID)
	expectError(t, next.post(srv+"createAccount", forged, create), 400, "InvalidToken")
	tok := serviceToken(t, old, a, newDID, account.LxmCreateAccount)
	next.srv.now = func() time.Time { return time.Now().Add(5 * time.Minute) }
	expectError(t, next.post(srv+"createAccount", tok, create), 400, "ExpiredToken")
	next.srv.now = time.Now
	cr := next.post(srv+"createAccount", tok, create)
	okStatus(t, cr, "createAccount with did")
	na := testAccount{DID: a.DID, Handle: "mira.pds2.test", Access: cr.json(t)["accessJwt"].(string), Password: a.Password}
	first := next.valid(srv+"checkAccountStatus", next.get(srv+"checkAccountStatus", na.Access, ""))
	if first["activated"] != false || first["repoCommit"] == "" {
		t.Fatalf("new account status %v", first)
	}
	if n := len(next.accountEvents(a.DID)); n != 0 {
		t.Fatalf("a deactivated arrival announced itself: %d events", n)
	}

	// 2. The repository.
	car := old.get(sy+"getRepo", "", "did="+a.DID)
	okStatus(t, car, "getRepo")
	expectError(t, next.raw("POST", rp+"importRepo", "", "", carType, car.Body), 401, "AuthMissing")
	other := old.createAccount("otto")
	otherCAR := old.get(sy+"getRepo", "", "did="+other.DID).Body
	expectError(t, next.raw("POST", rp+"importRepo", na.Access, "", carType, otherCAR), 400, "InvalidRequest")
	tampered := bytes.Clone(car.Body)
	if i := bytes.Index(tampered, []byte("two")); i > 0 {
		tampered[i] = 'T'
	} else {
		t.Fatal("record text not found in the CAR")
	}
	expectError(t, next.raw("POST", rp+"importRepo", na.Access, "", carType, tampered), 400, "InvalidRequest")
	okStatus(t, next.raw("POST", rp+"importRepo", na.Access, "", carType, car.Body), "importRepo")
	okStatus(t, next.raw("POST", rp+"importRepo", na.Access, "", carType, car.Body), "importRepo again")

	// 3. Blobs.
	miss := next.get(rp+"listMissingBlobs", na.Access, "").json(t)["blobs"].([]any)
	if len(miss) != 1 || miss[0].(map[string]any)["cid"] != imgCID {
		t.Fatalf("missing %v", miss)
	}
	st := next.get(srv+"checkAccountStatus", na.Access, "").json(t)
	if st["expectedBlobs"] != 1.0 || st["importedBlobs"] != 0.0 || st["indexedRecords"] != 3.0 {
		t.Fatalf("status after import %v", st)
	}
	okStatus(t, next.upload(na.Access, "image/jpeg", img), "upload on the new host")
	if miss := next.get(rp+"listMissingBlobs", na.Access, "").json(t)["blobs"].([]any); len(miss) != 0 {
		t.Fatalf("still missing %v", miss)
	}
	okStatus(t, next.post("app.bsky.actor.putPreferences", na.Access, map[string]any{"preferences": old.get("app.bsky.actor.getPreferences", a.Access, "").json(t)["preferences"]}), "prefs")

	// 4. Identity: the old host signs, the new host checks and submits.
	expectError(t, next.post(srv+"activateAccount", na.Access, nil), 400, "InvalidRequest") // DID still points away
	creds := next.get(id+"getRecommendedDidCredentials", na.Access, "").json(t)
	okStatus(t, old.post(id+"requestPlcOperationSignature", a.Access, nil), "request signature")
	sig := map[string]any{"token": "WRONG-TOKEN", "rotationKeys": creds["rotationKeys"], "alsoKnownAs": creds["alsoKnownAs"],
		"verificationMethods": creds["verificationMethods"], "services": creds["services"]}
	expectError(t, old.post(id+"signPlcOperation", a.Access, sig), 400, "InvalidToken")
	sig["token"] = old.token(a.DID, account.PurposePLCOperation)
	signed := old.post(id+"signPlcOperation", a.Access, sig)
	okStatus(t, signed, "signPlcOperation")
	op := signed.json(t)["operation"].(map[string]any)
	// An operation that drops the new host's key, or points elsewhere, is refused.
	bad := cloneMap(op)
	bad["rotationKeys"] = []any{}
	expectError(t, next.post(id+"submitPlcOperation", na.Access, map[string]any{"operation": bad}), 400, "InvalidRequest")
	bad = cloneMap(op)
	bad["services"] = map[string]any{"atproto_pds": map[string]any{"type": "AtprotoPersonalDataServer", "endpoint": "https://elsewhere.example"}}
	expectError(t, next.post(id+"submitPlcOperation", na.Access, map[string]any{"operation": bad}), 400, "InvalidRequest")
	okStatus(t, next.post(id+"submitPlcOperation", na.Access, map[string]any{"operation": op}), "submitPlcOperation")

	// 5. Switch over.
	okStatus(t, next.post(srv+"activateAccount", na.Access, nil), "activate")
	okStatus(t, old.post(srv+"deactivateAccount", a.Access, nil), "deactivate the old account")
	st = next.get(srv+"checkAccountStatus", na.Access, "").json(t)
	if st["activated"] != true || st["validDid"] != true || st["importedBlobs"] != 1.0 {
		t.Fatalf("final status %v", st)
	}
	evs := next.accountEvents(a.DID)
	if len(evs) != 1 || !bytes.Contains(evs[0], []byte("active")) {
		t.Fatalf("new host #account events: %d", len(evs))
	}
	got := next.raw("GET", sy+"getBlob", "", "did="+a.DID+"&cid="+imgCID, "", nil)
	if !bytes.Equal(got.Body, img) {
		t.Fatal("the blob is not byte-identical on the new host")
	}
	okStatus(t, next.post(rp+"createRecord", na.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post",
		"record": map[string]any{"$type": "app.bsky.feed.post", "text": "home now", "createdAt": "2026-01-02T00:00:00Z"}}), "post on the new host")
	expectError(t, old.post(rp+"createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post",
		"record": map[string]any{"$type": "app.bsky.feed.post", "text": "old", "createdAt": "2026-01-02T00:00:00Z"}}), 401, "AccountDeactivated")
	if p := next.get("app.bsky.actor.getPreferences", na.Access, "").json(t)["preferences"].([]any); len(p) != 1 {
		t.Fatalf("preferences %v", p)
	}
}

func cloneMap(m map[string]any) map[string]any {
	raw, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// forgeServiceToken signs a token for did with a key that is not its own.
func forgeServiceToken(t *testing.T, did, aud string) string {
	k, err := keys.GenerateK256()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := auth.Encode(auth.Header{Alg: k.Algorithm(), Typ: "JWT"}, auth.Claims{
		Iss: did, Aud: aud, Lxm: account.LxmCreateAccount, Iat: now.Unix(), Exp: now.Add(time.Minute).Unix(), Jti: "x",
	}, k.Sign)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A taken-down account may still sign in, narrowly, to read its own data
// and move away; nothing else.
func TestTakendownAccountCanMoveAway(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("tara")
	repoRef := map[string]any{"$type": "com.atproto.admin.defs#repoRef", "did": a.DID}
	okStatus(t, e.adminDo("POST", "com.atproto.admin.updateSubjectStatus", e.admin, "", map[string]any{"subject": repoRef, "takedown": map[string]any{"applied": true}}), "takedown")
	login := map[string]any{"identifier": a.Handle, "password": a.Password}
	expectError(t, e.post("com.atproto.server.createSession", "", login), 401, "AccountTakedown")
	login["allowTakendown"] = true
	s := e.post("com.atproto.server.createSession", "", login)
	okStatus(t, s, "narrow session")
	tok := s.json(t)["accessJwt"].(string)
	okStatus(t, e.get("com.atproto.server.getSession", tok, ""), "getSession")
	okStatus(t, e.get("com.atproto.sync.getRepo", tok, "did="+a.DID), "own repo")
	expectError(t, e.get("com.atproto.sync.getRepo", "", "did="+a.DID), 400, "RepoTakendown")
	okStatus(t, e.get("com.atproto.server.getServiceAuth", tok, "aud=did:web:pds2.test&lxm="+account.LxmCreateAccount), "token to move")
	expectError(t, e.get("com.atproto.server.getServiceAuth", tok, "aud=did:web:pds2.test&lxm=app.bsky.feed.getTimeline"), 401, "AccountTakedown")
	expectError(t, e.post("com.atproto.repo.createRecord", tok, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post",
		"record": map[string]any{"$type": "app.bsky.feed.post", "text": "x", "createdAt": "2026-01-01T00:00:00Z"}}), 401, "AccountTakedown")
	expectError(t, e.get("app.bsky.feed.getTimeline", tok, ""), 401, "AccountTakedown")
}

// A deactivated account reads its own repository, which others may not.
func TestDeactivatedOwnerReadsOwnRepo(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("uma")
	okStatus(t, e.post("com.atproto.server.deactivateAccount", a.Access, nil), "deactivate")
	okStatus(t, e.get("com.atproto.sync.getRepo", a.Access, "did="+a.DID), "own repo")
	expectError(t, e.get("com.atproto.sync.getRepo", "", "did="+a.DID), 400, "RepoDeactivated")
}
