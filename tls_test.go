package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/hearth-pds/hearth/store"
)

// pebbleVersion is the ACME test server the TLS test runs against. It is
// built with `go install` into the user's cache, outside this module, so
// the daemon's go.mod never names it.
const pebbleVersion = "v2.10.3"

// pebbleBinary builds Pebble once per machine (cached) and returns its path.
// Without a toolchain or the module proxy it skips, except in CI.
func pebbleBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "hearth-test", "pebble-"+pebbleVersion)
	bin := filepath.Join(dir, "pebble")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/letsencrypt/pebble/v2/cmd/pebble@"+pebbleVersion)
	cmd.Dir = t.TempDir() // outside this module: go.mod is not touched
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("building pebble: %v\n%s", err, out)
		}
		t.Skipf("cannot build pebble (%v): %s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// selfSigned writes a certificate and key for names (and 127.0.0.1) under
// dir and returns their paths and the certificate.
func selfSigned(t *testing.T, dir, prefix string, names ...string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	return certFor(t, dir, prefix, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), names...)
}

// certFor is selfSigned valid from notBefore to notAfter.
func certFor(t *testing.T, dir, prefix string, notBefore, notAfter time.Time, names ...string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, prefix+"cert.pem"), filepath.Join(dir, prefix+"key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

// startPebble runs Pebble on loopback and returns its directory URL, a pool
// trusting its own HTTPS certificate, and the root it issues under. Pebble
// validates for real: it looks names up at the DNS server dnsAddr and
// fetches HTTP-01 challenges from port httpPort of the address it finds.
// Its TLS-ALPN-01 port is a closed one, so that challenge, which autocert
// tries first, fails and the HTTP-01 one is what gets a certificate.
func startPebble(t *testing.T, dnsAddr string, httpPort int) (dir string, apiRoots, issuerRoots *x509.CertPool, out *syncBuffer) {
	bin := pebbleBinary(t)
	tmp := t.TempDir()
	certFile, keyFile, cert := selfSigned(t, tmp, "api-", "localhost")
	apiRoots = x509.NewCertPool()
	apiRoots.AddCert(cert)
	listen, mgmt := freeAddr(t), freeAddr(t)
	var conf struct {
		Pebble map[string]any `json:"pebble"`
	}
	conf.Pebble = map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": certFile, "privateKey": keyFile,
		"httpPort": httpPort, "tlsPort": portOf(t, freeAddr(t)),
		"keyAlgorithm": "ecdsa",
		"retryAfter":   map[string]int{"authz": 1, "order": 1},
		"profiles":     map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 86400}},
	}
	raw, _ := json.Marshal(conf)
	confFile := filepath.Join(tmp, "pebble.json")
	os.WriteFile(confFile, raw, 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-config", confFile, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble:\n%s", out.String())
		}
	})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: apiRoots}}, Timeout: 5 * time.Second}
	dir = "https://" + listen + "/dir"
	for i := 0; ; i++ {
		res, err := c.Get(dir)
		if err == nil {
			res.Body.Close()
			break
		}
		if i > 100 {
			t.Fatalf("pebble never answered: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := c.Get("https://" + mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := io.ReadAll(res.Body)
	res.Body.Close()
	issuerRoots = x509.NewCertPool()
	if !issuerRoots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble root: %q", root)
	}
	return dir, apiRoots, issuerRoots, out
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fakePLC accepts and serves back PLC operations.
func fakePLC(t *testing.T) string {
	var mu sync.Mutex
	ops := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		did := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		if r.Method == "POST" {
			ops[did], _ = io.ReadAll(r.Body)
			return
		}
		w.Write(ops[did])
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// startHearth runs the daemon in-process with env, returning its log and a
// function that stops it.
func startHearth(t *testing.T, env map[string]string, adjust func(*config)) (logs *syncBuffer, stop func()) {
	t.Helper()
	cfg, err := loadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(&cfg)
	}
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil))) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v\n%s", err, logs.String())
			}
		})
	}
	t.Cleanup(stop)
	waitFor(t, "http://"+env["HEARTH_LISTEN"]+"/xrpc/_health")
	return logs, stop
}

func waitFor(t *testing.T, url string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s: not answering", url)
}

// handshake connects to addr over TLS as a browser asking for name would,
// verifying the chain against roots.
func handshake(addr, name string, roots *x509.CertPool) (*tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: name, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	st := conn.ConnectionState()
	return &st, nil
}

