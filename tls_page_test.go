package main

import (
	"crypto/x509"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminLogin is a browser logged in at /status as the admin of the
// Hearth at base.
func adminLogin(t *testing.T, base, password string) *pageClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	p := &pageClient{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}, base: base}
	if page := p.post("/login", "/login", url.Values{"identifier": {"admin"}, "password": {password}}); !strings.Contains(page, "<h1>Status</h1>") {
		t.Fatalf("admin login: %s", page)
	}
	return p
}

// The HTTPS page, after setup, refuses each unworkable choice with the
// wizard's sentence and keeps the stored one; the right certificate pair
// is stored and served by the restart, and the page then names it.
func TestHTTPSPageSetsTLSFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key, leaf := selfSigned(t, dir, "", "pds.example.com", "*.pds.example.com")
	otherCert, otherKey, _ := selfSigned(t, dir, "other-", "elsewhere.example.org")
	oldCert, oldKey, _ := certFor(t, dir, "old-", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), "pds.example.com")
	data, listen, httpsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	env := map[string]string{
		"HEARTH_DATA": data, "HEARTH_LISTEN": listen, "HEARTH_PLC_URL": fakePLC(t), "HEARTH_RELAYS": "http://127.0.0.1:9",
		"HEARTH_ADMIN_PASSWORD": "admin-pw", "HEARTH_HOSTNAME": "pds.example.com",
		"HEARTH_HTTPS_LISTEN": httpsAddr, "HEARTH_HTTP_LISTEN": freeAddr(t),
	}
	logs, stop := startHearth(t, env, nil)
	s := adminLogin(t, "http://"+listen, "admin-pw")
	const proxied = "A web server you already run (Caddy, nginx or similar) handles HTTPS"
	refusals := []struct {
		form url.Values
		want string
	}{
		{url.Values{"tls": {"files"}, "tls_cert": {cert}, "tls_key": {filepath.Join(dir, "nope.pem")}}, "There is no file at"},
		{url.Values{"tls": {"files"}, "tls_cert": {cert}, "tls_key": {otherKey}}, "are not a PEM certificate and its matching private key"},
		{url.Values{"tls": {"files"}, "tls_cert": {otherCert}, "tls_key": {otherKey}}, "is for [elsewhere.example.org], not pds.example.com"},
		{url.Values{"tls": {"files"}, "tls_cert": {oldCert}, "tls_key": {oldKey}}, "expired on"},
		{url.Values{"tls": {"files"}}, "Type where the certificate and its key are"},
		{url.Values{"tls": {"fancy"}}, "Choose one of the three ways to serve HTTPS"},
	}
	for _, tt := range refusals {
		page := s.post("/status/https", "/status/https", tt.form)
		if !strings.Contains(page, tt.want) {
			t.Errorf("%v: the page lacks %q", tt.form, tt.want)
		}
		if now := s.get("/status/https"); !strings.Contains(now, proxied) {
			t.Errorf("%v: the stored choice changed: %s", tt.form, now)
		}
	}
	if _, err := handshake(httpsAddr, "pds.example.com", nil); err == nil {
		t.Fatal("HTTPS is served after the refusals")
	}
	page := s.post("/status/https", "/status/https", url.Values{"tls": {"files"}, "tls_cert": {cert}, "tls_key": {key}})
	if !strings.Contains(page, "Hearth restarts its listeners; this page reloads in a few seconds") {
		t.Fatalf("the right pair: %s", page)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	eventually(t, "HTTPS after the HTTPS page", logs, func() bool {
		cs, err := handshake(httpsAddr, "pds.example.com", roots)
		if err == nil && !cs.PeerCertificates[0].Equal(leaf) {
			t.Fatal("HTTPS serves another certificate")
		}
		return err == nil
	})
	if now := s.get("/status/https"); !strings.Contains(now, "Hearth serves the certificate in <code>"+cert+"</code>") {
		t.Fatalf("the page after the restart: %s", now)
	}
	stop()
	if got := storedTLSChoice(t, data); !strings.Contains(got, `"Mode":"files"`) || !strings.Contains(got, cert) {
		t.Errorf("stored HTTPS choice %q", got)
	}
}

// A stored certificate that goes missing leaves Hearth on plain HTTP; the
// HTTPS page names that state, and choosing the proxy mends it.
func TestHTTPSPageNamesAFailedChoice(t *testing.T) {
	data := t.TempDir()
	gone := filepath.Join(t.TempDir(), "gone.pem")
	storeTLSChoice(t, data, `{"Mode":"files","Cert":"`+gone+`","Key":"`+gone+`"}`)
	listen := freeAddr(t)
	env := map[string]string{
		"HEARTH_DATA": data, "HEARTH_LISTEN": listen, "HEARTH_PLC_URL": fakePLC(t), "HEARTH_RELAYS": "http://127.0.0.1:9",
		"HEARTH_ADMIN_PASSWORD": "admin-pw", "HEARTH_HOSTNAME": "pds.example.com",
		"HEARTH_HTTPS_LISTEN": freeAddr(t), "HEARTH_HTTP_LISTEN": freeAddr(t),
	}
	logs, _ := startHearth(t, env, nil)
	s := adminLogin(t, "http://"+listen, "admin-pw")
	const failed = "HTTPS does not work the way it was chosen"
	if page := s.get("/status/https"); !strings.Contains(page, failed) || !strings.Contains(page, gone) {
		t.Fatalf("the page does not name the failure: %s", page)
	}
	if page := s.post("/status/https", "/status/https", url.Values{"tls": {"off"}}); !strings.Contains(page, "this page reloads") {
		t.Fatalf("choosing the proxy: %s", page)
	}
	eventually(t, "the proxy mode after the HTTPS page", logs, func() bool {
		page := s.get("/status/https")
		return !strings.Contains(page, failed) && strings.Contains(page, `value="off" form="https-form" checked`)
	})
	if _, err := os.Stat(gone); err == nil {
		t.Fatal("the test's missing file exists")
	}
}

// eventually polls ok for up to 10 seconds.
func eventually(t *testing.T, what string, logs *syncBuffer, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s:\n%s", what, logs.String())
		}
	}
}
