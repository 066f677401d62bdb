package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/store"
)

// The ways HTTPS reaches the public (HEARTH_TLS).
const (
	// tlsOff: a reverse proxy in front terminates TLS; Hearth answers
	// /tls-check for its on-demand certificates.
	tlsOff = "off"
	// tlsAuto: Hearth gets its own certificates from an ACME CA.
	tlsAuto = "auto"
	// tlsFiles: Hearth serves a certificate and key from files.
	tlsFiles = "files"
)

// checkTLS validates the TLS settings loadConfig read.
func (c *config) checkTLS() error {
	c.TLS = strings.ToLower(strings.TrimSpace(c.TLS))
	switch c.TLS {
	case tlsOff, tlsAuto:
	case tlsFiles:
		if c.TLSCert == "" || c.TLSKey == "" {
			return errors.New("HEARTH_TLS=files needs a certificate and a key: set HEARTH_TLS_CERT and HEARTH_TLS_KEY")
		}
	default:
		return fmt.Errorf("TLS %q: want auto (certificates from Let's Encrypt), files (your own) or off (a proxy in front)", c.TLS)
	}
	return nil
}

// servesName reports whether Hearth answers for the domain name: its
// hostname, or an existing account's handle under one of the handle
// domains. It is the host policy of automatic certificates and the answer
// of /tls-check, so neither a stranger's name nor a handle not taken here
// can make Hearth (or its proxy) ask a CA for a certificate.
func servesName(db *store.DB, cfg config, name string) bool {
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return false
	}
	if name == strings.ToLower(cfg.Hostname) {
		return true
	}
	under := false
	for _, d := range splitList(cfg.HandleDomains) {
		d = strings.ToLower(d)
		if !strings.HasPrefix(d, ".") {
			d = "." + d
		}
		if strings.HasSuffix(name, d) && len(name) > len(d) {
			under = true
		}
	}
	if !under {
		return false
	}
	found := false
	db.View(func(tx *store.Tx) error {
		_, err := tx.AccountByHandle(name)
		found = err == nil
		return nil
	})
	return found
}

// tlsCheck is GET /tls-check?domain=, asked by a proxy's on-demand TLS
// (Caddy's on_demand_tls ask) before it gets a certificate: 200 for a
// name Hearth serves, 404 for any other.
func tlsCheck(db *store.DB, cfg config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if servesName(db, cfg, r.URL.Query().Get("domain")) {
			w.Write([]byte("ok\n"))
			return
		}
		http.Error(w, "not a name this server answers for", http.StatusNotFound)
	})
}

// front is the HTTPS face of HEARTH_TLS=auto and files: the HTTPS listener
// serving the same handler as the plain one, and the HTTP listener that
// answers ACME challenges (auto) and sends everything else to https.
type front struct {
	servers []*http.Server
	stop    func()
}

// noFront is the front of HEARTH_TLS=off: no listener of its own.
func noFront() *front { return &front{stop: func() {}} }

// startFront starts the HTTPS and HTTP listeners of cfg.TLS, or nothing
// when it is off. Serving errors go to errc.
func startFront(cfg config, db *store.DB, h http.Handler, limits serverLimits, log *slog.Logger, errc chan<- error) (*front, error) {
	f := noFront()
	var tc *tls.Config
	redirect := redirectHTTPS(cfg.HTTPSListen)
	plain := redirect
	switch cfg.TLS {
	case tlsOff:
		return f, nil
	case tlsAuto:
		m := acmeManager(cfg, db, log)
		tc = m.TLSConfig()
		plain = m.HTTPHandler(redirect)
	case tlsFiles:
		kp, err := newKeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, err
		}
		f.stop = sync.OnceFunc(kp.reloadOnHUP(log))
		tc = &tls.Config{GetCertificate: kp.get, MinVersion: tls.VersionTLS12}
	}
	lns := make([]net.Listener, 0, 2)
	for _, addr := range []string{cfg.HTTPSListen, cfg.HTTPListen} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			f.stop()
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		lns = append(lns, limitListener(ln, limits, log))
	}
	https := newHTTPServer(h, limits)
	https.TLSConfig = tc
	https.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug) // handshake noise from scanners
	http80 := newHTTPServer(plain, limits)
	f.servers = []*http.Server{https, http80}
	go func() { errc <- ignoreClosed(https.ServeTLS(lns[0], "", "")) }()
	go func() { errc <- ignoreClosed(http80.Serve(lns[1])) }()
	log.Info("hearth serving https", "tls", cfg.TLS, "https", lns[0].Addr().String(), "http", lns[1].Addr().String())
	return f, nil
}

