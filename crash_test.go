package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
)

var crashCycles = flag.Int("crash-cycles", 0, "kill/restart cycles of TestCrashSafety (default 20, or $HEARTH_CRASH_CYCLES)")

// TestCrashSafety runs the daemon under concurrent record writes and blob
// uploads, SIGKILLs it at a random moment, restarts it on the same data
// folder and checks that nothing it acknowledged is gone: records, blobs,
// blob reference counts, the signed repository and the firehose log.
//
// A kill only ends the process: what the daemon wrote is in the page cache
// either way, so this proves the transaction logic (no ack before commit,
// nothing half applied), not fsync against power loss.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash cycles are slow; -short skips them")
	}
	cycles := 20
	if v, err := strconv.Atoi(os.Getenv("HEARTH_CRASH_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	if *crashCycles > 0 {
		cycles = *crashCycles
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("HEARTH_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("%d cycles, HEARTH_CRASH_SEED=%d", cycles, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	plc := newCrashPLC(t)
	d := &crashed{t: t, bin: buildHearth(t), data: t.TempDir(), port: freePort(t), plc: plc.URL}
	d.start()
	defer d.kill()

	var acct struct{ DID, AccessJwt string }
	if st, err := d.post("com.atproto.server.createAccount", "", map[string]any{
		"handle": "crash.test", "email": "crash@example.com", "password": "crash-test-pw"}, &acct); err != nil {
		t.Fatalf("createAccount: %d %v", st, err)
	}
	key := plc.signingKey(t, acct.DID)
	l := &ledger{records: map[string]string{}, commits: map[string]bool{}, blobs: map[string][]byte{}, events: map[int64]string{}}

	var cut int64
	start := time.Now()
	for cycle := range cycles {
		fresh := d.load(acct.DID, acct.AccessJwt, l, time.Duration(50+rng.IntN(251))*time.Millisecond)
		cut += fresh.cut.Load()
		checkBlobRefs(t, d.data, acct.DID, "after kill "+strconv.Itoa(cycle))
		d.start()
		d.verify(acct.DID, acct.AccessJwt, key, l, fresh, rng)
		if t.Failed() {
			t.Fatalf("cycle %d failed (HEARTH_CRASH_SEED=%d)", cycle, seed)
		}
	}
	d.stop()
	checkBlobRefs(t, d.data, acct.DID, "after final stop")
	t.Logf("%d cycles: %d acknowledged records, %d referenced blobs, %d events, %d requests cut by a kill, in %v",
		cycles, len(l.records), len(l.blobs), len(l.events), cut, time.Since(start).Round(time.Millisecond))
}

// ledger is what the daemon acknowledged, across all cycles.
type ledger struct {
	mu      sync.Mutex
	records map[string]string // at-uri -> record CID
	commits map[string]bool   // commit CIDs from write answers
	blobs   map[string][]byte // referenced blob CID -> bytes
	events  map[int64]string  // firehose seq -> commit CID ("" for other kinds)
	lastSeq int64
}

// batch is what one cycle acknowledged, for the per-cycle spot checks.
type batch struct {
	records []string
	blobs   []string
	cut     atomic.Int64 // requests the kill left unanswered
}

func (l *ledger) ack(b *batch, uri, recCID, commit string, blobCID string, data []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records[uri] = recCID
	l.commits[commit] = true
	b.records = append(b.records, uri)
	if blobCID != "" {
		l.blobs[blobCID] = data
		b.blobs = append(b.blobs, blobCID)
	}
}

// crashed is a daemon process the crash test kills and restarts.
type crashed struct {
	t    *testing.T
	bin  string
	data string
	port int
	plc  string
	cmd  *exec.Cmd
	http *http.Client
	out  *syncBuffer // the current run's log
}

func (d *crashed) base() string { return fmt.Sprintf("http://127.0.0.1:%d", d.port) }

func (d *crashed) start() {
	d.t.Helper()
	d.cmd = exec.Command(d.bin)
	d.cmd.Env = append(os.Environ(),
		"HEARTH_DATA="+d.data, "HEARTH_LISTEN="+strings.TrimPrefix(d.base(), "http://"),
		"HEARTH_HOSTNAME=localhost", "HEARTH_PUBLIC_URL="+d.base(), "HEARTH_HANDLE_DOMAINS=.test",
		"HEARTH_PLC_URL="+d.plc, "HEARTH_INVITE_REQUIRED=false", "HEARTH_RELAYS=",
		"HEARTH_DEV=1", "HEARTH_RATE_LIMITS=false")
	d.out = &syncBuffer{}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 20 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := d.http.Get(d.base() + "/xrpc/_health"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.kill()
	d.t.Fatalf("hearth did not come up:\n%s", d.out.String())
}

func (d *crashed) kill() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
	d.cmd = nil
	d.http.CloseIdleConnections()
}

func (d *crashed) stop() {
	d.t.Helper()
	d.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			d.t.Errorf("hearth exit on SIGINT: %v\n%s", err, d.out.String())
		}
	case <-time.After(20 * time.Second):
		d.t.Errorf("hearth did not stop on SIGINT")
		d.cmd.Process.Kill()
		<-done
	}
	d.cmd = nil
}