// TestTLSAutoAgainstPebble gets certificates from Pebble, the ACME test
// server, on loopback: for the hostname at once, for a handle subdomain
// only once that account exists, never for a stranger's name; keeps them
// in the data file; and sends plain HTTP to HTTPS.
func TestTLSAutoAgainstPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs pebble")
	}
	start := time.Now()
	dns := startLoopbackDNS(t)
	listen, httpsAddr, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	dir, apiRoots, roots, pebbleLog := startPebble(t, dns.addr(), portOf(t, httpAddr))
	t.Logf("pebble ready in %v", time.Since(start).Round(time.Millisecond))
	data := t.TempDir()
	env := map[string]string{
		"HEARTH_DATA": data, "HEARTH_LISTEN": listen, "HEARTH_PLC_URL": fakePLC(t),
		"HEARTH_HOSTNAME": "pds.example.com", "HEARTH_RELAYS": "http://127.0.0.1:9",
		"HEARTH_INVITE_REQUIRED": "false", "HEARTH_ADMIN_PASSWORD": "admin-pw",
		"HEARTH_TLS": "auto", "HEARTH_ACME_DIRECTORY": dir, "HEARTH_ACME_EMAIL": "owner@example.com",
		"HEARTH_HTTPS_LISTEN": httpsAddr, "HEARTH_HTTP_LISTEN": httpAddr,
	}
	logs, stop := startHearth(t, env, func(c *config) { c.acmeRoots = apiRoots })

	t0 := time.Now()
	st, err := handshake(httpsAddr, "pds.example.com", roots)
	if err != nil {
		t.Fatalf("hostname: %v\n%s", err, logs.String())
	}
	t.Logf("first certificate in %v", time.Since(t0).Round(time.Millisecond))
	if leaf := st.PeerCertificates[0]; leaf.VerifyHostname("pds.example.com") != nil {
		t.Fatalf("certificate names %v", leaf.DNSNames)
	}
	// Pebble fetched the challenge from Hearth's port 80 stand-in, having
	// looked the name up.
	validated := func(name string) bool {
		return strings.Contains(pebbleLog.String(), "Attempting to validate w/ HTTP: http://"+net.JoinHostPort(name, strconv.Itoa(portOf(t, httpAddr)))+"/.well-known/acme-challenge/") &&
			slices.Contains(dns.names(), name)
	}
	if !validated("pds.example.com") {
		t.Fatalf("no HTTP-01 validation of pds.example.com; DNS asked for %v\n%s", dns.names(), pebbleLog.String())
	}
	// The names Hearth must not ask a certificate for.
	for _, name := range []string{"alice.pds.example.com", "stranger.example.org", "pds.example.com.evil.example"} {
		if _, err := handshake(httpsAddr, name, roots); err == nil {
			t.Errorf("%s: got a certificate", name)
		}
	}
	// HTTPS serves the same API as the plain listener.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, httpsAddr)
		},
	}}
	body := `{"handle":"alice.pds.example.com","email":"alice@example.com","password":"a long enough password"}`
	res, err := hc.Post("https://pds.example.com/xrpc/com.atproto.server.createAccount", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("createAccount over HTTPS: %d %s", res.StatusCode, b)
	}
	// Now the handle exists: its subdomain gets a certificate.
	if st, err = handshake(httpsAddr, "alice.pds.example.com", roots); err != nil {
		t.Fatalf("handle subdomain after sign-up: %v", err)
	}
	if st.PeerCertificates[0].VerifyHostname("alice.pds.example.com") != nil {
		t.Fatalf("handle certificate names %v", st.PeerCertificates[0].DNSNames)
	}
	if !validated("alice.pds.example.com") {
		t.Fatalf("no HTTP-01 validation of alice.pds.example.com\n%s", pebbleLog.String())
	}
	// A subdomain no account holds still gets none, and no name refused
	// ever reached the CA.
	if _, err := handshake(httpsAddr, "bob.pds.example.com", roots); err == nil {
		t.Error("bob.pds.example.com: got a certificate with no such account")
	}
	for _, name := range []string{"bob.pds.example.com", "stranger.example.org", "evil.example"} {
		if strings.Contains(pebbleLog.String(), name) {
			t.Errorf("the CA was asked about %s", name)
		}
	}
	// /tls-check answers the same question for a proxy.
	for domain, want := range map[string]int{"pds.example.com": 200, "alice.pds.example.com": 200,
		"bob.pds.example.com": 404, "example.org": 404, "": 404} {
		res, err := http.Get("http://" + listen + "/tls-check?domain=" + domain)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("tls-check %q: %d, want %d", domain, res.StatusCode, want)
		}
	}
	// Port 80: redirects to HTTPS, and refuses challenges for strangers.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+httpAddr+"/xrpc/_health?x=1", nil)
	req.Host = "pds.example.com"
	res, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	if loc := res.Header.Get("Location"); res.StatusCode != 301 || loc != "https://pds.example.com:"+httpsPort+"/xrpc/_health?x=1" {
		t.Errorf("port 80 answered %d %q", res.StatusCode, loc)
	}
	req, _ = http.NewRequest("GET", "http://"+httpAddr+"/.well-known/acme-challenge/token", nil)
	req.Host = "stranger.example.org"
	if res, err = noFollow.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("challenge for a stranger: %v %v", res.Status, err)
	}

	// The certificates live in the data file.
	stop()
	db, err := store.Open(dbPath(data), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"pds.example.com", "alice.pds.example.com", "acme_account+key"} {
		if v, err := db.CertCache().Get(context.Background(), key); err != nil || !bytes.Contains(v, []byte("PRIVATE KEY")) {
			t.Errorf("cache %s: %d bytes, %v", key, len(v), err)
		}
	}
	if _, err := db.CertCache().Get(context.Background(), "stranger.example.org"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Errorf("a stranger's name was cached: %v", err)
	}
	db.Close()
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
	_ = fmt.Sprint
}
