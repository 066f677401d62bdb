package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// fakeOAuth is one pending request from one app.
type fakeOAuth struct {
	approved, denied string // the DID approved, or "yes"
	remember         bool
	revoked          string
}

func (f *fakeOAuth) Pending(_ context.Context, clientID, uri string) (*OAuthRequest, error) {
	if uri != "urn:req-1" || f.approved != "" || f.denied != "" {
		return nil, errOAuthRequest
	}
	return &OAuthRequest{ID: "1", ClientID: clientID, RequestURI: uri, ClientName: "Test App", Domain: "app.example",
		RedirectOrigin: "https://app.example",
		Permissions:    []PermissionGroup{{Title: "Records in your repository", Lines: []string{"create: app.bsky.feed.like"}}}}, nil
}
func (f *fakeOAuth) Remembered(id, did string) bool { return false }
func (f *fakeOAuth) Approve(_ context.Context, id, did string, remember bool) (string, error) {
	f.approved, f.remember = did, remember
	return "https://app.example/cb?code=c0de", nil
}
func (f *fakeOAuth) Deny(context.Context, string) (string, error) {
	f.denied = "yes"
	return "https://app.example/cb?error=access_denied", nil
}
func (f *fakeOAuth) Grants(did string) ([]ConnectedApp, error) {
	return []ConnectedApp{{ID: "g1", Name: "Test App", Domain: "app.example"}}, nil
}
func (f *fakeOAuth) RevokeGrant(_ context.Context, did, id string) error { f.revoked = id; return nil }

type oauthBackend struct {
	*fakeBackend
	o *fakeOAuth
}

func (b oauthBackend) OAuth() OAuth { return b.o }

func TestOAuthSignInAndConsent(t *testing.T) {
	e := newAccountEnv(t, nil)
	fo := &fakeOAuth{}
	p := New(oauthBackend{e.pages.b.(*fakeBackend), fo}, nil)
	b := newBrowser(t, p.Handler())
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == "app.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	q := "/oauth/authorize?" + url.Values{"client_id": {"https://app.example/m.json"}, "request_uri": {"urn:req-1"}}.Encode()
	res, body := b.get(q)
	must(t, "sign-in", body, "Test App", "app.example", "Sign in")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example") {
		t.Fatalf("CSP %q does not let the form redirect to the app", csp)
	}
	f := url.Values{"csrf": {b.csrf(q)}, "client_id": {"https://app.example/m.json"}, "request_uri": {"urn:req-1"},
		"identifier": {"alice.pds.test"}, "password": {alicePassword}}
	_, body = b.post("/oauth/authorize/signin", f, b.url)
	must(t, "consent", body, "It asks to", "create: app.bsky.feed.like", "@alice.pds.test", "Remember this app")
	f = url.Values{"csrf": {b.csrf(q)}, "client_id": {"https://app.example/m.json"}, "request_uri": {"urn:req-1"},
		"decision": {"approve"}, "remember": {"on"}}
	res, _ = b.post("/oauth/authorize/consent", f, b.url)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "https://app.example/cb?code=c0de" {
		t.Fatalf("approve: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if fo.approved != e.did || !fo.remember {
		t.Fatalf("approved %q remember %v", fo.approved, fo.remember)
	}
	// The used request is gone.
	_, body = b.get(q)
	must(t, "used request", body, "expired")
	// Connected apps on the account page, and revoke.
	_, body = b.get("/account")
	must(t, "account page", body, "Connected apps", "Test App")
	f = url.Values{"csrf": {b.csrf("/account")}, "id": {"g1"}}
	b.post("/account/apps/revoke", f, b.url)
	if fo.revoked != "g1" {
		t.Fatal("revoke did not reach the authorization server")
	}
}

func TestOAuthPageOff(t *testing.T) {
	e := newAccountEnv(t, nil)
	res, _ := e.get("/oauth/authorize?client_id=x&request_uri=y")
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("OAuth off: %d", res.StatusCode)
	}
}
