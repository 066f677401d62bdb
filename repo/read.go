package repo

import (
	"errors"
	"fmt"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/store"
)

// Head is a repository's current commit.
type Head struct {
	Commit cid.CID
	Rev    string
	Data   cid.CID
}

func openRepo(tx *store.Tx, did string) (*store.Repo, error) {
	r, err := tx.Repo(did)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrRepoNotFound, did)
	}
	return r, err
}

// LoadHead returns the current commit of did.
func LoadHead(tx *store.Tx, did string) (Head, error) {
	r, err := openRepo(tx, did)
	if err != nil {
		return Head{}, err
	}
	return loadHead(r)
}

func loadHead(r *store.Repo) (Head, error) {
	root, rev := r.Head()
	c, err := cid.Decode(root)
	if err != nil {
		return Head{}, fmt.Errorf("repo %s: head: %w", r.DID(), err)
	}
	sc, err := DecodeCommit(r.Block(root))
	if err != nil {
		return Head{}, fmt.Errorf("repo %s: commit %s: %w", r.DID(), c, err)
	}
	return Head{Commit: c, Rev: rev, Data: sc.Data}, nil
}

// Record is a stored record. Value is valid only inside the transaction.
type Record struct {
	Collection, RKey string
	CID              cid.CID
	Value            []byte
}

// GetRecord reads one record through the record index.
func GetRecord(tx *store.Tx, did, collection, rkey string) (Record, error) {
	r, err := openRepo(tx, did)
	if err != nil {
		return Record{}, err
	}
	raw := r.Record(collection + "/" + rkey)
	if raw == nil {
		return Record{}, fmt.Errorf("%w: %s/%s", ErrRecordNotFound, collection, rkey)
	}
	c, err := cid.Decode(raw)
	if err != nil {
		return Record{}, fmt.Errorf("repo %s: index %s/%s: %w", did, collection, rkey, err)
	}
	v := r.Block(raw)
	if v == nil {
		return Record{}, fmt.Errorf("repo %s: record block %s missing", did, c)
	}
	return Record{Collection: collection, RKey: rkey, CID: c, Value: v}, nil
}

// ListRecords calls fn for up to limit records of a collection in record-key
// order (or reverse), starting after cursor.
func ListRecords(tx *store.Tx, did, collection, cursor string, reverse bool, limit int, fn func(Record) error) error {
	r, err := openRepo(tx, did)
	if err != nil {
		return err
	}
	n := 0
	return r.Records(collection, cursor, reverse, func(rkey string, raw []byte) error {
		c, err := cid.Decode(raw)
		if err != nil {
			return fmt.Errorf("repo %s: index %s/%s: %w", did, collection, rkey, err)
		}
		if err := fn(Record{Collection: collection, RKey: rkey, CID: c, Value: r.Block(raw)}); err != nil {
			return err
		}
		if n++; limit > 0 && n >= limit {
			return store.ErrStop
		}
		return nil
	})
}

// Collections lists the collections of did that hold records.
func Collections(tx *store.Tx, did string) ([]string, error) {
	r, err := openRepo(tx, did)
	if err != nil {
		return nil, err
	}
	return r.Collections(), nil
}
