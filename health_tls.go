package main

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/identity/egress"
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

// probeTLS asks the public address for its health over HTTPS and reads the
// certificate it is answered with. Only the owner's own hostname is ever
// asked, through the guarded road out; an address Hearth cannot reach from
// inside (a router without hairpin NAT) is not judged.
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

// publicTLS is the check of the public certificate for the status page:
// none in a trial or for an http:// address.
func (a *appliance) publicTLS(ctx context.Context, cfg config, now time.Time) web.TLSCheck {
	if cfg.Trial || len(cfg.PublicURL) < 8 || cfg.PublicURL[:8] != "https://" {
		return web.TLSCheck{}
	}
	client := egress.New(egress.Options{Log: a.log}).Client(egress.Use{Timeout: 3 * time.Second, MaxRedirects: 0, MaxBody: 1 << 10})
	return a.tls.check(ctx, cfg.PublicURL, client, now)
}
