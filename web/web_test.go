package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/account/move"
	"github.com/hearth-pds/hearth/identity/clientip"
	"github.com/hearth-pds/hearth/store"
)

type fakeBackend struct {
	owner    string
	host     string
	chosen   bool
	password string
	invites  int
	accounts *account.Service
	mail     MailStatus
	crawls   int
	crawlErr error
	mover    *move.Runner
	trial    bool
	ownerErr error // CreateOwner fails with it
	relays   []RelayStatus
	tls      TLSChoice
	tlsErr   error // SaveTLS and ApplyTLS refuse with it
	restarts int   // ApplyTLS restarts
}

func (f *fakeBackend) Owner() (string, bool)        { return f.owner, f.owner != "" }
func (f *fakeBackend) CheckSetupCode(c string) bool { return f.owner == "" && c == "open-sesame" }
func (f *fakeBackend) Trial() bool                  { return f.trial }
func (f *fakeBackend) StartTrial(context.Context) error {
	f.trial, f.host, f.chosen = true, "localhost", true
	return nil
}
func (f *fakeBackend) LeaveTrial(context.Context) error {
	f.trial, f.chosen, f.owner = false, false, ""
	return nil
}
func (f *fakeBackend) Hostname() (string, bool) { return f.host, f.chosen }
func (f *fakeBackend) SaveHostname(_ context.Context, h string) error {
	if !strings.Contains(h, ".") {
		return errors.New("not a hostname")
	}
	f.host, f.chosen = h, true
	return nil
}
func (f *fakeBackend) TLS() TLSChoice {
	if f.tls.Mode == "" {
		return TLSChoice{Mode: "off"}
	}
	return f.tls
}
func (f *fakeBackend) SaveTLS(_ context.Context, host string, c TLSChoice) error {
	if f.tlsErr != nil {
		return f.tlsErr
	}
	f.tls = c
	return nil
}
func (f *fakeBackend) ApplyTLS(ctx context.Context, c TLSChoice) error {
	if err := f.SaveTLS(ctx, f.host, c); err != nil {
		return err
	}
	f.restarts++
	return nil
}
func (f *fakeBackend) CheckAddress(_ context.Context, h string) AddressReport {
	return AddressReport{Host: h, Addresses: []string{"203.0.113.5"}, Local: []string{"192.168.1.2"}}
}
func (f *fakeBackend) HandleDomains() []string {
	if f.trial {
		return []string{".test"}
	}
	return []string{"." + f.host}
}
func (f *fakeBackend) CreateOwner(_ context.Context, handle, email, pw string) (string, error) {
	if f.ownerErr != nil {
		return "", f.ownerErr
	}
	f.owner, f.password = "did:plc:owner", pw
	return f.owner, nil
}
func (f *fakeBackend) ClaimHandle(_ context.Context, did, h string) error {
	return errors.New("no TXT record yet")
}
func (f *fakeBackend) Login(_ context.Context, id, pw string) bool {
	return f.owner != "" && pw == f.password
}
func (f *fakeBackend) Status(context.Context) Status {
	st := Status{Version: "test", Accounts: []AccountStatus{{DID: f.owner, Handle: "me.example.com", Records: 3}},
		History: []Sample{{Time: time.Unix(0, 0), Records: 1}, {Time: time.Unix(3600, 0), Records: 3}}, Mail: f.mail,
		Relays: []RelayStatus{{Relay: "bsky.network"}}, Trial: f.trial}
	if f.relays != nil {
		st.Relays = f.relays
	}
	if f.accounts != nil { // the real accounts, as appliance.Status lists them
		st.Accounts = nil
		f.accounts.DB.View(func(tx *store.Tx) error {
			return tx.Accounts(func(a *store.Account) error {
				st.Accounts = append(st.Accounts, AccountStatus{DID: a.DID, Handle: a.Handle, Email: a.Email, State: a.Status})
				return nil
			})
		})
	}
	return st
}
func (f *fakeBackend) CreateInvite(context.Context) (string, error) {
	f.invites++
	return "invite-1", nil
}
func (f *fakeBackend) Backup(w io.Writer) (int64, error) {
	n, err := w.Write([]byte("BOLTDATA"))
	return int64(n), err
}
func (f *fakeBackend) ExportRepo(_ context.Context, did string, w io.Writer) error {
	_, err := w.Write([]byte("CAR"))
	return err
}
func (f *fakeBackend) PublicURL() string          { return "https://" + f.host }
func (f *fakeBackend) Accounts() *account.Service { return f.accounts }
func (f *fakeBackend) RequestCrawl(context.Context) error {
	f.crawls++
	return f.crawlErr
}
func (f *fakeBackend) Mover() *move.Runner { return f.mover }

