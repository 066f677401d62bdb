package repo

import (
	"errors"
	"fmt"
	"io"

	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/mst"
)

// ErrBadProof reports a record proof that does not prove the record.
var ErrBadProof = errors.New("repo: invalid record proof")

// VerifyRecordProof reads a CAR proving one record of did, as
// com.atproto.sync.getRecord serves it (and ExportRecordProof writes it),
// and returns the record's CID and block once everything checks: the root
// is a v3 commit for did signed by key, the MST nodes from its data root
// down to collection/rkey are present and hash to their CIDs, the key is
// there, and its block is present, hashes to the CID the tree names and is
// strict DAG-CBOR. The rest of the tree is not needed and not looked at.
func VerifyRecordProof(r io.Reader, did string, key Verifier, collection, rkey string, opts car.Options) (cid.CID, []byte, error) {
	fail := func(format string, args ...any) (cid.CID, []byte, error) {
		return cid.CID{}, nil, fmt.Errorf("%w: %s", ErrBadProof, fmt.Sprintf(format, args...))
	}
	// The reader checks every block against its CID, records included.
	root, blocks, err := car.ReadAll(r, opts)
	if err != nil {
		return fail("%v", err)
	}
	cb, ok := blocks[root]
	if !ok {
		return fail("root commit %s is not in the file", root)
	}
	sc, err := DecodeCommit(cb)
	if err != nil {
		return fail("%v", err)
	}
	if sc.DID != did {
		return fail("commit is for %s, not %s", sc.DID, did)
	}
	if err := sc.Verify(key); err != nil {
		return fail("%v", err)
	}
	path := collection + "/" + rkey
	rc, err := mst.Load(mapGetter(blocks), sc.Data).Get(path)
	if err != nil {
		return fail("%s: %v", path, err)
	}
	data, ok := blocks[rc]
	switch {
	case !ok:
		return fail("%s: record block %s is not in the file", path, rc)
	case rc.Codec() != cid.DagCBOR:
		return fail("%s: %s is not dag-cbor", path, rc)
	}
	if err := dagcbor.Validate(data); err != nil {
		return fail("%s: %v", path, err)
	}
	return rc, data, nil
}
