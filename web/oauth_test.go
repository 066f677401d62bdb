package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
)

// fakeOAuth is an authorization server with the pending requests of
// one app, and the accounts that signed in on each browser.
type fakeOAuth struct {
	approved, denied string // the DID approved, or "yes"
	remember         bool
	revoked          string
	refused          string // the error code of the last Refuse
	reqs             map[string]*OAuthRequest
	done             map[string]bool
	devices          map[string][]DeviceAccount
	now              func() time.Time
}

func newFakeOAuth() *fakeOAuth {
	f := &fakeOAuth{reqs: map[string]*OAuthRequest{}, done: map[string]bool{}, devices: map[string][]DeviceAccount{}, now: time.Now}
	f.push("urn:req-1", "", "")
	return f
}

// push adds a pending request; its link is authorizeURL of it.
func (f *fakeOAuth) push(uri, prompt, hint string) string {
	r := &OAuthRequest{ID: uri, ClientID: "https://app.example/m.json", RequestURI: uri, ClientName: "Test App", Domain: "app.example",
		RedirectOrigin: "https://app.example", Prompt: prompt, LoginHint: hint, Created: f.now(),
		Permissions: []PermissionGroup{{Title: "Records in your repository", Lines: []string{"create: app.bsky.feed.like"}}}}
	f.reqs[uri] = r
	return authorizeURL(r)
}

func (f *fakeOAuth) Pending(_ context.Context, clientID, uri string) (*OAuthRequest, error) {
	r, ok := f.reqs[uri]
	if !ok || f.done[uri] || clientID != r.ClientID {
		return nil, errOAuthRequest
	}
	return r, nil
}
func (f *fakeOAuth) Remembered(id, did string) bool { return false }
func (f *fakeOAuth) Approve(_ context.Context, id, did string, remember bool) (string, error) {
	f.approved, f.remember, f.done[id] = did, remember, true
	return "https://app.example/cb?code=c0de", nil
}
func (f *fakeOAuth) Deny(context.Context, string) (string, error) {
	f.denied = "yes"
	return "https://app.example/cb?error=access_denied", nil
}
func (f *fakeOAuth) Refuse(_ context.Context, id, code, desc string) (string, error) {
	f.refused, f.done[id] = code, true
	return "https://app.example/cb?error=" + code, nil
}
func (f *fakeOAuth) DeviceAccounts(device string) []DeviceAccount { return f.devices[device] }
func (f *fakeOAuth) RememberDevice(_ context.Context, from, device, did string) error {
	if from != device {
		f.devices[device] = append(f.devices[device], f.devices[from]...)
		delete(f.devices, from)
	}
	as := slices.DeleteFunc(f.devices[device], func(a DeviceAccount) bool { return a.DID == did })
	f.devices[device] = append(as, DeviceAccount{DID: did, SignedIn: f.now()})
	return nil
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
	fo := newFakeOAuth()
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
		"decision": {"approve"}, "remember": {"on"}, "account": {e.did}}
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

// chooserEnv is the sign-in page over fakeOAuth, with alice and bob, a
// clock, and a browser that stops at the app's redirect.
type chooserEnv struct {
	*accountEnv
	fo  *fakeOAuth
	b   *browser
	now time.Time
	bob string
	n   int
}

