package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/egress"
)

// via returns a Factory with the guard on that still lets srv through, and
// sends every name under example.com there, as srv.Client() would.
func via(srv *httptest.Server) *egress.Factory {
	addr := srv.Listener.Addr().String()
	ap := netip.MustParseAddrPort(addr)
	opts := egress.Options{
		Allow:   func(a netip.AddrPort) bool { return a == ap },
		Rewrite: exampleTo(addr),
	}
	if srv.TLS != nil {
		opts.TLSConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	}
	return egress.New(opts)
}

// exampleTo is a fake DNS: example.com and the names under it are at addr.
func exampleTo(addr string) func(string) string {
	return func(a string) string {
		if host, _, _ := net.SplitHostPort(a); host == "example.com" || strings.HasSuffix(host, ".example.com") {
			return addr
		}
		return a
	}
}

const (
	didA = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	didB = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
	didC = "did:plc:cccccccccccccccccccccccc"
)

func docJSON(did string) string {
	return `{"id":"` + did + `","alsoKnownAs":["at://alice.example.com"],` +
		`"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"https://pds.example.com"}]}`
}

// directory serves fixed answers by path and counts requests.
type directory struct {
	hits    atomic.Int32
	mu      sync.Mutex
	answers map[string]func(w http.ResponseWriter)
}

func (d *directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.hits.Add(1)
	d.mu.Lock()
	a, ok := d.answers[r.URL.Path]
	d.mu.Unlock()
	if ok {
		a(w)
		return
	}
	http.NotFound(w, r)
}

func (d *directory) set(path string, answer func(http.ResponseWriter)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if answer == nil {
		delete(d.answers, path)
		return
	}
	d.answers[path] = answer
}

