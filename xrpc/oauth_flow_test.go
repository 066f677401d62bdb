package xrpc

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const likeOnly = "atproto repo:app.bsky.feed.like?action=create"

func TestOAuthFlowLikeOnly(t *testing.T) {
	e := oauthEnv(t)
	alice := e.createAccount("alice")
	c := newDPoPClient(e, likeOnly)
	c.signIn(alice, likeOnly)

	if r := c.xrpc("POST", "com.atproto.repo.createRecord", likeRecord(alice.DID)); r.Status != 200 {
		t.Fatalf("like: %d %s", r.Status, r.Body)
	}
	expectError(t, c.xrpc("POST", "com.atproto.repo.createRecord", postRecord(alice.DID)), 403, "ScopeMissingError")
	expectError(t, c.xrpc("POST", "com.atproto.server.createAppPassword", map[string]any{"name": "x"}), 403, "ScopeMissingError")
	expectError(t, c.xrpc("GET", "app.bsky.feed.getTimeline", nil), 403, "ScopeMissingError")
	if r := c.xrpc("GET", "com.atproto.server.getSession", nil); r.Status != 200 || r.json(t)["email"] != nil {
		t.Fatalf("getSession (no email without account:email): %d %s", r.Status, r.Body)
	}
	// A DPoP-bound token sent as Bearer is told so, not just refused.
	r := e.get("com.atproto.server.getSession", c.access, "")
	expectError(t, r, 400, "InvalidToken")
	if !strings.Contains(string(r.Body), "DPoP") {
		t.Fatalf("a DPoP-bound token sent as Bearer: %s, want the message to say it is DPoP-bound", r.Body)
	}
}

func TestOAuthPermissionSetAndGeneric(t *testing.T) {
	e := oauthEnv(t)
	bob := e.createAccount("bob")
	const posts = "atproto include:app.bsky.authCreatePosts"
	c := newDPoPClient(e, posts)
	c.signIn(bob, posts)
	if r := c.xrpc("POST", "com.atproto.repo.createRecord", postRecord(bob.DID)); r.Status != 200 {
		t.Fatalf("post with authCreatePosts: %d %s", r.Status, r.Body)
	}
	expectError(t, c.xrpc("POST", "com.atproto.repo.createRecord", likeRecord(bob.DID)), 403, "ScopeMissingError")

	const generic = "atproto transition:generic"
	g := newDPoPClient(e, generic)
	g.signIn(bob, generic)
	for _, rec := range []map[string]any{postRecord(bob.DID), likeRecord(bob.DID)} {
		if r := g.xrpc("POST", "com.atproto.repo.createRecord", rec); r.Status != 200 {
			t.Fatalf("transition:generic write: %d %s", r.Status, r.Body)
		}
	}
	expectError(t, g.xrpc("POST", "com.atproto.server.deactivateAccount", map[string]any{}), 403, "ScopeMissingError")
}

func TestOAuthRefreshAndRevoke(t *testing.T) {
	e := oauthEnv(t)
	a := e.createAccount("carol")
	c := newDPoPClient(e, likeOnly)
	c.signIn(a, likeOnly)
	oldAccess, oldRefresh := c.access, c.refresh
	r := c.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}, "client_id": {c.clientID}})
	if r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	m := r.json(t)
	c.access, c.refresh = m["access_token"].(string), m["refresh_token"].(string)
	if c.refresh == oldRefresh {
		t.Fatal("the refresh token did not rotate")
	}
	// Another key may not refresh.
	other := newDPoPClient(e, likeOnly)
	r = other.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}, "client_id": {c.clientID}})
	if r.Status != 400 {
		t.Fatalf("refresh with another key: %d %s", r.Status, r.Body)
	}
	if r := c.xrpc("GET", "com.atproto.server.getSession", nil); r.Status != 200 {
		t.Fatalf("after refresh: %d %s", r.Status, r.Body)
	}
	// Revoking the access token ends the grant: both tokens stop.
	if r := c.form("/oauth/revoke", url.Values{"token": {c.access}, "client_id": {c.clientID}}); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	expectError(t, c.xrpc("GET", "com.atproto.server.getSession", nil), 401, "invalid_token")
	c.access = oldAccess
	expectError(t, c.xrpc("GET", "com.atproto.server.getSession", nil), 401, "invalid_token")
	r = c.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}, "client_id": {c.clientID}})
	if r.Status != 400 {
		t.Fatalf("refresh after revoke: %d %s", r.Status, r.Body)
	}
}

