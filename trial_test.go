package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/web"
)

// Issue 17: --hostname 'bad host' became did:web:bad host.
func TestLoadConfigRefusesABadHostname(t *testing.T) {
	for _, h := range []string{"bad host", "under_score.example", "-x.example", "nodots"} {
		if _, err := loadConfig([]string{"--hostname", h}, func(string) string { return "" }); err == nil {
			t.Errorf("hostname %q accepted", h)
		}
	}
	if _, err := loadConfig([]string{"--hostname", "pds.example.com"}, func(string) string { return "" }); err != nil {
		t.Error(err)
	}
}

// Issue 17: the dev-mode address was http://localhost without its port.
func TestLocalPublicURLHasThePort(t *testing.T) {
	c, err := loadConfig([]string{"--listen", "0.0.0.0:8080"}, func(string) string { return "" })
	if err != nil || c.PublicURL != "http://localhost:8080" {
		t.Fatalf("PublicURL %q, %v", c.PublicURL, err)
	}
}

// Issue 17: the setup link was http://0.0.0.0:2583, which no phone can open.
func TestSetupLinksNameTheLANAddresses(t *testing.T) {
	addrs := []net.Addr{
		&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
		&net.IPNet{IP: net.ParseIP("192.168.1.20"), Mask: net.CIDRMask(24, 32)},
		&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},
	}
	got := strings.Join(setupLinks("0.0.0.0:2583", "https://pds.example.com", false, addrs), " ")
	want := "http://localhost:2583/setup http://192.168.1.20:2583/setup https://pds.example.com/setup"
	if got != want {
		t.Fatalf("links %q, want %q", got, want)
	}
	if got := setupLinks("127.0.0.1:2583", "http://localhost:2583", true, addrs); len(got) != 1 || got[0] != "http://localhost:2583/setup" {
		t.Fatalf("loopback links %q", got)
	}
}

// runDaemon runs the daemon in-process with env as its only settings.
func runDaemon(t *testing.T, env map[string]string) (base string, logs *syncBuffer, stop func()) {
	t.Helper()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	env["HEARTH_LISTEN"] = addr
	cfg, err := loadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil))) }()
	return "http://" + addr, logs, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

type pageClient struct {
	t    *testing.T
	c    *http.Client
	base string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p *pageClient) get(path string) string {
	p.t.Helper()
	for i := 0; i < 200; i++ { // the server may be (re)starting
		res, err := p.c.Get(p.base + path)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return string(b)
		}
		time.Sleep(30 * time.Millisecond)
	}
	p.t.Fatalf("GET %s: server not answering", path)
	return ""
}

func (p *pageClient) post(from, path string, form url.Values) string {
	p.t.Helper()
	if m := csrfField.FindStringSubmatch(p.get(from)); m != nil {
		form.Set("csrf", m[1])
	}
	res, err := p.c.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return string(b)
}

func (p *pageClient) xrpc(method, token string, body any) map[string]any {
	p.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", p.base+"/xrpc/"+method, strings.NewReader(string(raw)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != 200 {
		p.t.Fatalf("%s: %d %v", method, res.StatusCode, out)
	}
	return out
}

