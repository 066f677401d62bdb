package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotHearth means a file is a bbolt file but not one of Hearth's.
var ErrNotHearth = errors.New("store: not a Hearth data file")

// Verify checks that the file at path is a sound bbolt file holding
// Hearth's core buckets (meta, accounts, repos, events), as a backup must
// be before it replaces the live file. It opens the file read-only and
// walks every page, so it costs a full read of the file.
func Verify(path string) error {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("store: verify %s: %w", path, err)
	}
	defer bdb.Close()
	return bdb.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketAccounts, bucketRepos, bucketEvents} {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: %s has no %q bucket", ErrNotHearth, path, name)
			}
		}
		for err := range tx.Check() {
			return fmt.Errorf("store: verify %s: %w", path, err)
		}
		// Open replays the block journal, and refuses a file whose journal
		// it cannot read: a restore must not swap such a file in.
		if j := tx.Bucket(bucketJournal); j != nil {
			return j.ForEach(func(k, v []byte) error {
				if _, _, _, _, err := decodeJournal(v); err != nil {
					return fmt.Errorf("store: verify %s: journal entry %x: %w", path, k, err)
				}
				return nil
			})
		}
		return nil
	})
}
