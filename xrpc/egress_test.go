package xrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/resolve"
)

// privateNet stands in for the owner's LAN outside dev mode: internal is a
// server on loopback that no fetch may reach, front a public-looking
// service allowed through (its DID document says where its service is).
// Fake DNS sends internal.example.com to internal and front.example.com to
// front.
type privateNet struct {
	internal, front *httptest.Server
	hits            atomic.Int32
	endpoint        atomic.Value // the service endpoint front's document names
	opts            egress.Options
	log             logBuffer
}

// logBuffer collects the server's log, which must hold the detail the
// answers leave out.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newPrivateNet(t *testing.T) *privateNet {
	n := &privateNet{}
	n.internal = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.hits.Add(1)
		io.WriteString(w, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
	}))
	t.Cleanup(n.internal.Close)
	n.front = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"id": "did:web:front.example.com", "service": []map[string]string{
			{"id": "#svc", "type": "Service", "serviceEndpoint": n.endpoint.Load().(string)}}})
	}))
	t.Cleanup(n.front.Close)
	frontAddr, internalAddr := n.front.Listener.Addr().String(), n.internal.Listener.Addr().String()
	n.opts = egress.Options{
		Allow: func(a netip.AddrPort) bool { return a.String() == frontAddr },
		Rewrite: func(a string) string {
			switch host, _, _ := net.SplitHostPort(a); host {
			case "front.example.com":
				return frontAddr
			case "internal.example.com":
				return internalAddr
			}
			return a
		},
		TLSConfig: n.front.Client().Transport.(*http.Transport).TLSClientConfig,
	}
	return n
}

// leaks reports whether an answer tells where a name points or why a dial
// failed.
func (n *privateNet) leaks(body []byte) bool {
	s := string(body)
	return strings.Contains(s, "127.0.0.1") || strings.Contains(s, "10.0.0.1") ||
		strings.Contains(s, "dial") || strings.Contains(s, "forbidden")
}

// outsideDev turns e's server to production rules, with n as its network.
func (n *privateNet) outsideDev(e *testEnv) {
	e.srv.cfg.Dev = false
	e.srv.log = slog.New(slog.NewTextHandler(&n.log, nil))
	opts := n.opts
	opts.Log = e.srv.log
	e.srv.resolver = &resolve.Resolver{
		LookupTXT: func(context.Context, string) ([]string, error) {
			return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
		},
		Egress: egress.New(opts),
	}
	e.srv.proxyHTTP = egress.New(opts).Client(egress.Use{})
}

func TestResolveHandleRefusesPrivateTargets(t *testing.T) {
	n := newPrivateNet(t)
	e := newEnv(t)
	n.outsideDev(e)
	for _, h := range []string{"internal.example.com", "10.0.0.1.nip.io"} {
		r := e.get("com.atproto.identity.resolveHandle", "", "handle="+h)
		expectError(t, r, 400, "HandleNotFound")
		if n.leaks(r.Body) {
			t.Errorf("%s: the answer leaks: %s", h, r.Body)
		}
	}
	if n.hits.Load() != 0 {
		t.Fatal("the internal server was reached")
	}
	if !strings.Contains(n.log.String(), "forbidden address") {
		t.Fatalf("the log does not say the dial was refused: %s", n.log.String())
	}
}

func TestProxyRefusesPrivateTargets(t *testing.T) {
	n := newPrivateNet(t)
	e := newEnv(t)
	a := e.createAccount("pia") // .test handles need dev mode; then leave it
	n.outsideDev(e)
	call := func(ref string) resp {
		t.Helper()
		req, _ := http.NewRequest("GET", e.http.URL+"/xrpc/app.bsky.feed.getTimeline", nil)
		req.Header.Set("Authorization", "Bearer "+a.Access)
		req.Header.Set("Atproto-Proxy", ref)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return resp{Status: res.StatusCode, Body: b}
	}
	tests := []struct {
		name     string
		ref      string
		endpoint string
		status   int
	}{
		{"did:web host points inside", "did:web:internal.example.com#svc", "", 400},
		{"endpoint name points inside", "did:web:front.example.com#svc", "https://internal.example.com", 502},
		{"endpoint is a private literal", "did:web:front.example.com#svc", "https://10.0.0.1", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.endpoint.Store(tt.endpoint)
			e.srv.resolver.Forget("did:web:front.example.com")
			before := strings.Count(n.log.String(), "forbidden address")
			r := call(tt.ref)
			if r.Status != tt.status || n.leaks(r.Body) {
				t.Fatalf("got %d %s, want %d without the detail", r.Status, r.Body, tt.status)
			}
			if strings.Count(n.log.String(), "forbidden address") == before {
				t.Fatalf("the log does not say the dial was refused: %s", n.log.String())
			}
		})
	}
	if n.hits.Load() != 0 {
		t.Fatal("the internal server was reached")
	}
}
