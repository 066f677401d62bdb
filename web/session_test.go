package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func getLogin(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	return rec
}

// An anonymous flood keeps nothing in memory, and a signed-in session
// outlives it.
func TestAnonymousFloodKeepsNothing(t *testing.T) {
	fb := &fakeBackend{host: "pds.example.com", chosen: true, owner: "did:plc:owner", password: "a long password"}
	p := New(fb, nil)
	b := newBrowser(t, p.Handler())
	tok := b.csrf("/login")
	b.post("/login", url.Values{"csrf": {tok}, "identifier": {"me"}, "password": {"a long password"}}, b.url)
	h := p.Handler()
	for i := 0; i < 20000; i++ {
		if rec := getLogin(h); rec.Code != 200 {
			t.Fatalf("GET /login: %d", rec.Code)
		}
	}
	if n := len(p.sess); n > maxAnonymous || n != 1 {
		t.Fatalf("%d sessions kept after the flood", n)
	}
	if _, body := b.get("/status"); !strings.Contains(body, "me.example.com") {
		t.Fatal("the signed-in session did not survive the flood")
	}
}

// Anonymous cookies are signed: a made-up one is not a session, and a
// login form posted with it is refused.
func TestAnonymousCookieSigned(t *testing.T) {
	p := New(&fakeBackend{host: "pds.example.com", owner: "did:plc:owner", password: "a long password"}, nil)
	for _, c := range []string{"a.nonce.forged", "a.nonce", "nonce", ""} {
		req := httptest.NewRequest("POST", "/login", strings.NewReader("csrf=x&identifier=me&password=a+long+password"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: cookieName, Value: c})
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("cookie %q: %d", c, rec.Code)
		}
	}
}

// Sign-ins waiting for their code are capped, oldest first; signed-in
// sessions are never evicted.
func TestKeptAnonymousCapped(t *testing.T) {
	p := New(&fakeBackend{}, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	signedIn := &session{}
	p.rotate(rec, req, signedIn)
	p.mu.Lock()
	signedIn.did = "did:plc:alice" // steps up after being kept, as a code sign-in does
	p.mu.Unlock()
	first := &session{pending: &pendingSignIn{}}
	p.rotate(rec, req, first)
	for i := 0; i < maxAnonymous+500; i++ {
		p.rotate(rec, req, &session{pending: &pendingSignIn{}})
	}
	if n := len(p.sess); n > maxAnonymous+1 {
		t.Fatalf("%d sessions kept", n)
	}
	if !p.holds(signedIn.id) {
		t.Fatal("a signed-in session was evicted")
	}
	if p.holds(first.id) {
		t.Fatal("the oldest waiting sign-in was not evicted")
	}
}

// Expired sessions go in the sweep even if never looked up again.
func TestExpiredSwept(t *testing.T) {
	p := New(&fakeBackend{}, nil)
	now := time.Now()
	p.now = func() time.Time { return now }
	p.rotate(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), &session{owner: true})
	now = now.Add(SessionTTL + sweepEvery)
	p.kept("unknown")
	if len(p.sess) != 0 {
		t.Fatal("expired session not swept")
	}
}

// BenchmarkLoginPage serves GET /login after 100k anonymous visits.
func BenchmarkLoginPage(b *testing.B) {
	p := New(&fakeBackend{host: "pds.example.com", owner: "did:plc:owner"}, nil)
	h := p.Handler()
	for i := 0; i < 100000; i++ {
		getLogin(h)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		getLogin(h)
	}
}
