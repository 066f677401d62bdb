package xrpc

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDescribeServerAndHealth(t *testing.T) {
	e := newEnv(t)
	m := e.get("com.atproto.server.describeServer", "", "").json(t)
	if m["did"] != "did:web:pds.test" || m["inviteCodeRequired"] != false {
		t.Fatalf("describeServer: %v", m)
	}
	if r := e.get("_health", "", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"version":"test"`) {
		t.Fatalf("health: %d %s", r.Status, r.Body)
	}
	// Methods Hearth does not serve are proxied for signed-in callers only.
	expectError(t, e.get("com.example.nothing", "", ""), http.StatusUnauthorized, "AuthMissing")
	a := e.createAccount("uma")
	expectError(t, e.get("com.example.nothing", a.Access, ""), http.StatusNotImplemented, "MethodNotImplemented")
	expectError(t, e.get("not-an-nsid", a.Access, ""), http.StatusNotImplemented, "MethodNotImplemented")
	expectError(t, e.post("com.atproto.server.describeServer", "", "{}"), http.StatusMethodNotAllowed, "InvalidRequest")
}

func TestCreateAccountRegistersDID(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("alice")
	if !strings.HasPrefix(a.DID, "did:plc:") || a.Handle != "alice.pds.test" {
		t.Fatalf("account: %+v", a)
	}
	if len(e.plc.Log(a.DID)) != 1 {
		t.Fatalf("PLC directory holds %d ops for %s", len(e.plc.Log(a.DID)), a.DID)
	}
	s := e.get("com.atproto.server.getSession", a.Access, "").json(t)
	if s["did"] != a.DID || s["handle"] != a.Handle || s["email"] != "alice@example.com" {
		t.Fatalf("getSession: %v", s)
	}
	// The initial commit exists and is served.
	lc := e.get("com.atproto.sync.getLatestCommit", "", "did="+a.DID).json(t)
	if lc["cid"] == nil || len(lc["rev"].(string)) != 13 {
		t.Fatalf("latest commit: %v", lc)
	}
	if r := e.get("/.well-known/atproto-did", "", ""); r.Status == 0 {
		t.Fatal("no response")
	}
}

func TestCreateAccountRejects(t *testing.T) {
	e := newEnv(t)
	e.createAccount("taken")
	base := func() map[string]any {
		return map[string]any{"handle": "bob.pds.test", "email": "bob@example.com", "password": "pw"}
	}
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		status int
		err    string
	}{
		{"bad handle", func(m map[string]any) { m["handle"] = "bob..pds.test" }, 400, "InvalidHandle"},
		{"other domain", func(m map[string]any) { m["handle"] = "bob.example.com" }, 400, "UnsupportedDomain"},
		{"short", func(m map[string]any) { m["handle"] = "bo.pds.test" }, 400, "InvalidHandle"},
		{"taken handle", func(m map[string]any) { m["handle"] = "taken.pds.test" }, 400, "HandleNotAvailable"},
		{"taken email", func(m map[string]any) { m["email"] = "TAKEN@example.com" }, 400, "InvalidRequest"},
		{"bad email", func(m map[string]any) { m["email"] = "not-an-email" }, 400, "InvalidEmail"},
		{"no password", func(m map[string]any) { delete(m, "password") }, 400, "InvalidRequest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := base()
			c.mutate(m)
			expectError(t, e.post("com.atproto.server.createAccount", "", m), c.status, c.err)
		})
	}
	expectError(t, e.post("com.atproto.server.createAccount", "", "{not json"), 400, "InvalidRequest")
	// PLC failure: no account is created.
	e.plc.SetFail(true)
	expectError(t, e.post("com.atproto.server.createAccount", "", base()), http.StatusBadGateway, "UpstreamFailure")
	e.plc.SetFail(false)
	expectError(t, e.post("com.atproto.server.createSession", "", map[string]any{"identifier": "bob.pds.test", "password": "pw"}), 401, "AuthenticationRequired")
}

func TestInviteCodes(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.InviteRequired = true })
	in := map[string]any{"handle": "carol.pds.test", "email": "carol@example.com", "password": "pw"}
	expectError(t, e.post("com.atproto.server.createAccount", "", in), 400, "InvalidInviteCode")
	in["inviteCode"] = "nope"
	expectError(t, e.post("com.atproto.server.createAccount", "", in), 400, "InvalidInviteCode")
	// Admin only.
	expectError(t, e.post("com.atproto.server.createInviteCode", "", map[string]any{"useCount": 1}), 401, "AuthMissing")
	req := e.do("POST", "com.atproto.server.createInviteCode", "", "", nil)
	_ = req
	code := e.adminPost("com.atproto.server.createInviteCode", map[string]any{"useCount": 1}).json(t)["code"].(string)
	in["inviteCode"] = code
	if r := e.post("com.atproto.server.createAccount", "", in); r.Status != 200 {
		t.Fatalf("with invite: %d %s", r.Status, r.Body)
	}
	in["handle"], in["email"] = "dave.pds.test", "dave@example.com"
	expectError(t, e.post("com.atproto.server.createAccount", "", in), 400, "InvalidInviteCode")
}

func TestSessions(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("erin")
	for _, ident := range []string{a.Handle, "ERIN.pds.test", "erin@example.com", a.DID} {
		r := e.post("com.atproto.server.createSession", "", map[string]any{"identifier": ident, "password": a.Password})
		if r.Status != 200 {
			t.Fatalf("login as %s: %d %s", ident, r.Status, r.Body)
		}
	}
	expectError(t, e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": "wrong"}), 401, "AuthenticationRequired")
	expectError(t, e.post("com.atproto.server.createSession", "", map[string]any{"identifier": "nobody.pds.test", "password": "x"}), 401, "AuthenticationRequired")

	// Refresh rotates; the old token works again only within the grace period.
	r1 := e.post("com.atproto.server.refreshSession", a.Refresh, nil).json(t)
	if r1["accessJwt"] == nil || r1["refreshJwt"] == a.Refresh {
		t.Fatalf("refresh: %v", r1)
	}
	// An access token is not a refresh token and vice versa.
	expectError(t, e.post("com.atproto.server.refreshSession", a.Access, nil), 400, "InvalidToken")
	expectError(t, e.get("com.atproto.server.getSession", a.Refresh, ""), 400, "InvalidToken")
	expectError(t, e.get("com.atproto.server.getSession", "", ""), 401, "AuthMissing")
	expectError(t, e.get("com.atproto.server.getSession", "garbage", ""), 400, "InvalidToken")

	// Replay after the grace period revokes the chain.
	e.srv.now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	expectError(t, e.post("com.atproto.server.refreshSession", a.Refresh, nil), 400, "ExpiredToken")
	e.srv.now = time.Now
	expectError(t, e.post("com.atproto.server.refreshSession", r1["refreshJwt"].(string), nil), 400, "ExpiredToken")

	// Expired access token.
	e.srv.now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	expectError(t, e.get("com.atproto.server.getSession", a.Access, ""), 400, "ExpiredToken")
	e.srv.now = time.Now

	// deleteSession takes an expired refresh token: a client can always sign out.
	old := e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password}).json(t)
	e.srv.now = func() time.Time { return time.Now().Add(100 * 24 * time.Hour) }
	expectError(t, e.post("com.atproto.server.refreshSession", old["refreshJwt"].(string), nil), 400, "ExpiredToken")
	if r := e.post("com.atproto.server.deleteSession", old["refreshJwt"].(string), nil); r.Status != 200 {
		t.Fatalf("deleteSession with an expired token: %d %s", r.Status, r.Body)
	}
	e.srv.now = time.Now
	expectError(t, e.get("com.atproto.server.getSession", old["accessJwt"].(string), ""), 400, "ExpiredToken")

	// deleteSession revokes the refresh token.
	s2 := e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password}).json(t)
	if r := e.post("com.atproto.server.deleteSession", s2["refreshJwt"].(string), nil); r.Status != 200 {
		t.Fatalf("deleteSession: %d %s", r.Status, r.Body)
	}
	expectError(t, e.post("com.atproto.server.refreshSession", s2["refreshJwt"].(string), nil), 400, "ExpiredToken")
}

func TestAppPasswords(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("frank")
	r := e.post("com.atproto.server.createAppPassword", a.Access, map[string]any{"name": "phone"})
	if r.Status != 200 {
		t.Fatalf("createAppPassword: %d %s", r.Status, r.Body)
	}
	pw := r.json(t)["password"].(string)
	expectError(t, e.post("com.atproto.server.createAppPassword", a.Access, map[string]any{"name": "phone"}), 400, "DuplicateName")
	s := e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": pw})
	if s.Status != 200 {
		t.Fatalf("app password login: %d %s", s.Status, s.Body)
	}
	appAccess := s.json(t)["accessJwt"].(string)
	// App-password sessions can post but not manage app passwords.
	if r := e.post("com.atproto.repo.createRecord", appAccess, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": map[string]any{"text": "hi", "createdAt": "2024-01-01T00:00:00Z"}}); r.Status != 200 {
		t.Fatalf("post with app password: %d %s", r.Status, r.Body)
	}
	expectError(t, e.get("com.atproto.server.listAppPasswords", appAccess, ""), 400, "InvalidToken")
	list := e.get("com.atproto.server.listAppPasswords", a.Access, "").json(t)["passwords"].([]any)
	if len(list) != 1 {
		t.Fatalf("list: %v", list)
	}
	if r := e.post("com.atproto.server.revokeAppPassword", a.Access, map[string]any{"name": "phone"}); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	expectError(t, e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": pw}), 401, "AuthenticationRequired")
}

func (e *testEnv) adminPost(nsid string, body any) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.http.URL+"/xrpc/"+nsid, strings.NewReader(mustJSON(e.t, body)))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", e.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp{Status: res.StatusCode, Body: []byte(b.String()), Header: res.Header}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("olga")
	for i := 0; i < 30; i++ {
		e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": "wrong"})
	}
	r := e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password})
	expectError(t, r, http.StatusTooManyRequests, "RateLimitExceeded")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After header")
	}
}

func TestLoginIsPadded(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginFloor = 200 * time.Millisecond })
	for _, ident := range []string{"nobody.pds.test", "someone@example.com"} {
		start := time.Now()
		e.post("com.atproto.server.createSession", "", map[string]any{"identifier": ident, "password": "x"})
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("login for %s answered in %v, before the floor", ident, d)
		}
	}
}

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("OPTIONS", e.http.URL+"/xrpc/com.atproto.repo.createRecord", nil)
	req.Header.Set("Origin", "https://bsky.app")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,atproto-proxy")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h := res.Header
	if res.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "authorization") || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", res.StatusCode, h)
	}
}
