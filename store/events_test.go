package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func appendN(t *testing.T, db *DB, did string, at time.Time, n int) []int64 {
	t.Helper()
	var seqs []int64
	for i := 0; i < n; i++ {
		err := db.Update(context.Background(), func(tx *Tx) error {
			seq, err := tx.AppendEvent(did, at, func(seq int64) ([]byte, error) { return []byte(fmt.Sprint(seq)), nil })
			seqs = append(seqs, seq)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return seqs
}

func TestSeqSurvivesRestartAndRestore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	// Before Open, which floors the counter at the clock: under the race
	// detector the two can be milliseconds apart.
	start := time.Now().UnixMilli()
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	seqs := appendN(t, db, "did:plc:a", time.Now(), 3)
	if seqs[0] < start || seqs[1] != seqs[0]+1 || seqs[2] != seqs[1]+1 {
		t.Fatalf("seqs %v: want dense numbers seeded from the clock (≥ %d)", seqs, start)
	}
	db.Close()
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	next := appendN(t, db, "did:plc:a", time.Now(), 1)[0]
	if next <= seqs[2] {
		t.Fatalf("after restart seq %d ≤ %d", next, seqs[2])
	}
	// A restored backup holds an older counter; the floor lifts it.
	db.Update(context.Background(), func(tx *Tx) error {
		tx.DeleteMeta(keySeq)
		if err := tx.btx.Bucket(bucketLastSeq).SetSequence(5); err != nil {
			return err
		}
		return tx.btx.Bucket(bucketEvents).SetSequence(5)
	})
	db.Update(context.Background(), func(tx *Tx) error { return tx.SeqFloor(time.Now().UnixMilli()) })
	if again := appendN(t, db, "did:plc:a", time.Now(), 1)[0]; again < start {
		t.Fatalf("seq went back to %d", again)
	}
}

func TestEventsReplayPruneAndDelete(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	old := time.Now().Add(-100 * time.Hour)
	a := appendN(t, db, "did:plc:a", old, 3)
	b := appendN(t, db, "did:plc:b", old, 2)
	c := appendN(t, db, "did:plc:a", time.Now(), 2)
	var got []int64
	db.View(func(tx *Tx) error {
		return tx.Events(a[1], func(ev Event) error {
			if string(ev.Frame) != fmt.Sprint(ev.Seq) {
				t.Fatalf("frame %q for seq %d", ev.Frame, ev.Seq)
			}
			got = append(got, ev.Seq)
			return nil
		})
	})
	if len(got) != 5 || got[0] != a[2] {
		t.Fatalf("replay after %d: %v", a[1], got)
	}
	n, err := db.PruneEvents(context.Background(), time.Now().Add(-72*time.Hour), 2)
	if err != nil || n != 5 {
		t.Fatalf("pruned %d, %v; want 5", n, err)
	}
	db.View(func(tx *Tx) error {
		if tx.FirstSeq() != c[0] {
			t.Fatalf("first seq %d, want %d (b=%v)", tx.FirstSeq(), c[0], b)
		}
		return nil
	})
	db.Update(context.Background(), func(tx *Tx) error { return tx.DeleteEventsOf("did:plc:a", c[1]) })
	db.View(func(tx *Tx) error {
		if tx.FirstSeq() != c[1] || tx.LastSeq() != c[1] {
			t.Fatalf("after delete: first %d last %d", tx.FirstSeq(), tx.LastSeq())
		}
		return nil
	})
}

// A file from before the counter moved to the events bucket keeps it in
// meta; numbering goes on from there, and no event writes meta again.
func TestSeqGoesOnFromMeta(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	const old = int64(1) << 50 // above the floor Open set from the clock
	err := db.Update(context.Background(), func(tx *Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketLastSeq} {
			if err := tx.btx.Bucket(b).SetSequence(0); err != nil {
				return err
			}
		}
		return tx.SetMeta(keySeq, seqKey(old))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := appendN(t, db, "did:plc:a", time.Now(), 2); got[0] != old+1 || got[1] != old+2 {
		t.Fatalf("seqs %v, want %d and %d", got, old+1, old+2)
	}
	db.View(func(tx *Tx) error {
		if v := tx.Meta(keySeq); !bytes.Equal(v, seqKey(old)) {
			t.Errorf("meta seq %x, want it untouched at %x", v, seqKey(old))
		}
		if last := tx.LastSeq(); last != old+2 {
			t.Errorf("LastSeq %d, want %d", last, old+2)
		}
		return nil
	})
}

// TestEventsGoThroughTheJournal: appending an event leaves the events
// bucket's pages alone until the journal's replay moves it there, and
// readers see the bucket and the journal as one log, in order.
func TestEventsGoThroughTheJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var filled []int64
	root := func() (r uint64) {
		db.View(func(tx *Tx) error { r = uint64(tx.btx.Bucket(bucketEvents).Root()); return nil })
		return r
	}
	seqs := func(after int64) (got []int64) {
		t.Helper()
		err := db.View(func(tx *Tx) error {
			return tx.Events(after, func(ev Event) error {
				if ev.Seq < filled[0] {
					return nil // the padding
				}
				if string(ev.Frame) != fmt.Sprint(ev.Seq) || ev.DID != "did:plc:a" {
					t.Fatalf("event %d: frame %q, did %q", ev.Seq, ev.Frame, ev.DID)
				}
				got = append(got, ev.Seq)
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// Events replayed into the bucket, and one big enough that the bucket
	// is no longer inline in the root page.
	err = db.Update(context.Background(), func(tx *Tx) error {
		for range 3 {
			seq, err := tx.AppendEvent("did:plc:a", time.Now(), func(seq int64) ([]byte, error) {
				return []byte(fmt.Sprint(seq)), nil
			})
			if err != nil {
				return err
			}
			filled = append(filled, seq)
		}
		return tx.flushJournal()
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx *Tx) error {
		return tx.btx.Bucket(bucketEvents).Put(seqKey(filled[0]-1), eventRecord("did:plc:a", append(make([]byte, 8), make([]byte, 3000)...)))
	})
	if err != nil {
		t.Fatal(err)
	}
	before := root()
	if before == 0 {
		t.Fatal("the events bucket is still inline")
	}
	first := appendN(t, db, "did:plc:a", time.Now(), 3)
	if r := root(); r != before {
		t.Fatalf("the events bucket's root moved from page %d to %d", before, r)
	}
	db.View(func(tx *Tx) error {
		if tx.FirstSeq() != filled[0]-1 || tx.LastSeq() != first[2] {
			t.Errorf("first %d last %d, want %d and %d", tx.FirstSeq(), tx.LastSeq(), filled[0]-1, first[2])
		}
		return nil
	})
	if got := seqs(first[0]); !slices.Equal(got, first[1:]) {
		t.Fatalf("from the journal after %d: %v, want %v", first[0], got, first[1:])
	}
	// A write sees its own event, and stops when told to.
	db.Update(context.Background(), func(tx *Tx) error {
		seq, err := tx.AppendEvent("did:plc:a", time.Now(), func(seq int64) ([]byte, error) { return []byte(fmt.Sprint(seq)), nil })
		if err != nil {
			return err
		}
		var got []int64
		tx.Events(first[2], func(ev Event) error { got = append(got, ev.Seq); return ErrStop })
		if len(got) != 1 || got[0] != seq {
			t.Errorf("in the write: %v, want [%d]", got, seq)
		}
		first = append(first, seq)
		return tx.flushJournal()
	})
	if root() == before {
		t.Fatal("the replay left the events bucket as it was")
	}
	rest := appendN(t, db, "did:plc:a", time.Now(), 2)
	all := append(slices.Clone(first), rest...)
	all = append(filled, all...)
	if got := seqs(0); !slices.Equal(got, all) {
		t.Fatalf("bucket then journal: %v, want %v", got, all)
	}
	// Open replays what the journal holds: the same log, the same head.
	db.Close()
	if db, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := seqs(0); !slices.Equal(got, all) {
		t.Fatalf("after reopening: %v, want %v", got, all)
	}
	db.View(func(tx *Tx) error {
		// Open floors the counter at the clock, which may have passed it.
		if tx.LastSeq() < all[len(all)-1] {
			t.Errorf("after reopening LastSeq %d, below the last event %d", tx.LastSeq(), all[len(all)-1])
		}
		return nil
	})
}

// The commit handlers of a transaction that appended several events see
// the last of them in db.LastSeq, and a rolled-back one leaves it alone.
func TestLastSeqIsCommittedBeforeHandlers(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	before := db.LastSeq()
	var last int64
	seen := map[int64]int64{}
	err := db.Update(context.Background(), func(tx *Tx) error {
		for i := 0; i < 5; i++ {
			seq, err := tx.AppendEvent("did:plc:a", time.Now(), func(seq int64) ([]byte, error) { return []byte("x"), nil })
			if err != nil {
				return err
			}
			last = seq
			tx.OnCommit(func() { seen[seq] = db.LastSeq() })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != before+5 || db.LastSeq() != last {
		t.Fatalf("LastSeq %d after appending %d..%d", db.LastSeq(), before+1, last)
	}
	for seq, got := range seen {
		if got != last {
			t.Errorf("the handler of event %d saw LastSeq %d, want %d", seq, got, last)
		}
	}
	db.Update(context.Background(), func(tx *Tx) error {
		tx.AppendEvent("did:plc:a", time.Now(), func(seq int64) ([]byte, error) { return []byte("x"), nil })
		return fmt.Errorf("rolled back")
	})
	if db.LastSeq() != last {
		t.Fatalf("a rolled-back append moved LastSeq to %d", db.LastSeq())
	}
}