// errDown is a request the dying daemon never answered; expected under load.
var errDown = errors.New("no answer")

func (d *crashed) do(ctx context.Context, method, nsid, token, ctype string, body []byte, out any) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, method, d.base()+"/xrpc/"+nsid, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := d.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errDown, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errDown, err)
	}
	if res.StatusCode != 200 {
		return res.StatusCode, fmt.Errorf("%s: %d %s", nsid, res.StatusCode, data)
	}
	if out == nil {
		return 200, nil
	}
	if b, ok := out.(*[]byte); ok {
		*b = data
		return 200, nil
	}
	return 200, json.Unmarshal(data, out)
}

func (d *crashed) post(nsid, token string, body, out any) (int, error) {
	raw, _ := json.Marshal(body)
	return d.do(context.Background(), "POST", nsid, token, "application/json", raw, out)
}

func (d *crashed) get(path string, out any) (int, error) {
	nsid, q, _ := strings.Cut(path, "?")
	return d.do(context.Background(), "GET", nsid+"?"+q, "", "", nil, out)
}

type writeAnswer struct {
	URI    string `json:"uri"`
	CID    string `json:"cid"`
	Commit struct {
		CID string `json:"cid"`
		Rev string `json:"rev"`
	} `json:"commit"`
	Results []struct {
		URI string `json:"uri"`
		CID string `json:"cid"`
	} `json:"results"`
}

