package xrpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var rb64 = base64.RawURLEncoding

// dpopClient is a test OAuth client: a DPoP key, the nonce it last got,
// and its tokens.
type dpopClient struct {
	t        *testing.T
	e        *testEnv
	key      *ecdsa.PrivateKey
	nonce    string
	clientID string
	access   string
	refresh  string
	// htu overrides the proof's URL (a proof for another URL).
	htu, htm string
	last     string // the last proof sent
}

func newDPoPClient(e *testEnv, scope string) *dpopClient {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	id := "http://localhost?" + url.Values{"redirect_uri": {"http://127.0.0.1/cb"}, "scope": {scope}}.Encode()
	return &dpopClient{t: e.t, e: e, key: k, clientID: id}
}

func (c *dpopClient) proof(method, htu, ath string) string {
	c.t.Helper()
	x, y := c.key.PublicKey.X.FillBytes(make([]byte, 32)), c.key.PublicKey.Y.FillBytes(make([]byte, 32))
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256",
		"jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": rb64.EncodeToString(x), "y": rb64.EncodeToString(y)}})
	claims := map[string]any{"jti": randomTestID(), "htm": method, "htu": htu, "iat": c.e.srv.now().Unix()}
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	if ath != "" {
		claims["ath"] = ath
	}
	cb, _ := json.Marshal(claims)
	signed := rb64.EncodeToString(h) + "." + rb64.EncodeToString(cb)
	d := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, c.key, d[:])
	if err != nil {
		c.t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return signed + "." + rb64.EncodeToString(sig)
}

func randomTestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return rb64.EncodeToString(b)
}

// form posts to an authorization-server endpoint with a proof, retrying
// once when asked for a nonce.
func (c *dpopClient) form(path string, v url.Values) resp {
	c.t.Helper()
	for try := 0; ; try++ {
		htu, htm := "http://pds.test"+path, "POST"
		if c.htu != "" {
			htu = c.htu
		}
		if c.htm != "" {
			htm = c.htm
		}
		req, _ := http.NewRequest("POST", c.e.http.URL+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		c.last = c.proof(htm, htu, "")
		req.Header.Set("DPoP", c.last)
		r := send(c.t, req)
		if n := r.Header.Get("DPoP-Nonce"); n != "" {
			c.nonce = n
		}
		if try == 0 && r.Status == 400 && strings.Contains(string(r.Body), "use_dpop_nonce") {
			continue
		}
		return r
	}
}

func send(t *testing.T, req *http.Request) resp {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Body: data, Header: res.Header}
}

// xrpc calls a method with the DPoP-bound access token.
func (c *dpopClient) xrpc(method, nsid string, body any) resp {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
	}
	req, _ := http.NewRequest(method, c.e.http.URL+"/xrpc/"+nsid, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	h := sha256.Sum256([]byte(c.access))
	htu := "http://pds.test/xrpc/" + nsid
	if c.htu != "" {
		htu = c.htu
	}
	c.last = c.proof(method, htu, rb64.EncodeToString(h[:]))
	req.Header.Set("Authorization", "DPoP "+c.access)
	req.Header.Set("DPoP", c.last)
	return send(c.t, req)
}

const testVerifier = "a-very-long-code-verifier-of-more-than-43-characters-0123456789"

func challengeOf(v string) string {
	h := sha256.Sum256([]byte(v))
	return rb64.EncodeToString(h[:])
}

// par pushes a request and returns its request_uri.
func (c *dpopClient) par(extra url.Values) resp {
	v := url.Values{"client_id": {c.clientID}, "response_type": {"code"}, "redirect_uri": {"http://127.0.0.1/cb"},
		"code_challenge": {challengeOf(testVerifier + randomTestID())}, "code_challenge_method": {"S256"}, "state": {"st"}}
	for k, vs := range extra {
		v[k] = vs
	}
	return c.form("/oauth/par", v)
}

// signIn runs the whole flow for acct and keeps the tokens.
func (c *dpopClient) signIn(acct testAccount, scope string) {
	c.t.Helper()
	verifier := testVerifier + randomTestID()
	r := c.par(url.Values{"scope": {scope}, "code_challenge": {challengeOf(verifier)}})
	if r.Status != 201 {
		c.t.Fatalf("par: %d %s", r.Status, r.Body)
	}
	uri := r.json(c.t)["request_uri"].(string)
	p, err := c.e.srv.OAuth().Pending(context.Background(), c.clientID, uri)
	if err != nil {
		c.t.Fatal(err)
	}
	to, err := c.e.srv.OAuth().Approve(context.Background(), p.ID, acct.DID, false)
	if err != nil {
		c.t.Fatal(err)
	}
	u, _ := url.Parse(to)
	if u.Query().Get("iss") != "http://pds.test" || u.Query().Get("state") != "st" {
		c.t.Fatalf("redirect %s lacks iss or state", to)
	}
	r = c.form("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1/cb"}, "code_verifier": {verifier}, "client_id": {c.clientID}})
	if r.Status != 200 {
		c.t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	m := r.json(c.t)
	if m["sub"] != acct.DID || m["token_type"] != "DPoP" || !strings.Contains(m["scope"].(string), "atproto") {
		c.t.Fatalf("token answer %v", m)
	}
	c.access, c.refresh = m["access_token"].(string), m["refresh_token"].(string)
}

func oauthEnv(t *testing.T) *testEnv {
	return newEnv(t, func(c *Config) { c.OAuth = true })
}

func likeRecord(did string) map[string]any {
	return map[string]any{"repo": did, "collection": "app.bsky.feed.like", "record": map[string]any{
		"$type": "app.bsky.feed.like", "createdAt": time.Now().UTC().Format(time.RFC3339),
		"subject": map[string]any{"uri": "at://" + did + "/app.bsky.feed.post/3jzfcijpj2z2a",
			"cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}}}
}

func postRecord(did string) map[string]any {
	return map[string]any{"repo": did, "collection": "app.bsky.feed.post", "record": map[string]any{
		"$type": "app.bsky.feed.post", "text": "hello", "createdAt": time.Now().UTC().Format(time.RFC3339)}}
}

func mustReq(t *testing.T, method, u string) *http.Request {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
