package cid

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
)

// Codecs atproto uses.
const (
	DagCBOR uint64 = 0x71
	Raw     uint64 = 0x55
)

const (
	version1   = 0x01
	sha2_256   = 0x12
	digestSize = 32
	// Size is the length of a CID in binary form.
	Size = 4 + digestSize
)

// ErrInvalid reports bytes or a string that are not a CID this package accepts.
var ErrInvalid = errors.New("invalid cid")

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// CID is a CIDv1 over sha2-256. The zero value is "no CID" (see Defined).
// CIDs are comparable with ==.
type CID struct {
	codec  byte
	digest [digestSize]byte
}

// Sum returns the CID of data under codec.
func Sum(codec uint64, data []byte) CID {
	return CID{codec: byte(codec), digest: sha256.Sum256(data)}
}

// FromDigest builds a CID from a codec and a sha2-256 digest.
func FromDigest(codec uint64, digest []byte) (CID, error) {
	if codec != DagCBOR && codec != Raw {
		return CID{}, fmt.Errorf("%w: codec 0x%x", ErrInvalid, codec)
	}
	if len(digest) != digestSize {
		return CID{}, fmt.Errorf("%w: digest of %d bytes", ErrInvalid, len(digest))
	}
	c := CID{codec: byte(codec)}
	copy(c.digest[:], digest)
	return c, nil
}

// Decode parses the 36-byte binary form.
func Decode(b []byte) (CID, error) {
	if len(b) != Size {
		return CID{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalid, len(b), Size)
	}
	if b[0] != version1 {
		return CID{}, fmt.Errorf("%w: version byte 0x%02x", ErrInvalid, b[0])
	}
	if b[2] != sha2_256 || b[3] != digestSize {
		return CID{}, fmt.Errorf("%w: multihash 0x%02x/%d, want sha2-256", ErrInvalid, b[2], b[3])
	}
	return FromDigest(uint64(b[1]), b[4:])
}

// DecodePrefix parses a binary CID at the start of b and returns it with the
// number of bytes it used. CAR sections carry the CID unframed before the data.
func DecodePrefix(b []byte) (CID, int, error) {
	if len(b) < Size {
		return CID{}, 0, fmt.Errorf("%w: %d bytes, want %d", ErrInvalid, len(b), Size)
	}
	c, err := Decode(b[:Size])
	return c, Size, err
}

// Parse parses the string form: "b" followed by lower-case unpadded base32.
func Parse(s string) (CID, error) {
	if len(s) != 59 || s[0] != 'b' {
		return CID{}, fmt.Errorf("%w: %q is not a base32 CIDv1", ErrInvalid, truncate(s))
	}
	raw, err := b32.DecodeString(s[1:])
	if err != nil {
		return CID{}, fmt.Errorf("%w: %q: %v", ErrInvalid, truncate(s), err)
	}
	c, err := Decode(raw)
	if err != nil {
		return CID{}, err
	}
	// Base32 with trailing bits set would decode too; only the canonical form is accepted.
	if c.String() != s {
		return CID{}, fmt.Errorf("%w: %q is not canonical", ErrInvalid, truncate(s))
	}
	return c, nil
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) CID {
	c, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return c
}

// Defined reports whether c is a real CID rather than the zero value.
func (c CID) Defined() bool { return c.codec != 0 }

// Codec returns the multicodec of the content.
func (c CID) Codec() uint64 { return uint64(c.codec) }

// Digest returns the sha2-256 digest.
func (c CID) Digest() []byte { return bytes.Clone(c.digest[:]) }

// Bytes returns the 36-byte binary form, or nil for the zero CID.
func (c CID) Bytes() []byte {
	if !c.Defined() {
		return nil
	}
	return c.AppendBinary(make([]byte, 0, Size))
}

// AppendBinary appends the binary form to b.
func (c CID) AppendBinary(b []byte) []byte {
	b = append(b, version1, c.codec, sha2_256, digestSize)
	return append(b, c.digest[:]...)
}

// String returns the base32 form, or "" for the zero CID.
func (c CID) String() string {
	if !c.Defined() {
		return ""
	}
	var buf [Size]byte
	return "b" + b32.EncodeToString(c.AppendBinary(buf[:0]))
}

// Compare orders CIDs by their binary form.
func (c CID) Compare(o CID) int {
	if c.codec != o.codec {
		return int(c.codec) - int(o.codec)
	}
	return bytes.Compare(c.digest[:], o.digest[:])
}

// Verify reports whether data hashes to c.
func (c CID) Verify(data []byte) bool {
	return c.Defined() && sha256.Sum256(data) == c.digest
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
