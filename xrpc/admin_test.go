package xrpc

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/store"
)

// adminDo calls an admin method with Basic credentials (user admin).
func (e *testEnv) adminDo(method, nsid, password, params string, body any) resp {
	e.t.Helper()
	var rd *strings.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
	} else {
		rd = strings.NewReader("")
	}
	u := e.http.URL + "/xrpc/" + nsid
	if params != "" {
		u += "?" + params
	}
	req, _ := http.NewRequest(method, u, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if password != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:"+password)))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp{Status: res.StatusCode, Body: []byte(b.String()), Header: res.Header}
}

// valid checks a 200 answer against the method's output schema.
func (e *testEnv) valid(nsid string, r resp) map[string]any {
	e.t.Helper()
	if r.Status != 200 {
		e.t.Fatalf("%s: %d %s", nsid, r.Status, r.Body)
	}
	var v any
	if len(r.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		e.t.Fatalf("%s: %s", nsid, r.Body)
	}
	if err := e.srv.lex.ValidateOutput(nsid, integers(v)); err != nil {
		e.t.Fatalf("%s answer does not match its lexicon: %v\n%s", nsid, err, r.Body)
	}
	m, _ := v.(map[string]any)
	return m
}

// integers turns the whole numbers JSON decoding made float64 back into
// int64, as the data model has them.
func integers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	case map[string]any:
		for k, y := range x {
			x[k] = integers(y)
		}
	case []any:
		for i, y := range x {
			x[i] = integers(y)
		}
	}
	return v
}

func (e *testEnv) accountJSON(did string) string {
	var out []byte
	e.db.View(func(tx *store.Tx) error {
		a, _ := tx.Account(did)
		out, _ = json.Marshal(a)
		return nil
	})
	return string(out)
}

