package repo

import (
	"errors"
	"fmt"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/syntax"
)

// Version is the commit format this package writes.
const Version = 3

// Signer signs commit bytes; identity/keys private keys satisfy it.
type Signer interface {
	Sign(msg []byte) ([]byte, error)
}

// Verifier checks a signature; identity/keys public keys satisfy it.
type Verifier interface {
	Verify(msg, sig []byte) error
}

// Sentinel errors.
var (
	ErrBadCommit    = errors.New("repo: invalid commit")
	ErrBadSignature = errors.New("repo: commit signature does not verify")
)

// unsignedCommit is the object that is signed: the commit without sig.
// Prev is the zero CID, which encodes as the explicit null v3 requires.
type unsignedCommit struct {
	DID     string  `cbor:"did"`
	Version int64   `cbor:"version"`
	Data    cid.CID `cbor:"data"`
	Rev     string  `cbor:"rev"`
	Prev    cid.CID `cbor:"prev"`
}

// SignedCommit is a decoded commit block.
type SignedCommit struct {
	DID     string  `cbor:"did"`
	Version int64   `cbor:"version"`
	Data    cid.CID `cbor:"data"`
	Rev     string  `cbor:"rev"`
	Prev    cid.CID `cbor:"prev"`
	Sig     []byte  `cbor:"sig"`
}

// SignCommit builds and signs a v3 commit, returning its block.
func SignCommit(did string, data cid.CID, rev string, key Signer) (SignedCommit, []byte, cid.CID, error) {
	u := unsignedCommit{DID: did, Version: Version, Data: data, Rev: rev}
	msg, err := dagcbor.Marshal(u)
	if err != nil {
		return SignedCommit{}, nil, cid.CID{}, fmt.Errorf("repo: encode commit: %w", err)
	}
	sig, err := key.Sign(msg)
	if err != nil {
		return SignedCommit{}, nil, cid.CID{}, fmt.Errorf("repo: sign commit: %w", err)
	}
	sc := SignedCommit{DID: did, Version: Version, Data: data, Rev: rev, Sig: sig}
	b, err := dagcbor.Marshal(sc)
	if err != nil {
		return SignedCommit{}, nil, cid.CID{}, fmt.Errorf("repo: encode commit: %w", err)
	}
	return sc, b, cid.Sum(cid.DagCBOR, b), nil
}

// DecodeCommit parses a commit block strictly.
func DecodeCommit(b []byte) (SignedCommit, error) {
	var sc SignedCommit
	if err := dagcbor.Unmarshal(b, &sc); err != nil {
		return sc, fmt.Errorf("%w: %v", ErrBadCommit, err)
	}
	// Re-encoding must reproduce the block: this rejects unknown or missing
	// fields that the struct decoding would otherwise drop or default.
	again, err := dagcbor.Marshal(sc)
	if err != nil || string(again) != string(b) {
		return sc, fmt.Errorf("%w: fields are not exactly did, version, data, rev, prev, sig", ErrBadCommit)
	}
	switch {
	case sc.Version != Version:
		return sc, fmt.Errorf("%w: version %d, want %d", ErrBadCommit, sc.Version, Version)
	case !sc.Data.Defined():
		return sc, fmt.Errorf("%w: no data root", ErrBadCommit)
	case sc.Data.Codec() != cid.DagCBOR:
		return sc, fmt.Errorf("%w: data root is not dag-cbor", ErrBadCommit)
	case len(sc.Sig) == 0:
		return sc, fmt.Errorf("%w: unsigned", ErrBadCommit)
	}
	if _, err := syntax.ParseTID(sc.Rev); err != nil {
		return sc, fmt.Errorf("%w: rev: %v", ErrBadCommit, err)
	}
	return sc, nil
}

// Verify checks the commit's signature with key.
func (sc SignedCommit) Verify(key Verifier) error {
	msg, err := dagcbor.Marshal(unsignedCommit{DID: sc.DID, Version: sc.Version, Data: sc.Data, Rev: sc.Rev, Prev: sc.Prev})
	if err != nil {
		return fmt.Errorf("repo: encode commit: %w", err)
	}
	if err := key.Verify(msg, sc.Sig); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}
