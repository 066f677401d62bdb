package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// verify checks the restarted daemon against everything acknowledged.
func (d *crashed) verify(did, token string, key repo.Verifier, l *ledger, fresh *batch, rng *rand.Rand) {
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
func (d *crashed) checkReplay(l *ledger, marker, head string) {
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