type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, url: srv.URL, c: &http.Client{Jar: jar}}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	res, err := b.c.Get(b.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

func (b *browser) csrf(path string) string {
	_, body := b.get(path)
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

func (b *browser) post(path string, form url.Values, origin string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

func TestWizardFlow(t *testing.T) {
	fb := &fakeBackend{host: "localhost"}
	b := newBrowser(t, New(fb, nil).Handler())
	res, body := b.get("/")
	if !strings.Contains(body, "setup code") {
		t.Fatalf("first page is not the code step: %s", body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	if c := res.Request.Response; c != nil {
		_ = c
	}
	tok := b.csrf("/setup")
	// Steps are locked until the code is given.
	if _, body := b.post("/setup/address", url.Values{"csrf": {tok}, "hostname": {"pds.example.com"}}, b.url); strings.Contains(body, "Your account") || fb.chosen {
		t.Fatal("address step reachable without the setup code")
	}
	if _, body := b.post("/setup/unlock", url.Values{"csrf": {tok}, "code": {"wrong"}}, b.url); !strings.Contains(body, "not the setup code") {
		t.Fatalf("wrong code: %s", body)
	}
	// No token, or a cross-site origin: refused.
	if res, _ := b.post("/setup/unlock", url.Values{"code": {"open-sesame"}}, b.url); res.StatusCode != 403 {
		t.Fatalf("missing CSRF token: %d", res.StatusCode)
	}
	if res, _ := b.post("/setup/unlock", url.Values{"csrf": {tok}, "code": {"open-sesame"}}, "https://evil.example"); res.StatusCode != 403 {
		t.Fatalf("cross-origin post: %d", res.StatusCode)
	}
	before := b.cookie()
	if _, body := b.post("/setup/unlock", url.Values{"csrf": {tok}, "code": {"open-sesame"}}, b.url); !strings.Contains(body, "Where Hearth lives") {
		t.Fatalf("after the code: %s", body)
	}
	// The code rotates the session: the cookie from before is anonymous still.
	if body := b.with(before, "/setup"); !strings.Contains(body, "setup code") || b.cookie() == before {
		t.Fatal("the pre-code cookie unlocks the wizard")
	}
	tok = b.csrf("/setup")
	if _, body := b.post("/setup/address", url.Values{"csrf": {tok}, "hostname": {"pds.example.com"}, "action": {"check"}}, b.url); !strings.Contains(body, "203.0.113.5") {
		t.Fatalf("address check: %s", body)
	} else {
		// The three ways to HTTPS, with a Caddyfile for the proxy.
		for _, want := range []string{"HEARTH_TLS=auto", "HEARTH_TLS=off", "HEARTH_TLS=files",
			"ask http://127.0.0.1:2583/tls-check", "pds.example.com, *.pds.example.com {"} {
			if !strings.Contains(body, want) {
				t.Errorf("address step lacks %q", want)
			}
		}
	}
	if _, body := b.post("/setup/address", url.Values{"csrf": {tok}, "hostname": {"pds.example.com"}, "action": {"save"}}, b.url); !strings.Contains(body, "restarting") {
		t.Fatalf("restart page: %s", body)
	}
	if _, body := b.get("/setup"); !strings.Contains(body, "Your account") {
		t.Fatalf("owner step: %s", body)
	}
	if _, body := b.post("/setup/owner", url.Values{"csrf": {tok}, "name": {"meg"}, "domain": {".pds.example.com"}, "email": {"me@example.com"}, "password": {"short"}, "password2": {"short"}}, b.url); !strings.Contains(body, "at least 8") {
		t.Fatalf("short password: %s", body)
	}
	before = b.cookie()
	_, body = b.post("/setup/owner", url.Values{"csrf": {tok}, "name": {"meg"}, "domain": {".pds.example.com"}, "custom": {"me.com"},
		"email": {"me@example.com"}, "password": {"a long password"}, "password2": {"a long password"}}, b.url)
	if !strings.Contains(body, "_atproto.me.com") || !strings.Contains(body, "did=did:plc:owner") {
		t.Fatalf("custom domain instructions: %s", body)
	}
	// Making the owner rotates the session again.
	if b.cookie() == before || strings.Contains(b.with(before, "/status"), "Status") {
		t.Fatal("the pre-owner cookie opens the status page")
	}
	tok = csrfRe.FindStringSubmatch(body)[1]
	if _, body := b.post("/setup/check-handle", url.Values{"csrf": {tok}, "custom": {"me.com"}}, b.url); !strings.Contains(body, "not there yet") {
		t.Fatalf("check again: %s", body)
	}
	if _, body := b.get("/setup"); !strings.Contains(body, "https://pds.example.com") {
		t.Fatalf("done step: %s", body)
	}
	// The wizard is closed now: posting to it changes nothing.
	b.post("/setup/address", url.Values{"csrf": {tok}, "hostname": {"other.example.com"}, "action": {"save"}}, b.url)
	if fb.host != "pds.example.com" {
		t.Fatal("wizard changed settings after setup")
	}
}

func TestStatusNeedsLogin(t *testing.T) {
	fb := &fakeBackend{host: "pds.example.com", chosen: true, owner: "did:plc:owner", password: "a long password"}
	p := New(fb, nil)
	b := newBrowser(t, p.Handler())
	if _, body := b.get("/status"); !strings.Contains(body, "Log in") {
		t.Fatal("status page without login")
	}
	if res, _ := b.get("/status/backup"); res.Request.URL.Path != "/login" {
		t.Fatal("backup without login")
	}
	if _, body := b.get("/login"); !strings.Contains(body, `href="/account"`) {
		t.Fatal("the login page does not point to the account page")
	}
	tok := b.csrf("/login")
	for i := 0; i < 10; i++ {
		b.post("/login", url.Values{"csrf": {tok}, "identifier": {"me"}, "password": {"wrong"}}, b.url)
	}
	if _, body := b.post("/login", url.Values{"csrf": {tok}, "identifier": {"me"}, "password": {"a long password"}}, b.url); !strings.Contains(body, "Too many attempts") {
		t.Fatal("login not rate-limited")
	}
	p.fails = map[string][]time.Time{}
	before := b.cookie()
	_, body := b.post("/login", url.Values{"csrf": {tok}, "identifier": {"me"}, "password": {"a long password"}}, b.url)
	if !strings.Contains(body, "me.example.com") || !strings.Contains(body, "<svg") || !strings.Contains(body, `href="/account"`) {
		t.Fatalf("status page: %s", body)
	}
	// The login rotates the session: the cookie from before is still anonymous.
	if b.cookie() == before || !strings.Contains(b.with(before, "/status"), "Log in") || p.holds(before) {
		t.Fatal("the pre-login cookie opens the status page")
	}
	tok = csrfRe.FindStringSubmatch(body)[1]
	if _, body := b.post("/status/invite", url.Values{"csrf": {tok}}, b.url); !strings.Contains(body, "invite-1") {
		t.Fatal("invite code not shown")
	}
	if _, body := b.get("/status/backup"); body != "BOLTDATA" {
		t.Fatalf("backup: %q", body)
	}
	// Sessions expire.
	p.now = func() time.Time { return time.Now().Add(SessionTTL + time.Minute) }
	if _, body := b.get("/status"); !strings.Contains(body, "Log in") {
		t.Fatal("session outlived its TTL")
	}
}

func TestStatusShowsMail(t *testing.T) {
	tests := []struct {
		name string
		mail MailStatus
		want string
	}{
		{"none", MailStatus{}, "No mail server is set"},
		{"queue", MailStatus{Configured: true, Server: "smtp.example.com:587", Queued: 3}, "3 waiting"},
		{"failing", MailStatus{Configured: true, Server: "smtp.example.com:587", Queued: 1, LastErr: "535 bad credentials", LastErrAt: time.Now()}, "535 bad credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := &fakeBackend{host: "pds.example.com", chosen: true, owner: "did:plc:owner", password: "a long password", mail: tt.mail}
			b := newBrowser(t, New(fb, nil).Handler())
			tok := b.csrf("/login")
			_, body := b.post("/login", url.Values{"csrf": {tok}, "identifier": {"me"}, "password": {"a long password"}}, b.url)
			if !strings.Contains(body, tt.want) {
				t.Fatalf("status page lacks %q", tt.want)
			}
		})
	}
}

func TestCookieFlags(t *testing.T) {
	p := New(&fakeBackend{host: "x.example"}, nil)
	trusted, _ := clientip.ParseTrusted(clientip.Loopback)
	h := trusted.Middleware(p.Handler())
	// A proxy on loopback says the client used HTTPS: the cookie is Secure.
	// The same header from anyone else is not believed.
	for _, tt := range []struct {
		peer   string
		secure bool
	}{{"127.0.0.1:4000", true}, {"203.0.113.9:4000", false}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/setup", nil)
		req.RemoteAddr = tt.peer
		req.Header.Set("X-Forwarded-Proto", "https")
		h.ServeHTTP(rec, req)
		c := rec.Result().Cookies()
		if len(c) != 1 || !c[0].HttpOnly || c[0].Secure != tt.secure || c[0].SameSite != http.SameSiteStrictMode {
			t.Fatalf("from %s: cookie %+v", tt.peer, c)
		}
		if !bytes.Contains(rec.Body.Bytes(), []byte("setup code")) {
			t.Fatal("no page")
		}
	}
}

// with gets path with only the cookie given, as another browser would.
func (b *browser) with(cookie, path string) string {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.url+path, nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return string(body)
}

func (b *browser) cookie() string {
	u, _ := url.Parse(b.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	return ""
}

// holds reports whether id names a kept session.
func (p *Pages) holds(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sess[id] != nil
}
