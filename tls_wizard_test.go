package main

import (
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/web"
)

func TestCheckTLSChoice(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cert, key, _ := selfSigned(t, dir, "ok-", "pds.example.com", "*.pds.example.com")
	otherCert, otherKey, _ := selfSigned(t, dir, "other-", "elsewhere.example.org")
	oldCert, oldKey, _ := certFor(t, dir, "old-", now.Add(-48*time.Hour), now.Add(-24*time.Hour), "pds.example.com")
	taken := listenOn(t)
	a := &appliance{base: config{HTTPSListen: freeAddr(t), HTTPListen: freeAddr(t)}}
	busy := &appliance{base: config{HTTPSListen: taken, HTTPListen: freeAddr(t)}}
	tests := []struct {
		a    *appliance
		host string
		c    web.TLSChoice
		want string // "" for accepted
	}{
		{a, "pds.example.com", web.TLSChoice{Mode: "off"}, ""},
		{a, "pds.example.com", web.TLSChoice{Mode: "auto"}, ""},
		{a, "pds.local", web.TLSChoice{Mode: "auto"}, "need a public name"},
		{a, "", web.TLSChoice{Mode: "auto"}, "need a public name"},
		{busy, "pds.example.com", web.TLSChoice{Mode: "auto"}, "cannot listen on port"},
		{a, "pds.example.com", web.TLSChoice{Mode: "files", Cert: cert, Key: key}, ""},
		{a, "alice.pds.example.com", web.TLSChoice{Mode: "files", Cert: cert, Key: key}, ""},
		{busy, "pds.example.com", web.TLSChoice{Mode: "files", Cert: cert, Key: key}, "cannot listen on port"},
		{a, "pds.example.com", web.TLSChoice{Mode: "files"}, "Type where the certificate"},
		{a, "pds.example.com", web.TLSChoice{Mode: "files", Cert: filepath.Join(dir, "nope.pem"), Key: key}, "There is no file"},
		{a, "pds.example.com", web.TLSChoice{Mode: "files", Cert: cert, Key: otherKey}, "matching private key"},
		{a, "pds.example.com", web.TLSChoice{Mode: "files", Cert: otherCert, Key: otherKey}, "is for [elsewhere.example.org], not pds.example.com"},
		{a, "pds.example.com", web.TLSChoice{Mode: "files", Cert: oldCert, Key: oldKey}, "expired on"},
		{a, "pds.example.com", web.TLSChoice{Mode: "fancy"}, "Choose one of the three"},
	}
	for _, tt := range tests {
		err := tt.a.checkTLSChoice(tt.host, tt.c, now)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %+v: refused: %v", tt.host, tt.c, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %+v: %v, want %q", tt.host, tt.c, err, tt.want)
		case err != nil && !strings.HasSuffix(err.Error(), "."):
			t.Errorf("%q is not a sentence", err)
		}
	}
}

// listenOn holds a loopback port for the test's length.
func listenOn(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// The address step sets the TLS mode: a certificate that does not name the
// host is refused in words and nothing is saved; the right pair is saved
// in the data file, and the restart serves HTTPS with it at once.
func TestWizardSetsTLSFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key, leaf := selfSigned(t, dir, "", "pds.example.com", "*.pds.example.com")
	otherCert, otherKey, _ := selfSigned(t, dir, "other-", "elsewhere.example.org")
	data, listen, httpsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	env := map[string]string{
		"HEARTH_DATA": data, "HEARTH_LISTEN": listen, "HEARTH_PLC_URL": fakePLC(t), "HEARTH_RELAYS": "http://127.0.0.1:9",
		"HEARTH_ADMIN_PASSWORD": "admin-pw", "HEARTH_HTTPS_LISTEN": httpsAddr, "HEARTH_HTTP_LISTEN": freeAddr(t),
	}
	logs, stop := startHearth(t, env, nil)
	base := "http://" + listen
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	post := func(path string, form url.Values) string {
		t.Helper()
		res, err := c.Get(base + "/setup")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		form.Set("csrf", csrf.FindStringSubmatch(string(page))[1])
		res, err = c.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return string(b)
	}
	code := regexp.MustCompile(`setup_code=(\S+)`).FindStringSubmatch(logs.String())
	if page := post("/setup/unlock", url.Values{"code": {code[1]}}); !strings.Contains(page, `name="tls" value="off" form="address-form" checked`) {
		t.Fatalf("the address step does not offer the choice, proxy first: %s", page)
	}
	page := post("/setup/address", url.Values{"hostname": {"pds.example.com"}, "action": {"save"},
		"tls": {"files"}, "tls_cert": {otherCert}, "tls_key": {otherKey}})
	if !strings.Contains(page, "is for [elsewhere.example.org], not pds.example.com") || !strings.Contains(page, `value="`+otherCert+`"`) ||
		!strings.Contains(page, `value="files" form="address-form" checked`) {
		t.Fatalf("a certificate for another name: %s", page)
	}
	if _, err := handshake(httpsAddr, "pds.example.com", nil); err == nil {
		t.Fatal("HTTPS is served after a refusal")
	}
	page = post("/setup/address", url.Values{"hostname": {"pds.example.com"}, "action": {"save"},
		"tls": {"files"}, "tls_cert": {cert}, "tls_key": {key}})
	if !strings.Contains(page, "restarting") {
		t.Fatalf("the right pair: %s", page)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs, err := handshake(httpsAddr, "pds.example.com", roots)
		if err == nil {
			if !cs.PeerCertificates[0].Equal(leaf) {
				t.Fatal("HTTPS serves another certificate")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS after the address step: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if got := storedTLSChoice(t, data); !strings.Contains(got, `"Mode":"files"`) || !strings.Contains(got, cert) {
		t.Errorf("stored HTTPS choice %q", got)
	}
}

// A certificate chosen in the wizard that later goes missing does not stop
// the daemon: it serves without HTTPS, so the pages stay up to mend it.
func TestWizardTLSChoiceThatStopsWorking(t *testing.T) {
	data := t.TempDir()
	gone := filepath.Join(t.TempDir(), "gone.pem")
	storeTLSChoice(t, data, `{"Mode":"files","Cert":"`+gone+`","Key":"`+gone+`"}`)
	env := map[string]string{
		"HEARTH_DATA": data, "HEARTH_LISTEN": freeAddr(t), "HEARTH_PLC_URL": fakePLC(t), "HEARTH_RELAYS": "http://127.0.0.1:9",
		"HEARTH_ADMIN_PASSWORD": "admin-pw", "HEARTH_HTTPS_LISTEN": freeAddr(t), "HEARTH_HTTP_LISTEN": freeAddr(t),
	}
	logs, _ := startHearth(t, env, nil)
	if !strings.Contains(logs.String(), "serving without HTTPS") {
		t.Fatalf("no warning in the log:\n%s", logs.String())
	}
}

// storedTLSChoice reads the HTTPS choice kept in the data file of a stopped
// daemon.
func storedTLSChoice(t *testing.T, data string) string {
	t.Helper()
	db, err := store.Open(dbPath(data), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	db.View(func(tx *store.Tx) error { got = string(tx.Meta(metaTLS)); return nil })
	return got
}

// storeTLSChoice keeps an HTTPS choice in the data file before the daemon
// starts, as the wizard would have.
func storeTLSChoice(t *testing.T, data, choice string) {
	t.Helper()
	db, err := store.Open(dbPath(data), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(context.Background(), func(tx *store.Tx) error { return tx.SetMeta(metaTLS, []byte(choice)) }); err != nil {
		t.Fatal(err)
	}
}
