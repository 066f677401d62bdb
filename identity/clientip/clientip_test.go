package clientip

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestResolve(t *testing.T) {
	trusted, err := ParseTrusted(Loopback + ", 10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		xff        []string
		proto      string
		tls        bool
		want       string
		secure     bool
	}{
		{name: "no proxy", peer: "203.0.113.5:4000", want: "203.0.113.5"},
		{name: "spoofed header from an untrusted peer is ignored", peer: "203.0.113.5:4000",
			xff: []string{"198.51.100.1"}, proto: "https", want: "203.0.113.5"},
		{name: "trusted proxy is believed", peer: "127.0.0.1:5000", xff: []string{"198.51.100.1"},
			proto: "https", want: "198.51.100.1", secure: true},
		{name: "ipv6 loopback proxy", peer: "[::1]:5000", xff: []string{"2001:db8::9"}, want: "2001:db8::9"},
		{name: "rightmost untrusted hop, not the client's claim", peer: "127.0.0.1:5000",
			xff: []string{"6.6.6.6, 198.51.100.1, 10.1.2.3"}, want: "198.51.100.1"},
		{name: "several headers read in order", peer: "127.0.0.1:5000",
			xff: []string{"6.6.6.6", "198.51.100.1"}, want: "198.51.100.1"},
		{name: "a single trusted address", peer: "192.0.2.7:1", xff: []string{"198.51.100.2"}, want: "198.51.100.2"},
		{name: "all hops trusted: the leftmost", peer: "127.0.0.1:5000", xff: []string{"10.0.0.2, 10.0.0.3"}, want: "10.0.0.2"},
		{name: "garbage stops the walk", peer: "127.0.0.1:5000", xff: []string{"198.51.100.1, nonsense"}, want: "127.0.0.1"},
		{name: "port in an entry", peer: "127.0.0.1:5000", xff: []string{"198.51.100.1:4444"}, want: "198.51.100.1"},
		{name: "no header from the proxy", peer: "127.0.0.1:5000", want: "127.0.0.1"},
		{name: "proxy says http over TLS to it", peer: "127.0.0.1:5000", proto: "http", tls: true, want: "127.0.0.1"},
		{name: "TLS straight to us", peer: "203.0.113.5:4000", proto: "http", tls: true, want: "203.0.113.5", secure: true},
		{name: "mapped peer", peer: "[::ffff:127.0.0.1]:5000", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			var got Client
			trusted.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = Of(r)
			})).ServeHTTP(httptest.NewRecorder(), r)
			if got.String() != tt.want || got.Secure != tt.secure {
				t.Errorf("got %q secure=%v, want %q secure=%v", got, got.Secure, tt.want, tt.secure)
			}
		})
	}
}

func TestNobodyTrusted(t *testing.T) {
	none, err := ParseTrusted("")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := none.Resolve(r).String(); got != "127.0.0.1" {
		t.Errorf("empty list believed a header: %s", got)
	}
	// Without the middleware, no header is believed either.
	if got := Addr(r); got != "127.0.0.1" {
		t.Errorf("Addr without middleware: %s", got)
	}
}

func TestParseTrusted(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "1.2.3"} {
		if _, err := ParseTrusted(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	tr, err := ParseTrusted("10.1.2.3/8")
	if err != nil || !tr.Contains(netipMust("10.200.0.1")) {
		t.Errorf("unmasked prefix: %v", err)
	}
}

func FuzzResolve(f *testing.F) {
	f.Add("127.0.0.1:1", "1.2.3.4, [::1]:80, x", "https")
	tr, _ := ParseTrusted(Loopback)
	f.Fuzz(func(t *testing.T, peer, xff, proto string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("X-Forwarded-Proto", proto)
		c := tr.Resolve(r)
		if c.Addr.IsValid() && c.Addr.Is4In6() {
			t.Fatalf("mapped address kept: %v", c.Addr)
		}
	})
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