func newChooserEnv(t *testing.T) *chooserEnv {
	e := newAccountEnv(t, nil)
	bob, err := e.svc.Create(t.Context(), account.CreateInput{Handle: "bob.pds.test", Email: "bob@example.com", Password: alicePassword, NoInvite: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &chooserEnv{accountEnv: e, fo: newFakeOAuth(), now: time.Now(), bob: bob.Account.DID}
	c.fo.now = func() time.Time { return c.now }
	p := New(oauthBackend{e.pages.b.(*fakeBackend), c.fo}, nil)
	p.now = c.fo.now
	c.b = c.browser(p)
	return c
}

func (c *chooserEnv) browser(p *Pages) *browser {
	b := newBrowser(c.t, p.Handler())
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == "app.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return b
}

// request pushes a request and opens its page.
func (c *chooserEnv) request(b *browser, prompt, hint string) (string, *http.Response, string) {
	c.n++
	link := c.fo.push("urn:chooser-"+strconv.Itoa(c.n), prompt, hint)
	res, body := b.get(link)
	return link, res, body
}

func (c *chooserEnv) signIn(b *browser, link, handle string) string {
	c.t.Helper()
	q, _ := url.Parse(link)
	f := url.Values{"csrf": {b.csrf(link)}, "client_id": {q.Query().Get("client_id")}, "request_uri": {q.Query().Get("request_uri")},
		"identifier": {handle}, "password": {alicePassword}}
	_, body := b.post("/oauth/authorize/signin", f, b.url)
	return body
}

func (c *chooserEnv) approve(b *browser, link, did string) *http.Response {
	c.t.Helper()
	q, _ := url.Parse(link)
	f := url.Values{"csrf": {b.csrf(link)}, "client_id": {q.Query().Get("client_id")}, "request_uri": {q.Query().Get("request_uri")},
		"decision": {"approve"}, "account": {did}}
	res, _ := b.post("/oauth/authorize/consent", f, b.url)
	return res
}

func TestOAuthAccountChooser(t *testing.T) {
	c := newChooserEnv(t)
	b := c.b
	// A first sign-in on this browser: the password.
	link, _, body := c.request(b, "", "")
	if strings.Contains(body, "Choose an account") {
		t.Fatal("a browser with no sign-in got a chooser")
	}
	must(t, "first consent", c.signIn(b, link, "alice.pds.test"), "It asks to", "@alice.pds.test")
	if res := c.approve(b, link, c.did); res.StatusCode != http.StatusSeeOther || c.fo.approved != c.did {
		t.Fatalf("approve: %d, approved %q", res.StatusCode, c.fo.approved)
	}

	// Half a day later the page session is over; the device remembers
	// alice, who is picked with a tap.
	c.now = c.now.Add(13 * time.Hour)
	link, _, body = c.request(b, "", "")
	must(t, "chooser", body, "Choose an account", "@alice.pds.test", "Use another account")
	if strings.Contains(body, "bob.pds.test") || strings.Contains(body, "password needed") {
		t.Fatalf("the chooser shows what it should not:\n%s", body)
	}
	_, body = b.get(link + "&account=" + url.QueryEscape(c.did))
	must(t, "picked", body, "It asks to", "@alice.pds.test")
	if strings.Contains(body, `name="password"`) {
		t.Fatal("a fresh device session asked for the password")
	}
	if res := c.approve(b, link, c.did); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve from the chooser: %d", res.StatusCode)
	}
	// Another account: it joins the chooser.
	link, _, _ = c.request(b, "", "")
	_, body = b.get(link + "&other=1")
	must(t, "another account", body, `name="password"`)
	must(t, "bob's consent", c.signIn(b, link, "bob.pds.test"), "@bob.pds.test")
	c.approve(b, link, c.bob)
	_, _, body = c.request(b, "", "")
	must(t, "two accounts", body, "@alice.pds.test", "@bob.pds.test")
	// prompt=none cannot choose between them: login_required, as the
	// reference PDS answers.
	if _, res, _ := c.request(b, "none", ""); res.StatusCode != http.StatusSeeOther || c.fo.refused != "login_required" {
		t.Fatalf("prompt=none, two accounts: %d %q", res.StatusCode, c.fo.refused)
	}

	// login_hint picks the account; select_account shows the chooser
	// anyway; a hint naming nobody here is the sign-in form, filled.
	_, _, body = c.request(b, "", "bob.pds.test")
	must(t, "hinted", body, "It asks to", "@bob.pds.test")
	_, _, body = c.request(b, "select_account", "bob.pds.test")
	must(t, "select_account", body, "Choose an account")
	_, _, body = c.request(b, "", "carol.example.com")
	must(t, "unknown hint", body, `value="carol.example.com"`, `name="password"`)

	// prompt=login: the password, even for a fresh account, and picking
	// it by its link does not skip it.
	link, _, body = c.request(b, "login", "alice.pds.test")
	must(t, "prompt=login", body, `name="password"`, `value="alice.pds.test"`)
	_, body = b.get(link + "&account=" + url.QueryEscape(c.did))
	must(t, "prompt=login, picked", body, `name="password"`)
	if res := c.approve(b, link, c.did); res.StatusCode == http.StatusSeeOther {
		t.Fatal("prompt=login approved without a new password")
	}
	must(t, "prompt=login, signed in", c.signIn(b, link, "alice.pds.test"), "It asks to", "@alice.pds.test")

	// prompt=none: no page; consent_required when the account is usable
	// but the consent is not remembered.
	_, res, _ := c.request(b, "none", "alice.pds.test")
	if res.StatusCode != http.StatusSeeOther || c.fo.refused != "consent_required" {
		t.Fatalf("prompt=none, signed in: %d %q", res.StatusCode, c.fo.refused)
	}

	// A week later the password is needed again.
	c.now = c.now.Add(8 * 24 * time.Hour)
	link, _, body = c.request(b, "", "")
	must(t, "stale chooser", body, "@alice.pds.test", "password needed")
	_, body = b.get(link + "&account=" + url.QueryEscape(c.did))
	must(t, "stale pick", body, `name="password"`, `value="alice.pds.test"`)
	if res := c.approve(b, link, c.did); res.StatusCode == http.StatusSeeOther {
		t.Fatal("a stale device session approved")
	}
	_, res, _ = c.request(b, "none", "")
	if res.StatusCode != http.StatusSeeOther || c.fo.refused != "login_required" {
		t.Fatalf("prompt=none, stale: %d %q", res.StatusCode, c.fo.refused)
	}

	// Another browser sees no account at all, and cannot approve for one.
	other := c.browser(New(oauthBackend{c.pages.b.(*fakeBackend), c.fo}, nil))
	link, _, body = c.request(other, "", "")
	if strings.Contains(body, "alice.pds.test") || strings.Contains(body, "Choose an account") {
		t.Fatalf("an anonymous browser sees accounts:\n%s", body)
	}
	if res := c.approve(other, link, c.did); res.StatusCode == http.StatusSeeOther {
		t.Fatal("an anonymous browser approved for alice")
	}
	_, res, _ = c.request(other, "none", "alice.pds.test")
	if res.StatusCode != http.StatusSeeOther || c.fo.refused != "login_required" {
		t.Fatalf("prompt=none, anonymous: %d %q", res.StatusCode, c.fo.refused)
	}
}

// TestOAuthDeviceCookieFixation: a device cookie planted in the browser
// before the sign-in (by a sibling subdomain, or an http:// answer) is
// replaced by the sign-in, so whoever planted it cannot pick the account.
func TestOAuthDeviceCookieFixation(t *testing.T) {
	c := newChooserEnv(t)
	const planted = "planted-by-someone-else-0123456789abcdef"
	plant := func(b *browser) {
		u, _ := url.Parse(b.url + "/oauth/authorize")
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: deviceCookie, Value: planted, Path: "/oauth/authorize"}})
	}
	plant(c.b)
	link, _, _ := c.request(c.b, "", "")
	must(t, "consent", c.signIn(c.b, link, "alice.pds.test"), "@alice.pds.test")
	u, _ := url.Parse(c.b.url + "/oauth/authorize")
	for _, ck := range c.b.c.Jar.Cookies(u) {
		if ck.Name == deviceCookie && ck.Value == planted {
			t.Fatal("the sign-in kept the planted device cookie")
		}
	}
	// The browser still has alice to pick.
	_, _, body := c.request(c.b, "", "")
	must(t, "own chooser", body, "Choose an account", "@alice.pds.test")

	attacker := c.browser(New(oauthBackend{c.pages.b.(*fakeBackend), c.fo}, nil))
	plant(attacker)
	link, _, body = c.request(attacker, "", "")
	if strings.Contains(body, "alice.pds.test") {
		t.Fatalf("the planted cookie shows alice:\n%s", body)
	}
	if res := c.approve(attacker, link, c.did); res.StatusCode == http.StatusSeeOther {
		t.Fatal("the planted cookie approved for alice")
	}
}