// The walk from zero, in-process: no settings but a data folder, the
// trial path, an account, a post; the setup code is the same after a
// restart, and is stored only hashed.
func TestTrialFromZero(t *testing.T) {
	data := t.TempDir()
	base, logs, stop := runDaemon(t, map[string]string{"HEARTH_DATA": data})
	jar, _ := cookiejar.New(nil)
	p := &pageClient{t: t, c: &http.Client{Jar: jar}, base: base}
	p.get("/xrpc/_health") // up
	code := regexp.MustCompile(`setup_code=(\S+)`).FindStringSubmatch(logs.String())
	if code == nil {
		t.Fatalf("no setup code:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "http://localhost:"+strings.Split(base, ":")[2]+"/setup") {
		t.Fatalf("no setup link in the log:\n%s", logs.String())
	}
	// The code survives a restart.
	stop()
	base, logs, stop = runDaemon(t, map[string]string{"HEARTH_DATA": data, "HEARTH_LISTEN": ""})
	defer func() { stop() }()
	p.base = base
	p.get("/xrpc/_health")
	if again := regexp.MustCompile(`setup_code=(\S+)`).FindStringSubmatch(logs.String()); again == nil || again[1] != code[1] {
		t.Fatalf("setup code changed on restart: %v → %v", code[1], again)
	}
	if page := p.post("/setup", "/setup/unlock", url.Values{"code": {code[1]}}); !strings.Contains(page, "Try it on this computer") {
		t.Fatalf("no trial offered: %s", page)
	}
	p.post("/setup", "/setup/trial", url.Values{})
	var page string
	for i := 0; i < 50 && !strings.Contains(page, ".test"); i++ {
		time.Sleep(100 * time.Millisecond)
		page = p.get("/setup")
	}
	if !strings.Contains(page, "<option>.test</option>") || !strings.Contains(page, "Not federated") {
		t.Fatalf("trial account step: %s", page)
	}
	for i := 0; i < 30; i++ { // pressed again while the restart is under way
		page = p.post("/setup", "/setup/owner", url.Values{"name": {"alice"}, "domain": {".test"}, "email": {"alice@example.com"},
			"password": {"a good long password"}, "password2": {"a good long password"}})
		if !strings.Contains(page, "still restarting") {
			break
		}
		if !strings.Contains(page, `value="alice@example.com"`) {
			t.Fatal("the restarting refusal lost what was typed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(page, "Done") || !strings.Contains(page, base[len("http://127.0.0.1"):]) {
		t.Fatalf("done page: %s\n%s", page, logs.String())
	}
	// A client signs in and posts; the DID resolves in the local directory.
	sess := p.xrpc("com.atproto.server.createSession", "", map[string]string{"identifier": "alice.test", "password": "a good long password"})
	did, _ := sess["did"].(string)
	tok, _ := sess["accessJwt"].(string)
	p.xrpc("com.atproto.repo.createRecord", tok, map[string]any{"repo": did, "collection": "app.bsky.feed.post",
		"record": map[string]any{"$type": "app.bsky.feed.post", "text": "hello from a trial", "createdAt": time.Now().UTC().Format(time.RFC3339)}})
	res, err := http.Get(base + "/plc/" + did)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the local directory does not know %s: %v %v", did, res, err)
	}
	var doc map[string]any
	json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if svc, _ := json.Marshal(doc["service"]); !strings.Contains(string(svc), "localhost") {
		t.Fatalf("DID document %v", doc)
	}
	status := p.get("/status")
	if !strings.Contains(status, "alice.test") || !strings.Contains(status, "1 record ·") || !strings.Contains(status, "Put it on the Internet") {
		t.Fatalf("status page: %s", status)
	}
	// A backup is remembered for the Backups card.
	p.get("/status/backup")
	if status := p.get("/status"); !strings.Contains(status, "The last backup was downloaded") {
		t.Fatalf("the backup card: %s", status)
	}
	if strings.Contains(logs.String(), "bsky.network") && !strings.Contains(logs.String(), "not asking") {
		t.Fatal("a trial contacted a public relay")
	}
}

// Issue 17: the step after the hostname still offered .localhost handles,
// because the page was drawn before the restart landed.
func TestAccountStepOffersTheNewDomainAtOnce(t *testing.T) {
	base, logs, stop := runDaemon(t, map[string]string{"HEARTH_DATA": t.TempDir(), "HEARTH_RELAYS": "http://127.0.0.1:9"})
	defer stop()
	jar, _ := cookiejar.New(nil)
	p := &pageClient{t: t, c: &http.Client{Jar: jar}, base: base}
	p.get("/xrpc/_health")
	code := regexp.MustCompile(`setup_code=(\S+)`).FindStringSubmatch(logs.String())
	p.post("/setup", "/setup/unlock", url.Values{"code": {code[1]}})
	p.post("/setup", "/setup/address", url.Values{"hostname": {"pds.hearth.dev"}, "action": {"save"}})
	page := p.get("/setup") // before the restart lands
	if !strings.Contains(page, "<option>.pds.hearth.dev</option>") || strings.Contains(page, ".localhost") {
		t.Fatalf("the account step offers the old domain: %s", page)
	}
}

// Issue 17: an unreachable PLC directory showed a raw Go error chain.
func TestUnreachablePLCIsASentence(t *testing.T) {
	base, logs, stop := runDaemon(t, map[string]string{"HEARTH_DATA": t.TempDir(), "HEARTH_RELAYS": "http://127.0.0.1:9",
		"HEARTH_PLC_URL": "http://127.0.0.1:9", "HEARTH_HOSTNAME": "pds.hearth.dev"})
	defer stop()
	jar, _ := cookiejar.New(nil)
	p := &pageClient{t: t, c: &http.Client{Jar: jar}, base: base}
	p.get("/xrpc/_health")
	code := regexp.MustCompile(`setup_code=(\S+)`).FindStringSubmatch(logs.String())
	p.post("/setup", "/setup/unlock", url.Values{"code": {code[1]}})
	page := p.post("/setup", "/setup/owner", url.Values{"name": {"alice"}, "domain": {".pds.hearth.dev"}, "email": {"alice@example.com"},
		"password": {"a good long password"}, "password2": {"a good long password"}})
	if strings.Contains(page, "dial tcp") || strings.Contains(page, "connection refused") || !strings.Contains(page, "PLC directory") ||
		!strings.Contains(page, `value="alice@example.com"`) {
		t.Fatalf("PLC refusal page: %s", page)
	}
}

// Issue 17: "The name does not point at this machine" although DNS
// answered 127.0.0.1.
func TestCheckAddressCountsLoopback(t *testing.T) {
	if rep := (&appliance{}).CheckAddress(context.Background(), "localhost"); !rep.PointsHere {
		t.Fatalf("localhost does not point here: %+v", rep)
	}
}

func TestSamplesThinOut(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	var hist []web.Sample
	for m := 6 * 60; m >= 0; m-- { // a sample a minute for six hours
		hist = append(hist, web.Sample{Time: now.Add(-time.Duration(m) * time.Minute), Requests: 1})
	}
	hist = thin(hist, now)
	fine, total := 0, int64(0)
	for _, s := range hist {
		if now.Sub(s.Time) <= fineFor {
			fine++
		}
		total += s.Requests
	}
	if fine != 121 || len(hist) > 121+5 || total != 6*60+1 {
		t.Fatalf("%d samples, %d fine, %d requests", len(hist), fine, total)
	}
	old := []web.Sample{{Time: now.Add(-31 * 24 * time.Hour)}, {Time: now}}
	if got := thin(old, now); len(got) != 1 {
		t.Fatalf("a sample past 30 days kept: %v", got)
	}
}