// load writes from several clients for dur, then SIGKILLs the daemon while
// requests are in flight, and returns what was acknowledged.
func (d *crashed) load(did, token string, l *ledger, dur time.Duration) *batch {
	t := d.t
	ctx, cancel := context.WithCancel(context.Background())
	b := &batch{}
	var wg sync.WaitGroup
	// A request that got an answer other than 200 is a bug unless the
	// daemon was dying: the load only does valid writes.
	var mu sync.Mutex
	var bad []error
	fail := func(err error) {
		if errors.Is(err, errDown) {
			b.cut.Add(1)
		}
		if ctx.Err() == nil && !errors.Is(err, errDown) {
			mu.Lock()
			bad = append(bad, err)
			mu.Unlock()
		}
	}
	post := func(text string, embed any) map[string]any {
		p := map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": time.Now().UTC().Format(time.RFC3339Nano)}
		if embed != nil {
			p["embed"] = embed
		}
		return p
	}
	worker := func(fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if err := fn(i); err != nil {
					fail(err)
					if errors.Is(err, errDown) {
						return
					}
				}
			}
		}()
	}
	jsonDo := func(nsid string, body any, out any) error {
		raw, _ := json.Marshal(body)
		_, err := d.do(ctx, "POST", nsid, token, "application/json", raw, out)
		return err
	}
	for w := range 3 {
		worker(func(i int) error {
			var a writeAnswer
			if err := jsonDo("com.atproto.repo.createRecord", map[string]any{"repo": did, "collection": "app.bsky.feed.post",
				"record": post(fmt.Sprintf("worker %d post %d", w, i), nil)}, &a); err != nil {
				return err
			}
			l.ack(b, a.URI, a.CID, a.Commit.CID, "", nil)
			return nil
		})
	}
	worker(func(i int) error {
		writes := make([]any, 3)
		for j := range writes {
			writes[j] = map[string]any{"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post",
				"value": post(fmt.Sprintf("batch %d item %d", i, j), nil)}
		}
		var a writeAnswer
		if err := jsonDo("com.atproto.repo.applyWrites", map[string]any{"repo": did, "writes": writes}, &a); err != nil {
			return err
		}
		for _, r := range a.Results {
			l.ack(b, r.URI, r.CID, a.Commit.CID, "", nil)
		}
		return nil
	})
	for w := range 2 {
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
		worker(func(i int) error {
			img := fakeJPEG(rng, 1<<10+rng.IntN(600<<10)) // up to a few chunks
			var up struct {
				Blob json.RawMessage `json:"blob"`
			}
			if _, err := d.do(ctx, "POST", "com.atproto.repo.uploadBlob", token, "image/jpeg", img, &up); err != nil {
				return err
			}
			var ref struct {
				Ref struct {
					Link string `json:"$link"`
				} `json:"ref"`
			}
			json.Unmarshal(up.Blob, &ref)
			embed := map[string]any{"$type": "app.bsky.embed.images", "images": []any{map[string]any{"alt": "noise", "image": up.Blob}}}
			var a writeAnswer
			if err := jsonDo("com.atproto.repo.createRecord", map[string]any{"repo": did, "collection": "app.bsky.feed.post",
				"record": post(fmt.Sprintf("picture %d from %d", i, w), embed)}, &a); err != nil {
				return err
			}
			l.ack(b, a.URI, a.CID, a.Commit.CID, ref.Ref.Link, img)
			return nil
		})
	}
	// A live subscriber: every event delivered before the kill was
	// committed, so it must come back with the same seq after the restart.
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, _, err := websocket.Dial(ctx, d.base()+"/xrpc/com.atproto.sync.subscribeRepos?cursor="+strconv.FormatInt(l.lastSeq, 10), nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(16 << 20)
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			ev, err := decodeEvent(data)
			if err != nil {
				fail(err)
				return
			}
			if ev.kind == "#info" {
				continue
			}
			l.mu.Lock()
			if prev, ok := l.events[ev.Seq]; ok && prev != ev.commit() {
				fail(fmt.Errorf("live seq %d is commit %q, earlier %q", ev.Seq, ev.commit(), prev))
			}
			l.events[ev.Seq] = ev.commit()
			l.mu.Unlock()
		}
	}()
	time.Sleep(dur)
	d.kill()
	cancel()
	wg.Wait()
	for _, err := range bad {
		t.Errorf("under load: %v", err)
	}
	return b
}

// fakeJPEG is random bytes a sniffer takes for a JPEG without metadata.
func fakeJPEG(rng *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	copy(b, "\xff\xd8\xff\xda\x00\x02")
	for i := 6; i < n+6; i++ {
		b[i] = byte(rng.Uint32())
	}
	copy(b[n+6:], "\xff\xd9")
	return b
}

type event struct {
	Seq    int64   `cbor:"seq"`
	Commit cid.CID `cbor:"commit"`
	kind   string
}

func (e event) commit() string {
	if e.kind != "#commit" {
		return e.kind
	}
	return e.Commit.String()
}

// decodeEvent splits a frame into its header and body: two DAG-CBOR items
// back to back; the header is the shortest prefix that is one whole item.
func decodeEvent(b []byte) (event, error) {
	for i := 1; i <= len(b) && i < 64; i++ {
		var h struct {
			Op int64  `cbor:"op"`
			T  string `cbor:"t"`
		}
		if dagcbor.Unmarshal(b[:i], &h) != nil {
			continue
		}
		if h.Op != 1 {
			return event{}, fmt.Errorf("error frame %q: % x", h.T, b[i:])
		}
		var ev event
		if err := dagcbor.Unmarshal(b[i:], &ev); err != nil {
			return event{}, fmt.Errorf("%s frame: %v", h.T, err)
		}
		ev.kind = h.T
		return ev, nil
	}
	return event{}, fmt.Errorf("no header in frame % x", b[:min(len(b), 16)])
}
