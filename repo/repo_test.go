package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/mst"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

const testDID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"

type fixture struct {
	t   testing.TB
	db  *store.DB
	w   *Writer
	key keys.PrivateKey
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := keys.GenerateK256()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, w: &Writer{Clock: syntax.NewTIDClock(7)}, key: key}
	if err := db.Update(context.Background(), func(tx *store.Tx) error {
		_, err := f.w.Create(tx, testDID, key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

func record(t testing.TB, text string) []byte {
	t.Helper()
	b, err := dagcbor.Encode(map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2024-01-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) apply(ops []Op, swap *cid.CID) (*Commit, error) {
	var c *Commit
	err := f.db.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		c, err = f.w.Apply(tx, testDID, f.key, ops, swap)
		return err
	})
	return c, err
}

// checkReachable asserts the repo bucket holds exactly the blocks reachable
// from the head: commit, MST nodes and records.
func (f *fixture) checkReachable() {
	f.t.Helper()
	err := f.db.View(func(tx *store.Tx) error {
		r, err := tx.Repo(testDID)
		if err != nil {
			return err
		}
		h, err := LoadHead(tx, testDID)
		if err != nil {
			return err
		}
		reach := map[cid.CID]bool{h.Commit: true}
		g := storeGetter{r}
		if err := mst.Load(g, h.Data).Nodes(func(b mst.Block) error { reach[b.CID] = true; return nil }); err != nil {
			return err
		}
		if err := mst.Verify(g, h.Data, func(_ string, v cid.CID) error { reach[v] = true; return nil }); err != nil {
			return err
		}
		stored := 0
		r.Blocks("", func(k []byte, _ string, _ []byte) error {
			c, _ := cid.Decode(k)
			if !reach[c] {
				return fmt.Errorf("dead block %s kept", c)
			}
			stored++
			return nil
		})
		if stored != len(reach) {
			return fmt.Errorf("%d blocks stored, %d reachable", stored, len(reach))
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestCommitSignVerify(t *testing.T) {
	k, _ := keys.GenerateK256()
	data := cid.Sum(cid.DagCBOR, []byte("x"))
	sc, b, c, err := SignCommit(testDID, data, "3jzfcijpj2z2a", k)
	if err != nil {
		t.Fatal(err)
	}
	if c != cid.Sum(cid.DagCBOR, b) {
		t.Fatal("commit CID does not match its bytes")
	}
	dec, err := DecodeCommit(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Verify(k.Public()); err != nil {
		t.Fatal(err)
	}
	other, _ := keys.GenerateK256()
	if err := dec.Verify(other.Public()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	// prev must be an explicit null.
	v, _ := dagcbor.Decode(b)
	if m := v.(map[string]any); m["prev"] != nil || m["version"] != int64(3) {
		t.Fatalf("commit fields: %v", m)
	}
	if _, ok := v.(map[string]any)["prev"]; !ok {
		t.Fatal("prev omitted")
	}
	sc.Sig[0] ^= 1
	if err := sc.Verify(k.Public()); err == nil {
		t.Fatal("tampered signature verified")
	}
	for _, bad := range []map[string]any{
		{"did": testDID, "version": int64(2), "data": data, "rev": "3jzfcijpj2z2a", "prev": nil, "sig": []byte{1}},
		{"did": testDID, "version": int64(3), "data": data, "rev": "nope", "prev": nil, "sig": []byte{1}},
		{"did": testDID, "version": int64(3), "data": data, "rev": "3jzfcijpj2z2a", "sig": []byte{1}},
		{"did": testDID, "version": int64(3), "data": data, "rev": "3jzfcijpj2z2a", "prev": nil, "sig": []byte{1}, "extra": int64(1)},
	} {
		b, _ := dagcbor.Encode(bad)
		if _, err := DecodeCommit(b); !errors.Is(err, ErrBadCommit) {
			t.Errorf("DecodeCommit(%v) = %v", bad, err)
		}
	}
}

func TestWritesAndGC(t *testing.T) {
	f := newFixture(t)
	f.checkReachable()
	var prevRev string
	for i := 0; i < 50; i++ {
		c, err := f.apply([]Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: fmt.Sprintf("k%03d", i), Record: record(t, fmt.Sprint("post ", i))}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Rev <= prevRev || c.Since == "" || !c.PrevData.Defined() {
			t.Fatalf("commit %d: rev %s since %s prevData %v", i, c.Rev, c.Since, c.PrevData)
		}
		prevRev = c.Rev
	}
	f.checkReachable()
	// Two records with the same content share a block; deleting one keeps it.
	same := record(t, "same")
	c, err := f.apply([]Op{
		{Action: Create, Collection: "app.bsky.feed.post", RKey: "dup1", Record: same},
		{Action: Create, Collection: "app.bsky.feed.post", RKey: "dup2", Record: same},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.apply([]Op{{Action: Delete, Collection: "app.bsky.feed.post", RKey: "dup1"}}, nil); err != nil {
		t.Fatal(err)
	}
	f.checkReachable()
	f.db.View(func(tx *store.Tx) error {
		if rec, err := GetRecord(tx, testDID, "app.bsky.feed.post", "dup2"); err != nil || rec.CID != c.Ops[1].CID {
			t.Fatalf("shared record lost: %v", err)
		}
		return nil
	})
	// Update and delete many, then check again.
	var ops []Op
	for i := 0; i < 50; i += 2 {
		ops = append(ops, Op{Action: Update, Collection: "app.bsky.feed.post", RKey: fmt.Sprintf("k%03d", i), Record: record(t, "changed")})
		ops = append(ops, Op{Action: Delete, Collection: "app.bsky.feed.post", RKey: fmt.Sprintf("k%03d", i+1)})
	}
	c, err = f.apply(ops, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Removed) == 0 {
		t.Fatal("no removed CIDs reported")
	}
	f.checkReachable()
}

// TestSharedRecordBlock follows one record block held by several paths
// across commits: counts above one are stored, one is implied by the block,
// and the block goes only with its last path.
func TestSharedRecordBlock(t *testing.T) {
	f := newFixture(t)
	same := record(t, "shared")
	other := record(t, "other")
	op := func(a Action, rkey string, rec []byte) Op {
		return Op{Action: a, Collection: "app.bsky.feed.post", RKey: rkey, Record: rec}
	}
	steps := []struct {
		name  string
		ops   []Op
		paths int // paths holding the shared block afterwards
	}{
		{"create one", []Op{op(Create, "a", same)}, 1},
		{"create a second in its own commit", []Op{op(Create, "b", same)}, 2},
		{"create two more in one commit", []Op{op(Create, "c", same), op(Create, "d", same)}, 4},
		{"move one away and one back", []Op{op(Update, "a", other), op(Create, "e", same)}, 4},
		{"delete one", []Op{op(Delete, "b", nil)}, 3},
		{"delete two", []Op{op(Delete, "c", nil), op(Delete, "d", nil)}, 1},
		{"swap the last to other content", []Op{op(Update, "e", other)}, 0},
		{"bring it back", []Op{op(Update, "a", same)}, 1},
	}
	var shared cid.CID
	for _, st := range steps {
		c, err := f.apply(st.ops, nil)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for _, o := range c.Ops {
			if o.Path == "app.bsky.feed.post/a" && o.CID.Defined() && !shared.Defined() {
				shared = o.CID
			}
		}
		f.checkReachable()
		f.db.View(func(tx *store.Tx) error {
			r, _ := tx.Repo(testDID)
			if n := r.Refs(shared.Bytes()); n != st.paths {
				t.Errorf("%s: Refs = %d, want %d", st.name, n, st.paths)
			}
			if has := r.Block(shared.Bytes()) != nil; has != (st.paths > 0) {
				t.Errorf("%s: block stored = %v with %d paths", st.name, has, st.paths)
			}
			return nil
		})
	}
}

func TestRejectedWritesChangeNothing(t *testing.T) {
	f := newFixture(t)
	if _, err := f.apply([]Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "a", Record: record(t, "a")}}, nil); err != nil {
		t.Fatal(err)
	}
	var before Head
	f.db.View(func(tx *store.Tx) error { before, _ = LoadHead(tx, testDID); return nil })
	wrong := cid.Sum(cid.DagCBOR, []byte("no"))
	zero := cid.CID{}
	cases := []struct {
		name string
		ops  []Op
		swap *cid.CID
		want error
	}{
		{"create existing", []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "a", Record: record(t, "b")}}, nil, ErrRecordExists},
		{"update missing", []Op{{Action: Update, Collection: "app.bsky.feed.post", RKey: "zz", Record: record(t, "b")}}, nil, ErrRecordNotFound},
		{"delete missing", []Op{{Action: Delete, Collection: "app.bsky.feed.post", RKey: "zz"}}, nil, ErrRecordNotFound},
		{"swap commit", []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "b", Record: record(t, "b")}}, &wrong, ErrSwapMismatch},
		{"swap record", []Op{{Action: Update, Collection: "app.bsky.feed.post", RKey: "a", Record: record(t, "b"), SwapRecord: &wrong}}, nil, ErrSwapMismatch},
		{"swap must not exist", []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "a", Record: record(t, "b"), SwapRecord: &zero}}, nil, ErrSwapMismatch},
		{"bad cbor", []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "c", Record: []byte{0xa1, 0x61}}}, nil, ErrInvalidOp},
		{"bad key", []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "a/b", Record: record(t, "b")}}, nil, ErrInvalidOp},
		{"twice", []Op{{Action: Create, Collection: "x.y.z", RKey: "q", Record: record(t, "b")}, {Action: Delete, Collection: "x.y.z", RKey: "q"}}, nil, ErrInvalidOp},
		{"good then bad", []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "ok", Record: record(t, "b")}, {Action: Delete, Collection: "app.bsky.feed.post", RKey: "nope"}}, nil, ErrRecordNotFound},
	}
	for _, c := range cases {
		if _, err := f.apply(c.ops, c.swap); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	f.db.View(func(tx *store.Tx) error {
		after, _ := LoadHead(tx, testDID)
		if after != before {
			t.Fatalf("head moved: %v → %v", before, after)
		}
		if _, err := GetRecord(tx, testDID, "app.bsky.feed.post", "ok"); !errors.Is(err, ErrRecordNotFound) {
			t.Fatal("a failed batch left a record behind")
		}
		return nil
	})
	f.checkReachable()
}

