package keys

import (
	"crypto/sha256"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

type k256Private struct {
	k   *secp256k1.PrivateKey
	pub k256Public // cached: deriving it is a scalar multiplication
}

type k256Public struct{ k *secp256k1.PublicKey }

// GenerateK256 makes a new secp256k1 key from crypto/rand.
func GenerateK256() (PrivateKey, error) {
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("keys: generate K-256: %w", err)
	}
	return newK256Private(k), nil
}

// ParsePrivateK256 loads a 32-byte big-endian secp256k1 scalar, which must
// lie in [1, n-1].
func ParsePrivateK256(b []byte) (PrivateKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: K-256 private key of %d bytes", ErrUnsupportedKey, len(b))
	}
	var s secp256k1.ModNScalar
	// SetByteSlice reduces mod n and reports overflow; a reduced key would
	// be a different key from the one the caller holds, so refuse it.
	if overflow := s.SetByteSlice(b); overflow || s.IsZero() {
		return nil, fmt.Errorf("%w: K-256 private scalar out of range", ErrUnsupportedKey)
	}
	return newK256Private(secp256k1.NewPrivateKey(&s)), nil
}

func newK256Private(k *secp256k1.PrivateKey) k256Private {
	return k256Private{k: k, pub: k256Public{k.PubKey()}}
}

func (p k256Private) Public() PublicKey { return p.pub }
func (p k256Private) Bytes() []byte     { return p.k.Serialize() }
func (p k256Private) Algorithm() string { return K256 }

// Sign is deterministic (RFC 6979); decred already normalises S to the low
// half of the order.
func (p k256Private) Sign(msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	sig := secpecdsa.Sign(p.k, h[:])
	r, s := sig.R(), sig.S()
	out := make([]byte, SignatureSize)
	r.PutBytesUnchecked(out[:32])
	s.PutBytesUnchecked(out[32:])
	return out, nil
}

func parsePublicK256(b []byte) (PublicKey, error) {
	if err := checkUncompressed(b); err != nil {
		return nil, err
	}
	k, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: K-256: %v", ErrUnsupportedKey, err)
	}
	return k256Public{k}, nil
}

func (p k256Public) Bytes() []byte             { return p.k.SerializeCompressed() }
func (p k256Public) UncompressedBytes() []byte { return p.k.SerializeUncompressed() }
func (p k256Public) Algorithm() string         { return K256 }
func (p k256Public) DIDKey() string            { return didKeyPrefix + p.Multibase() }
func (p k256Public) Multibase() string         { return multibase(codecK256Pub, p.Bytes()) }
func (p k256Public) Equal(o PublicKey) bool    { return equal(p, o) }

func (p k256Public) Verify(msg, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: %w: %d bytes", ErrInvalidSignature, ErrMalformedSignature, len(sig))
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
		return fmt.Errorf("%w: r or s out of range", ErrInvalidSignature)
	}
	// decred's Verify accepts either S; atproto allows only the low one.
	if s.IsOverHalfOrder() {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, ErrHighS)
	}
	h := sha256.Sum256(msg)
	if !secpecdsa.NewSignature(&r, &s).Verify(h[:], p.k) {
		return ErrInvalidSignature
	}
	return nil
}
