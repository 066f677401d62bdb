package web

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/identity/account"
)

const bobPassword = "bob's own password"

type adminEnv struct {
	*accountEnv
	fb  *fakeBackend
	bob string
	tok string
}

// newAdminEnv is the account env with a second account, bob.pds.test, and
// the status page logged in (alice is the owner).
func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	e := &adminEnv{accountEnv: newAccountEnv(t, nil)}
	e.fb = e.pages.b.(*fakeBackend)
	e.fb.password = "the admin password"
	sess, err := e.svc.Create(context.Background(), account.CreateInput{
		Handle: "bob.pds.test", Email: "bob@example.com", Password: bobPassword, NoInvite: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.bob = sess.Account.DID
	_, body := e.post("/login", url.Values{"csrf": {e.csrf("/login")}, "identifier": {"admin"}, "password": {e.fb.password}}, e.url)
	must(t, "status page", body, "@bob.pds.test", "bob@example.com", e.bob)
	return e
}

// do posts a status form with the page's current token.
func (e *adminEnv) do(path string, kv ...string) string {
	e.t.Helper()
	f := url.Values{"csrf": {e.csrf("/status")}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	_, body := e.post(path, f, e.url)
	return body
}

func (e *adminEnv) signsIn(did, password string) error {
	_, err := e.svc.Authenticate(context.Background(), account.SignInInput{Identifier: did, Password: password})
	return err
}

func TestAdminTakedownAndLift(t *testing.T) {
	e := newAdminEnv(t)
	body := e.do("/status/takedown", "did", e.bob, "applied", "true")
	must(t, "takedown", body, "@bob.pds.test is taken down", `badge takendown`, "Lift the takedown")
	if err := e.signsIn(e.bob, bobPassword); !errors.Is(err, account.ErrTakendown) {
		t.Fatalf("sign-in after the takedown: %v", err)
	}
	must(t, "lift", e.do("/status/takedown", "did", e.bob, "applied", "false"), "takedown of @bob.pds.test is lifted")
	if err := e.signsIn(e.bob, bobPassword); err != nil {
		t.Fatalf("sign-in after the lift: %v", err)
	}
}

func TestAdminSparesOwner(t *testing.T) {
	e := newAdminEnv(t)
	must(t, "take down the owner", e.do("/status/takedown", "did", e.did, "applied", "true"), "That is the owner&#39;s account")
	must(t, "delete the owner", e.do("/status/delete", "did", e.did, "step", "confirm", "handle", "alice.pds.test"), "That is the owner&#39;s account")
	if a := e.account(); a.Status != account.StatusActive {
		t.Fatalf("owner is %q", a.Status)
	}
	_, body := e.get("/status")
	card := body[strings.Index(body, `id="account-alice.pds.test"`):]
	card = card[:strings.Index(card, "</div></div>")]
	if strings.Contains(card, "Take down") || strings.Contains(card, "Delete") {
		t.Fatalf("the owner's card offers a takedown or deletion: %s", card)
	}
}

var passwordRe = regexp.MustCompile(`<code class="big" id="new-password">([^<]+)</code>`)

func TestAdminResetPassword(t *testing.T) {
	e := newAdminEnv(t)
	body := e.do("/status/password", "did", e.bob)
	m := passwordRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no new password shown:\n%s", body)
	}
	if len(m[1]) < 20 {
		t.Fatalf("weak password %q", m[1])
	}
	if err := e.signsIn(e.bob, bobPassword); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if err := e.signsIn(e.bob, m[1]); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, body := e.get("/status"); strings.Contains(body, m[1]) {
		t.Fatal("the password is shown again")
	}
}

func TestAdminDelete(t *testing.T) {
	e := newAdminEnv(t)
	must(t, "ask", e.do("/status/delete", "did", e.bob), "Delete @bob.pds.test for good?", "cannot be undone", `name="handle"`)
	must(t, "wrong handle", e.do("/status/delete", "did", e.bob, "step", "confirm", "handle", "alice.pds.test"),
		"The handle you typed is not this account", "Delete @bob.pds.test for good?")
	if _, err := e.svc.Get(e.bob); err != nil {
		t.Fatal("deleted without the handle")
	}
	body := e.do("/status/delete", "did", e.bob, "step", "confirm", "handle", "@bob.pds.test")
	must(t, "delete", body, "@bob.pds.test is deleted")
	if strings.Contains(body, `id="account-bob.pds.test"`) {
		t.Fatal("bob still listed")
	}
	if _, err := e.svc.Get(e.bob); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("bob after deletion: %v", err)
	}
}

func TestAdminInvites(t *testing.T) {
	e := newAdminEnv(t)
	g, err := e.svc.CreateInvites(context.Background(), nil, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	code := g[0].Codes[0]
	_, body := e.get("/status")
	must(t, "listed", body, "<code>"+code+"</code>", `data-copy="`+code+`"`, "0 of 2", `name="code" value="`+code+`"`)
	body = e.do("/status/invite/disable", "code", code)
	must(t, "disable", body, "The invite code "+code+" is disabled", "disabled</span>")
	codes, _, _ := e.svc.InviteCodes("recent", 100, "")
	if len(codes) != 1 || !codes[0].Disabled {
		t.Fatalf("codes %+v", codes)
	}
	if strings.Contains(body, `name="code" value="`+code+`"`) {
		t.Fatal("a disabled code offers Disable")
	}
	must(t, "create", e.do("/status/invite"), "New invite code: <code class=\"big\">invite-1</code>")
}

func TestAdminCrawl(t *testing.T) {
	e := newAdminEnv(t)
	must(t, "crawl", e.do("/status/crawl"), "The relays took the request")
	e.fb.crawlErr = errors.New("bsky.network: relay answered 503")
	must(t, "refused", e.do("/status/crawl"), "A relay did not take the request")
	if e.fb.crawls != 2 {
		t.Fatalf("%d crawls", e.fb.crawls)
	}
}

// An account signed in at /account is not the admin.
func TestAdminNeedsStatusLogin(t *testing.T) {
	e := newAccountEnv(t, nil)
	e.signIn(alicePassword)
	f := url.Values{"csrf": {e.csrf("/account")}, "did": {e.did}, "applied": {"true"}}
	if res, _ := e.post("/status/takedown", f, e.url); res.Request.URL.Path != "/login" {
		t.Fatalf("takedown without the status login: %s", res.Request.URL.Path)
	}
	if a := e.account(); a.Status != account.StatusActive {
		t.Fatal("taken down without the status login")
	}
}
