package xrpc

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/keys"
)

// service is a stand-in AppView (or chat, or labeler): a did:web on
// loopback whose document names itself, recording what it receives.
type service struct {
	t    *testing.T
	srv  *httptest.Server
	did  string
	mu   sync.Mutex
	last *http.Request
	body []byte
}

func newService(t *testing.T, id string) *service {
	return newServiceWith(t, id, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/xrpc/app.bsky.feed.getFeedGenerator":
			json.NewEncoder(w).Encode(map[string]any{"view": map[string]any{"did": "did:web:feedgen.example"}})
		case "/xrpc/app.bsky.feed.searchPosts":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"BadQueryString","message":"bad q"}`))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Atproto-Content-Labelers", "did:plc:labeler")
			w.Header().Set("Set-Cookie", "session=leak")
			w.Write([]byte(`{"feed":[]}`))
		}
	})
}

// newServiceWith is a service whose XRPC answers come from h.
func newServiceWith(t *testing.T, id string, h http.HandlerFunc) *service {
	s := &service{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/did.json" {
			json.NewEncoder(w).Encode(map[string]any{"id": s.did, "service": []map[string]string{
				{"id": "#" + id, "type": "Service", "serviceEndpoint": s.srv.URL}}})
			return
		}
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.last, s.body = r, body
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.did = "did:web:" + strings.Replace(strings.TrimPrefix(s.srv.URL, "http://"), "127.0.0.1:", "localhost%3A", 1)
	return s
}

func (s *service) request() (*http.Request, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.body
}

// claims checks the service token of the last request and returns it.
func (s *service) claims(e *testEnv, did string) auth.Claims {
	s.t.Helper()
	r, _ := s.request()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		s.t.Fatal("no bearer token forwarded")
	}
	p, err := auth.Parse(tok)
	if err != nil {
		s.t.Fatal(err)
	}
	if p.Header.Alg != "ES256K" {
		s.t.Fatalf("alg %s", p.Header.Alg)
	}
	// The key comes from the account's DID document, as a real service reads it.
	ops := e.plc.Log(did)
	docKey, err := keys.ParseDIDKey(ops[len(ops)-1].VerificationMethods["atproto"])
	if err != nil {
		s.t.Fatal(err)
	}
	if err := docKey.Verify(p.SignedPart(), p.Signature()); err != nil {
		s.t.Fatalf("service token signature: %v", err)
	}
	if p.Claims.Iss != did || p.Claims.Jti == "" || time.Until(time.Unix(p.Claims.Exp, 0)) > 70*time.Second {
		s.t.Fatalf("claims %+v", p.Claims)
	}
	return p.Claims
}

func TestProxyDefaultsAndHeaders(t *testing.T) {
	appview := newService(t, "bsky_appview")
	chat := newService(t, "bsky_chat")
	e := newEnv(t, func(c *Config) {
		c.AppView = appview.did + "#bsky_appview"
		c.Chat = chat.did + "#bsky_chat"
	})
	a := e.createAccount("vera")
	req, _ := http.NewRequest("GET", e.http.URL+"/xrpc/app.bsky.feed.getTimeline?limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+a.Access)
	req.Header.Set("Accept-Language", "de")
	req.Header.Set("Atproto-Accept-Labelers", "did:plc:mod")
	req.Header.Set("Cookie", "secret=1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != `{"feed":[]}` {
		t.Fatalf("getTimeline: %d %s", res.StatusCode, body)
	}
	if res.Header.Get("Atproto-Content-Labelers") != "did:plc:labeler" || res.Header.Get("Set-Cookie") != "" {
		t.Fatalf("response headers: %v", res.Header)
	}
	up, _ := appview.request()
	if up.URL.RawQuery != "limit=5" || up.Header.Get("Accept-Language") != "de" || up.Header.Get("Atproto-Accept-Labelers") != "did:plc:mod" || up.Header.Get("Cookie") != "" {
		t.Fatalf("forwarded request: %s %v", up.URL, up.Header)
	}
	if c := appview.claims(e, a.DID); c.Aud != appview.did || c.Lxm != "app.bsky.feed.getTimeline" {
		t.Fatalf("token %+v", c)
	}
	// Upstream XRPC errors pass through.
	expectError(t, e.get("app.bsky.feed.searchPosts", a.Access, "q="), 400, "BadQueryString")
	// POST bodies are streamed through.
	if r := e.post("app.bsky.graph.muteActor", a.Access, map[string]any{"actor": "did:plc:x"}); r.Status != 200 {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	if _, b := appview.request(); !strings.Contains(string(b), "did:plc:x") {
		t.Fatalf("POST body %q", b)
	}
	// chat.bsky goes to the chat service, and only with a full or privileged session.
	if r := e.get("chat.bsky.convo.listConvos", a.Access, ""); r.Status != 200 {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	if c := chat.claims(e, a.DID); c.Aud != chat.did || c.Lxm != "chat.bsky.convo.listConvos" {
		t.Fatalf("chat token %+v", c)
	}
	ap := e.post("com.atproto.server.createAppPassword", a.Access, map[string]any{"name": "app"}).json(t)["password"].(string)
	apTok := e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": ap}).json(t)["accessJwt"].(string)
	expectError(t, e.get("chat.bsky.convo.listConvos", apTok, ""), 400, "InvalidToken")
	// getFeed: the token's audience is the feed generator.
	if r := e.get("app.bsky.feed.getFeed", a.Access, "feed=at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.generator/cats"); r.Status != 200 {
		t.Fatalf("getFeed: %d %s", r.Status, r.Body)
	}
	if c := appview.claims(e, a.DID); c.Aud != "did:web:feedgen.example" || c.Lxm != "app.bsky.feed.getFeedSkeleton" {
		t.Fatalf("getFeed token %+v", c)
	}
}

func TestProxyHeaderAndFailures(t *testing.T) {
	labeler := newService(t, "atproto_labeler")
	e := newEnv(t)
	a := e.createAccount("wade")
	call := func(proxy string) resp {
		req, _ := http.NewRequest("GET", e.http.URL+"/xrpc/com.atproto.label.queryLabels?uriPatterns=*", nil)
		req.Header.Set("Authorization", "Bearer "+a.Access)
		req.Header.Set("Atproto-Proxy", proxy)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return resp{Status: res.StatusCode, Body: b, Header: res.Header}
	}
	if r := call(labeler.did + "#atproto_labeler"); r.Status != 200 {
		t.Fatalf("atproto-proxy: %d %s", r.Status, r.Body)
	}
	if c := labeler.claims(e, a.DID); c.Aud != labeler.did || c.Lxm != "com.atproto.label.queryLabels" {
		t.Fatalf("token %+v", c)
	}
	expectError(t, call(labeler.did+"#nope"), 400, "InvalidRequest")
	expectError(t, call("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#x"), 400, "InvalidRequest")
	expectError(t, call("not-a-did"), 400, "InvalidRequest")
	gone := newService(t, "svc")
	gone.srv.Close()
	// Its document is gone with it: resolution fails.
	expectError(t, call(gone.did+"#svc"), 400, "InvalidRequest")
}

func TestProxyRefusesPrivateAddressesOutsideDev(t *testing.T) {
	svc := newService(t, "svc")
	e := newEnv(t)
	a := e.createAccount("xena") // .test handles need dev mode; then leave it
	e.srv.cfg.Dev = false
	req, _ := http.NewRequest("GET", e.http.URL+"/xrpc/app.bsky.feed.getTimeline", nil)
	req.Header.Set("Authorization", "Bearer "+a.Access)
	req.Header.Set("Atproto-Proxy", svc.did+"#svc")
	res, _ := http.DefaultClient.Do(req)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), "https required") {
		t.Fatalf("http endpoint outside dev: %d %s", res.StatusCode, b)
	}
	tls := httptest.NewTLSServer(http.NotFoundHandler())
	defer tls.Close()
	e.srv.proxyHTTP = e.srv.proxyClient() // the guard is chosen when the client is made
	out, _ := http.NewRequest("GET", tls.URL, nil)
	if _, err := e.srv.proxyHTTP.Do(out); !errors.Is(err, egress.ErrForbiddenAddress) {
		t.Fatalf("dial to loopback outside dev: %v", err)
	}
	// A private address is refused before any packet leaves.
	priv, _ := http.NewRequest("GET", "https://10.0.0.1/xrpc/app.bsky.feed.getTimeline", nil)
	if _, err := e.srv.proxyHTTP.Do(priv); !errors.Is(err, egress.ErrForbiddenAddress) {
		t.Fatalf("dial to 10.0.0.1 outside dev: %v", err)
	}
}

func TestPreferences(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("yuri")
	prefs := []any{
		map[string]any{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": false},
		map[string]any{"$type": "app.bsky.actor.defs#personalDetailsPref", "birthDate": "1990-01-01T00:00:00Z"},
	}
	if r := e.post("app.bsky.actor.putPreferences", a.Access, map[string]any{"preferences": prefs}); r.Status != 200 {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	got := e.get("app.bsky.actor.getPreferences", a.Access, "").json(t)["preferences"].([]any)
	if len(got) != 2 {
		t.Fatalf("get: %v", got)
	}
	ap := e.post("com.atproto.server.createAppPassword", a.Access, map[string]any{"name": "app"}).json(t)["password"].(string)
	apTok := e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": ap}).json(t)["accessJwt"].(string)
	if got := e.get("app.bsky.actor.getPreferences", apTok, "").json(t)["preferences"].([]any); len(got) != 1 {
		t.Fatalf("app password sees %v", got)
	}
	expectError(t, e.post("app.bsky.actor.putPreferences", apTok, map[string]any{"preferences": prefs}), 400, "InvalidToken")
	e.post("app.bsky.actor.putPreferences", apTok, map[string]any{"preferences": prefs[:1]})
	if got := e.get("app.bsky.actor.getPreferences", a.Access, "").json(t)["preferences"].([]any); len(got) != 2 {
		t.Fatalf("an app-password put dropped the birth date: %v", got)
	}
	expectError(t, e.post("app.bsky.actor.putPreferences", a.Access, map[string]any{"preferences": []any{map[string]any{"$type": "com.example.x"}}}), 400, "InvalidRequest")
}

func TestGetServiceAuth(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("zoe")
	r := e.get("com.atproto.server.getServiceAuth", a.Access, "aud=did:web:api.example.com&lxm=app.bsky.feed.getTimeline")
	tok := r.json(t)["token"].(string)
	p, err := auth.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.signingKey(a.DID).Verify(p.SignedPart(), p.Signature()); err != nil {
		t.Fatal(err)
	}
	if p.Claims.Aud != "did:web:api.example.com" || p.Claims.Lxm != "app.bsky.feed.getTimeline" || p.Claims.Iss != a.DID {
		t.Fatalf("claims %+v", p.Claims)
	}
	far := time.Now().Add(2 * time.Hour).Unix()
	expectError(t, e.get("com.atproto.server.getServiceAuth", a.Access, "aud=did:web:x.example&lxm=a.b.c&exp="+itoa(far)), 400, "BadExpiration")
	expectError(t, e.get("com.atproto.server.getServiceAuth", a.Access, "aud=nope"), 400, "InvalidRequest")
	ap := e.post("com.atproto.server.createAppPassword", a.Access, map[string]any{"name": "app"}).json(t)["password"].(string)
	apTok := e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": ap}).json(t)["accessJwt"].(string)
	expectError(t, e.get("com.atproto.server.getServiceAuth", apTok, "aud=did:web:x.example&lxm=com.atproto.server.createAccount"), 400, "InvalidToken")
	expectError(t, e.get("com.atproto.server.getServiceAuth", apTok, "aud=did:web:x.example"), 400, "InvalidRequest")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestReadAfterWrite(t *testing.T) {
	var mu sync.Mutex
	rev := ""
	var appview *httptest.Server
	var did string
	appview = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/did.json" {
			json.NewEncoder(w).Encode(map[string]any{"id": did, "service": []map[string]string{
				{"id": "#bsky_appview", "type": "BskyAppView", "serviceEndpoint": appview.URL}}})
			return
		}
		mu.Lock()
		w.Header().Set("Atproto-Repo-Rev", rev)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/xrpc/app.bsky.feed.getTimeline", "/xrpc/app.bsky.feed.getAuthorFeed":
			w.Write([]byte(`{"feed":[{"post":{"uri":"at://did:plc:other/app.bsky.feed.post/1"}}]}`))
		case "/xrpc/app.bsky.actor.getProfile":
			w.Write([]byte(`{"did":"x","handle":"h","displayName":"Old Name"}`))
		case "/xrpc/app.bsky.feed.getPostThread":
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"NotFound","message":"Post not found"}`))
		}
	}))
	defer appview.Close()
	did = "did:web:" + strings.Replace(strings.TrimPrefix(appview.URL, "http://"), "127.0.0.1:", "localhost%3A", 1)
	e := newEnv(t, func(c *Config) { c.AppView = did + "#bsky_appview" })
	a := e.createAccount("abby")
	lc := e.get("com.atproto.sync.getLatestCommit", "", "did="+a.DID).json(t)
	mu.Lock()
	rev = lc["rev"].(string) // the AppView has seen only the empty repo
	mu.Unlock()

	e.post("com.atproto.repo.putRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.actor.profile", "rkey": "self", "record": map[string]any{"displayName": "New Name"}})
	p := e.post("com.atproto.repo.createRecord", a.Access, map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post("fresh")}).json(t)

	tl := e.get("app.bsky.feed.getTimeline", a.Access, "").json(t)["feed"].([]any)
	if len(tl) != 2 || tl[0].(map[string]any)["post"].(map[string]any)["uri"] != p["uri"] {
		t.Fatalf("timeline: %v", tl)
	}
	first := tl[0].(map[string]any)["post"].(map[string]any)
	if first["record"].(map[string]any)["text"] != "fresh" || first["author"].(map[string]any)["displayName"] != "New Name" {
		t.Fatalf("merged post view: %v", first)
	}
	if af := e.get("app.bsky.feed.getAuthorFeed", a.Access, "actor="+a.DID).json(t)["feed"].([]any); len(af) != 2 {
		t.Fatalf("own author feed: %v", af)
	}
	if af := e.get("app.bsky.feed.getAuthorFeed", a.Access, "actor=did:plc:other").json(t)["feed"].([]any); len(af) != 1 {
		t.Fatalf("someone else's author feed changed: %v", af)
	}
	if pr := e.get("app.bsky.actor.getProfile", a.Access, "actor="+a.Handle).json(t); pr["displayName"] != "New Name" {
		t.Fatalf("profile: %v", pr)
	}
	th := e.get("app.bsky.feed.getPostThread", a.Access, "uri="+url.QueryEscape(p["uri"].(string)))
	if th.Status != 200 || th.json(t)["thread"].(map[string]any)["post"].(map[string]any)["uri"] != p["uri"] {
		t.Fatalf("thread: %d %s", th.Status, th.Body)
	}
	// Once the AppView has caught up, its answer is passed through as is.
	mu.Lock()
	rev = e.get("com.atproto.sync.getLatestCommit", "", "did="+a.DID).json(t)["rev"].(string)
	mu.Unlock()
	if tl := e.get("app.bsky.feed.getTimeline", a.Access, "").json(t)["feed"].([]any); len(tl) != 1 {
		t.Fatalf("caught-up timeline: %v", tl)
	}
}

