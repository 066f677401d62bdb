package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// model is what a repository's blocks should be: cid → rev ‖ data.
type model map[string]string

func testRev(i int) string { return fmt.Sprintf("3l%011d", i) }

func testCID(i int) []byte {
	return append([]byte{1, 0x71, 0x12, 0x20}, bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 16)...)
}

// checkBlocks compares every way of reading did's blocks in tx with m.
func checkBlocks(tx *Tx, did string, m model, universe int) error {
	r, err := tx.Repo(did)
	if err != nil {
		return err
	}
	for i := range universe {
		c := testCID(i)
		want, ok := m[string(c)]
		got := r.Block(c)
		if ok != (got != nil) || ok && (string(got) != want[RevSize:] || r.BlockRev(c) != want[:RevSize]) {
			return fmt.Errorf("block %d: got %q (rev %q), want %q (present %v)", i, got, r.BlockRev(c), want, ok)
		}
		if r.HasBlock(c) != ok || (r.Refs(c) == 1) != ok {
			return fmt.Errorf("block %d: HasBlock %v, Refs %d; want present %v", i, r.HasBlock(c), r.Refs(c), ok)
		}
	}
	for _, since := range []string{"", testRev(3)} {
		var got, want []string
		err := r.Blocks(since, func(cid []byte, rev string, data []byte) error {
			got = append(got, string(cid)+rev+string(data))
			return nil
		})
		if err != nil {
			return err
		}
		for c, v := range m {
			if since == "" || v[:RevSize] > since {
				want = append(want, c+v)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return fmt.Errorf("Blocks(%q): %d blocks, want %d (or out of order)", since, len(got), len(want))
		}
	}
	if n, _, _ := r.Stats(); n != len(m) {
		return fmt.Errorf("Stats: %d blocks, want %d", n, len(m))
	}
	return nil
}

// TestJournalMatchesModel runs random puts, deletes and puts again
// through the journal, in commits of a few ops with replays between some,
// and reads the blocks back every way, in the write and in a read.
func TestJournalMatchesModel(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	dids := []string{"did:plc:aaaa", "did:plc:bbbb"}
	models := map[string]model{}
	err := db.Update(ctx, func(tx *Tx) error {
		for _, did := range dids {
			models[did] = model{}
			if _, err := tx.CreateRepo(did); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const universe = 40
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 300 {
		did := dids[rng.IntN(len(dids))]
		m := models[did]
		next := cloneModel(m)
		err := db.Update(ctx, func(tx *Tx) error {
			r, err := tx.Repo(did)
			if err != nil {
				return err
			}
			r.Journal()
			for range 1 + rng.IntN(6) {
				i := rng.IntN(universe)
				c := testCID(i)
				if rng.IntN(3) == 0 {
					if err := r.DeleteBlock(c); err != nil {
						return err
					}
					delete(next, string(c))
					continue
				}
				data := fmt.Sprintf("block %d", i)
				if err := r.PutBlock(c, testRev(step), []byte(data)); err != nil {
					return err
				}
				if _, ok := next[string(c)]; !ok {
					next[string(c)] = testRev(step) + data
				}
			}
			if err := checkBlocks(tx, did, next, universe); err != nil {
				return fmt.Errorf("in the write: %w", err)
			}
			if step%37 == 36 {
				return tx.flushJournal()
			}
			return nil
		})
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		models[did] = next
		err = db.View(func(tx *Tx) error {
			for _, d := range dids {
				if err := checkBlocks(tx, d, models[d], universe); err != nil {
					return fmt.Errorf("%s: %w", d, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("step %d, in a read: %v", step, err)
		}
	}
	// A file opened outside Open (a backup) reads through the journal too.
	snap := filepath.Join(t.TempDir(), "snap.db")
	if err := db.Bolt().View(func(btx *bolt.Tx) error { return btx.CopyFile(snap, 0o600) }); err != nil {
		t.Fatal(err)
	}
	if journalLen(t, snap) == 0 {
		t.Fatal("the snapshot has no journal to read through")
	}
	bdb, err := bolt.Open(snap, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = ViewBolt(bdb, func(tx *Tx) error {
		for _, d := range dids {
			if err := checkBlocks(tx, d, models[d], universe); err != nil {
				return fmt.Errorf("%s: %w", d, err)
			}
		}
		return nil
	})
	bdb.Close()
	if err != nil {
		t.Fatalf("read-only snapshot: %v", err)
	}
	// Opening it replays the journal, as after a crash; so does Close.
	db2, err := Open(snap, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db2.Close(); err != nil {
		t.Fatal(err)
	}
	if n := journalLen(t, snap); n != 0 {
		t.Fatalf("the journal holds %d ops after Open and Close", n)
	}
	bdb, err = bolt.Open(snap, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = ViewBolt(bdb, func(tx *Tx) error {
		for _, d := range dids {
			r, _ := tx.Repo(d)
			for c, want := range models[d] {
				if got := r.blocks.Get([]byte(c)); string(got) != want {
					return fmt.Errorf("%s: blocks bucket has %q for %x, want %q", d, got, c, want)
				}
			}
			if n := r.blocks.Stats().KeyN; n != len(models[d]) {
				return fmt.Errorf("%s: blocks bucket holds %d blocks, want %d", d, n, len(models[d]))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func cloneModel(m model) model {
	out := make(model, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// journalLen counts the ops in the journal of the file at path.
func journalLen(t *testing.T, path string) int {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	n := 0
	bdb.View(func(tx *bolt.Tx) error {
		if j := tx.Bucket(bucketJournal); j != nil {
			n = j.Stats().KeyN
		}
		return nil
	})
	return n
}

// TestJournalReaderKeepsItsSnapshot holds a read open on a block only the
// journal has while later commits delete it and replay the journal.
func TestJournalReaderKeepsItsSnapshot(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	did := "did:plc:reader"
	c := testCID(7)
	write := func(fn func(r *Repo) error, flush bool) {
		t.Helper()
		err := db.Update(ctx, func(tx *Tx) error {
			r, err := tx.Repo(did)
			if errors.Is(err, ErrNotFound) {
				r, err = tx.CreateRepo(did)
			}
			if err != nil {
				return err
			}
			if err := fn(r.Journal()); err != nil {
				return err
			}
			if flush {
				return tx.flushJournal()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	write(func(r *Repo) error { return r.PutBlock(c, testRev(1), []byte("kept by the snapshot")) }, false)
	read := holdRead(db, did, c)
	write(func(r *Repo) error { return r.DeleteBlock(c) }, false)
	write(func(r *Repo) error { return r.PutBlock(testCID(8), testRev(2), []byte("other")) }, true)
	if got, err := read(); err != nil || got != "kept by the snapshot" {
		t.Fatalf("the snapshot's block reads %q (%v)", got, err)
	}
	if db.pending.scans.Load() == 0 {
		t.Fatal("the old read found its block without its snapshot's journal")
	}
	// A read that starts now finds pending exact for it: its misses cost
	// no scan of the journal (a getBlocks of unknown CIDs stays cheap).
	write(func(r *Repo) error { return r.PutBlock(testCID(9), testRev(3), []byte("journaled")) }, false)
	scans := db.pending.scans.Load()
	err := db.View(func(tx *Tx) error {
		r, _ := tx.Repo(did)
		if r.HasBlock(c) {
			return errors.New("a new read still finds the deleted block")
		}
		for i := 100; i < 150; i++ {
			if r.HasBlock(testCID(i)) {
				return fmt.Errorf("block %d was never stored", i)
			}
		}
		if !r.HasBlock(testCID(9)) || !r.HasBlock(testCID(8)) {
			return errors.New("a new read misses a stored block")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := db.pending.scans.Load() - scans; n != 0 {
		t.Fatalf("a read as new as pending scanned the journal %d times", n)
	}
}

// TestJournalRollbackAndDeleteRepo: a failed commit's ops are nowhere,
// and a repository created again under a deleted one's DID starts empty.
func TestJournalRollbackAndDeleteRepo(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	did := "did:plc:again"
	refuse := errors.New("refused")
	err := db.Update(ctx, func(tx *Tx) error {
		r, err := tx.CreateRepo(did)
		if err != nil {
			return err
		}
		return r.Journal().PutBlock(testCID(1), testRev(1), []byte("one"))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx *Tx) error {
		r, _ := tx.Repo(did)
		r.Journal()
		if err := r.PutBlock(testCID(2), testRev(2), []byte("two")); err != nil {
			return err
		}
		if err := r.DeleteBlock(testCID(1)); err != nil {
			return err
		}
		return refuse
	})
	if !errors.Is(err, refuse) {
		t.Fatalf("got %v, want the refusal", err)
	}
	check := func(want model) {
		t.Helper()
		for _, fn := range []func(func(*Tx) error) error{db.View, func(fn func(*Tx) error) error { return db.Update(ctx, fn) }} {
			if err := fn(func(tx *Tx) error { return checkBlocks(tx, did, want, 4) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	check(model{string(testCID(1)): testRev(1) + "one"})
	err = db.Update(ctx, func(tx *Tx) error {
		if err := tx.DeleteRepo(did); err != nil {
			return err
		}
		_, err := tx.CreateRepo(did)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check(model{})
}

func TestDecodeJournal(t *testing.T) {
	c := testCID(3)
	tests := []struct {
		name string
		rec  []byte
		ok   bool
	}{
		{"put", appendJournal(nil, opPut, "did:plc:x", c, []byte(testRev(1)+"data")), true},
		{"delete", appendJournal(nil, opDelete, "did:plc:x", c, nil), true},
		{"empty", nil, false},
		{"unknown op", appendJournal(nil, 9, "did:plc:x", c, nil), false},
		{"put without rev", appendJournal(nil, opPut, "did:plc:x", c, []byte("short")), false},
		{"delete with value", appendJournal(nil, opDelete, "did:plc:x", c, []byte("x")), false},
		{"no did", appendJournal(nil, opDelete, "", c, nil), false},
		{"truncated", appendJournal(nil, opDelete, "did:plc:x", c, nil)[:12], false},
		{"length past the end", []byte{opDelete, 0xff, 0x01, 'd'}, false},
		{"length not minimal", []byte{opDelete, 0x81, 0x00, 'd', 1, 'c'}, false},
		{"event", appendJournal(nil, opEvent, "did:plc:x", seqKey(7), []byte("12345678frame")), true},
		{"event without time", appendJournal(nil, opEvent, "did:plc:x", seqKey(7), []byte("1234567")), false},
		{"event seq not 8 bytes", appendJournal(nil, opEvent, "did:plc:x", c, []byte("12345678frame")), false},
	}
	for _, tt := range tests {
		op, did, cid, value, err := decodeJournal(tt.rec)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
			continue
		}
		if tt.ok && (did != "did:plc:x" || op != opEvent && !bytes.Equal(cid, c) || !bytes.Equal(appendJournal(nil, op, did, cid, value), tt.rec)) {
			t.Errorf("%s: decoded %d %q %x %q, which does not encode back", tt.name, op, did, cid, value)
		}
	}
}

// FuzzDecodeJournal: a journal comes from the data file, which a restore
// takes from an uploaded backup; no record may crash the decoder, and what
// it accepts encodes back to the same bytes.
func FuzzDecodeJournal(f *testing.F) {
	f.Add(appendJournal(nil, opPut, "did:plc:x", testCID(1), []byte(testRev(1)+"data")))
	f.Add(appendJournal(nil, opDelete, "did:web:example.com", testCID(2), nil))
	f.Add(appendJournal(nil, opEvent, "did:plc:x", seqKey(3), []byte("12345678frame")))
	f.Fuzz(func(t *testing.T, rec []byte) {
		op, did, cid, value, err := decodeJournal(rec)
		if err != nil {
			return
		}
		if back := appendJournal(nil, op, did, cid, value); !bytes.Equal(back, rec) {
			t.Fatalf("%x decodes to a record that encodes as %x", rec, back)
		}
	})
}

// TestJournalReaderAcrossReplay holds a read open on a block only the
// journal has while a commit that changes nothing else replays it.
func TestJournalReaderAcrossReplay(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	did, c := "did:plc:replay", testCID(5)
	err := db.Update(ctx, func(tx *Tx) error {
		r, err := tx.CreateRepo(did)
		if err != nil {
			return err
		}
		return r.Journal().PutBlock(c, testRev(1), []byte("in the journal"))
	})
	if err != nil {
		t.Fatal(err)
	}
	read := holdRead(db, did, c)
	if err := db.Update(ctx, func(tx *Tx) error { return tx.flushJournal() }); err != nil {
		t.Fatal(err)
	}
	if got, err := read(); err != nil || got != "in the journal" {
		t.Fatalf("after the replay the snapshot's block reads %q (%v)", got, err)
	}
}

// holdRead opens a read of did and returns once it is open; calling the
// returned function reads block c in that read and ends it.
func holdRead(db *DB, did string, c []byte) func() (string, error) {
	opened, release := make(chan struct{}), make(chan struct{})
	var got string
	done := make(chan error)
	go func() {
		done <- db.View(func(tx *Tx) error {
			r, err := tx.Repo(did)
			close(opened)
			if err != nil {
				return err
			}
			<-release
			got = string(r.Block(c))
			return nil
		})
	}()
	<-opened
	return func() (string, error) {
		close(release)
		err := <-done
		return got, err
	}
}