// TestOAuthRefreshReplayEndsGrant: a spent refresh token coming back
// ends its whole grant, so that neither the thief nor the app goes on
// with it: the current refresh token and the access tokens are refused.
func TestOAuthRefreshReplayEndsGrant(t *testing.T) {
	e := oauthEnv(t)
	a := e.createAccount("replay")
	c := newDPoPClient(e, likeOnly)
	c.signIn(a, likeOnly)
	spent := c.refresh
	refresh := func(tok string) resp {
		return c.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}, "client_id": {c.clientID}})
	}
	r := refresh(spent)
	if r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	m := r.json(t)
	c.access, c.refresh = m["access_token"].(string), m["refresh_token"].(string)
	if r := c.xrpc("GET", "com.atproto.server.getSession", nil); r.Status != 200 {
		t.Fatalf("after refresh: %d %s", r.Status, r.Body)
	}
	if r := refresh(spent); r.Status != 400 || r.errName(t) != "invalid_grant" {
		t.Fatalf("replayed refresh token: %d %s", r.Status, r.Body)
	}
	expectError(t, c.xrpc("GET", "com.atproto.server.getSession", nil), 401, "invalid_token")
	if r := refresh(c.refresh); r.Status != 400 || r.errName(t) != "invalid_grant" {
		t.Fatalf("current refresh token after the replay: %d %s", r.Status, r.Body)
	}
	if gs, _ := e.srv.OAuth().Grants(a.DID); len(gs) != 0 {
		t.Fatalf("the grant outlived the replay: %v", gs)
	}
}

// TestOAuthCodeReplay: a code used twice is refused the second time, and
// the grant its first use made ends (RFC 6749 §4.1.2).
func TestOAuthCodeReplay(t *testing.T) {
	e := oauthEnv(t)
	a := e.createAccount("codereplay")
	c := newDPoPClient(e, likeOnly)
	verifier := testVerifier + randomTestID()
	r := c.par(url.Values{"scope": {likeOnly}, "code_challenge": {challengeOf(verifier)}})
	p, err := e.srv.OAuth().Pending(t.Context(), c.clientID, r.json(t)["request_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	to, err := e.srv.OAuth().Approve(t.Context(), p.ID, a.DID, false)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1/cb"}, "code_verifier": {verifier}, "client_id": {c.clientID}}
	r = c.form("/oauth/token", exchange)
	if r.Status != 200 {
		t.Fatalf("first exchange: %d %s", r.Status, r.Body)
	}
	c.access = r.json(t)["access_token"].(string)
	if r := c.form("/oauth/token", exchange); r.Status != 400 || r.errName(t) != "invalid_grant" {
		t.Fatalf("second exchange: %d %s", r.Status, r.Body)
	}
	expectError(t, c.xrpc("GET", "com.atproto.server.getSession", nil), 401, "invalid_token")
}

func TestOAuthDPoPRefusals(t *testing.T) {
	e := oauthEnv(t)
	a := e.createAccount("dave")
	c := newDPoPClient(e, likeOnly)
	c.signIn(a, likeOnly)

	// A replayed proof.
	first := c.xrpc("GET", "com.atproto.server.getSession", nil)
	if first.Status != 200 {
		t.Fatalf("getSession: %d %s", first.Status, first.Body)
	}
	req := mustReq(t, "GET", e.http.URL+"/xrpc/com.atproto.server.getSession")
	req.Header.Set("Authorization", "DPoP "+c.access)
	req.Header.Set("DPoP", c.last)
	expectError(t, send(t, req), 401, "invalid_dpop_proof")
	// … and at the token endpoint.
	tokenForm := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}, "client_id": {c.clientID}}
	// (A call whose proof is accepted, then refused for its grant_type.)
	if r := c.form("/oauth/token", url.Values{"grant_type": {"nonsense"}, "client_id": {c.clientID}}); r.errName(t) != "unsupported_grant_type" {
		t.Fatalf("unknown grant_type: %d %s", r.Status, r.Body)
	}
	req, _ = http.NewRequest("POST", e.http.URL+"/oauth/token", strings.NewReader(tokenForm.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", c.last)
	if r := send(t, req); r.Status != 400 || r.errName(t) != "invalid_dpop_proof" || !strings.Contains(string(r.Body), "replayed") {
		t.Fatalf("replayed proof at the token endpoint: %d %s", r.Status, r.Body)
	}

	// A proof for another URL, and for another method.
	c.htu = "http://pds.test/xrpc/com.atproto.repo.createRecord"
	expectError(t, c.xrpc("GET", "com.atproto.server.getSession", nil), 401, "invalid_dpop_proof")
	c.htu = ""
	c.htm = ""
	c.htu = "https://evil.example/oauth/token"
	r := c.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}, "client_id": {c.clientID}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_dpop_proof") {
		t.Fatalf("wrong htu at token: %d %s", r.Status, r.Body)
	}
	c.htu, c.htm = "", "PUT"
	r = c.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}, "client_id": {c.clientID}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_dpop_proof") {
		t.Fatalf("wrong htm at token: %d %s", r.Status, r.Body)
	}
	c.htm = ""

	// An expired nonce: ten minutes later the old one is refused with
	// use_dpop_nonce and a fresh one.
	start := time.Now()
	e.srv.now = func() time.Time { return start.Add(10 * time.Minute) }
	r = c.xrpc("GET", "com.atproto.server.getSession", nil)
	expectError(t, r, 401, "use_dpop_nonce")
	if r.Header.Get("DPoP-Nonce") == "" || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
		t.Fatalf("use_dpop_nonce without its headers: %v", r.Header)
	}
	c.nonce = r.Header.Get("DPoP-Nonce")
	if r := c.xrpc("GET", "com.atproto.server.getSession", nil); r.Status != 200 {
		t.Fatalf("with the new nonce: %d %s", r.Status, r.Body)
	}
}

