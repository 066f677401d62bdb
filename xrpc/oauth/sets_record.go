package oauth

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

// maxProofBlocks bounds the blocks of a schema record's proof: the commit,
// one MST node per layer and the record. A repository of lexicons a few
// layers deep needs under ten.
const maxProofBlocks = 64

// fetchProof GETs a com.atproto.sync.getRecord CAR through the guarded
// egress client. The content type is not looked at: the bytes are
// verified, which says more than a header.
func fetchProof(ctx context.Context, hc *http.Client, u string, limit int64) ([]byte, error) {
	return fetchBody(ctx, hc, u, "application/vnd.ipld.car", false, limit)
}

// VerifyPermissionSetProof reads a com.atproto.sync.getRecord CAR that
// should prove, in the repository of did whose signing key is key, the
// com.atproto.lexicon.schema record of the permission set nsid; only a
// record the proof proves is read as a schema.
func VerifyPermissionSetProof(nsid, did string, key repo.Verifier, proof []byte) (*lexicon.Def, error) {
	opts := car.Options{MaxBlockSize: maxSetDocument, MaxTotal: maxSetDocument, MaxBlocks: maxProofBlocks}
	_, data, err := repo.VerifyRecordProof(bytes.NewReader(proof), did, key, schemaNSID, nsid, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoSet, nsid, err)
	}
	v, err := dagcbor.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoSet, nsid, err)
	}
	value, err := dagcbor.ToJSON(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: the record has no JSON form: %w", ErrNoSet, nsid, err)
	}
	return ParsePermissionSet(nsid, value)
}

// ParsePermissionSet reads a com.atproto.lexicon.schema record's value,
// in JSON, that should be the schema of the permission set nsid.
func ParsePermissionSet(nsid string, value []byte) (*lexicon.Def, error) {
	s, err := lexicon.ParseSchema(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoSet, nsid, err)
	}
	main := s.Defs["main"]
	if s.ID != nsid || main == nil || main.Type != "permission-set" {
		return nil, fmt.Errorf("%w: %s: the schema is not that permission set", ErrNoSet, nsid)
	}
	return main, nil
}
