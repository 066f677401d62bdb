package clientip

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Loopback is the default list of trusted proxies: a proxy on this machine.
const Loopback = "127.0.0.0/8,::1/128"

// Trusted is the set of peers whose forwarding headers are believed. The
// zero value, and a nil *Trusted, trust nobody.
type Trusted struct {
	nets []netip.Prefix
}

// ParseTrusted reads a comma list of CIDR prefixes or single addresses.
// An empty list trusts nobody.
func ParseTrusted(list string) (*Trusted, error) {
	t := &Trusted{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			t.nets = append(t.nets, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR prefix, like 10.0.0.0/8", f)
		}
		a = a.Unmap()
		t.nets = append(t.nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// Contains reports whether a is a trusted proxy.
func (t *Trusted) Contains(a netip.Addr) bool {
	if t == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range t.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client is what Resolve decided about a request.
type Client struct {
	// Addr is the client's address; invalid only when the peer's
	// address cannot be read (a test recorder without RemoteAddr).
	Addr netip.Addr
	// Secure is whether the client reached Hearth over HTTPS: this
	// connection is TLS, or a trusted proxy says it terminated TLS.
	Secure bool
}

// String is the address as text, "" when there is none.
func (c Client) String() string {
	if !c.Addr.IsValid() {
		return ""
	}
	return c.Addr.String()
}

// Resolve decides the client of r. The forwarding headers count only when
// the peer is trusted; then the client is the rightmost X-Forwarded-For
// address that is not a trusted proxy (or the leftmost, when all are), and
// X-Forwarded-Proto says whether it used HTTPS. A malformed entry ends the
// walk at the last good hop.
func (t *Trusted) Resolve(r *http.Request) Client {
	c := Client{Addr: peer(r.RemoteAddr), Secure: r.TLS != nil}
	if !t.Contains(c.Addr) {
		return c
	}
	if proto := firstValue(r.Header.Values("X-Forwarded-Proto")); proto != "" {
		c.Secure = strings.EqualFold(proto, "https")
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		c.Addr = a.Unmap()
		if !t.Contains(c.Addr) {
			break
		}
	}
	return c
}

type ctxKey struct{}

// Middleware decides the client of each request once, with Resolve, for
// Addr and Secure to read.
func (t *Trusted) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := t.Resolve(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

// Of is the client Middleware decided for r; without Middleware (a test
// calling a handler directly) it is the peer, with no header believed.
func Of(r *http.Request) Client {
	if c, ok := r.Context().Value(ctxKey{}).(Client); ok {
		return c
	}
	return (*Trusted)(nil).Resolve(r)
}

// Addr is the client's address as text: the key of rate limits and what
// the logs and pages show.
func Addr(r *http.Request) string { return Of(r).String() }

// Secure reports whether the client reached Hearth over HTTPS.
func Secure(r *http.Request) bool { return Of(r).Secure }

// peer parses a RemoteAddr ("ip:port", "[v6]:port", or a bare address).
func peer(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// forwardedFor splits the X-Forwarded-For headers, in order, into hops. An
// entry may carry a port ("1.2.3.4:5678", "[::1]:80"), which is dropped.
func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if ap, err := netip.ParseAddrPort(f); err == nil {
				f = ap.Addr().String()
			}
			hops = append(hops, strings.Trim(f, "[]"))
		}
	}
	return hops
}

func firstValue(values []string) string {
	for _, v := range values {
		if f := strings.TrimSpace(strings.Split(v, ",")[0]); f != "" {
			return f
		}
	}
	return ""
}
