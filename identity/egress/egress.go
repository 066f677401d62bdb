package egress

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Options configure a Factory.
type Options struct {
	// AllowPrivate turns the address guard off: development mode, where
	// the PLC directory, did:web hosts and services run on loopback or the
	// LAN.
	AllowPrivate bool
	// Log receives the detail of failures that Redact hides; discarded if nil.
	Log *slog.Logger
	// DialTimeout bounds each connect; 10 s if zero.
	DialTimeout time.Duration
	// Hosts answers for these names in place of DNS (HEARTH_DEV_RESOLVE),
	// so that a test app on a real-looking name such as client.test can
	// be served from loopback. Honoured only with AllowPrivate: outside
	// development mode New ignores it, with a warning.
	Hosts map[string]netip.Addr

	// The rest are seams: mostly for tests, which must reach a server on
	// loopback while the guard is on.

	// Allow, if set, lets an address through that IsPublic refuses: a
	// test server, or an endpoint the operator configured by address.
	Allow func(netip.AddrPort) bool
	// Rewrite, if set, maps each dial address ("host:port") before the
	// dial, as a fake DNS would; the guard judges where it leads.
	Rewrite func(addr string) string
	// TLSConfig, if set, replaces the default TLS settings (to trust a
	// test server's certificate, say).
	TLSConfig *tls.Config
}

// Factory makes the guarded clients. Create it with New; it is safe for
// concurrent use, and its clients share one transport.
type Factory struct {
	opts      Options
	log       *slog.Logger
	transport *http.Transport
}

// New returns a Factory whose dialer refuses non-public addresses unless
// opts.AllowPrivate.
func New(opts Options) *Factory {
	f := &Factory{opts: opts, log: opts.Log}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: f.control}
	hosts := opts.Hosts
	if len(hosts) > 0 && !opts.AllowPrivate {
		f.log.Warn("egress: the name mapping (HEARTH_DEV_RESOLVE) is ignored outside development mode", "names", len(hosts))
		hosts = nil
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if opts.Rewrite != nil {
			addr = opts.Rewrite(addr)
		}
		if host, port, err := net.SplitHostPort(addr); err == nil {
			if a, ok := hosts[strings.ToLower(host)]; ok {
				addr = net.JoinHostPort(a.String(), port)
			}
		}
		return d.DialContext(ctx, network, addr)
	}
	var tc *tls.Config
	if opts.TLSConfig != nil {
		tc = opts.TLSConfig.Clone()
	}
	f.transport = &http.Transport{
		// No Proxy: HTTPS_PROXY from the environment would be a way
		// around the guard.
		Proxy:                  nil,
		DialContext:            dial,
		TLSClientConfig:        tc,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  30 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return f
}

// ParseHosts reads a name mapping for Options.Hosts: comma-separated
// name=address pairs, such as "client.test=127.0.0.1".
func ParseHosts(s string) (map[string]netip.Addr, error) {
	hosts := map[string]netip.Addr{}
	for pair := range strings.SplitSeq(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		name, addr, ok := strings.Cut(pair, "=")
		a, err := netip.ParseAddr(strings.TrimSpace(addr))
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || err != nil || name == "" {
			return nil, fmt.Errorf("egress: %q: want name=address, like client.test=127.0.0.1", pair)
		}
		hosts[name] = a
	}
	return hosts, nil
}

// control runs after DNS, before connect(2), for each address tried.
func (f *Factory) control(network, address string, _ syscall.RawConn) error {
	if f.opts.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable %q", ErrForbiddenAddress, address)
	}
	if IsPublic(ap.Addr()) || (f.opts.Allow != nil && f.opts.Allow(ap)) {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
}

// Use describes one use of the network: its limits.
type Use struct {
	// Timeout bounds the whole exchange, body included; none if zero,
	// when the request's context must bound it.
	Timeout time.Duration
	// MaxRedirects is how many redirects are followed, each dialed through
	// the guard; more fail with ErrTooManyRedirects. Zero means none are
	// followed: the 3xx answer is returned as it is.
	MaxRedirects int
	// MaxBody bounds each response body: reading past it fails with
	// ErrTooLarge. No limit if zero.
	MaxBody int64
}

// Client returns a client with u's limits. It is cheap: clients share the
// Factory's transport.
func (f *Factory) Client(u Use) *http.Client {
	var rt http.RoundTripper = inTime{f.transport}
	if u.MaxBody > 0 {
		rt = limitTransport{next: rt, max: u.MaxBody}
	}
	return &http.Client{Transport: rt, Timeout: u.Timeout, CheckRedirect: f.redirectPolicy(u.MaxRedirects)}
}

func (f *Factory) redirectPolicy(max int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if max <= 0 {
			return http.ErrUseLastResponse
		}
		if len(via) > max {
			return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, max)
		}
		if !f.opts.AllowPrivate && via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return ErrInsecureRedirect
		}
		return nil
	}
}

// inTime refuses a response that arrives after its request's context
// ended. net/http's transport can return one: cancelling closes the
// connection, and over TLS the close_notify alert goes out first, so a
// server that answers as its peer leaves (a handler returning once the
// request's context ends) may have its answer read, and used, before the
// socket closes. An answer after the deadline is a timeout all the same.
type inTime struct{ next http.RoundTripper }

func (t inTime) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	if err == nil && req.Context().Err() != nil {
		res.Body.Close()
		return nil, fmt.Errorf("egress: %s answered too late: %w", req.URL.Host, context.Cause(req.Context()))
	}
	return res, err
}

// CloseIdle closes the idle connections of all the Factory's clients.
func (f *Factory) CloseIdle() { f.transport.CloseIdleConnections() }
