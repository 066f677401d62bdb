package blob

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/store"
)

// Ref is a blob reference as a record carries it.
type Ref struct {
	CID      cid.CID
	MimeType string
	Size     int64 // -1 for a legacy reference without a size
}

// CheckRefs verifies, inside a record write's transaction, that every
// reference names a blob did owns with the same type and size.
func CheckRefs(tx *store.Tx, did string, refs []Ref) error {
	for _, r := range refs {
		m, err := getMeta(tx.Bolt(), did, r.CID)
		if err != nil {
			return fmt.Errorf("%w: could not find blob %s", ErrNotFound, r.CID)
		}
		if m.MimeType != r.MimeType || (r.Size >= 0 && m.Size != r.Size) {
			return fmt.Errorf("%w: %s is %s of %d bytes, the record says %s of %d", ErrMismatch, r.CID, m.MimeType, m.Size, r.MimeType, r.Size)
		}
	}
	return nil
}

// ApplyRefs counts the references a commit added and removed, in that
// commit's transaction. Blobs whose last reference went are deleted.
func ApplyRefs(tx *store.Tx, did string, added, removed []cid.CID, rev string) error {
	bt := tx.Bolt()
	ob := bt.Bucket(bOwners)
	for _, c := range added {
		var o Owner
		if raw := ob.Get(ownerKey(did, c)); raw != nil {
			json.Unmarshal(raw, &o)
		} else {
			return fmt.Errorf("%w: could not find blob %s", ErrNotFound, c)
		}
		if o.Temp || o.Rev == "" {
			o.Rev = rev
		}
		o.Refs++
		o.Temp = false
		raw, _ := json.Marshal(o)
		if err := ob.Put(ownerKey(did, c), raw); err != nil {
			return err
		}
	}
	for _, c := range removed {
		var o Owner
		raw := ob.Get(ownerKey(did, c))
		if raw == nil {
			if err := dropMissing(tx, did, c); err != nil {
				return err
			}
			continue
		}
		json.Unmarshal(raw, &o)
		if o.Refs--; o.Refs > 0 {
			raw, _ := json.Marshal(o)
			if err := ob.Put(ownerKey(did, c), raw); err != nil {
				return err
			}
			continue
		}
		if err := release(bt, did, c); err != nil {
			return err
		}
	}
	return nil
}

// release drops did's hold on c, and the blob itself when no account holds it.
func release(bt *bolt.Tx, did string, c cid.CID) error {
	if err := bt.Bucket(bOwners).Delete(ownerKey(did, c)); err != nil {
		return err
	}
	// Owners are keyed by DID first, so finding other owners is a scan;
	// a home PDS has few accounts.
	cb := c.Bytes()
	held := false
	bt.Bucket(bOwners).ForEach(func(k, _ []byte) error {
		if bytes.HasSuffix(k, cb) {
			held = true
		}
		return nil
	})
	if held {
		return nil
	}
	return purge(bt, c)
}

func purge(bt *bolt.Tx, c cid.CID) error {
	raw := bt.Bucket(bBlobs).Get(c.Bytes())
	if raw == nil {
		return nil
	}
	var m Meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	if err := deleteChunks(bt, m.ID); err != nil {
		return err
	}
	return bt.Bucket(bBlobs).Delete(c.Bytes())
}

// Sweep deletes temporary blobs older than TempTTL and the chunks of
// uploads that never finished. It works in small transactions.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-TempTTL)
	type item struct {
		did string
		c   cid.CID
	}
	var expired []item
	var stale []uint64
	s.DB.View(func(tx *store.Tx) error {
		tx.Bolt().Bucket(bOwners).ForEach(func(k, v []byte) error {
			var o Owner
			if json.Unmarshal(v, &o) != nil || !o.Temp || o.CreatedAt.After(cutoff) {
				return nil
			}
			i := bytes.IndexByte(k, 0)
			if c, err := cid.Decode(k[i+1:]); err == nil {
				expired = append(expired, item{string(k[:i]), c})
			}
			return nil
		})
		return tx.Bolt().Bucket(bPending).ForEach(func(k, v []byte) error {
			if len(v) == 8 && time.Unix(int64(binary.BigEndian.Uint64(v)), 0).Before(cutoff) {
				stale = append(stale, binary.BigEndian.Uint64(k))
			}
			return nil
		})
	})
	for _, e := range expired {
		err := s.DB.Update(ctx, func(tx *store.Tx) error {
			raw := tx.Bolt().Bucket(bOwners).Get(ownerKey(e.did, e.c))
			var o Owner
			if raw == nil || json.Unmarshal(raw, &o) != nil || !o.Temp {
				return nil // referenced meanwhile
			}
			return release(tx.Bolt(), e.did, e.c)
		})
		if err != nil {
			return 0, err
		}
	}
	for _, id := range stale {
		if err := s.DB.Update(ctx, func(tx *store.Tx) error { return dropUpload(tx.Bolt(), id) }); err != nil {
			return 0, err
		}
	}
	return len(expired) + len(stale), nil
}

