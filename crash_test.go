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
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/mst"
	"github.com/hearth-pds/hearth/store"
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
	d := &daemon{t: t, bin: buildHearth(t), data: t.TempDir(), port: freePort(t), plc: plc.URL}
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

type daemon struct {
	t    *testing.T
	bin  string
	data string
	port int
	plc  string
	cmd  *exec.Cmd
	http *http.Client
	out  *syncBuffer // the current run's log
}

func (d *daemon) base() string { return fmt.Sprintf("http://127.0.0.1:%d", d.port) }

func (d *daemon) start() {
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

func (d *daemon) kill() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
	d.cmd = nil
	d.http.CloseIdleConnections()
}

func (d *daemon) stop() {
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

func (d *daemon) do(ctx context.Context, method, nsid, token, ctype string, body []byte, out any) (int, error) {
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

func (d *daemon) post(nsid, token string, body, out any) (int, error) {
	raw, _ := json.Marshal(body)
	return d.do(context.Background(), "POST", nsid, token, "application/json", raw, out)
}

func (d *daemon) get(path string, out any) (int, error) {
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
func (d *daemon) load(did, token string, l *ledger, dur time.Duration) *batch {
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

// verify checks the restarted daemon against everything acknowledged.
func (d *daemon) verify(did, token string, key repo.Verifier, l *ledger, fresh *batch, rng *rand.Rand) {
	t := d.t
	t.Helper()
	// A write after the restart works and marks the end of the replay.
	var marker writeAnswer
	if _, err := d.post("com.atproto.repo.createRecord", token, map[string]any{"repo": did, "collection": "app.bsky.feed.post",
		"record": map[string]any{"$type": "app.bsky.feed.post", "text": "after restart", "createdAt": time.Now().UTC().Format(time.RFC3339)}}, &marker); err != nil {
		t.Fatalf("write after restart: %v\n%s", err, d.out.String())
	}
	l.records[marker.URI] = marker.CID
	l.commits[marker.Commit.CID] = true

	// The repository verifies and holds every acknowledged record.
	var carBytes []byte
	if _, err := d.get("com.atproto.sync.getRepo?did="+did, &carBytes); err != nil {
		t.Fatalf("getRepo: %v", err)
	}
	snap, refs := checkCAR(t, carBytes, did, key)
	inRepo := map[string]string{}
	for _, r := range snap.Records {
		inRepo["at://"+did+"/"+r.Path] = r.CID.String()
	}
	for uri, c := range l.records {
		if inRepo[uri] != c {
			t.Errorf("acknowledged %s (%s) is not in the repo (found %q)", uri, c, inRepo[uri])
		}
	}
	// getRecord serves this cycle's records and a sample of older ones.
	sample := append([]string(nil), fresh.records...)
	all := make([]string, 0, len(l.records))
	for uri := range l.records {
		all = append(all, uri)
	}
	for range min(10, len(all)) {
		sample = append(sample, all[rng.IntN(len(all))])
	}
	for _, uri := range sample {
		parts := strings.Split(strings.TrimPrefix(uri, "at://"), "/")
		var got struct{ CID string }
		if _, err := d.get("com.atproto.repo.getRecord?repo="+parts[0]+"&collection="+parts[1]+"&rkey="+parts[2], &got); err != nil || got.CID != l.records[uri] {
			t.Errorf("getRecord %s: %v, cid %q want %q", uri, err, got.CID, l.records[uri])
		}
	}
	// Blobs: the ones this cycle referenced read back byte for byte; the
	// listing names exactly the blobs records reference; none is missing.
	for _, c := range fresh.blobs {
		var data []byte
		if _, err := d.get("com.atproto.sync.getBlob?did="+did+"&cid="+c, &data); err != nil || !bytes.Equal(data, l.blobs[c]) {
			t.Errorf("getBlob %s: %v (%d bytes, want %d)", c, err, len(data), len(l.blobs[c]))
		}
	}
	listed := map[string]bool{}
	for cursor := ""; ; {
		var page struct {
			CIDs   []string `json:"cids"`
			Cursor string   `json:"cursor"`
		}
		if _, err := d.get("com.atproto.sync.listBlobs?limit=1000&did="+did+"&cursor="+cursor, &page); err != nil {
			t.Fatalf("listBlobs: %v", err)
		}
		for _, c := range page.CIDs {
			listed[c] = true
		}
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	for c := range refs {
		if !listed[c] {
			t.Errorf("blob %s is referenced by a record but not listed", c)
		}
	}
	for c := range listed {
		if refs[c] == 0 {
			t.Errorf("blob %s is listed but no record references it", c)
		}
	}
	var missing struct {
		Blobs []json.RawMessage `json:"blobs"`
	}
	if _, err := d.do(context.Background(), "GET", "com.atproto.repo.listMissingBlobs?limit=1000", token, "", nil, &missing); err != nil || len(missing.Blobs) != 0 {
		t.Errorf("listMissingBlobs: %v %s", err, missing.Blobs)
	}
	d.checkReplay(l, marker.Commit.CID, snap.Commit.String())
}

// checkReplay reads the firehose from cursor 0 up to the marker commit:
// seqs strictly increase, every event seen before keeps its seq, and every
// acknowledged commit is there.
func (d *daemon) checkReplay(l *ledger, marker, head string) {
	t := d.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, d.base()+"/xrpc/com.atproto.sync.subscribeRepos?cursor=0", nil)
	if err != nil {
		t.Fatalf("subscribeRepos: %v", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(16 << 20)
	got := map[int64]string{}
	commits := map[string]bool{}
	var last int64
	for !commits[marker] {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("replay after seq %d: %v", last, err)
		}
		ev, err := decodeEvent(data)
		if err != nil {
			t.Fatalf("replay after seq %d: %v", last, err)
		}
		if ev.kind == "#info" {
			// OutdatedCursor: seqs start at the clock in ms (store.SeqFloor),
			// so 0 is below the first one even with nothing pruned.
			continue
		}
		if ev.Seq <= last {
			t.Errorf("replay: %s seq %d after %d", ev.kind, ev.Seq, last)
		}
		last = ev.Seq
		got[ev.Seq] = ev.commit()
		commits[ev.commit()] = true
	}
	for seq, want := range l.events {
		if got[seq] != want {
			t.Errorf("seq %d was %q before the restart, is %q in the replay", seq, want, got[seq])
		}
	}
	for cm := range l.commits {
		if !commits[cm] {
			t.Errorf("acknowledged commit %s is not in the replay", cm)
		}
	}
	if !commits[head] {
		t.Errorf("repo head %s is not in the replay", head)
	}
	if last <= l.lastSeq {
		t.Errorf("replay ends at seq %d, before %d seen earlier", last, l.lastSeq)
	}
	for seq, v := range got {
		l.events[seq] = v
	}
	l.lastSeq = last
}

// checkCAR verifies a repository CAR: the commit signature against key, the
// MST well formed, and a tree rebuilt from the records alone has the same
// root (the stored tree is the canonical one). It returns the blob
// reference counts of the records.
func checkCAR(t *testing.T, data []byte, did string, key repo.Verifier) (*repo.Snapshot, map[string]int) {
	t.Helper()
	snap, err := repo.ReadSnapshot(bytes.NewReader(data), did, key, car.Options{})
	if err != nil {
		t.Fatalf("getRepo CAR does not verify: %v", err)
	}
	tree := mst.New(noBlocks{})
	refs := map[string]int{}
	for _, r := range snap.Records {
		if _, err := tree.Put(r.Path, r.CID); err != nil {
			t.Fatalf("rebuild %s: %v", r.Path, err)
		}
		v, err := dagcbor.Decode(snap.Block(r.CID))
		if err != nil {
			t.Fatalf("record %s: %v", r.Path, err)
		}
		for _, b := range dagcbor.FindBlobs(v) {
			refs[b.Ref.String()]++
		}
	}
	root, err := tree.Root()
	if err != nil || root != snap.Data {
		t.Errorf("MST rebuilt from %d records has root %s (%v), the commit says %s", len(snap.Records), root, err, snap.Data)
	}
	return snap, refs
}

type noBlocks struct{}

func (noBlocks) GetBlock(c cid.CID) ([]byte, error) { return nil, mst.ErrMissingBlock }

// checkBlobRefs opens a copy of the stopped daemon's data file (so the
// daemon's own recovery still sees the file as the crash left it) and
// checks every blob hold of did against the records: the reference count
// equals the references, nothing referenced is temporary or gone, and the
// bytes are all there.
func checkBlobRefs(t *testing.T, data, did, when string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, "hearth.db"))
	if err != nil {
		t.Fatal(err)
	}
	// One scratch copy at a time: the file grows to tens of MB.
	cp := filepath.Join(data, "..", "crash-copy.db")
	if err := os.WriteFile(cp, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(cp)
	db, err := store.Open(cp, store.Options{NoSync: true})
	if err != nil {
		t.Fatalf("%s: open data file: %v", when, err)
	}
	defer db.Close()
	refs := map[cid.CID]int{}
	err = db.View(func(tx *store.Tx) error {
		r, err := tx.Repo(did)
		if err != nil {
			return err
		}
		return r.AllRecords(func(path string, c []byte) error {
			v, err := dagcbor.Decode(r.Block(c))
			if err != nil {
				return fmt.Errorf("record %s: %v", path, err)
			}
			for _, b := range dagcbor.FindBlobs(v) {
				refs[b.Ref]++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	bs := &blob.Store{DB: db}
	held, err := bs.List(did, "", "", 1<<20) // only referenced (not temporary) holds
	if err != nil {
		t.Fatal(err)
	}
	seen := map[cid.CID]bool{}
	for _, h := range held {
		seen[h.CID] = true
		if h.Owner.Refs != refs[h.CID] {
			t.Errorf("%s: blob %s counts %d references, records hold %d", when, h.CID, h.Owner.Refs, refs[h.CID])
		}
		m, err := bs.Get(did, h.CID)
		if err != nil {
			t.Errorf("%s: blob %s held but not stored: %v", when, h.CID, err)
			continue
		}
		if n, err := io.Copy(io.Discard, bs.Open(m)); err != nil || n != m.Size {
			t.Errorf("%s: blob %s reads %d of %d bytes: %v", when, h.CID, n, m.Size, err)
		}
	}
	for c, n := range refs {
		if !seen[c] {
			t.Errorf("%s: blob %s has %d references but no counted hold", when, c, n)
		}
	}
}

// crashPLC is a PLC directory stand-in that keeps the last operation per
// DID; the test reads the account's signing key from it.
type crashPLC struct {
	*httptest.Server
	mu  sync.Mutex
	ops map[string][]byte
}

func newCrashPLC(t *testing.T) *crashPLC {
	p := &crashPLC{ops: map[string][]byte{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		did, suffix, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case r.Method == "POST":
			p.ops[did], _ = io.ReadAll(r.Body)
		case suffix == "log/last" && p.ops[did] != nil:
			w.Write(p.ops[did])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *crashPLC) signingKey(t *testing.T, did string) keys.PublicKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	var op struct {
		VerificationMethods map[string]string `json:"verificationMethods"`
	}
	if err := json.Unmarshal(p.ops[did], &op); err != nil {
		t.Fatalf("PLC op of %s: %v", did, err)
	}
	k, err := keys.ParseDIDKey(op.VerificationMethods["atproto"])
	if err != nil {
		t.Fatalf("signing key of %s: %v", did, err)
	}
	return k
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