func body(s string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { fmt.Fprint(w, s) }
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

// noDNS is a LookupTXT with no records at all, so tests never reach a real
// resolver.
func noDNS(context.Context, string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}

func TestResolvePLC(t *testing.T) {
	dir := &directory{answers: map[string]func(http.ResponseWriter){
		"/" + didA:                          body(docJSON(didA)),
		"/did:plc:gonegonegonegonegonegone": status(http.StatusGone),
		"/did:plc:otherotherotherotherothe": body(docJSON(didB)),
		"/did:plc:brokenbrokenbrokenbroken": body(`{"id":`),
		"/did:plc:hugehugehugehugehugehuge": body(`{"id":"x","pad":"` + strings.Repeat("a", maxDocument) + `"}`),
		"/did:plc:downdowndowndowndowndown": status(http.StatusServiceUnavailable),
	}}
	srv := httptest.NewServer(dir)
	defer srv.Close()
	r := &Resolver{PLCURL: srv.URL + "/", LookupTXT: noDNS, Egress: via(srv)}
	ctx := context.Background()

	doc, err := r.ResolveDID(ctx, didA)
	if err != nil {
		t.Fatal(err)
	}
	if ep, _ := doc.PDSEndpoint(); ep != "https://pds.example.com" {
		t.Errorf("PDS %q", ep)
	}

	tests := []struct {
		did  string
		want error
	}{
		{"did:plc:nonenonenonenonenonenone", ErrNotFound},
		{"did:plc:gonegonegonegonegonegone", ErrDeactivated},
		{"did:plc:otherotherotherotherothe", ErrInvalid},
		{"did:plc:brokenbrokenbrokenbroken", ErrInvalid},
		{"did:plc:hugehugehugehugehugehuge", ErrInvalid},
		{"did:plc:short", ErrInvalid},
		{"did:plc:../../etc/passwd", ErrInvalid},
		{"did:key:zQ3shunBKsXixLxKtC5qeSG9E4J5RkGN57im31pcTzbNQnm5w", ErrInvalid},
		{"not a did", ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := r.ResolveDID(ctx, tt.did); !errors.Is(err, tt.want) {
			t.Errorf("ResolveDID(%s) = %v, want %v", tt.did, err, tt.want)
		}
	}
	if !errors.Is(ErrDeactivated, ErrNotFound) {
		t.Error("ErrDeactivated does not match ErrNotFound")
	}
	_, err = r.ResolveDID(ctx, "did:plc:downdowndowndowndowndown")
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		t.Errorf("directory down: %v, want a plain error", err)
	}
}

func TestResolveDIDWeb(t *testing.T) {
	dir := &directory{answers: map[string]func(http.ResponseWriter){}}
	tlsSrv := httptest.NewTLSServer(dir) // its client sends *.example.com here
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(dir)
	defer plainSrv.Close()
	port := plainSrv.Listener.Addr().(*net.TCPAddr).Port
	devDID := fmt.Sprintf("did:web:localhost%%3A%d", port)

	t.Run("production https", func(t *testing.T) {
		dir.set("/.well-known/did.json", body(docJSON("did:web:pds.example.com")))
		r := &Resolver{Egress: via(tlsSrv)}
		doc, err := r.ResolveDID(context.Background(), "did:web:pds.example.com")
		if err != nil || doc.ID != "did:web:pds.example.com" {
			t.Fatalf("%v, %v", doc, err)
		}
	})
	t.Run("dev localhost with port", func(t *testing.T) {
		dir.set("/.well-known/did.json", body(docJSON(devDID)))
		r := &Resolver{Dev: true}
		doc, err := r.ResolveDID(context.Background(), devDID)
		if err != nil || doc.ID != devDID {
			t.Fatalf("%v, %v", doc, err)
		}
	})
	refused := []struct {
		name string
		dev  bool
		did  string
	}{
		{"port outside dev", false, devDID},
		{"local name outside dev", false, "did:web:pds.local"},
		{"port on another host", true, "did:web:pds.example.com%3A8080"},
		{"bad port", true, "did:web:localhost%3A99999"},
		{"path", true, "did:web:example.com:user:alice"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before := dir.hits.Load()
			r := &Resolver{Dev: tt.dev, Egress: via(tlsSrv)}
			if _, err := r.ResolveDID(context.Background(), tt.did); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if dir.hits.Load() != before {
				t.Fatal("a refused DID was fetched")
			}
		})
	}
}

func TestRedirectPolicy(t *testing.T) {
	var target atomic.Value
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Host {
		case "hop.example.com":
			http.Redirect(w, r, target.Load().(string), http.StatusFound)
		default:
			fmt.Fprint(w, didA)
		}
	}))
	defer srv.Close()
	r := &Resolver{Egress: via(srv), LookupTXT: noDNS}
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{"https://final.example.com/.well-known/atproto-did", true},
		{"http://final.example.com/.well-known/atproto-did", false},
		{"https://127.0.0.1/.well-known/atproto-did", false},
		{"https://localhost/.well-known/atproto-did", false},
		{"https://hop.example.com/.well-known/atproto-did", false}, // a loop: too many hops
	} {
		target.Store(tc.target)
		r.Forget("hop.example.com")
		did, err := r.ResolveHandle(context.Background(), "hop.example.com")
		if (err == nil) != tc.ok || (tc.ok && did != didA) {
			t.Errorf("redirect to %s: %q, %v", tc.target, did, err)
		}
	}
}

