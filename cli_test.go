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
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// hearthCmd runs one command line in-process.
func hearthCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runCommand(args, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestCommandLineErrors(t *testing.T) {
	env := map[string]string{"HEARTH_DATA": t.TempDir(), "HEARTH_LISTEN": "127.0.0.1:9"}
	tests := []struct {
		args      []string
		code      int
		stdout    string // a part of it
		stderrHas string
	}{
		{[]string{"version"}, 0, version, ""},
		{[]string{"version", "--json"}, 0, `"version"`, ""},
		{[]string{"help"}, 0, "request-crawl", ""},
		{[]string{"backup", "--help"}, 0, "usage: hearth backup FILE", ""},
		{[]string{"account", "--help"}, 0, "reset-password", ""},
		{[]string{"bogus"}, 2, "", `unknown command "bogus"`},
		{[]string{"backup"}, 2, "", "missing argument"},
		{[]string{"backup", "a", "b"}, 2, "", `unexpected argument "b"`},
		{[]string{"restore"}, 2, "", "usage: hearth restore FILE"},
		{[]string{"compact", "now"}, 2, "", `unexpected argument "now"`},
		{[]string{"version", "x"}, 2, "", "unexpected argument"},
		{[]string{"status", "--nope"}, 2, "", "flag provided but not defined"},
		{[]string{"account"}, 2, "", "missing command"},
		{[]string{"account", "rename", "x"}, 2, "", `unknown command "rename"`},
		{[]string{"account", "info"}, 2, "", "missing argument"},
		{[]string{"account", "delete", "did:plc:x"}, 2, "", "--yes"},
		{[]string{"account", "create", "--handle", "a.test"}, 2, "", "are required"},
		{[]string{"invite"}, 2, "", "create"},
		{[]string{"invite", "make"}, 2, "", "create"},
		{[]string{"request-crawl", "a", "b"}, 2, "", "unexpected argument"},
		{[]string{"serve", "stray"}, 2, "", `unexpected argument "stray"`},
		{[]string{"backup", "stray"}, 1, "", "no data file"}, // the daemon is down and there is no file
		{[]string{"status"}, 1, "", "not running"},
	}
	for _, tt := range tests {
		code, out, errs := hearthCmd(t, env, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderrHas) {
			t.Errorf("hearth %s: exit %d, stdout %q, stderr %q; want %d, %q, %q",
				strings.Join(tt.args, " "), code, out, errs, tt.code, tt.stdout, tt.stderrHas)
		}
	}
}

// daemon runs the real server in-process, with a PLC directory and a
// relay that counts requestCrawl calls.
type daemon struct {
	env    map[string]string
	crawls atomic.Int32
	stop   func()
}

func startDaemon(t *testing.T, data string) *daemon {
	t.Helper()
	d := &daemon{}
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
	t.Cleanup(plcSrv.Close)
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.requestCrawl") {
			d.crawls.Add(1)
		}
	}))
	t.Cleanup(relay.Close)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	d.env = map[string]string{
		"HEARTH_DATA": data, "HEARTH_LISTEN": addr, "HEARTH_PLC_URL": plcSrv.URL, "HEARTH_HOSTNAME": "pds.test",
		"HEARTH_RELAYS": relay.URL, "HEARTH_DEV": "1", "HEARTH_INVITE_REQUIRED": "true",
	}
	d.start(t)
	return d
}

