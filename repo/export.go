package repo

import (
	"fmt"
	"io"

	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/mst"
	"github.com/hearth-pds/hearth/store"
)

// ExportCAR streams the repository of did as a CAR whose root is the current
// commit. With since set to a rev, only blocks first written after that rev
// are included (the commit always is). Because every commit deletes the
// blocks it makes unreachable, the stored blocks are exactly the repo; the
// export is a scan that holds one block at a time.
func ExportCAR(tx *store.Tx, w io.Writer, did, since string) error {
	r, err := openRepo(tx, did)
	if err != nil {
		return err
	}
	h, err := loadHead(r)
	if err != nil {
		return err
	}
	cw, err := car.NewWriter(w, h.Commit)
	if err != nil {
		return err
	}
	commitKey := h.Commit.Bytes()
	if err := cw.WriteBlock(h.Commit, r.Block(commitKey)); err != nil {
		return err
	}
	err = r.Blocks(since, func(key []byte, _ string, data []byte) error {
		if string(key) == string(commitKey) {
			return nil
		}
		c, err := cid.Decode(key)
		if err != nil {
			return fmt.Errorf("repo %s: stored block key: %w", did, err)
		}
		return cw.WriteBlock(c, data)
	})
	if err != nil {
		return fmt.Errorf("repo %s: export: %w", did, err)
	}
	return cw.Flush()
}

// ExportRecordProof writes a CAR proving the presence (or absence) of one
// record: the commit, the MST nodes on the path to its key, and the record.
func ExportRecordProof(tx *store.Tx, w io.Writer, did, collection, rkey string) error {
	r, err := openRepo(tx, did)
	if err != nil {
		return err
	}
	h, err := loadHead(r)
	if err != nil {
		return err
	}
	tree := mst.Load(storeGetter{r}, h.Data)
	path := collection + "/" + rkey
	proof, err := tree.Proof(path)
	if err != nil {
		return fmt.Errorf("repo %s: proof of %s: %w", did, path, err)
	}
	cw, err := car.NewWriter(w, h.Commit)
	if err != nil {
		return err
	}
	if err := cw.WriteBlock(h.Commit, r.Block(h.Commit.Bytes())); err != nil {
		return err
	}
	for _, b := range proof {
		if err := cw.WriteBlock(b.CID, b.Data); err != nil {
			return err
		}
	}
	if rc, err := tree.Get(path); err == nil {
		if err := cw.WriteBlock(rc, r.Block(rc.Bytes())); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// ExportBlocks writes the named blocks of did as a CAR rooted at the current
// commit. It reports the CIDs it does not hold without writing anything.
func ExportBlocks(tx *store.Tx, w io.Writer, did string, cids []cid.CID) (missing []cid.CID, err error) {
	r, err := openRepo(tx, did)
	if err != nil {
		return nil, err
	}
	for _, c := range cids {
		if !r.HasBlock(c.Bytes()) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return missing, nil
	}
	h, err := loadHead(r)
	if err != nil {
		return nil, err
	}
	cw, err := car.NewWriter(w, h.Commit)
	if err != nil {
		return nil, err
	}
	for _, c := range cids {
		if err := cw.WriteBlock(c, r.Block(c.Bytes())); err != nil {
			return nil, err
		}
	}
	return nil, cw.Flush()
}

// WriteCommitCAR writes a commit's event blocks as a CAR slice rooted at the
// commit, as a #commit frame carries them.
func WriteCommitCAR(w io.Writer, c *Commit) error {
	cw, err := car.NewWriter(w, c.CID)
	if err != nil {
		return err
	}
	for _, b := range c.Blocks {
		if err := cw.WriteBlock(b.CID, b.Data); err != nil {
			return err
		}
	}
	return cw.Flush()
}
