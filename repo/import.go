package repo

import (
	"errors"
	"fmt"
	"io"

	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/mst"
	"github.com/hearth-pds/hearth/store"
)

// ErrBadCAR reports an import that is refused; the message says why.
var ErrBadCAR = errors.New("repo: invalid repository CAR")

// Snapshot is a verified repository read from a CAR, ready to be stored.
type Snapshot struct {
	DID     string
	Commit  cid.CID
	Rev     string
	Data    cid.CID
	Records []RecordRef
	blocks  map[cid.CID][]byte
	nodes   []cid.CID
}

// RecordRef names a record by path and CID.
type RecordRef struct {
	Path string
	CID  cid.CID
}

// Block returns a block of the snapshot.
func (s *Snapshot) Block(c cid.CID) []byte { return s.blocks[c] }

type mapGetter map[cid.CID][]byte

func (m mapGetter) GetBlock(c cid.CID) ([]byte, error) {
	if b, ok := m[c]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: %s", mst.ErrMissingBlock, c)
}

// ReadSnapshot reads a repository CAR and verifies it completely: the root is
// a v3 commit for did signed by key, the MST is well formed and canonical,
// and every node and record block is present and strict DAG-CBOR. Blocks
// not reachable from the commit are dropped.
func ReadSnapshot(r io.Reader, did string, key Verifier, opts car.Options) (*Snapshot, error) {
	root, blocks, err := car.ReadAll(r, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCAR, err)
	}
	cb, ok := blocks[root]
	if !ok {
		return nil, fmt.Errorf("%w: root commit %s is not in the file", ErrBadCAR, root)
	}
	sc, err := DecodeCommit(cb)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCAR, err)
	}
	if sc.DID != did {
		return nil, fmt.Errorf("%w: commit is for %s, not %s", ErrBadCAR, sc.DID, did)
	}
	if err := sc.Verify(key); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCAR, err)
	}
	s := &Snapshot{DID: did, Commit: root, Rev: sc.Rev, Data: sc.Data, blocks: map[cid.CID][]byte{root: cb}}
	g := mapGetter(blocks)
	err = mst.Verify(g, sc.Data, func(key string, val cid.CID) error {
		rb, ok := blocks[val]
		if !ok {
			return fmt.Errorf("record %s: block %s missing", key, val)
		}
		if val.Codec() != cid.DagCBOR {
			return fmt.Errorf("record %s: %s is not dag-cbor", key, val)
		}
		if err := dagcbor.Validate(rb); err != nil {
			return fmt.Errorf("record %s: %v", key, err)
		}
		s.blocks[val] = rb
		s.Records = append(s.Records, RecordRef{Path: key, CID: val})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCAR, err)
	}
	err = mst.Load(g, sc.Data).Nodes(func(b mst.Block) error {
		s.blocks[b.CID] = b.Data
		s.nodes = append(s.nodes, b.CID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCAR, err)
	}
	return s, nil
}

// Import stores a verified snapshot as the new repository of its DID. The
// repository must not exist yet.
func Import(tx *store.Tx, s *Snapshot) error {
	r, err := tx.CreateRepo(s.DID)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("%w: %s", ErrRepoExists, s.DID)
	}
	if err != nil {
		return err
	}
	put := func(c cid.CID) error { return r.PutBlock(c.Bytes(), s.Rev, s.blocks[c]) }
	if err := put(s.Commit); err != nil {
		return err
	}
	for _, c := range s.nodes {
		if err := put(c); err != nil {
			return err
		}
	}
	refs := map[cid.CID]int{}
	for _, rec := range s.Records {
		if err := put(rec.CID); err != nil {
			return err
		}
		if err := r.PutRecord(rec.Path, rec.CID.Bytes()); err != nil {
			return err
		}
		refs[rec.CID]++
	}
	for c, n := range refs {
		if err := r.SetRefs(c.Bytes(), n); err != nil {
			return err
		}
	}
	return r.SetHead(s.Commit.Bytes(), s.Rev)
}
