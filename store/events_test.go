package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
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
		if err := tx.btx.Bucket(bucketEvents).SetSequence(0); err != nil {
			return err
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
