package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/web"
)

// metaTLS is the wizard's HTTPS choice (meta bucket), JSON of storedTLS.
// HEARTH_TLS, given by flag or environment, overrides it.
const metaTLS = "setting.tls"

type storedTLS struct{ Mode, Cert, Key string }

// withStoredTLS applies the wizard's HTTPS choice unless a flag or the
// environment set the mode.
func (c config) withStoredTLS(raw []byte) config {
	var st storedTLS
	if c.explicit["tls"] || len(raw) == 0 || json.Unmarshal(raw, &st) != nil {
		return c
	}
	c.TLS, c.TLSCert, c.TLSKey = st.Mode, st.Cert, st.Key
	return c
}

// TLS is the HTTPS choice of the stored settings.
func (a *appliance) TLS() web.TLSChoice {
	cfg := a.effective(a.base)
	return web.TLSChoice{Mode: cfg.TLS, Cert: cfg.TLSCert, Key: cfg.TLSKey, Fixed: a.base.explicit["tls"], Failed: a.tlsFailure()}
}

// ApplyTLS checks and stores the HTTPS page's choice for the hostname in
// force, then restarts the listeners with it.
func (a *appliance) ApplyTLS(ctx context.Context, c web.TLSChoice) error {
	if a.Trial() {
		return errors.New("A trial on this computer needs no HTTPS: put Hearth on the Internet first.")
	}
	host, _ := a.Hostname()
	if err := a.SaveTLS(ctx, host, c); err != nil {
		return err
	}
	a.restartSoon()
	return nil
}

// startChosenFront is startFront, except that a stored choice that stopped
// working (a certificate file gone, a port taken) leaves Hearth without a
// front rather than down: the pages stay up on the plain listener to mend
// it, and TLS reports why. A mode set by flag or environment fails hard.
func (a *appliance) startChosenFront(cfg config, h http.Handler, limits serverLimits, errc chan<- error) (*front, error) {
	f, err := startFront(cfg, a.db, h, limits, a.log, errc)
	failed := ""
	if err != nil && !cfg.explicit["tls"] {
		a.log.Warn("the HTTPS choice made in the setup wizard or on the HTTPS page does not work; serving without HTTPS", "err", err)
		failed, f, err = err.Error(), noFront(), nil
	}
	a.mu.Lock()
	a.tlsFailed = failed
	a.mu.Unlock()
	return f, err
}

// tlsFailure is why the stored HTTPS choice did not start at the last
// (re)start, or "".
func (a *appliance) tlsFailure() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tlsFailed
}

// SaveTLS checks the wizard's HTTPS choice for host and stores it, for the
// restart that saving the hostname begins.
func (a *appliance) SaveTLS(ctx context.Context, host string, c web.TLSChoice) error {
	if a.base.explicit["tls"] {
		return fmt.Errorf("HTTPS is set when Hearth starts (HEARTH_TLS=%s): change it there, not here", a.base.TLS)
	}
	if err := a.checkTLSChoice(host, c, time.Now()); err != nil {
		return err
	}
	raw, err := json.Marshal(storedTLS{Mode: c.Mode, Cert: c.Cert, Key: c.Key})
	if err != nil {
		return err
	}
	return a.db.Update(ctx, func(tx *store.Tx) error { return tx.SetMeta(metaTLS, raw) })
}

// checkTLSChoice says, in a sentence with a next step, why a choice cannot
// work: automatic certificates need a public name and ports 80 and 443;
// files must be readable, belong together, name host and be in date.
func (a *appliance) checkTLSChoice(host string, c web.TLSChoice, now time.Time) error {
	switch c.Mode {
	case tlsOff:
		return nil
	case tlsAuto:
		if host == "" || isLocalHost(host) || checkHostname(host) != nil {
			return fmt.Errorf("Automatic certificates need a public name, like pds.example.com, that Let's Encrypt can reach: type it above, or choose a web server you already run.")
		}
	case tlsFiles:
		if err := checkCertFiles(host, c.Cert, c.Key, now); err != nil {
			return err
		}
	default:
		return errors.New("Choose one of the three ways to serve HTTPS, then try again.")
	}
	return a.checkPorts()
}

// checkPorts makes sure Hearth can listen where HTTPS and plain HTTP are
// served, unless it does so already (its own listeners hold the ports).
func (a *appliance) checkPorts() error {
	if _, running := a.server(); (running.TLS == tlsAuto || running.TLS == tlsFiles) && a.tlsFailure() == "" {
		return nil
	}
	for _, addr := range []string{a.base.HTTPSListen, a.base.HTTPListen} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			_, port, _ := net.SplitHostPort(addr)
			why := "another program uses it"
			if errors.Is(err, syscall.EACCES) || errors.Is(err, fs.ErrPermission) {
				why = "only privileged programs may use it"
			}
			return fmt.Errorf("Hearth cannot listen on port %s (%s): allow it (with systemd, AmbientCapabilities=CAP_NET_BIND_SERVICE; or setcap cap_net_bind_service=+ep on the binary), stop the other program, or choose a web server you already run.", port, why)
		}
		ln.Close()
	}
	return nil
}

// checkCertFiles loads a certificate and its key and checks the leaf for
// host and the time.
func checkCertFiles(host, certFile, keyFile string, now time.Time) error {
	if certFile == "" || keyFile == "" {
		return errors.New("Type where the certificate and its key are on this machine, like /etc/hearth/fullchain.pem and /etc/hearth/privkey.pem.")
	}
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("There is no file at %s or %s: check the paths (they are on the machine Hearth runs on), then try again.", certFile, keyFile)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("Hearth may not read %s or %s: let the user Hearth runs as read them (chmod or chgrp), then try again.", certFile, keyFile)
	case err != nil:
		return fmt.Errorf("%s and %s are not a PEM certificate and its matching private key: check that you picked the pair, then try again.", certFile, keyFile)
	}
	leaf, err := x509.ParseCertificate(kp.Certificate[0])
	if err != nil {
		return fmt.Errorf("The certificate in %s cannot be read: get a fresh one, then try again.", certFile)
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return fmt.Errorf("The certificate in %s is for %v, not %s: get one that names %s (and *.%s, for handles), or type the name it is for.", certFile, leaf.DNSNames, host, host, host)
	}
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("The certificate in %s expired on %s: renew it, then try again.", certFile, leaf.NotAfter.UTC().Format("2 Jan 2006"))
	}
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("The certificate in %s is valid only from %s: check this machine's clock, or wait until then.", certFile, leaf.NotBefore.UTC().Format("2 Jan 2006 15:04 UTC"))
	}
	return nil
}
