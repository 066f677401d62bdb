package main

import (
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTLSFilesReloadOnHUP serves a certificate from files and, after a
// SIGHUP, the new one written over them.
func TestTLSFilesReloadOnHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, first := selfSigned(t, dir, "", "pds.example.com", "*.pds.example.com")
	listen, httpsAddr, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	env := map[string]string{
		"HEARTH_DATA": t.TempDir(), "HEARTH_LISTEN": listen, "HEARTH_HOSTNAME": "pds.example.com",
		"HEARTH_RELAYS": "http://127.0.0.1:9", "HEARTH_ADMIN_PASSWORD": "admin-pw", "HEARTH_PLC_URL": "http://127.0.0.1:9",
		"HEARTH_TLS": "files", "HEARTH_TLS_CERT": certFile, "HEARTH_TLS_KEY": keyFile,
		"HEARTH_HTTPS_LISTEN": httpsAddr, "HEARTH_HTTP_LISTEN": httpAddr,
	}
	startHearth(t, env, nil)
	pool := func(c *x509.Certificate) *x509.CertPool { p := x509.NewCertPool(); p.AddCert(c); return p }
	if _, err := handshake(httpsAddr, "alice.pds.example.com", pool(first)); err != nil {
		t.Fatalf("first certificate: %v", err)
	}
	// Renewed on disk: the old one is served until the signal.
	_, _, second := selfSigned(t, dir, "", "pds.example.com", "*.pds.example.com")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		_, err := handshake(httpsAddr, "pds.example.com", pool(second))
		if err == nil {
			break
		}
		if i > 100 {
			t.Fatalf("the renewed certificate is not served after SIGHUP: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Plain HTTP goes to HTTPS.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get("http://" + httpAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(res.Header.Get("Location"), "https://") {
		t.Errorf("port 80: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestClientAddressBehindProxy: the request log shows the address a
// trusted proxy reports, and ignores the same header from a peer that is
// not a trusted proxy.
func TestClientAddressBehindProxy(t *testing.T) {
	for _, tt := range []struct {
		name, trusted, want, notWant string
	}{
		{"trusted proxy on loopback", "", "ip=198.51.100.7", "ip=127.0.0.1"},
		{"spoofed header from an untrusted peer", "192.0.2.1/32", "ip=127.0.0.1", "ip=198.51.100.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			listen := freeAddr(t)
			env := map[string]string{
				"HEARTH_DATA": t.TempDir(), "HEARTH_LISTEN": listen, "HEARTH_RELAYS": "http://127.0.0.1:9",
				"HEARTH_ADMIN_PASSWORD": "admin-pw", "HEARTH_PLC_URL": "http://127.0.0.1:9",
			}
			if tt.trusted != "" {
				env["HEARTH_TRUSTED_PROXIES"] = tt.trusted
			}
			logs, stop := startHearth(t, env, nil)
			req, _ := http.NewRequest("GET", "http://"+listen+"/xrpc/com.atproto.server.describeServer", nil)
			req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
			req.Header.Set("X-Forwarded-Proto", "https")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			stop()
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "describeServer") {
					line = l
				}
			}
			if !strings.Contains(line, tt.want) || strings.Contains(line, tt.notWant) || strings.Contains(line, "6.6.6.6") {
				t.Errorf("request log: %q, want %s", line, tt.want)
			}
		})
	}
}

func TestLoadConfigTLS(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantErr bool
	}{
		{env: map[string]string{}},
		{env: map[string]string{"HEARTH_TLS": "auto", "HEARTH_ACME_EMAIL": "me@example.com"}},
		{env: map[string]string{"HEARTH_TLS": "AUTO"}},
		{env: map[string]string{"HEARTH_TLS": "files", "HEARTH_TLS_CERT": "c.pem", "HEARTH_TLS_KEY": "k.pem"}},
		{env: map[string]string{"HEARTH_TLS": "files", "HEARTH_TLS_CERT": "c.pem"}, wantErr: true},
		{env: map[string]string{"HEARTH_TLS": "yes"}, wantErr: true},
		{env: map[string]string{"HEARTH_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.2"}},
		{env: map[string]string{"HEARTH_TRUSTED_PROXIES": "my-proxy"}, wantErr: true},
	}
	for _, tt := range tests {
		c, err := loadConfig(nil, func(k string) string { return tt.env[k] })
		if (err != nil) != tt.wantErr {
			t.Errorf("%v: err %v, want error %v", tt.env, err, tt.wantErr)
			continue
		}
		if err == nil && tt.env["HEARTH_TLS"] == "" && (c.TLS != tlsOff || c.HTTPSListen != ":443" || c.HTTPListen != ":80") {
			t.Errorf("defaults: %q %q %q", c.TLS, c.HTTPSListen, c.HTTPListen)
		}
	}
}
