package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := Open(good, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	other := filepath.Join(dir, "other.db")
	bdb, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	badJournal := filepath.Join(dir, "journal.db")
	db, err = Open(badJournal, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	bdb, err = bolt.Open(badJournal, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketJournal).Put(seqKey(1), []byte{9, 9, 9}) })
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(badJournal, Options{NoSync: true}); !errors.Is(err, errJournal) {
		t.Fatalf("Open of a file with a bad journal: %v, want %v", err, errJournal)
	}
	if n := journalLen(t, badJournal); n != 1 {
		t.Fatalf("the refused Open changed the journal: %d entries, want the 1 it had", n)
	}
	text := filepath.Join(dir, "text.db")
	os.WriteFile(text, []byte("not a database at all, just some words in a file"), 0o600)
	tests := []struct {
		name, path string
		want       error
	}{
		{"hearth file", good, nil},
		{"other bbolt file", other, ErrNotHearth},
		{"unreadable journal", badJournal, errJournal},
		{"text", text, nil},
		{"missing", filepath.Join(dir, "none.db"), nil},
	}
	for _, tt := range tests {
		err := Verify(tt.path)
		switch {
		case tt.path == good && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		case tt.path != good && err == nil:
			t.Errorf("%s: accepted", tt.name)
		}
	}
}