func TestCommitBlocksInvert(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 40; i++ {
		f.apply([]Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: fmt.Sprintf("r%02d", i), Record: record(t, fmt.Sprint(i))}}, nil)
	}
	c, err := f.apply([]Op{
		{Action: Create, Collection: "app.bsky.feed.like", RKey: "l1", Record: record(t, "like")},
		{Action: Update, Collection: "app.bsky.feed.post", RKey: "r05", Record: record(t, "edited")},
		{Action: Delete, Collection: "app.bsky.feed.post", RKey: "r17"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A relay holding only the event's blocks inverts the ops to prevData.
	var buf bytes.Buffer
	if err := WriteCommitCAR(&buf, c); err != nil {
		t.Fatal(err)
	}
	root, blocks, err := car.ReadAll(&buf, car.Options{})
	if err != nil || root != c.CID {
		t.Fatalf("event CAR: %v", err)
	}
	sc, err := DecodeCommit(blocks[c.CID])
	if err != nil || sc.Verify(f.key.Public()) != nil || sc.Data != c.Data {
		t.Fatalf("event commit: %v", err)
	}
	tr := mst.Load(mapGetter(blocks), c.Data)
	for i := len(c.Ops) - 1; i >= 0; i-- {
		op := c.Ops[i]
		var err error
		switch op.Action {
		case Create:
			_, err = tr.Delete(op.Path)
		case Update, Delete:
			_, err = tr.Put(op.Path, op.Prev)
		}
		if err != nil {
			t.Fatalf("invert %s %s: %v", op.Action, op.Path, err)
		}
	}
	if got, err := tr.Root(); err != nil || got != c.PrevData {
		t.Fatalf("inverted to %s (%v), want prevData %s", got, err, c.PrevData)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 30; i++ {
		f.apply([]Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: fmt.Sprintf("r%02d", i), Record: record(t, fmt.Sprint(i))}}, nil)
	}
	var buf bytes.Buffer
	var head Head
	f.db.View(func(tx *store.Tx) error {
		head, _ = LoadHead(tx, testDID)
		return ExportCAR(tx, &buf, testDID, "")
	})
	snap, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), testDID, f.key.Public(), car.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Commit != head.Commit || len(snap.Records) != 30 {
		t.Fatalf("snapshot %s with %d records", snap.Commit, len(snap.Records))
	}
	other := newFixture(t)
	if err := other.db.Update(context.Background(), func(tx *store.Tx) error { return Import(tx, snap) }); !errors.Is(err, ErrRepoExists) {
		t.Fatalf("import over an existing repo: %v", err)
	}
	const did2 = testDID
	other2, _ := store.Open(filepath.Join(t.TempDir(), "h2.db"), store.Options{NoSync: true})
	defer other2.Close()
	if err := other2.Update(context.Background(), func(tx *store.Tx) error { return Import(tx, snap) }); err != nil {
		t.Fatal(err)
	}
	w := &Writer{Clock: syntax.NewTIDClock(1)}
	other2.Update(context.Background(), func(tx *store.Tx) error {
		c, err := w.Apply(tx, did2, f.key, []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "new", Record: record(t, "n")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Since != snap.Rev || c.Rev <= snap.Rev {
			t.Fatalf("rev after import %s since %s", c.Rev, c.Since)
		}
		return nil
	})
	// Refusals.
	if _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", f.key.Public(), car.Options{}); !errors.Is(err, ErrBadCAR) {
		t.Fatalf("wrong did: %v", err)
	}
	wrongKey, _ := keys.GenerateK256()
	if _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), testDID, wrongKey.Public(), car.Options{}); !errors.Is(err, ErrBadCAR) {
		t.Fatalf("wrong key: %v", err)
	}
	// Drop one record block.
	_, blocks, _ := car.ReadAll(bytes.NewReader(buf.Bytes()), car.Options{})
	var cut bytes.Buffer
	cw, _ := car.NewWriter(&cut, head.Commit)
	dropped := false
	for c, b := range blocks {
		if !dropped && c != head.Commit && c.Codec() == cid.DagCBOR && isRecord(b) {
			dropped = true
			continue
		}
		cw.WriteBlock(c, b)
	}
	cw.Flush()
	if _, err := ReadSnapshot(&cut, testDID, f.key.Public(), car.Options{}); !errors.Is(err, ErrBadCAR) {
		t.Fatalf("missing record block: %v", err)
	}
	// Export since a rev gives only later blocks.
	var since bytes.Buffer
	f.apply([]Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "late", Record: record(t, "late")}}, nil)
	f.db.View(func(tx *store.Tx) error { return ExportCAR(tx, &since, testDID, head.Rev) })
	_, sb, err := car.ReadAll(&since, car.Options{})
	if err != nil || len(sb) == 0 || len(sb) >= len(blocks) {
		t.Fatalf("since export: %d blocks (full %d), %v", len(sb), len(blocks), err)
	}
}

