package blob

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/store"
)

// bMissing holds, per account, the blobs its records reference but that
// are not here yet: after a repository import, until the client uploads
// them. Keyed like owners: did ‖ 0 ‖ cid → missing (JSON).
var bMissing = []byte("blobmissing")

type missing struct {
	Refs   int    `json:"refs"`
	Record string `json:"record"` // collection/rkey of a record that uses it
}

// RecordBlob is one blob reference of one record.
type RecordBlob struct {
	Path string // collection/rkey
	CID  cid.CID
}

// RebuildRefs recounts did's blob references from the full list of its
// records' references, after its repository was replaced by an import.
// Held blobs get their new counts (an unreferenced one becomes temporary
// and is swept after TempTTL); referenced blobs that are not held are
// recorded as missing until they are uploaded.
func RebuildRefs(tx *store.Tx, did string, refs []RecordBlob, now time.Time) error {
	counts := map[string]*missing{}
	for _, r := range refs {
		k := string(r.CID.Bytes())
		if m := counts[k]; m != nil {
			m.Refs++
		} else {
			counts[k] = &missing{Refs: 1, Record: r.Path}
		}
	}
	bt := tx.Bolt()
	prefix := append([]byte(did), 0)
	if err := deleteAllPrefix(bt.Bucket(bMissing), prefix); err != nil {
		return err
	}
	ob := bt.Bucket(bOwners)
	var held [][]byte
	c := ob.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		held = append(held, bytes.Clone(k))
	}
	for _, k := range held {
		var o Owner
		if err := json.Unmarshal(ob.Get(k), &o); err != nil {
			return fmt.Errorf("blob: decode owner: %w", err)
		}
		m := counts[string(k[len(prefix):])]
		switch {
		case m != nil:
			o.Refs, o.Temp = m.Refs, false
			delete(counts, string(k[len(prefix):]))
		case o.Refs > 0 || !o.Temp:
			o.Refs, o.Temp, o.CreatedAt = 0, true, now.UTC()
		}
		raw, _ := json.Marshal(o)
		if err := ob.Put(k, raw); err != nil {
			return err
		}
	}
	mb := bt.Bucket(bMissing)
	for k, m := range counts {
		raw, _ := json.Marshal(m)
		if err := mb.Put(append(bytes.Clone(prefix), k...), raw); err != nil {
			return err
		}
	}
	return nil
}

// Missing is a blob a record references that is not uploaded yet.
type Missing struct {
	CID    cid.CID
	Record string // collection/rkey
}

// ListMissing returns up to limit of did's missing blobs after cursor (a
// CID string), in CID order: one cursor scan, not a walk of the records.
func ListMissing(tx *store.Tx, did, cursor string, limit int) ([]Missing, error) {
	prefix := append([]byte(did), 0)
	start := prefix
	if cursor != "" {
		c, err := cid.Parse(cursor)
		if err != nil {
			return nil, fmt.Errorf("blob: cursor: %w", err)
		}
		start = append(bytes.Clone(prefix), c.Bytes()...)
	}
	var out []Missing
	cur := tx.Bolt().Bucket(bMissing).Cursor()
	for k, v := cur.Seek(start); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = cur.Next() {
		c, err := cid.Decode(k[len(prefix):])
		if err != nil || (cursor != "" && c.String() == cursor) {
			continue
		}
		var m missing
		json.Unmarshal(v, &m)
		out = append(out, Missing{CID: c, Record: m.Record})
	}
	return out, nil
}

// Counts reports how many distinct blobs did's records reference
// (expected) and how many of those are held here (imported).
func Counts(tx *store.Tx, did string) (expected, imported int) {
	prefix := append([]byte(did), 0)
	c := tx.Bolt().Bucket(bOwners).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var o Owner
		if json.Unmarshal(v, &o) == nil && o.Refs > 0 {
			imported++
		}
	}
	expected = imported
	m := tx.Bolt().Bucket(bMissing).Cursor()
	for k, _ := m.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = m.Next() {
		expected++
	}
	return expected, imported
}

// takeMissing turns a missing entry into the count of a blob that has just
// been uploaded; 0 when the blob was not missing.
func takeMissing(tx *store.Tx, did string, c cid.CID) (int, error) {
	mb := tx.Bolt().Bucket(bMissing)
	raw := mb.Get(ownerKey(did, c))
	if raw == nil {
		return 0, nil
	}
	var m missing
	json.Unmarshal(raw, &m)
	return m.Refs, mb.Delete(ownerKey(did, c))
}

// dropMissing lowers the count of a missing blob whose reference went.
func dropMissing(tx *store.Tx, did string, c cid.CID) error {
	mb := tx.Bolt().Bucket(bMissing)
	raw := mb.Get(ownerKey(did, c))
	if raw == nil {
		return nil
	}
	var m missing
	json.Unmarshal(raw, &m)
	if m.Refs--; m.Refs > 0 {
		raw, _ = json.Marshal(m)
		return mb.Put(ownerKey(did, c), raw)
	}
	return mb.Delete(ownerKey(did, c))
}

func deleteAllPrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
