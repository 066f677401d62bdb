package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/identity/plc/plctest"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

const alicePassword = "alice's first password"

// fakeMailer is a configured mail server that keeps what it was given.
type fakeMailer struct {
	mu      sync.Mutex
	letters []account.Letter
}

func (m *fakeMailer) Configured() bool { return true }
func (m *fakeMailer) Queue(_ *store.Tx, l account.Letter) error {
	m.mu.Lock()
	m.letters = append(m.letters, l)
	m.mu.Unlock()
	return nil
}

func (m *fakeMailer) last(t *testing.T, purpose string) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.letters) - 1; i >= 0; i-- {
		if m.letters[i].Purpose == purpose {
			return m.letters[i].Token
		}
	}
	t.Fatalf("no %s mail", purpose)
	return ""
}

type accountEnv struct {
	*browser
	svc   *account.Service
	pages *Pages
	did   string
}

// newAccountEnv runs the pages over a real account service on a temporary
// data file, with one account, alice.pds.test. mailer may be nil.
func newAccountEnv(t *testing.T, mailer account.Mailer) *accountEnv {
	t.Helper()
	plcSrv := httptest.NewServer(plctest.New())
	t.Cleanup(plcSrv.Close)
	db, err := store.Open(filepath.Join(t.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rotation, err := keys.GenerateK256()
	if err != nil {
		t.Fatal(err)
	}
	svc := account.New(account.Config{
		ServiceDID: "did:web:pds.test", Hostname: "pds.test", PublicURL: "http://pds.test",
		HandleDomains: []string{".pds.test"}, Dev: true, LoginFloor: time.Millisecond,
		HashPassword: func(p string) (string, error) { return auth.HashPasswordCost(p, 4) },
	}, account.Deps{
		DB: db, Writer: &repo.Writer{Clock: syntax.NewTIDClock(0)}, Events: &stream.Emitter{},
		PLC: &plc.Client{BaseURL: plcSrv.URL, HTTP: plcSrv.Client()}, Mailer: mailer, Rotation: rotation,
		JWTKey:   auth.HS256("test secret, thirty-two bytes ok"),
		Resolver: &resolve.Resolver{PLCURL: plcSrv.URL, Dev: true},
	})
	sess, err := svc.Create(context.Background(), account.CreateInput{
		Handle: "alice.pds.test", Email: "alice@example.com", Password: alicePassword, NoInvite: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := New(&fakeBackend{host: "pds.test", chosen: true, owner: sess.Account.DID, accounts: svc}, nil)
	return &accountEnv{browser: newBrowser(t, p.Handler()), svc: svc, pages: p, did: sess.Account.DID}
}

// form posts to path with the page's current CSRF token.
func (e *accountEnv) form(path string, kv ...string) string {
	e.t.Helper()
	f := url.Values{"csrf": {e.csrf("/account")}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	_, body := e.post(path, f, e.url)
	return body
}

func (e *accountEnv) signIn(password string) string {
	e.t.Helper()
	return e.form("/account/signin", "identifier", "alice.pds.test", "password", password)
}

func (e *accountEnv) account() *store.Account {
	e.t.Helper()
	a, err := e.svc.Get(e.did)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// must fails unless body holds every want.
func must(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("%s: page lacks %q:\n%s", what, w, body)
		}
	}
}

var codeRe = regexp.MustCompile(`<strong>([^<]+)</strong>: <code class="big">([A-Z2-7]{5}-[A-Z2-7]{5})</code>`)

// pendingCode reads the code for purpose off the page (no mail server).
func (e *accountEnv) pendingCode(purpose string) string {
	e.t.Helper()
	_, body := e.get("/account")
	for _, m := range codeRe.FindAllStringSubmatch(body, -1) {
		if m[1] == purposeWords(purpose) {
			return m[2]
		}
	}
	e.t.Fatalf("no %s code shown:\n%s", purpose, body)
	return ""
}

func TestAccountSignIn(t *testing.T) {
	e := newAccountEnv(t, nil)
	ap, err := e.svc.CreateAppPassword(context.Background(), e.did, "phone", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, ident, password, want string }{
		{"wrong password", "alice.pds.test", "not it", "That password (or handle or email) is wrong"},
		{"unknown account", "bob.pds.test", alicePassword, "That password (or handle or email) is wrong"},
		{"app password", "alice.pds.test", ap.Password, "That password (or handle or email) is wrong"},
	} {
		body := e.form("/account/signin", "identifier", tc.ident, "password", tc.password)
		must(t, tc.name, body, tc.want, `name="identifier" value="`+tc.ident+`"`)
		if strings.Contains(body, e.did) {
			t.Fatalf("%s: signed in", tc.name)
		}
	}
	before := e.cookie()
	must(t, "sign in by email", e.form("/account/signin", "identifier", "alice@example.com", "password", alicePassword),
		"@alice.pds.test", e.did, "Sign out")
	after := e.cookie()
	if before == "" || after == "" || before == after {
		t.Fatalf("session id not rotated: %q then %q", before, after)
	}
	// The id from before the sign-in is worth nothing now.
	if body := e.with(before, "/account"); strings.Contains(body, e.did) || e.pages.holds(before) {
		t.Fatal("the old session id still names a session")
	}
	// Signing out of the account leaves the page at the sign-in form.
	must(t, "sign out", e.form("/account/signout"), "Handle or email")
}

func TestAccountFormsNeedCSRFAndSameOrigin(t *testing.T) {
	e := newAccountEnv(t, nil)
	e.signIn(alicePassword)
	tok := e.csrf("/account")
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{}, e.url},
		{"wrong token", url.Values{"csrf": {"forged"}}, e.url},
		{"cross-site", url.Values{"csrf": {tok}}, "https://evil.example"},
	} {
		for _, path := range []string{"/account/deactivate", "/account/delete", "/account/app-passwords", "/account/signin"} {
			tc.form.Set("name", "x")
			if res, _ := e.post(path, tc.form, tc.origin); res.StatusCode != http.StatusForbidden {
				t.Fatalf("%s %s: %d", tc.name, path, res.StatusCode)
			}
		}
	}
	if a := e.account(); !a.Active() {
		t.Fatal("a refused post deactivated the account")
	}
	if list, _ := e.svc.AppPasswords(e.did); len(list) != 0 {
		t.Fatal("a refused post made an app password")
	}
}

func TestAccountNeedsSignIn(t *testing.T) {
	e := newAccountEnv(t, nil)
	must(t, "not signed in", e.form("/account/deactivate"), "Your sign-in has ended")
	if !e.account().Active() {
		t.Fatal("deactivated without a sign-in")
	}
}

func TestAccountChangePassword(t *testing.T) {
	e := newAccountEnv(t, nil)
	e.signIn(alicePassword)
	const next = "alice's second password"
	for _, tc := range []struct{ name, current, new, new2, want string }{
		{"repeat differs", alicePassword, next, next + "!", "The two new passwords differ"},
		{"wrong current", "nope", next, next, "That password (or handle or email) is wrong"},
		{"changed", alicePassword, next, next, "Your password is changed"},
	} {
		must(t, tc.name, e.form("/account/password", "current", tc.current, "new", tc.new, "new2", tc.new2), tc.want)
	}
	if e.svc.CheckPassword(e.did, alicePassword) || !e.svc.CheckPassword(e.did, next) {
		t.Fatal("the password did not change")
	}
	e.form("/account/signout")
	must(t, "old password", e.signIn(alicePassword), "is wrong")
	must(t, "new password", e.signIn(next), e.did)
}

func TestAccountAppPasswords(t *testing.T) {
	e := newAccountEnv(t, nil)
	e.signIn(alicePassword)
	body := e.form("/account/app-passwords", "name", "my phone")
	m := regexp.MustCompile(`<code>([a-z2-7]{4}(-[a-z2-7]{4}){3})</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("new app password not shown:\n%s", body)
	}
	must(t, "created", body, "shown only this once", `aria-label="Revoke my phone"`)
	if _, err := e.svc.Authenticate(context.Background(), account.SignInInput{Identifier: "alice.pds.test", Password: m[1]}); err != nil {
		t.Fatalf("the shown app password does not sign in: %v", err)
	}
	if _, body := e.get("/account"); strings.Contains(body, m[1]) {
		t.Fatal("the app password is shown again")
	}
	must(t, "duplicate", e.form("/account/app-passwords", "name", "my phone"), "already have an app password with that name")
	must(t, "revoked", e.form("/account/app-passwords/revoke", "name", "my phone"), "is revoked")
	if list, _ := e.svc.AppPasswords(e.did); len(list) != 0 {
		t.Fatalf("still listed: %v", list)
	}
}

func TestAccountDeactivate(t *testing.T) {
	e := newAccountEnv(t, nil)
	e.signIn(alicePassword)
	for _, tc := range []struct {
		path, want, status string
	}{
		{"/account/deactivate", "Reactivate my account", account.StatusDeactivated},
		{"/account/activate", "Deactivate my account", account.StatusActive},
	} {
		must(t, tc.path, e.form(tc.path), tc.want)
		if got := e.account().Status; got != tc.status {
			t.Fatalf("%s: status %q, want %q", tc.path, got, tc.status)
		}
	}
}

func TestAccountDelete(t *testing.T) {
	e := newAccountEnv(t, nil)
	e.signIn(alicePassword)
	must(t, "start", e.form("/account/delete"), "Deletion code", "for good")
	code := e.pendingCode(account.PurposeDeleteAccount)
	for _, tc := range []struct{ name, password, code, want string }{
		{"wrong code", alicePassword, "AAAAA-AAAAA", "That code is not right"},
		{"wrong password", "nope", code, "is wrong"},
	} {
		must(t, tc.name, e.form("/account/delete", "step", "code", "password", tc.password, "code", tc.code), tc.want, "Deletion code")
		e.account() // still there
	}
	must(t, "deleted", e.form("/account/delete", "step", "code", "password", alicePassword, "code", code), "Goodbye")
	if _, err := e.svc.Get(e.did); err == nil {
		t.Fatal("the account is still there")
	}
	must(t, "signed out", func() string { _, b := e.get("/account"); return b }(), "Handle or email")
}

func TestAccountCodesWithoutMail(t *testing.T) {
	e := newAccountEnv(t, nil)
	e.signIn(alicePassword)
	must(t, "no mail", e.form("/account/email/send-confirmation"), "no mail server", "Confirm your email", "They need a mail server")
	code := e.pendingCode(account.PurposeConfirmEmail)
	must(t, "wrong", e.form("/account/email/confirm", "code", "BBBBB-BBBBB"), "That code is not right")
	must(t, "confirmed", e.form("/account/email/confirm", "code", strings.ToLower(code)), "Your email address is confirmed")
	if e.account().EmailConfirmed == nil {
		t.Fatal("not confirmed")
	}
	// Changing a confirmed address takes a code sent to it first.
	must(t, "email step", e.form("/account/email", "email", "alice@example.org"), "Code sent to alice@example.com")
	code = e.pendingCode(account.PurposeUpdateEmail)
	must(t, "email changed", e.form("/account/email", "step", "code", "email", "alice@example.org", "code", code), "now alice@example.org")
	if a := e.account(); a.Email != "alice@example.org" || a.EmailConfirmed != nil {
		t.Fatalf("email %q confirmed %v", a.Email, a.EmailConfirmed)
	}
	// No mail server, so no sign-in codes.
	must(t, "two-factor", e.form("/account/two-factor", "on", "true"), "Sign-in codes need a mail server")
}

func TestAccountTwoFactor(t *testing.T) {
	m := &fakeMailer{}
	e := newAccountEnv(t, m)
	e.signIn(alicePassword)
	must(t, "mail", e.form("/account/email/send-confirmation"), "We sent a code to alice@example.com")
	e.form("/account/email/confirm", "code", m.last(t, account.PurposeConfirmEmail))
	must(t, "turn on", e.form("/account/two-factor", "on", "true"), "We sent a code to alice@example.com", "Turn sign-in codes on")
	must(t, "on", e.form("/account/two-factor", "step", "code", "on", "true", "code", m.last(t, account.PurposeUpdateEmail)), "Sign-in codes are on")
	if !e.account().EmailAuthFactor {
		t.Fatal("two-factor is off")
	}
	e.form("/account/signout")
	must(t, "first step", e.signIn(alicePassword), "Sign-in code", "We sent a code to alice@example.com")
	must(t, "wrong code", e.form("/account/signin", "step", "code", "code", "CCCCC-CCCCC"), "That code is not right", "Sign-in code")
	must(t, "second step", e.form("/account/signin", "step", "code", "code", m.last(t, account.PurposeSignIn)), e.did, "Sign out")
}

func TestAccountReset(t *testing.T) {
	e := newAccountEnv(t, nil)
	tok := e.csrf("/account/reset")
	post := func(path string, kv ...string) string {
		f := url.Values{"csrf": {tok}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		_, body := e.post(path, f, e.url)
		return body
	}
	must(t, "asked", post("/account/reset", "email", "alice@example.com"), "journalctl -u hearth", "Reset code")
	var code string
	e.svc.DB.View(func(tx *store.Tx) error {
		t, err := tx.EmailToken(e.did, account.PurposeResetPassword)
		if err == nil {
			code = t.Token
		}
		return err
	})
	const next = "a password after a reset"
	must(t, "wrong code", post("/account/reset/confirm", "code", "DDDDD-DDDDD", "new", next, "new2", next), "That code is not right")
	must(t, "differ", post("/account/reset/confirm", "code", code, "new", next, "new2", "x"), "The two new passwords differ")
	must(t, "reset", post("/account/reset/confirm", "code", code, "new", next, "new2", next), "Your password is changed")
	if !e.svc.CheckPassword(e.did, next) {
		t.Fatal("the password did not change")
	}
}

func TestAccountGuessesLimited(t *testing.T) {
	e := newAccountEnv(t, nil)
	for range 10 {
		e.signIn("wrong")
	}
	must(t, "limited", e.signIn(alicePassword), "Too many attempts")
	e.pages.fails = map[string][]time.Time{}
	must(t, "after the wait", e.signIn(alicePassword), e.did)
}

func TestSentence(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&account.Error{Kind: account.ErrExpiredToken, Msg: "Token is expired"}, "within 15 minutes"},
		{&account.Error{Kind: account.ErrInvalidRequest, Msg: "name must be 1 to 100 characters"}, "name must be 1 to 100 characters"},
		{context.DeadlineExceeded, "Something went wrong on the server"},
	} {
		if got := sentence(New(&fakeBackend{}, nil).log, tc.err); !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q", tc.err, got)
		}
	}
}