func isRecord(b []byte) bool {
	v, err := dagcbor.Decode(b)
	if err != nil {
		return false
	}
	m, ok := v.(map[string]any)
	return ok && m["$type"] != nil
}

func TestRecordProof(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 30; i++ {
		f.apply([]Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: fmt.Sprintf("r%02d", i), Record: record(t, fmt.Sprint(i))}}, nil)
	}
	for _, rkey := range []string{"r07", "absent"} {
		var buf bytes.Buffer
		if err := f.db.View(func(tx *store.Tx) error { return ExportRecordProof(tx, &buf, testDID, "app.bsky.feed.post", rkey) }); err != nil {
			t.Fatal(err)
		}
		root, blocks, err := car.ReadAll(&buf, car.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := DecodeCommit(blocks[root])
		if err != nil || sc.Verify(f.key.Public()) != nil {
			t.Fatalf("proof commit: %v", err)
		}
		v, err := mst.Load(mapGetter(blocks), sc.Data).Get("app.bsky.feed.post/" + rkey)
		if rkey == "absent" {
			if !errors.Is(err, mst.ErrNotFound) {
				t.Fatalf("absence proof: %v", err)
			}
			continue
		}
		if err != nil || blocks[v] == nil {
			t.Fatalf("inclusion proof: %v", err)
		}
	}
}