// Shutdown stops the listeners, letting requests in flight finish.
func (f *front) Shutdown(ctx context.Context) error {
	defer f.stop()
	var errs []error
	for _, s := range f.servers {
		errs = append(errs, s.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// ignoreClosed makes the end of a listener at Shutdown no error, so that
// it does not stop serve; any other failure does.
func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// acmeManager gets and renews certificates for the names servesName
// allows, keeping them in the data file. Its requests to the CA go through
// the guarded road out; a CA on a private address is reached only when
// HEARTH_ACME_DIRECTORY names it by address (a test CA) or in dev mode.
func acmeManager(cfg config, db *store.DB, log *slog.Logger) *autocert.Manager {
	opts := egress.Options{AllowPrivate: cfg.Dev, Log: log, Allow: configuredAddr(cfg.ACMEDirectory)}
	if cfg.acmeRoots != nil {
		opts.TLSConfig = &tls.Config{RootCAs: cfg.acmeRoots}
	}
	client := egress.New(opts).Client(egress.Use{Timeout: time.Minute, MaxRedirects: 3, MaxBody: 1 << 20})
	return &autocert.Manager{
		Prompt: autocert.AcceptTOS,
		Cache:  db.CertCache(),
		Email:  cfg.ACMEEmail,
		HostPolicy: func(ctx context.Context, host string) error {
			if servesName(db, cfg, host) {
				return nil
			}
			return fmt.Errorf("hearth: no certificate for %q: not the hostname nor a handle here", host)
		},
		Client: &acme.Client{DirectoryURL: cfg.ACMEDirectory, HTTPClient: client, UserAgent: "hearth/" + version},
	}
}

// redirectHTTPS sends a plain-HTTP GET or HEAD to the same address over
// HTTPS, on the HTTPS listener's port when it is not 443; anything else
// is refused, since a body sent in the clear is already exposed.
func redirectHTTPS(httpsListen string) http.Handler {
	_, port, _ := net.SplitHostPort(httpsListen)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "Use HTTPS", http.StatusBadRequest)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if port != "" && port != "443" {
			host = net.JoinHostPort(host, port)
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}

// keyPair is the certificate of HEARTH_TLS=files, swapped whole on reload.
type keyPair struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func newKeyPair(certFile, keyFile string) (*keyPair, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	if err := kp.load(); err != nil {
		return nil, err
	}
	return kp, nil
}

func (kp *keyPair) load() error {
	c, err := tls.LoadX509KeyPair(kp.certFile, kp.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", kp.certFile, kp.keyFile, err)
	}
	if c.Leaf == nil && len(c.Certificate) > 0 {
		c.Leaf, _ = x509.ParseCertificate(c.Certificate[0])
	}
	kp.cur.Store(&c)
	return nil
}

func (kp *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.cur.Load(), nil }

// reloadOnHUP reads the files again at each SIGHUP (after a renewal by
// certbot, say), keeping the old pair when the new one does not load. The
// returned function stops listening for the signal.
func (kp *keyPair) reloadOnHUP(log *slog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				if err := kp.load(); err != nil {
					log.Warn("reloading the TLS certificate failed; keeping the old one", "err", err)
				} else {
					log.Info("reloaded the TLS certificate", "cert", kp.certFile)
				}
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}
