package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// enqueue queues one mail per recipient in a single transaction and
// returns the ids given.
func enqueue(t *testing.T, db *DB, did string, to ...string) []uint64 {
	t.Helper()
	var ids []uint64
	err := db.Update(context.Background(), func(tx *Tx) error {
		ids = ids[:0]
		for _, addr := range to {
			m := &Mail{DID: did, To: addr, Subject: "s", Text: "t", Kind: "notice", Created: time.Now()}
			if err := tx.EnqueueMail(m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// outbox lists the recipients queued, in outbox order.
func outbox(t *testing.T, db *DB) []string {
	t.Helper()
	var got []string
	err := db.View(func(tx *Tx) error {
		if err := tx.Outbox(func(m *Mail) error { got = append(got, m.To); return nil }); err != nil {
			return err
		}
		if n := tx.OutboxLen(); n != len(got) {
			t.Errorf("OutboxLen = %d, listed %d", n, len(got))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestOutbox(t *testing.T) {
	tests := []struct {
		name   string
		change func(tx *Tx, ids []uint64) error
		want   []string
	}{
		{"queued order", func(*Tx, []uint64) error { return nil }, []string{"a1", "b1", "a2", "c1"}},
		{"delete one", func(tx *Tx, ids []uint64) error { return tx.DeleteMail(ids[1]) }, []string{"a1", "a2", "c1"}},
		{"delete missing is fine", func(tx *Tx, ids []uint64) error { return tx.DeleteMail(999) }, []string{"a1", "b1", "a2", "c1"}},
		{"delete mail of an account", func(tx *Tx, ids []uint64) error { return tx.DeleteMailOf("did:plc:a") }, []string{"b1", "c1"}},
		{"delete mail of nobody", func(tx *Tx, ids []uint64) error { return tx.DeleteMailOf("did:plc:z") }, []string{"a1", "b1", "a2", "c1"}},
		{"put keeps the place", func(tx *Tx, ids []uint64) error {
			return tx.PutMail(&Mail{ID: ids[0], DID: "did:plc:a", To: "a1'", Attempts: 1})
		}, []string{"a1'", "b1", "a2", "c1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, Options{NoSync: true})
			ids := enqueue(t, db, "did:plc:a", "a1")
			ids = append(ids, enqueue(t, db, "did:plc:b", "b1")...)
			ids = append(ids, enqueue(t, db, "did:plc:a", "a2")...)
			ids = append(ids, enqueue(t, db, "", "c1")...)
			if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Fatalf("ids %v: want increasing", ids)
			}
			if err := db.Update(context.Background(), func(tx *Tx) error { return tc.change(tx, ids) }); err != nil {
				t.Fatal(err)
			}
			if got := outbox(t, db); !slices.Equal(got, tc.want) {
				t.Fatalf("outbox %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPutMailRefusesDeleted(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	id := enqueue(t, db, "did:plc:a", "a")[0]
	err := db.Update(context.Background(), func(tx *Tx) error {
		if err := tx.DeleteMailOf("did:plc:a"); err != nil {
			return err
		}
		return tx.PutMail(&Mail{ID: id, To: "a", Attempts: 1})
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutMail after delete: %v, want ErrNotFound", err)
	}
}

func TestOutboxStop(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	enqueue(t, db, "", "a", "b", "c")
	var seen int
	err := db.View(func(tx *Tx) error {
		return tx.Outbox(func(*Mail) error { seen++; return ErrStop })
	})
	if err != nil || seen != 1 {
		t.Fatalf("Outbox with ErrStop: err=%v seen=%d, want nil and 1", err, seen)
	}
}

func TestOutboxSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := enqueue(t, db, "did:plc:a", "a", "b")
	db.Close()
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := outbox(t, db); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after reopen: %v", got)
	}
	// Ids keep growing across a restart, so order stays queue order.
	if next := enqueue(t, db, "", "c")[0]; next <= first[1] {
		t.Fatalf("id after reopen %d ≤ %d", next, first[1])
	}
}