func BenchmarkCreateRecord(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("fsync=%v", sync), func(b *testing.B) {
			db, _ := store.Open(filepath.Join(b.TempDir(), "h.db"), store.Options{NoSync: !sync})
			defer db.Close()
			key, _ := keys.GenerateK256()
			w := &Writer{Clock: syntax.NewTIDClock(1)}
			db.Update(context.Background(), func(tx *store.Tx) error { _, err := w.Create(tx, testDID, key); return err })
			rec := record(b, "hello world")
			i := 0
			for b.Loop() {
				i++
				err := db.Update(context.Background(), func(tx *store.Tx) error {
					_, err := w.Apply(tx, testDID, key, []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: string(w.Clock.Next()), Record: rec}}, nil)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestIdenticalUpdateMakesNoCommit(t *testing.T) {
	f := newFixture(t)
	first, err := f.apply([]Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "a", Record: record(t, "a")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.apply([]Op{{Action: Update, Collection: "app.bsky.feed.post", RKey: "a", Record: record(t, "a")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Unchanged || c.CID != first.CID || c.Rev != first.Rev || len(c.Blocks) != 0 {
		t.Fatalf("identical update: unchanged=%v commit %s@%s blocks %d; want the head %s@%s", c.Unchanged, c.CID, c.Rev, len(c.Blocks), first.CID, first.Rev)
	}
	if len(c.Ops) != 1 || c.Ops[0].CID != first.Ops[0].CID {
		t.Fatalf("identical update ops: %+v", c.Ops)
	}
	f.db.View(func(tx *store.Tx) error {
		if h, _ := LoadHead(tx, testDID); h.Commit != first.CID || h.Rev != first.Rev {
			t.Fatalf("head moved to %s@%s", h.Commit, h.Rev)
		}
		return nil
	})
	f.checkReachable()
	// A real change still commits.
	if c, err := f.apply([]Op{{Action: Update, Collection: "app.bsky.feed.post", RKey: "a", Record: record(t, "b")}}, nil); err != nil || c.Unchanged || c.CID == first.CID {
		t.Fatalf("changed update: %v, unchanged=%v", err, c != nil && c.Unchanged)
	}
}

// The Writer remembers the data root of each commit it signs, so a write
// does not decode its head again; the memo must agree with the stored
// head after a rolled-back write, and a Writer that never saw the head
// (after a restart, or an import) decodes it.
func TestWriterRemembersDataRoots(t *testing.T) {
	f := newFixture(t)
	post := func(w *Writer, rkey string, fail bool) (*Commit, error) {
		var c *Commit
		err := f.db.Update(context.Background(), func(tx *store.Tx) error {
			var err error
			c, err = w.Apply(tx, testDID, f.key, []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: rkey, Record: record(t, rkey)}}, nil)
			if err == nil && fail {
				err = errors.New("roll back")
			}
			return err
		})
		return c, err
	}
	first, err := post(f.w, "a", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.w.roots[first.CID]; got != first.Data {
		t.Fatalf("remembered root %v for the new head, want %v", got, first.Data)
	}
	if _, err := post(f.w, "b", true); err == nil {
		t.Fatal("the rolled-back write succeeded")
	}
	for _, tc := range []struct {
		name, rkey string
		w          *Writer
	}{
		{"same writer, after a rollback", "c1", f.w},
		{"a writer that never saw the head", "c2", &Writer{Clock: syntax.NewTIDClock(9)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := post(tc.w, tc.rkey, false)
			if err != nil {
				t.Fatal(err)
			}
			if c.PrevData != first.Data {
				t.Fatalf("prevData %v, want the stored head's %v", c.PrevData, first.Data)
			}
			first = c
		})
	}
	f.checkReachable()
	w := &Writer{}
	for i := range maxRoots + 10 {
		w.remember(cid.Sum(cid.Raw, []byte(fmt.Sprint(i))), cid.CID{})
	}
	if len(w.roots) > maxRoots {
		t.Fatalf("%d roots remembered, want at most %d", len(w.roots), maxRoots)
	}
}