func TestGetRecordOfRepoHostedElsewhere(t *testing.T) {
	appview := newService(t, "bsky_appview")
	e := newEnv(t, func(c *Config) { c.AppView = appview.did + "#bsky_appview" })
	a := e.createAccount("fern")
	const elsewhere = "repo=did:plc:bbbbbbbbbbbbbbbbbbbbbbbb&collection=app.bsky.feed.post&rkey=3k2a"
	for _, tc := range []struct {
		name, token string
		signed      bool
	}{
		{"anonymous", "", false},
		{"signed in", a.Access, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get("com.atproto.repo.getRecord", tc.token, elsewhere)
			if r.Status != 200 || string(r.Body) != `{"feed":[]}` {
				t.Fatalf("getRecord elsewhere: %d %s, want the AppView's answer", r.Status, r.Body)
			}
			up, _ := appview.request()
			if up.URL.Path != "/xrpc/com.atproto.repo.getRecord" || up.URL.RawQuery != elsewhere {
				t.Fatalf("forwarded %s?%s", up.URL.Path, up.URL.RawQuery)
			}
			if got := up.Header.Get("Authorization") != ""; got != tc.signed {
				t.Fatalf("forwarded with a token: %v, want %v", got, tc.signed)
			}
			if tc.signed {
				if c := appview.claims(e, a.DID); c.Lxm != "com.atproto.repo.getRecord" || c.Aud != appview.did {
					t.Fatalf("token %+v", c)
				}
			}
		})
	}
	// An anonymous caller cannot pick the service.
	other := newService(t, "svc")
	req, _ := http.NewRequest("GET", e.http.URL+"/xrpc/com.atproto.repo.getRecord?"+elsewhere, nil)
	req.Header.Set("Atproto-Proxy", other.did+"#svc")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if up, _ := other.request(); res.StatusCode != 200 || up != nil {
		t.Fatalf("anonymous atproto-proxy: %d, reached the named service: %v", res.StatusCode, up != nil)
	}
	// A hosted repo without the record is answered here.
	expectError(t, e.get("com.atproto.repo.getRecord", "", "repo="+a.DID+"&collection=app.bsky.feed.post&rkey=3k2a"), 404, "RecordNotFound")
	expectError(t, e.get("com.atproto.repo.getRecord", "", "repo=not%20a%20handle&collection=app.bsky.feed.post&rkey=3k2a"), 400, "InvalidRequest")
}

