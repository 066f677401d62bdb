package keys

import (
	"errors"
	"fmt"
)

// Algorithms, named as JWT names them; atproto uses the same names for the
// two curves everywhere.
const (
	K256 = "ES256K" // secp256k1
	P256 = "ES256"  // NIST P-256
)

// Sentinel errors. Every signature rejection matches ErrInvalidSignature;
// ErrHighS and ErrMalformedSignature also match, for callers that care why.
var (
	ErrInvalidSignature   = errors.New("keys: invalid signature")
	ErrHighS              = errors.New("keys: signature has high S")
	ErrMalformedSignature = errors.New("keys: signature is not 64-byte r||s")
	ErrUnsupportedKey     = errors.New("keys: unsupported or malformed key")
)

// SignatureSize is the length of every atproto signature: r‖s, 32 bytes each.
const SignatureSize = 64

// PrivateKey signs messages.
type PrivateKey interface {
	// Public returns the matching public key.
	Public() PublicKey
	// Sign hashes msg with SHA-256 and returns a 64-byte low-S r‖s signature.
	Sign(msg []byte) ([]byte, error)
	// Bytes returns the 32-byte big-endian private scalar.
	Bytes() []byte
	// Algorithm returns K256 or P256.
	Algorithm() string
}

// PublicKey verifies signatures and knows its own encodings.
type PublicKey interface {
	// Verify checks a 64-byte low-S r‖s signature over SHA-256(msg).
	Verify(msg, sig []byte) error
	// Bytes returns the 33-byte compressed point.
	Bytes() []byte
	// UncompressedBytes returns the 65-byte uncompressed point (0x04‖x‖y).
	UncompressedBytes() []byte
	// DIDKey returns "did:key:" + Multibase().
	DIDKey() string
	// Multibase returns z + base58btc(multicodec prefix ‖ compressed point),
	// the DID document publicKeyMultibase form for type Multikey.
	Multibase() string
	// Algorithm returns K256 or P256.
	Algorithm() string
	// Equal reports whether o is the same key on the same curve.
	Equal(o PublicKey) bool
}

// ParsePrivate loads a raw 32-byte private scalar for alg.
func ParsePrivate(alg string, b []byte) (PrivateKey, error) {
	switch alg {
	case K256:
		return ParsePrivateK256(b)
	case P256:
		return ParsePrivateP256(b)
	}
	return nil, fmt.Errorf("%w: algorithm %q", ErrUnsupportedKey, alg)
}

// ParsePublic loads a point for alg: 33-byte compressed, or the 65-byte
// uncompressed form that legacy DID documents carry.
func ParsePublic(alg string, b []byte) (PublicKey, error) {
	switch alg {
	case K256:
		return parsePublicK256(b)
	case P256:
		return parsePublicP256(b)
	}
	return nil, fmt.Errorf("%w: algorithm %q", ErrUnsupportedKey, alg)
}

func equal(a PublicKey, b PublicKey) bool {
	return b != nil && a.Algorithm() == b.Algorithm() && string(a.Bytes()) == string(b.Bytes())
}

// compressedFromUncompressed turns 0x04‖x‖y into (2|parity(y))‖x; it is pure
// byte shuffling, so it cannot fail on a point that was already validated.
func compressedFromUncompressed(u []byte) []byte {
	c := make([]byte, 33)
	c[0] = 2 | u[64]&1
	copy(c[1:], u[1:33])
	return c
}

// checkUncompressed rejects 65-byte encodings other than 0x04‖x‖y, notably
// the "hybrid" 0x06/0x07 forms some libraries still accept.
func checkUncompressed(b []byte) error {
	if len(b) == 65 && b[0] != 4 {
		return fmt.Errorf("%w: point format 0x%02x", ErrUnsupportedKey, b[0])
	}
	return nil
}