func TestAdminRefusals(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("amy")
	const ad = "com.atproto.admin."
	calls := []struct {
		method, nsid, params string
		body                 any
	}{
		{"GET", ad + "getAccountInfo", "did=" + a.DID, nil},
		{"POST", ad + "updateAccountPassword", "", map[string]any{"did": a.DID, "password": "taken-over"}},
		{"POST", ad + "updateSubjectStatus", "", map[string]any{"subject": map[string]any{"$type": "com.atproto.admin.defs#repoRef", "did": a.DID}, "takedown": map[string]any{"applied": true}}},
		{"POST", ad + "deleteAccount", "", map[string]any{"did": a.DID}},
	}
	before := e.accountJSON(a.DID)
	for _, c := range calls {
		expectError(t, e.adminDo(c.method, c.nsid, "", c.params, c.body), 401, "AuthMissing")
		expectError(t, e.adminDo(c.method, c.nsid, "wrong", c.params, c.body), 401, "AuthenticationRequired")
		// A user's own token is no admin credential.
		expectError(t, e.do(c.method, c.nsid, a.Access, c.params, c.body), 401, "AuthMissing")
	}
	if e.accountJSON(a.DID) != before {
		t.Fatal("a refused admin call changed the account")
	}
	unknown := "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	expectError(t, e.adminDo("GET", ad+"getAccountInfo", e.admin, "did="+unknown, nil), 400, "NotFound")
	expectError(t, e.adminDo("GET", ad+"getSubjectStatus", e.admin, "did="+unknown, nil), 400, "NotFound")
	expectError(t, e.adminDo("POST", ad+"updateSubjectStatus", e.admin, "", map[string]any{"subject": map[string]any{"$type": "com.atproto.admin.defs#repoRef", "did": unknown}, "takedown": map[string]any{"applied": true}}), 400, "NotFound")
	expectError(t, e.adminDo("POST", ad+"updateSubjectStatus", e.admin, "", map[string]any{"subject": map[string]any{"$type": "com.atproto.repo.strongRef", "uri": "at://" + a.DID + "/app.bsky.feed.post/3kaaaaaaaaaaa", "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}, "takedown": map[string]any{"applied": true}}), 400, "NotFound")
	expectError(t, e.adminDo("POST", ad+"deleteAccount", e.admin, "", map[string]any{"did": unknown}), 400, "NotFound")
	if e.accountJSON(a.DID) != before {
		t.Fatal("a refused admin call changed the account")
	}
}

func TestAdminAccounts(t *testing.T) {
	e := newEnv(t)
	a, b := e.createAccount("bea"), e.createAccount("cal")
	const ad = "com.atproto.admin."
	info := e.valid(ad+"getAccountInfo", e.adminDo("GET", ad+"getAccountInfo", e.admin, "did="+a.DID, nil))
	if info["handle"] != a.Handle || info["email"] != "bea@example.com" {
		t.Fatalf("info %v", info)
	}
	infos := e.valid(ad+"getAccountInfos", e.adminDo("GET", ad+"getAccountInfos", e.admin, "dids="+a.DID+"&dids="+b.DID, nil))
	if len(infos["infos"].([]any)) != 2 {
		t.Fatalf("infos %v", infos)
	}
	okStatus(t, e.adminDo("POST", ad+"updateAccountHandle", e.admin, "", map[string]any{"did": a.DID, "handle": "bea2.pds.test"}), "handle")
	okStatus(t, e.adminDo("POST", ad+"updateAccountEmail", e.admin, "", map[string]any{"account": a.DID, "email": "bea2@example.com"}), "email")
	okStatus(t, e.adminDo("POST", ad+"updateAccountPassword", e.admin, "", map[string]any{"did": a.DID, "password": "admin-set-pw"}), "password")
	info = e.valid(ad+"getAccountInfo", e.adminDo("GET", ad+"getAccountInfo", e.admin, "did="+a.DID, nil))
	if info["handle"] != "bea2.pds.test" || info["email"] != "bea2@example.com" {
		t.Fatalf("after updates %v", info)
	}
	expectError(t, e.get("com.atproto.server.getSession", a.Access, ""), 400, "ExpiredToken") // the password change ended it
	okStatus(t, e.post("com.atproto.server.createSession", "", map[string]any{"identifier": "bea2.pds.test", "password": "admin-set-pw"}), "login")
	// No mail server: sendEmail answers sent false.
	if r := e.valid(ad+"sendEmail", e.adminDo("POST", ad+"sendEmail", e.admin, "", map[string]any{"recipientDid": b.DID, "content": "hello", "senderDid": "did:web:pds.test"})); r["sent"] != false {
		t.Fatalf("sendEmail %v", r)
	}
	okStatus(t, e.adminDo("POST", ad+"deleteAccount", e.admin, "", map[string]any{"did": b.DID}), "delete")
	expectError(t, e.adminDo("GET", ad+"getAccountInfo", e.admin, "did="+b.DID, nil), 400, "NotFound")
}

func TestAdminSendEmailThroughOutbox(t *testing.T) {
	box := &outbox{}
	e := newEnvWith(t, box)
	a := e.createAccount("dee")
	r := e.valid("com.atproto.admin.sendEmail", e.adminDo("POST", "com.atproto.admin.sendEmail", e.admin, "", map[string]any{"recipientDid": a.DID, "content": "Maintenance tonight.", "subject": "Heads up", "senderDid": "did:web:pds.test"}))
	if r["sent"] != true || len(box.letters) != 1 || box.letters[0].Subject != "Heads up" || box.letters[0].To != "dee@example.com" {
		t.Fatalf("sendEmail %v, letters %+v", r, box.letters)
	}
}

func TestAdminTakedowns(t *testing.T) {
	e := newEnv(t)
	a, other := e.createAccount("eve"), e.createAccount("fay")
	const ad = "com.atproto.admin."
	post := func(acc testAccount, text string) map[string]any {
		r := e.post("com.atproto.repo.createRecord", acc.Access, map[string]any{"repo": acc.DID, "collection": "app.bsky.feed.post",
			"record": map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-01-01T00:00:00Z"}})
		okStatus(t, r, "post")
		return r.json(t)
	}
	p := post(a, "to be hidden")
	uri, c := p["uri"].(string), p["cid"].(string)
	rkey := uri[strings.LastIndexByte(uri, '/')+1:]

	// A record.
	rec := map[string]any{"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": c}
	e.valid(ad+"updateSubjectStatus", e.adminDo("POST", ad+"updateSubjectStatus", e.admin, "", map[string]any{"subject": rec, "takedown": map[string]any{"applied": true, "ref": "case-1"}}))
	st := e.valid(ad+"getSubjectStatus", e.adminDo("GET", ad+"getSubjectStatus", e.admin, "uri="+uri, nil))
	if td := st["takedown"].(map[string]any); td["applied"] != true || td["ref"] != "case-1" {
		t.Fatalf("record status %v", st)
	}
	expectError(t, e.get("com.atproto.repo.getRecord", "", "repo="+a.DID+"&collection=app.bsky.feed.post&rkey="+rkey), 404, "RecordNotFound")
	expectError(t, e.get("com.atproto.sync.getRecord", "", "did="+a.DID+"&collection=app.bsky.feed.post&rkey="+rkey), 404, "RecordNotFound")
	e.adminDo("POST", ad+"updateSubjectStatus", e.admin, "", map[string]any{"subject": rec, "takedown": map[string]any{"applied": false}})
	okStatus(t, e.get("com.atproto.repo.getRecord", "", "repo="+a.DID+"&collection=app.bsky.feed.post&rkey="+rkey), "record back")

	// An account: login refused, sync refused, #account takendown; reversible.
	repoRef := map[string]any{"$type": "com.atproto.admin.defs#repoRef", "did": a.DID}
	e.valid(ad+"updateSubjectStatus", e.adminDo("POST", ad+"updateSubjectStatus", e.admin, "", map[string]any{"subject": repoRef, "takedown": map[string]any{"applied": true}}))
	st = e.valid(ad+"getSubjectStatus", e.adminDo("GET", ad+"getSubjectStatus", e.admin, "did="+a.DID, nil))
	if st["takedown"].(map[string]any)["applied"] != true {
		t.Fatalf("repo status %v", st)
	}
	expectError(t, e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password}), 401, "AccountTakedown")
	expectError(t, e.get("com.atproto.sync.getRepo", "", "did="+a.DID), 400, "RepoTakendown")
	expectError(t, e.get("com.atproto.server.getSession", a.Access, ""), 400, "ExpiredToken") // its sessions ended
	evs := e.accountEvents(a.DID)
	if last := evs[len(evs)-1]; !strings.Contains(string(last), "takendown") {
		t.Fatalf("no #account takendown: %q", last)
	}
	okStatus(t, e.get("com.atproto.server.getSession", other.Access, ""), "others unaffected")
	e.adminDo("POST", ad+"updateSubjectStatus", e.admin, "", map[string]any{"subject": repoRef, "takedown": map[string]any{"applied": false}})
	okStatus(t, e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password}), "login after reversal")
	okStatus(t, e.get("com.atproto.sync.getRepo", "", "did="+a.DID), "sync after reversal")
}

func TestAdminInvites(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("gus")
	const ad = "com.atproto.admin."
	r := e.adminDo("POST", "com.atproto.server.createInviteCodes", e.admin, "", map[string]any{"useCount": 2, "codeCount": 2, "forAccounts": []string{a.DID}})
	e.valid("com.atproto.server.createInviteCodes", r)
	codes := e.valid(ad+"getInviteCodes", e.adminDo("GET", ad+"getInviteCodes", e.admin, "sort=recent&limit=1", nil))
	if len(codes["codes"].([]any)) != 1 || codes["cursor"] == nil {
		t.Fatalf("page 1: %v", codes)
	}
	mine := e.valid("com.atproto.server.getAccountInviteCodes", e.get("com.atproto.server.getAccountInviteCodes", a.Access, ""))
	list := mine["codes"].([]any)
	if len(list) != 2 {
		t.Fatalf("account codes %v", mine)
	}
	first := list[0].(map[string]any)["code"].(string)
	okStatus(t, e.adminDo("POST", ad+"disableInviteCodes", e.admin, "", map[string]any{"codes": []string{first}}), "disable")
	expectError(t, e.adminDo("POST", ad+"disableInviteCodes", e.admin, "", map[string]any{"accounts": []string{"admin"}}), 400, "InvalidRequest")
	mine = e.get("com.atproto.server.getAccountInviteCodes", a.Access, "").json(t)
	disabled := 0
	for _, c := range mine["codes"].([]any) {
		if c.(map[string]any)["disabled"] == true {
			disabled++
		}
	}
	if disabled != 1 {
		t.Fatalf("disabled %d codes, want 1", disabled)
	}
	okStatus(t, e.adminDo("POST", ad+"disableAccountInvites", e.admin, "", map[string]any{"account": a.DID}), "disable account invites")
	if info := e.valid(ad+"getAccountInfo", e.adminDo("GET", ad+"getAccountInfo", e.admin, "did="+a.DID, nil)); info["invitesDisabled"] != true {
		t.Fatalf("info %v", info)
	}
	okStatus(t, e.adminDo("POST", ad+"enableAccountInvites", e.admin, "", map[string]any{"account": a.DID}), "enable")
}