func TestOAuthPKCERefusals(t *testing.T) {
	e := oauthEnv(t)
	a := e.createAccount("erin")
	c := newDPoPClient(e, likeOnly)
	for name, v := range map[string]url.Values{
		"no challenge": {"code_challenge": {""}, "code_challenge_method": {""}},
		"plain":        {"code_challenge_method": {"plain"}},
	} {
		r := c.par(v)
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_request") {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	// A reused challenge.
	same := url.Values{"code_challenge": {challengeOf(testVerifier)}, "scope": {likeOnly}}
	if r := c.par(same); r.Status != 201 {
		t.Fatalf("par: %d %s", r.Status, r.Body)
	}
	if r := c.par(same); r.Status != 400 || r.errName(t) != "invalid_request" {
		t.Fatalf("reused code_challenge: %d %s", r.Status, r.Body)
	}
	// A wrong verifier, then the code is spent.
	r := c.par(url.Values{"code_challenge": {challengeOf(testVerifier + "x")}, "scope": {likeOnly}})
	uri := r.json(t)["request_uri"].(string)
	p, err := e.srv.OAuth().Pending(t.Context(), c.clientID, uri)
	if err != nil {
		t.Fatal(err)
	}
	to, _ := e.srv.OAuth().Approve(t.Context(), p.ID, a.DID, false)
	u, _ := url.Parse(to)
	tok := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1/cb"}, "code_verifier": {testVerifier + "y"}, "client_id": {c.clientID}}
	if r := c.form("/oauth/token", tok); r.Status != 400 || !strings.Contains(string(r.Body), "invalid_grant") {
		t.Fatalf("wrong verifier: %d %s", r.Status, r.Body)
	}
	// Scope beyond the client's declaration.
	if r := c.par(url.Values{"scope": {"atproto transition:generic"}}); r.Status != 400 || !strings.Contains(string(r.Body), "invalid_scope") {
		t.Fatalf("scope beyond the client's: %d %s", r.Status, r.Body)
	}
}

func TestOAuthMetadata(t *testing.T) {
	e := oauthEnv(t)
	r := send(t, mustReq(t, "GET", e.http.URL+"/.well-known/oauth-authorization-server"))
	m := r.json(t)
	if m["issuer"] != "http://pds.test" || m["require_pushed_authorization_requests"] != true {
		t.Fatalf("metadata %v", m)
	}
	r = send(t, mustReq(t, "GET", e.http.URL+"/.well-known/oauth-protected-resource"))
	if r.json(t)["resource"] != "http://pds.test" {
		t.Fatalf("resource metadata %s", r.Body)
	}
	off := newEnv(t)
	if r := send(t, mustReq(t, "GET", off.http.URL+"/.well-known/oauth-authorization-server")); r.Status != 404 {
		t.Fatalf("OAuth off: metadata %d", r.Status)
	}
}

// TestOAuthNonceOnSuccess: a DPoP caller gets the current nonce on
// successful answers too, not only with use_dpop_nonce (found by the
// real-client test: the official library then pays a refused call at each
// nonce rotation).
func TestOAuthNonceOnSuccess(t *testing.T) {
	e := oauthEnv(t)
	a := e.createAccount("nonce")
	c := newDPoPClient(e, likeOnly)
	c.signIn(a, likeOnly)
	r := c.xrpc("GET", "com.atproto.server.getSession", nil)
	if r.Status != 200 || r.Header.Get("DPoP-Nonce") == "" {
		t.Fatalf("getSession: %d, DPoP-Nonce %q", r.Status, r.Header.Get("DPoP-Nonce"))
	}
	// Password sessions get no nonce.
	if r := e.get("com.atproto.server.getSession", a.Access, ""); r.Header.Get("DPoP-Nonce") != "" {
		t.Fatalf("bearer answer carries a DPoP nonce")
	}
}

// TestOAuthPromptAndDevices: prompt is checked at PAR and reaches the
// page; Refuse answers the app with the error code, its state and iss;
// a browser remembers its most recent accounts, at most ten, and takes
// them along to its next device cookie.
func TestOAuthPromptAndDevices(t *testing.T) {
	e := oauthEnv(t)
	c := newDPoPClient(e, likeOnly)
	if r := c.par(url.Values{"scope": {likeOnly}, "prompt": {"always"}}); r.Status != 400 || r.errName(t) != "invalid_request" {
		t.Fatalf("prompt=always: %d %s", r.Status, r.Body)
	}
	r := c.par(url.Values{"scope": {likeOnly}, "prompt": {"none"}})
	if r.Status != 201 {
		t.Fatalf("prompt=none: %d %s", r.Status, r.Body)
	}
	o := e.srv.OAuth()
	p, err := o.Pending(t.Context(), c.clientID, r.json(t)["request_uri"].(string))
	if err != nil || p.Prompt != "none" || time.Since(p.Created) > time.Minute {
		t.Fatalf("pending: %+v %v", p, err)
	}
	to, err := o.Refuse(t.Context(), p.ID, "login_required", "sign in")
	u, _ := url.Parse(to)
	if q := u.Query(); err != nil || q.Get("error") != "login_required" || q.Get("state") != "st" || q.Get("iss") != "http://pds.test" {
		t.Fatalf("refuse: %s %v", to, err)
	}
	if _, err := o.Approve(t.Context(), p.ID, "did:plc:x", false); err == nil {
		t.Fatal("a refused request was approved")
	}

	const device = "a-device-cookie-value-of-some-length-0123"
	for i := range 12 {
		if err := o.RememberDevice(t.Context(), device, device, fmt.Sprintf("did:plc:%024d", i)); err != nil {
			t.Fatal(err)
		}
	}
	got := o.DeviceAccounts(device)
	if len(got) != 10 || got[0].DID != fmt.Sprintf("did:plc:%024d", 11) {
		t.Fatalf("device accounts: %v", got)
	}
	if len(o.DeviceAccounts("another-device-cookie-value-0000000000")) != 0 || len(o.DeviceAccounts("")) != 0 {
		t.Fatal("another browser sees this one's accounts")
	}
	// The next sign-in gives the browser a new cookie: its accounts move
	// to it, and the old value names nothing any more.
	const next = "the-next-device-cookie-value-of-the-browser"
	if err := o.RememberDevice(t.Context(), device, next, "did:plc:new"); err != nil {
		t.Fatal(err)
	}
	if got := o.DeviceAccounts(device); len(got) != 0 {
		t.Fatalf("the old cookie still names %v", got)
	}
	if got = o.DeviceAccounts(next); len(got) != 10 || got[0].DID != "did:plc:new" || got[1].DID != fmt.Sprintf("did:plc:%024d", 11) {
		t.Fatalf("moved device accounts: %v", got)
	}
}

// TestOAuthRevokeAuthenticatesTheClient: as RFC 7009 §2.1 and the
// reference PDS have it, revocation first authenticates the client, then
// refuses a token issued to another one; neither refusal ends the grant.
func TestOAuthRevokeAuthenticatesTheClient(t *testing.T) {
	e := oauthEnv(t)
	a := e.createAccount("revoker")
	c := newDPoPClient(e, likeOnly)
	c.signIn(a, likeOnly)
	other := newDPoPClient(e, "atproto transition:generic")
	for _, tt := range []struct {
		name string
		form url.Values
		code string
	}{
		{"no client_id", url.Values{"token": {c.access}}, "invalid_request"},
		{"another client, access token", url.Values{"token": {c.access}, "client_id": {other.clientID}}, "invalid_grant"},
		{"another client, refresh token", url.Values{"token": {c.refresh}, "client_id": {other.clientID}}, "invalid_grant"},
	} {
		if r := other.form("/oauth/revoke", tt.form); r.Status != 400 || r.errName(t) != tt.code {
			t.Errorf("%s: %d %s, want 400 %s", tt.name, r.Status, r.Body, tt.code)
		}
		if r := c.xrpc("GET", "com.atproto.server.getSession", nil); r.Status != 200 {
			t.Fatalf("%s ended the grant: %d %s", tt.name, r.Status, r.Body)
		}
	}
	if r := c.form("/oauth/revoke", url.Values{"token": {c.refresh}, "client_id": {c.clientID}}); r.Status != 200 {
		t.Fatalf("revoke by its client: %d %s", r.Status, r.Body)
	}
	expectError(t, c.xrpc("GET", "com.atproto.server.getSession", nil), 401, "invalid_token")
}
