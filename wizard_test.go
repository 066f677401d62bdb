package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/hearth-pds/hearth/store"
)

// TestWizardEndToEnd runs the daemon in-process and sets it up through the
// pages: setup code, hostname (the server restarts with it), owner account,
// then the status page with a backup and a repo download.
func TestWizardEndToEnd(t *testing.T) {
	var mu sync.Mutex
	ops := map[string][]byte{}
	plcSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		did := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		if r.Method == "POST" {
			ops[did], _ = io.ReadAll(r.Body)
			return
		}
		w.Write(ops[did])
	}))
	defer plcSrv.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	env := map[string]string{
		"HEARTH_DATA": t.TempDir(), "HEARTH_LISTEN": addr, "HEARTH_PLC_URL": plcSrv.URL,
		// A closed loopback port: the hostname set below is public, and the
		// default relay must never be contacted from a test.
		"HEARTH_RELAYS": "http://127.0.0.1:9", "HEARTH_ADMIN_PASSWORD": "admin-pw",
	}
	cfg, err := loadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, log) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		for i := 0; i < 100; i++ { // the server may be (re)starting
			res, err := c.Get(base + path)
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				return string(b)
			}
			time.Sleep(30 * time.Millisecond)
		}
		t.Fatalf("GET %s: server not answering", path)
		return ""
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	post := func(path string, form url.Values) string {
		t.Helper()
		page := get("/setup")
		if m := csrf.FindStringSubmatch(page); m != nil && form.Get("csrf") == "" {
			form.Set("csrf", m[1])
		}
		res, err := c.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return string(b)
	}
	if page := get("/"); !strings.Contains(page, "setup code") {
		t.Fatalf("first page: %s", page)
	}
	code := regexp.MustCompile(`setup_code=(\S+)`).FindStringSubmatch(logs.String())
	if code == nil {
		t.Fatalf("no setup code in the log:\n%s", logs.String())
	}
	post("/setup/unlock", url.Values{"code": {code[1]}})
	post("/setup/address", url.Values{"hostname": {"pds.hearth.dev"}, "action": {"save"}})
	time.Sleep(500 * time.Millisecond) // the in-process restart
	var desc map[string]any
	json.Unmarshal([]byte(get("/xrpc/com.atproto.server.describeServer")), &desc)
	if desc["did"] != "did:web:pds.hearth.dev" {
		t.Fatalf("after the address step the server is %v", desc["did"])
	}
	page := post("/setup/owner", url.Values{"name": {"owner"}, "domain": {".pds.hearth.dev"}, "email": {"me@example.com"},
		"password": {"a good long password"}, "password2": {"a good long password"}})
	if !strings.Contains(page, "https://pds.hearth.dev") {
		t.Fatalf("done page: %s", page)
	}
	// The owner's status page.
	loginPage := get("/login")
	m := csrf.FindStringSubmatch(loginPage)
	res, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "identifier": {"owner.pds.hearth.dev"}, "password": {"a good long password"}})
	if err != nil {
		t.Fatal(err)
	}
	status, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(status), "owner.pds.hearth.dev") {
		t.Fatalf("status page: %s", status)
	}
	backup := get("/status/backup")
	if len(backup) < 4096 || !strings.Contains(backup[:4096], "\xed\xda\x0c\xed") {
		t.Fatalf("backup is not a bbolt file (%d bytes)", len(backup))
	}
	did := regexp.MustCompile(`/status/repo\?did=([^"]+)"`).FindStringSubmatch(string(status))
	if did == nil {
		t.Fatal("no repo download link")
	}
	if car := get("/status/repo?did=" + did[1]); len(car) < 100 {
		t.Fatalf("repo CAR of %d bytes", len(car))
	}
	// Headless use is untouched: the XRPC API answers as before.
	if h := get("/xrpc/_health"); !strings.Contains(h, "version") {
		t.Fatal(h)
	}
	_ = fmt.Sprint
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBackupWhileWriting takes a backup while writers are busy; the copy
// must open as a consistent bbolt file.
func TestBackupWhileWriting(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "h.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app := &appliance{db: db}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			db.Update(context.Background(), func(tx *store.Tx) error {
				return tx.SetMeta(fmt.Sprintf("k%06d", i), bytes.Repeat([]byte{byte(i)}, 512))
			})
		}
	}()
	time.Sleep(50 * time.Millisecond)
	out := filepath.Join(t.TempDir(), "backup.db")
	f, _ := os.Create(out)
	n, err := app.Backup(f)
	f.Close()
	close(stop)
	wg.Wait()
	if err != nil || n == 0 {
		t.Fatalf("backup: %d bytes, %v", n, err)
	}
	b, err := bbolt.Open(out, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("backup does not open: %v", err)
	}
	defer b.Close()
	err = b.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("backup is inconsistent: %v", err)
	}
}
