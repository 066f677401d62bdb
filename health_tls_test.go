package main

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbeTLS(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/xrpc/_health" {
			asked.Add(1)
		}
	}))
	defer srv.Close()
	ctx, now := context.Background(), time.Now()
	ck := probeTLS(ctx, srv.Client(), srv.URL, now)
	if ck.Invalid != "" || ck.Unreached != "" || !ck.NotAfter.Equal(srv.Certificate().NotAfter) || !ck.At.Equal(now) {
		t.Fatalf("a valid certificate: %+v", ck)
	}
	if ck := probeTLS(ctx, &http.Client{}, srv.URL, now); ck.Invalid == "" || !ck.NotAfter.IsZero() {
		t.Fatalf("a certificate the client does not trust: %+v", ck)
	}
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closed.Close()
	if ck := probeTLS(ctx, closed.Client(), closed.URL, now); ck.Unreached == "" || ck.Invalid != "" {
		t.Fatalf("an address not reached: %+v", ck)
	}
	// The page opens often: one look serves ten minutes.
	var p tlsProbe
	asked.Store(0)
	p.check(ctx, srv.URL, srv.Client(), now)
	p.check(ctx, srv.URL, srv.Client(), now.Add(time.Minute))
	if asked.Load() != 1 {
		t.Fatalf("asked %d times within ten minutes", asked.Load())
	}
	p.check(ctx, srv.URL, srv.Client(), now.Add(11*time.Minute))
	if asked.Load() != 2 {
		t.Fatalf("asked %d times after ten minutes", asked.Load())
	}
}

// Hearth checks its own HTTPS listener, on this machine, for the hostname;
// behind a proxy it checks nothing.
func TestPublicTLSAsksTheOwnListener(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler()) // its certificate names example.com
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	ctx, now := context.Background(), time.Now()
	cfg := config{TLS: tlsFiles, Hostname: "example.com", HTTPSListen: srv.Listener.Addr().String(), acmeRoots: roots}
	if ck := (&appliance{}).publicTLS(ctx, cfg, now); !ck.NotAfter.Equal(srv.Certificate().NotAfter) || ck.Invalid != "" {
		t.Fatalf("own certificate: %+v", ck)
	}
	cfg.Hostname = "pds.example.org"
	if ck := (&appliance{}).publicTLS(ctx, cfg, now); ck.Invalid == "" {
		t.Fatalf("a certificate for another name: %+v", ck)
	}
	cfg.TLS = tlsOff
	if ck := (&appliance{}).publicTLS(ctx, cfg, now); !ck.At.IsZero() {
		t.Fatalf("behind a proxy: %+v", ck)
	}
}
