package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/web"
)

// tlsProbeEvery is how long one look at the public certificate is kept:
// the status page opens often, the certificate changes rarely.
const tlsProbeEvery = 10 * time.Minute

// tlsProbe remembers the last look at the certificate the public name
// serves.
type tlsProbe struct {
	mu   sync.Mutex
	url  string
	last web.TLSCheck
}

// check returns the certificate check of url, looking again when the last
// look is old or was of another address.
func (p *tlsProbe) check(ctx context.Context, url string, client *http.Client, now time.Time) web.TLSCheck {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.url == url && !p.last.At.IsZero() && now.Sub(p.last.At) < tlsProbeEvery {
		return p.last
	}
	p.url, p.last = url, probeTLS(ctx, client, url, now)
	return p.last
}

// probeTLS asks url for its health over HTTPS and reads the certificate it
// is answered with; an address not reached is not judged.
func probeTLS(ctx context.Context, client *http.Client, url string, now time.Time) web.TLSCheck {
	ck := web.TLSCheck{At: now}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url+"/xrpc/_health", nil)
	if err != nil {
		ck.Unreached = err.Error()
		return ck
	}
	res, err := client.Do(req)
	var invalid *x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &invalid), errors.As(err, &unknown), errors.As(err, &host):
		ck.Invalid = err.Error()
		return ck
	case err != nil:
		ck.Unreached = err.Error()
		return ck
	}
	res.Body.Close()
	if res.TLS == nil || len(res.TLS.PeerCertificates) == 0 {
		ck.Unreached = "the answer came without TLS"
		return ck
	}
	ck.NotAfter = res.TLS.PeerCertificates[0].NotAfter
	return ck
}

// publicTLS is the check of the public certificate for the status page,
// when Hearth serves HTTPS itself: it asks its own HTTPS listener, on this
// machine, for the hostname, as a visitor's app would, verifying against
// the system's roots. Nothing leaves the machine; behind a proxy (TLS off)
// or in a trial there is no check.
func (a *appliance) publicTLS(ctx context.Context, cfg config, now time.Time) web.TLSCheck {
	if cfg.Trial || (cfg.TLS != tlsAuto && cfg.TLS != tlsFiles) {
		return web.TLSCheck{}
	}
	// Not an egress client: the guard refuses loopback, and this is no
	// request out. Whatever the URL or a redirect names, every connection
	// goes to the address Hearth's own HTTPS listener is bound to (loopback
	// for a wildcard one), with no proxy, so the check never leaves the
	// machine.
	local := loopbackAddr(cfg.HTTPSListen)
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{ServerName: cfg.Hostname, RootCAs: cfg.acmeRoots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, local)
		},
	}}
	defer client.CloseIdleConnections()
	return a.tls.check(ctx, "https://"+cfg.Hostname, client, now)
}