func TestResolveHandle(t *testing.T) {
	wellKnown := map[string]func(http.ResponseWriter){
		"web.example.com":      body("  " + didC + "\n"),
		"html.example.com":     body("<html>welcome</html>"),
		"huge.example.com":     body(didC + strings.Repeat(" ", maxWellKnown)),
		"nodid.example.com":    status(http.StatusNotFound),
		"broken.example.com":   status(http.StatusInternalServerError),
		"fallback.example.com": body(didC),
		"slowdns.example.com":  body(didC),
		"web.test":             body(didB),
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		if a, ok := wellKnown[host]; ok && r.URL.Path == "/.well-known/atproto-did" {
			a(w)
			return
		}
		http.NotFound(w, r)
	})
	srv := httptest.NewTLSServer(handler)
	defer srv.Close()
	txt := map[string][]string{
		"_atproto.dns.example.com":        {"did=" + didA},
		"_atproto.dup.example.com":        {"did=" + didA, "v=spf1 -all", "did=" + didA},
		"_atproto.conflict.example.com":   {"did=" + didA, "did=" + didB},
		"_atproto.junk.example.com":       {"hello", "did=not-a-did", "did=did:example:123", "did=" + didB},
		"_atproto.fallback.example.com":   {"did=did:plc:TOOSHORT"},
		"_atproto.upper.example.com":      {"did=" + didA},
		"_atproto.alice.bsky.example.com": {"DID=" + didA},
	}
	lookup := func(ctx context.Context, name string) ([]string, error) {
		if name == "_atproto.slowdns.example.com" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		if v, ok := txt[name]; ok {
			return v, nil
		}
		return noDNS(ctx, name)
	}
	r := &Resolver{Egress: via(srv), LookupTXT: lookup, DNSTimeout: 20 * time.Millisecond}

	tests := []struct {
		handle  string
		want    string
		wantErr error
	}{
		{"dns.example.com", didA, nil},
		{"UPPER.Example.com", didA, nil},
		{"dup.example.com", didA, nil},
		{"conflict.example.com", "", ErrInvalid},
		{"junk.example.com", didB, nil},
		{"web.example.com", didC, nil},
		{"fallback.example.com", didC, nil},
		{"slowdns.example.com", didC, nil},
		{"html.example.com", "", ErrInvalid},
		{"huge.example.com", "", ErrInvalid},
		{"nodid.example.com", "", ErrNotFound},
		{"broken.example.com", "", ErrNotFound},
		{"alice.bsky.example.com", "", ErrNotFound}, // the prefix is case-sensitive
		{"web.test", "", ErrInvalid},                // reserved TLD outside dev
		{"localhost", "", ErrInvalid},
		{"not a handle", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.handle, func(t *testing.T) {
			got, err := r.ResolveHandle(context.Background(), tt.handle)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}

	t.Run("dev allows http to local names", func(t *testing.T) {
		plain := httptest.NewServer(handler)
		defer plain.Close()
		addr := plain.Listener.Addr().String()
		dev := &Resolver{Dev: true, LookupTXT: noDNS, Egress: egress.New(egress.Options{
			AllowPrivate: true,
			Rewrite:      func(string) string { return addr },
		})}
		if got, err := dev.ResolveHandle(context.Background(), "web.test"); err != nil || got != didB {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}

func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	r := &Resolver{
		Egress:    via(srv),
		PLCURL:    srv.URL,
		LookupTXT: noDNS,
		Timeout:   50 * time.Millisecond,
	}
	start := time.Now()
	if _, err := r.ResolveHandle(context.Background(), "slow.example.com"); !errors.Is(err, ErrNotFound) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("handle: %v, want ErrNotFound wrapping a deadline", err)
	}
	if _, err := r.ResolveDID(context.Background(), didA); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotFound) {
		t.Errorf("DID: %v, want a deadline error, not ErrNotFound", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeouts took %v", d)
	}
}

func TestCache(t *testing.T) {
	dir := &directory{answers: map[string]func(http.ResponseWriter){
		"/" + didA: body(docJSON(didA)),
		"/" + didB: body(docJSON(didB)),
		"/" + didC: body(docJSON(didC)),
	}}
	srv := httptest.NewServer(dir)
	defer srv.Close()
	now := time.Unix(1_700_000_000, 0)
	var lookups atomic.Int32
	r := &Resolver{
		PLCURL:     srv.URL,
		Egress:     via(srv),
		TTL:        time.Minute,
		MaxEntries: 2,
		Now:        func() time.Time { return now },
		LookupTXT: func(_ context.Context, name string) ([]string, error) {
			lookups.Add(1)
			return []string{"did=" + didA}, nil
		},
	}
	ctx := context.Background()
	resolve := func(did string) {
		t.Helper()
		if _, err := r.ResolveDID(ctx, did); err != nil {
			t.Fatal(err)
		}
	}
	expectHits := func(want int32) {
		t.Helper()
		if got := dir.hits.Load(); got != want {
			t.Fatalf("%d directory requests, want %d", got, want)
		}
	}

	resolve(didA)
	resolve(didA)
	expectHits(1)
	now = now.Add(59 * time.Second)
	resolve(didA)
	expectHits(1)
	now = now.Add(time.Second) // exactly the TTL: expired
	resolve(didA)
	expectHits(2)

	r.Forget(didA)
	resolve(didA)
	expectHits(3)

	// Bounded: B and C push out A, the least recently used.
	resolve(didB)
	resolve(didA) // A is now the most recent; B the oldest
	resolve(didC) // evicts B
	expectHits(5)
	if n := r.cache.len(); n != 2 {
		t.Fatalf("cache holds %d entries, want 2", n)
	}
	resolve(didA)
	expectHits(5)
	resolve(didB)
	expectHits(6)

	// Handles are cached too, and Forget takes a handle.
	for range 3 {
		if _, err := r.ResolveHandle(ctx, "alice.example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if lookups.Load() != 1 {
		t.Fatalf("%d TXT lookups, want 1", lookups.Load())
	}
	r.Forget("Alice.Example.com")
	r.ResolveHandle(ctx, "alice.example.com")
	if lookups.Load() != 2 {
		t.Fatalf("%d TXT lookups after Forget, want 2", lookups.Load())
	}

	// Failures are not cached.
	dir.set("/"+didC, nil)
	r.Forget(didC)
	for range 2 {
		if _, err := r.ResolveDID(ctx, didC); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
	expectHits(8)
}

// A public-looking name whose DNS answer is a loopback or private address
// is refused when dialed, directly or at a redirect hop, and the error does
// not say where it pointed.
func TestPrivateTargetsRefused(t *testing.T) {
	var inside atomic.Int32
	internal := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside.Add(1)
		fmt.Fprint(w, didA)
	}))
	defer internal.Close()
	front := httptest.NewTLSServer(http.RedirectHandler("https://internal.example.com/.well-known/atproto-did", http.StatusFound))
	defer front.Close()
	frontAddr, internalAddr := front.Listener.Addr().String(), internal.Listener.Addr().String()
	r := &Resolver{LookupTXT: noDNS, Egress: egress.New(egress.Options{
		Allow: func(a netip.AddrPort) bool { return a.String() == frontAddr },
		Rewrite: func(a string) string {
			if strings.HasPrefix(a, "front.example.com:") {
				return frontAddr
			}
			return internalAddr
		},
		TLSConfig: front.Client().Transport.(*http.Transport).TLSClientConfig,
	})}
	ctx := context.Background()
	tests := []struct {
		name    string
		resolve func() error
	}{
		{"did:web", func() error { _, err := r.ResolveDID(ctx, "did:web:internal.example.com"); return err }},
		{"handle", func() error { _, err := r.ResolveHandle(ctx, "internal.example.com"); return err }},
		{"redirect hop", func() error { _, err := r.ResolveHandle(ctx, "front.example.com"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.resolve()
			if !errors.Is(err, egress.ErrForbiddenAddress) || !errors.Is(err, egress.ErrFetchFailed) {
				t.Fatalf("err = %v, want a refused address", err)
			}
			if strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), "forbidden") {
				t.Fatalf("the error tells where the name points: %v", err)
			}
		})
	}
	if inside.Load() != 0 {
		t.Fatal("the internal server was reached")
	}
}