// Listed is a blob in a listing.
type Listed struct {
	CID   cid.CID
	Owner Owner
}

// List returns up to limit blobs of did after cursor (a CID string) in CID
// order; with since set, only those first referenced by a later commit.
func (s *Store) List(did, since, cursor string, limit int) ([]Listed, error) {
	var out []Listed
	prefix := append([]byte(did), 0)
	start := prefix
	if cursor != "" {
		c, err := cid.Parse(cursor)
		if err != nil {
			return nil, err
		}
		start = append(bytes.Clone(prefix), c.Bytes()...)
	}
	err := s.DB.View(func(tx *store.Tx) error {
		cur := tx.Bolt().Bucket(bOwners).Cursor()
		for k, v := cur.Seek(start); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = cur.Next() {
			c, err := cid.Decode(k[len(prefix):])
			if err != nil || (cursor != "" && c.String() == cursor) {
				continue
			}
			var o Owner
			json.Unmarshal(v, &o)
			if o.Temp || (since != "" && o.Rev <= since) {
				continue
			}
			out = append(out, Listed{CID: c, Owner: o})
		}
		return nil
	})
	return out, err
}

// Has reports whether did holds blob c.
func (s *Store) Has(tx *store.Tx, did string, c cid.CID) bool { return Holds(tx, did, c) }

// Holds reports whether did holds blob c.
func Holds(tx *store.Tx, did string, c cid.CID) bool {
	return tx.Bolt().Bucket(bOwners).Get(ownerKey(did, c)) != nil
}

// DeleteAccount drops every blob hold of did, in the account deletion's
// transaction.
func DeleteAccount(tx *store.Tx, did string) error {
	prefix := append([]byte(did), 0)
	if err := deleteAllPrefix(tx.Bolt().Bucket(bMissing), prefix); err != nil {
		return err
	}
	var cids []cid.CID
	c := tx.Bolt().Bucket(bOwners).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if x, err := cid.Decode(k[len(prefix):]); err == nil {
			cids = append(cids, x)
		}
	}
	for _, x := range cids {
		if err := release(tx.Bolt(), did, x); err != nil {
			return err
		}
	}
	return nil
}

// SetTakedown hides (or shows again) a blob of did.
func (s *Store) SetTakedown(ctx context.Context, did string, c cid.CID, down bool) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error { return SetTakedown(tx, did, c, down) })
}

// SetTakedown hides (or shows again) blob c of did, in tx. The takedown is
// did's alone: another account holding the same bytes still serves them.
func SetTakedown(tx *store.Tx, did string, c cid.CID, down bool) error {
	ob := tx.Bolt().Bucket(bOwners)
	raw := ob.Get(ownerKey(did, c))
	if raw == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, c)
	}
	var o Owner
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("blob: decode owner %s: %w", c, err)
	}
	o.TakenDown = down
	raw, _ = json.Marshal(o)
	return ob.Put(ownerKey(did, c), raw)
}

// Purge deletes a blob's bytes and every hold on it (moderation).
func (s *Store) Purge(ctx context.Context, c cid.CID) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		bt := tx.Bolt()
		if bt.Bucket(bBlobs).Get(c.Bytes()) == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, c)
		}
		var keys [][]byte
		cb := c.Bytes()
		bt.Bucket(bOwners).ForEach(func(k, _ []byte) error {
			if bytes.HasSuffix(k, cb) {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range keys {
			if err := bt.Bucket(bOwners).Delete(k); err != nil {
				return err
			}
		}
		return purge(bt, c)
	})
}

// Totals counts stored blobs and their bytes.
func (s *Store) Totals() (count int, size int64) {
	s.DB.View(func(tx *store.Tx) error {
		return tx.Bolt().Bucket(bBlobs).ForEach(func(_, v []byte) error {
			var m Meta
			if json.Unmarshal(v, &m) == nil {
				count++
				size += m.Size
			}
			return nil
		})
	})
	return count, size
}
