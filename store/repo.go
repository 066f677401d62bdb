package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// RevSize is the length of a repo revision (a TID).
const RevSize = 13

var (
	keyHead       = []byte("head")
	bucketBlocks  = []byte("blocks")
	bucketRecords = []byte("records")
	bucketRefs    = []byte("refs")
)

// Repo is one account's repository inside a transaction.
type Repo struct {
	did       string
	tx        *Tx
	b         *bolt.Bucket
	blocks    *bolt.Bucket
	records   *bolt.Bucket
	refs      *bolt.Bucket
	journaled bool // block writes go through the journal (journal.go)
}

// Repo opens the repository of did, or returns ErrNotFound.
func (tx *Tx) Repo(did string) (*Repo, error) {
	b := tx.btx.Bucket(bucketRepos).Bucket([]byte(did))
	if b == nil {
		return nil, fmt.Errorf("repo %s: %w", did, ErrNotFound)
	}
	return openRepo(tx, did, b), nil
}

// CreateRepo creates an empty repository for did, or returns ErrExists.
func (tx *Tx) CreateRepo(did string) (*Repo, error) {
	b, err := tx.btx.Bucket(bucketRepos).CreateBucket([]byte(did))
	if err == bolt.ErrBucketExists {
		return nil, fmt.Errorf("repo %s: %w", did, ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("store: create repo %s: %w", did, err)
	}
	for _, name := range [][]byte{bucketBlocks, bucketRecords, bucketRefs} {
		if _, err := b.CreateBucket(name); err != nil {
			return nil, fmt.Errorf("store: create repo %s: %w", did, err)
		}
	}
	return openRepo(tx, did, b), nil
}

// DeleteRepo removes a repository and everything in it.
func (tx *Tx) DeleteRepo(did string) error {
	// The journal's ops of the repository must not outlive it: a repository
	// created again under the DID would get them.
	if err := tx.flushJournal(); err != nil {
		return err
	}
	err := tx.btx.Bucket(bucketRepos).DeleteBucket([]byte(did))
	if err == bolt.ErrBucketNotFound {
		return fmt.Errorf("repo %s: %w", did, ErrNotFound)
	}
	return err
}

// Repos calls fn for each repository whose DID sorts after the given one
// (all when after is ""), in DID order, until fn returns an error.
func (tx *Tx) Repos(after string, fn func(r *Repo) error) error {
	c := tx.btx.Bucket(bucketRepos).Cursor()
	k, v := c.Seek([]byte(after))
	if k != nil && after != "" && string(k) == after {
		k, v = c.Next()
	}
	for ; k != nil; k, v = c.Next() {
		if v != nil {
			continue
		}
		if err := fn(openRepo(tx, string(k), c.Bucket().Bucket(k))); err != nil {
			return err
		}
	}
	return nil
}

func openRepo(tx *Tx, did string, b *bolt.Bucket) *Repo {
	return &Repo{
		did:     did,
		tx:      tx,
		b:       b,
		blocks:  b.Bucket(bucketBlocks),
		records: b.Bucket(bucketRecords),
		refs:    b.Bucket(bucketRefs),
	}
}

// DID returns the repository's DID.
func (r *Repo) DID() string { return r.did }

// Head returns the current root CID and rev; both empty for a repository
// that has no commit yet.
func (r *Repo) Head() (root []byte, rev string) {
	v := r.b.Get(keyHead)
	if len(v) < RevSize {
		return nil, ""
	}
	return v[:len(v)-RevSize], string(v[len(v)-RevSize:])
}

// SetHead records a new root CID and rev.
func (r *Repo) SetHead(root []byte, rev string) error {
	if len(rev) != RevSize {
		return fmt.Errorf("store: rev %q is not %d bytes", rev, RevSize)
	}
	v := make([]byte, 0, len(root)+RevSize)
	v = append(append(v, root...), rev...)
	return r.b.Put(keyHead, v)
}

// Block returns the bytes of a block, or nil.
func (r *Repo) Block(cid []byte) []byte {
	v := r.get(cid)
	if len(v) < RevSize {
		return nil
	}
	return v[RevSize:]
}

// BlockRev returns the rev of the commit that first wrote a block, or "".
func (r *Repo) BlockRev(cid []byte) string {
	v := r.get(cid)
	if len(v) < RevSize {
		return ""
	}
	return string(v[:RevSize])
}

// HasBlock reports whether the block is stored.
func (r *Repo) HasBlock(cid []byte) bool { return r.get(cid) != nil }

// PutBlock stores a block first written by the commit rev. A block that is
// already present keeps its original rev.
func (r *Repo) PutBlock(cid []byte, rev string, data []byte) error {
	if r.get(cid) != nil {
		return nil
	}
	if len(rev) != RevSize {
		return fmt.Errorf("store: rev %q is not %d bytes", rev, RevSize)
	}
	v := make([]byte, 0, RevSize+len(data))
	v = append(append(v, rev...), data...)
	if r.journaled {
		return r.journal(opPut, cid, v)
	}
	if err := r.direct(); err != nil {
		return err
	}
	return r.blocks.Put(cid, v)
}

// DeleteBlock removes a block; deleting an absent block is not an error.
func (r *Repo) DeleteBlock(cid []byte) error {
	if r.journaled {
		if r.get(cid) == nil {
			return nil
		}
		return r.journal(opDelete, cid, nil)
	}
	if err := r.direct(); err != nil {
		return err
	}
	return r.blocks.Delete(cid)
}

// Blocks calls fn for each block in CID order. With since non-empty, only
// blocks first written by a commit whose rev sorts after since.
func (r *Repo) Blocks(since string, fn func(cid []byte, rev string, data []byte) error) error {
	net, err := r.tx.journalNet(r.did)
	if err != nil {
		return err
	}
	emit := func(k, v []byte) error {
		if len(v) < RevSize {
			return nil
		}
		rev := string(v[:RevSize])
		if since != "" && rev <= since {
			return nil
		}
		return fn(k, rev, v[RevSize:])
	}
	// Merge the bucket with what the journal puts, in CID order; a CID the
	// journal touches is the journal's.
	adds := sortedNet(net)
	c := r.blocks.Cursor()
	k, v := c.First()
	for k != nil || len(adds) > 0 {
		if k != nil && net != nil {
			if _, ok := net[string(k)]; ok {
				k, v = c.Next()
				continue
			}
		}
		if len(adds) > 0 && (k == nil || adds[0] < string(k)) {
			a := adds[0]
			adds = adds[1:]
			if err := emit([]byte(a), net[a]); err != nil {
				return err
			}
			continue
		}
		if err := emit(k, v); err != nil {
			return err
		}
		k, v = c.Next()
	}
	return nil
}

// Record returns the CID of the record at collection/rkey, or nil.
func (r *Repo) Record(path string) []byte { return r.records.Get([]byte(path)) }

// PutRecord sets the CID of the record at path.
func (r *Repo) PutRecord(path string, cid []byte) error {
	return r.records.Put([]byte(path), cid)
}

// DeleteRecord removes the record at path from the index.
func (r *Repo) DeleteRecord(path string) error { return r.records.Delete([]byte(path)) }

// Records calls fn for records of one collection in record-key order
// (reverse: descending), starting after cursor when it is non-empty, until fn
// returns an error. ErrStop from fn ends the scan without error.
func (r *Repo) Records(collection, cursor string, reverse bool, fn func(rkey string, cid []byte) error) error {
	prefix := []byte(collection + "/")
	c := r.records.Cursor()
	var k, v []byte
	switch {
	case !reverse && cursor == "":
		k, v = c.Seek(prefix)
	case !reverse:
		start := append(bytes.Clone(prefix), cursor...)
		k, v = c.Seek(start)
		if k != nil && bytes.Equal(k, start) {
			k, v = c.Next()
		}
	default:
		// Seek to the first key past the range (or the cursor), step back.
		var end []byte
		if cursor == "" {
			end = append(bytes.Clone(prefix[:len(prefix)-1]), '/'+1)
		} else {
			end = append(bytes.Clone(prefix), cursor...)
		}
		k, _ = c.Seek(end)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for k != nil && bytes.HasPrefix(k, prefix) {
		if err := fn(string(k[len(prefix):]), v); err != nil {
			if err == ErrStop {
				return nil
			}
			return err
		}
		if reverse {
			k, v = c.Prev()
		} else {
			k, v = c.Next()
		}
	}
	return nil
}

// AllRecords calls fn for every record in path order.
func (r *Repo) AllRecords(fn func(path string, cid []byte) error) error {
	return r.records.ForEach(func(k, v []byte) error { return fn(string(k), v) })
}

// Collections lists the collections that hold at least one record, skipping
// over each collection's records with a seek rather than reading them.
func (r *Repo) Collections() []string {
	var out []string
	c := r.records.Cursor()
	for k, _ := c.First(); k != nil; {
		i := bytes.IndexByte(k, '/')
		if i < 0 {
			k, _ = c.Next()
			continue
		}
		out = append(out, string(k[:i]))
		next := append(bytes.Clone(k[:i]), '/'+1)
		k, _ = c.Seek(next)
	}
	// '.' sorts before '/', so "a.b.c/…" precedes "a.b/…" in the index.
	slices.Sort(out)
	return out
}

// RecordCount returns the number of records.
func (r *Repo) RecordCount() int { return r.records.Stats().KeyN }

// Refs returns how many record paths hold the record block cid. Only
// counts above one are stored: a stored block without an entry has one,
// so a record with content of its own (nearly all of them) costs no
// write here. Call it before the commit's new blocks are stored.
func (r *Repo) Refs(cid []byte) int {
	if v := r.refs.Get(cid); v != nil {
		u, _ := binary.Uvarint(v)
		return int(u)
	}
	if r.get(cid) != nil {
		return 1
	}
	return 0
}

// SetRefs stores the count Refs will return once the block is stored (or,
// at zero, deleted).
func (r *Repo) SetRefs(cid []byte, n int) error {
	if n < 0 {
		return fmt.Errorf("store: reference count of %x below zero", cid)
	}
	if n <= 1 {
		return r.refs.Delete(cid)
	}
	return r.refs.Put(cid, binary.AppendUvarint(nil, uint64(n)))
}

// Stats reports block count and bytes and record count.
func (r *Repo) Stats() (blocks, size, records int) {
	_ = r.Blocks("", func(_ []byte, _ string, data []byte) error {
		blocks++
		size += len(data)
		return nil
	})
	return blocks, size, r.RecordCount()
}
