package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
)

type p256Private struct{ k *ecdsa.PrivateKey }

type p256Public struct {
	k *ecdsa.PublicKey
	u []byte // uncompressed point, kept so encodings need no recomputation
}

// p256Order is the group order n and p256HalfOrder is n/2 (rounded down),
// as fixed-size big-endian arrays so signature checks compare bytes.
var p256Order, p256HalfOrder = func() (n, half [32]byte) {
	N := elliptic.P256().Params().N
	N.FillBytes(n[:])
	new(big.Int).Rsh(N, 1).FillBytes(half[:])
	return n, half
}()

// GenerateP256 makes a new NIST P-256 key from crypto/rand.
func GenerateP256() (PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: generate P-256: %w", err)
	}
	return p256Private{k}, nil
}

// ParsePrivateP256 loads a 32-byte big-endian P-256 scalar, which must lie
// in [1, n-1].
func ParsePrivateP256(b []byte) (PrivateKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: P-256 private key of %d bytes", ErrUnsupportedKey, len(b))
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b)
	if err != nil {
		return nil, fmt.Errorf("%w: P-256: %v", ErrUnsupportedKey, err)
	}
	return p256Private{k}, nil
}

func (p p256Private) Public() PublicKey {
	u, _ := p.k.PublicKey.Bytes() // cannot fail for a P-256 key
	return p256Public{&p.k.PublicKey, u}
}

func (p p256Private) Bytes() []byte {
	b, _ := p.k.Bytes() // cannot fail for a P-256 key
	return b
}

func (p p256Private) Algorithm() string { return P256 }

// Sign is randomised (the standard library mixes in fresh randomness); the
// standard library does not normalise S, so it is done here.
func (p p256Private) Sign(msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, p.k, h[:])
	if err != nil {
		return nil, fmt.Errorf("keys: P-256 sign: %w", err)
	}
	out := make([]byte, SignatureSize)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	if bytes.Compare(out[32:], p256HalfOrder[:]) > 0 {
		s.Sub(elliptic.P256().Params().N, s)
		s.FillBytes(out[32:])
	}
	return out, nil
}

func parsePublicP256(b []byte) (PublicKey, error) {
	u := b
	switch len(b) {
	case 33:
		// UnmarshalCompressed checks the prefix byte, x < p and that x is
		// on the curve; it returns nil x on any failure.
		x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b)
		if x == nil {
			return nil, fmt.Errorf("%w: not a compressed P-256 point", ErrUnsupportedKey)
		}
		u = make([]byte, 65)
		u[0] = 4
		x.FillBytes(u[1:33])
		y.FillBytes(u[33:])
	case 65:
		if err := checkUncompressed(b); err != nil {
			return nil, err
		}
		u = bytes.Clone(b)
	default:
		return nil, fmt.Errorf("%w: P-256 point of %d bytes", ErrUnsupportedKey, len(b))
	}
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), u)
	if err != nil {
		return nil, fmt.Errorf("%w: P-256: %v", ErrUnsupportedKey, err)
	}
	return p256Public{k, u}, nil
}

func (p p256Public) Bytes() []byte             { return compressedFromUncompressed(p.u) }
func (p p256Public) UncompressedBytes() []byte { return bytes.Clone(p.u) }
func (p p256Public) Algorithm() string         { return P256 }
func (p p256Public) DIDKey() string            { return didKeyPrefix + p.Multibase() }
func (p p256Public) Multibase() string         { return multibase(codecP256Pub, p.Bytes()) }
func (p p256Public) Equal(o PublicKey) bool    { return equal(p, o) }

func (p p256Public) Verify(msg, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: %w: %d bytes", ErrInvalidSignature, ErrMalformedSignature, len(sig))
	}
	r, s := sig[:32], sig[32:]
	var zero [32]byte
	if bytes.Equal(r, zero[:]) || bytes.Equal(s, zero[:]) ||
		bytes.Compare(r, p256Order[:]) >= 0 || bytes.Compare(s, p256Order[:]) >= 0 {
		return fmt.Errorf("%w: r or s out of range", ErrInvalidSignature)
	}
	// The standard library accepts either S; atproto allows only the low one.
	if bytes.Compare(s, p256HalfOrder[:]) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, ErrHighS)
	}
	h := sha256.Sum256(msg)
	if !ecdsa.Verify(p.k, h[:], new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)) {
		return ErrInvalidSignature
	}
	return nil
}