func TestProxyCapsAnswersAndHidesServiceFailures(t *testing.T) {
	const limit = 1000
	appview := newServiceWith(t, "bsky_appview", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/xrpc/app.bsky.test.declared":
			w.Header().Set("Content-Length", itoa(limit+1))
			w.Write([]byte(strings.Repeat("x", limit+1)))
		case "/xrpc/app.bsky.test.streamed", "/xrpc/app.bsky.test.exact":
			n := limit + 500
			if r.URL.Path == "/xrpc/app.bsky.test.exact" {
				n = limit
			}
			// Flushed in pieces: no Content-Length, the cap must cut it live.
			for sent := 0; sent < n; sent += 100 {
				w.Write([]byte(strings.Repeat("y", min(100, n-sent))))
				w.(http.Flusher).Flush()
			}
		case "/xrpc/app.bsky.test.crash":
			w.WriteHeader(500)
			w.Write([]byte(`{"error":"InternalError","message":"pg: connection refused at 10.1.2.3"}`))
		case "/xrpc/app.bsky.test.busy":
			w.WriteHeader(503)
		case "/xrpc/app.bsky.test.missing":
			w.WriteHeader(404)
			w.Write([]byte(`{"error":"NotFound","message":"no such thing"}`))
		}
	})
	e := newEnv(t, func(c *Config) { c.AppView = appview.did + "#bsky_appview" })
	e.srv.proxyLimit = limit
	a := e.createAccount("gale")
	for _, tc := range []struct {
		method string
		status int
		name   string // XRPC error; "" for a relayed answer
		cut    bool   // the connection is dropped mid-answer
	}{
		{"declared", 502, "UpstreamFailure", false},
		{"streamed", 200, "", true},
		{"exact", 200, "", false},
		{"crash", 502, "UpstreamFailure", false},
		{"busy", 502, "UpstreamFailure", false},
		{"missing", 404, "NotFound", false},
	} {
		t.Run(tc.method, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.http.URL+"/xrpc/app.bsky.test."+tc.method, nil)
			req.Header.Set("Authorization", "Bearer "+a.Access)
			res, err := http.DefaultClient.Do(req)
			if tc.cut && err != nil {
				return // dropped before the status line left the buffer
			}
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if tc.cut {
				if err == nil || len(body) > limit {
					t.Fatalf("over-cap stream: read %d bytes, err %v; want the connection dropped by %d", len(body), err, limit)
				}
				return
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			r := resp{Status: res.StatusCode, Body: body, Header: res.Header}
			if tc.name == "" {
				if r.Status != tc.status || len(body) != limit {
					t.Fatalf("got %d, %d bytes; want %d, %d bytes", r.Status, len(body), tc.status, limit)
				}
				return
			}
			expectError(t, r, tc.status, tc.name)
			if strings.Contains(string(body), "10.1.2.3") {
				t.Fatalf("the service's failure detail leaked: %s", body)
			}
		})
	}
}