func (d *daemon) start(t *testing.T) {
	t.Helper()
	cfg, err := loadConfig(nil, func(k string) string { return d.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	d.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		d.stop = func() {}
	}
	t.Cleanup(func() { d.stop() })
	for i := 0; ; i++ {
		if code, _, _ := hearthCmd(t, d.env, "status"); code == 0 {
			return
		}
		if i == 100 {
			t.Fatal("the daemon did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := hearthCmd(t, d.env, args...)
	if code != 0 {
		t.Fatalf("hearth %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func (d *daemon) lastSeq(t *testing.T) int64 {
	t.Helper()
	var st statusView
	if err := json.Unmarshal([]byte(d.ok(t, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	return st.LastSeq
}

// TestCommandsAgainstDaemon drives every command against a running daemon,
// then against its data file once it is stopped. The restore in the
// middle must keep the firehose numbering growing, ask the relay to crawl
// and announce the restored repositories with #sync.
func TestCommandsAgainstDaemon(t *testing.T) {
	data := t.TempDir()
	d := startDaemon(t, data)
	if pw, err := os.ReadFile(filepath.Join(data, adminPasswordFile)); err != nil || len(bytes.TrimSpace(pw)) < 20 {
		t.Fatalf("generated admin password file: %q %v", pw, err)
	}
	if fi, _ := os.Stat(filepath.Join(data, adminPasswordFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin password file mode %v", fi.Mode())
	}
	var invites struct{ Codes []string }
	json.Unmarshal([]byte(d.ok(t, "invite", "create", "--count", "2", "--uses", "3", "--json")), &invites)
	if len(invites.Codes) != 2 {
		t.Fatalf("invite create: %v", invites)
	}
	out := d.ok(t, "account", "create", "--handle", "alice.pds.test", "--email", "alice@example.com", "--password", "alice-pw-123")
	if !strings.Contains(out, "did:plc:") {
		t.Fatalf("account create: %q", out)
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"account", "list"}, "alice.pds.test"},
		{[]string{"account", "info", "alice.pds.test"}, "status   active"},
		{[]string{"account", "takedown", "alice.pds.test", "--ref", "T-1"}, "took down"},
		{[]string{"account", "info", "alice.pds.test"}, "status   takendown"},
		{[]string{"account", "untakedown", "alice.pds.test"}, "lifted"},
		{[]string{"status"}, "accounts     1"},
		{[]string{"request-crawl"}, ": asked"},
	}
	for _, s := range steps {
		if out := d.ok(t, s.args...); !strings.Contains(out, s.want) {
			t.Errorf("hearth %s: %q, want %q", strings.Join(s.args, " "), out, s.want)
		}
	}
	pw := strings.TrimSpace(d.ok(t, "account", "reset-password", "alice.pds.test"))
	body, _ := json.Marshal(map[string]string{"identifier": "alice.pds.test", "password": pw})
	res, err := http.Post("http://"+d.env["HEARTH_LISTEN"]+"/xrpc/com.atproto.server.createSession", "application/json", bytes.NewReader(body))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("sign in with the reset password: %v %v", res.Status, err)
	}
	res.Body.Close()

	backup := filepath.Join(t.TempDir(), "backup.db")
	d.ok(t, "backup", backup)
	d.ok(t, "account", "create", "--handle", "bob.pds.test", "--email", "bob@example.com", "--password", "bob-pw-1234")
	served := d.lastSeq(t)
	crawls := d.crawls.Load()

	if out := d.ok(t, "restore", backup); !strings.Contains(out, "restored") {
		t.Fatalf("restore: %q", out)
	}
	if got := d.lastSeq(t); got <= served {
		t.Fatalf("after the restore the last seq is %d, not past %d", got, served)
	}
	if list := d.ok(t, "account", "list"); strings.Contains(list, "bob") || !strings.Contains(list, "alice") {
		t.Fatalf("after the restore: %q", list)
	}
	for i := 0; d.crawls.Load() <= crawls; i++ {
		if i == 100 {
			t.Fatal("the relay was not asked to crawl after the restore")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := d.ok(t, "compact"); !strings.Contains(out, "compacted") {
		t.Fatalf("compact: %q", out)
	}
	d.ok(t, "status")
	d.stop()

	// The #sync of the restore comes after everything served before it.
	var syncs []int64
	withFile(t, data, func(tx *store.Tx) {
		tx.Events(served, func(e store.Event) error {
			if bytes.Contains(e.Frame, []byte("#sync")) {
				syncs = append(syncs, e.Seq)
			}
			return nil
		})
	})
	if len(syncs) != 1 {
		t.Fatalf("#sync events after seq %d: %v, want one for alice", served, syncs)
	}
	if readLastSeq(data) < syncs[0] {
		t.Fatalf("last-seq file %d behind %d", readLastSeq(data), syncs[0])
	}

	// Offline: the daemon is stopped.
	if out := d.ok(t, "account", "list", "--json"); !strings.Contains(out, `"handle": "alice.pds.test"`) {
		t.Fatalf("offline account list: %q", out)
	}
	if code, _, errs := hearthCmd(t, d.env, "account", "info", "alice.pds.test"); code != 1 || !strings.Contains(errs, "not running") {
		t.Fatalf("offline account info: %d %q", code, errs)
	}
	backup2 := filepath.Join(t.TempDir(), "offline.db")
	d.ok(t, "backup", backup2)
	if out := d.ok(t, "compact"); !strings.Contains(out, "compacted") {
		t.Fatalf("offline compact: %q", out)
	}
	before := readLastSeq(data)
	d.ok(t, "restore", backup)
	withFile(t, data, func(tx *store.Tx) {
		if tx.LastSeq() <= before {
			t.Errorf("offline restore: last seq %d, not past %d", tx.LastSeq(), before)
		}
	})
	crawls = d.crawls.Load()
	d.start(t)
	for i := 0; d.crawls.Load() <= crawls; i++ {
		if i == 100 {
			t.Fatal("the relay was not asked to crawl after the offline restore")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func withFile(t *testing.T, data string, fn func(tx *store.Tx)) {
	t.Helper()
	db, err := store.Open(dbPath(data), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *store.Tx) error { fn(tx); return nil })
}

// slowWriter takes delay for each write, like a client on a slow link.
type slowWriter struct{ delay time.Duration }

func (s slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return len(p), nil
}

// TestBackupDoesNotBlockWriters downloads a backup over a link that takes
// seconds while writes that grow the file keep landing promptly.
func TestBackupDoesNotBlockWriters(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), dbFile), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	big := bytes.Repeat([]byte("x"), 256<<10)
	put := func(name string) error {
		return db.Update(context.Background(), func(tx *store.Tx) error { return tx.SetMeta(name, big) })
	}
	for i := range 4 {
		put(fmt.Sprint("seed", i))
	}
	app := &appliance{db: db}
	read := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		if _, err := app.Backup(slowWriter{delay: 50 * time.Millisecond}); err != nil {
			t.Error(err)
		}
		read <- time.Since(start)
	}()
	time.Sleep(100 * time.Millisecond) // the download is under way
	var worst time.Duration
	for i := range 20 {
		start := time.Now()
		if err := put(fmt.Sprint("more", i)); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(start))
	}
	took := <-read
	t.Logf("backup download %v; slowest of 20 writes growing the file %v", took, worst)
	if took < 2*time.Second {
		t.Fatalf("the download took only %v: the test proves nothing", took)
	}
	if worst > 500*time.Millisecond {
		t.Fatalf("a write waited %v behind the backup", worst)
	}
}
