package car

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
)

// Errors a Reader or Writer wraps, so callers can tell a hostile or broken
// file from an I/O failure. Truncation additionally wraps io.ErrUnexpectedEOF.
var (
	ErrHeader      = errors.New("car: bad header")
	ErrMalformed   = errors.New("car: malformed section")
	ErrCIDMismatch = errors.New("car: block does not hash to its cid")
	ErrTooLarge    = errors.New("car: over limit")
)

// Limits. A single-root header is 58 bytes; the header cap only has to be
// generous enough for many roots while keeping a hostile length cheap.
const (
	MaxHeaderSize       = 64 << 10
	DefaultMaxBlockSize = 2 << 20
	DefaultMaxTotal     = 64 << 20
	DefaultMaxBlocks    = 1 << 18
)

// Options bounds what a Reader accepts. The zero value gives the defaults,
// which suit events and ordinary repositories; a bulk import of a large
// repository should raise MaxTotal and MaxBlocks together.
type Options struct {
	// MaxBlockSize bounds the data of one block (its section minus the CID).
	// Zero or negative means DefaultMaxBlockSize.
	MaxBlockSize int
	// MaxTotal bounds the bytes read, header included. Zero means
	// DefaultMaxTotal; negative means no limit.
	MaxTotal int64
	// MaxBlocks bounds the number of sections. Zero means DefaultMaxBlocks;
	// negative means no limit.
	MaxBlocks int
}

// resolved replaces zero values by the defaults.
func (o Options) resolved() Options {
	if o.MaxBlockSize <= 0 {
		o.MaxBlockSize = DefaultMaxBlockSize
	}
	if o.MaxTotal == 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	if o.MaxBlocks == 0 {
		o.MaxBlocks = DefaultMaxBlocks
	}
	return o
}

// header is the CAR v1 header. Field order does not matter: the encoder
// sorts keys length-first, which puts "roots" before "version".
type header struct {
	Roots   []cid.CID `cbor:"roots"`
	Version uint64    `cbor:"version"`
}

func encodeHeader(roots []cid.CID) ([]byte, error) {
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: no roots", ErrHeader)
	}
	for i, r := range roots {
		if !r.Defined() {
			return nil, fmt.Errorf("%w: root %d is the zero cid", ErrHeader, i)
		}
	}
	b, err := dagcbor.Marshal(header{Roots: roots, Version: 1})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	if len(b) > MaxHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes (%d roots) exceeds %d", ErrTooLarge, len(b), len(roots), MaxHeaderSize)
	}
	return b, nil
}

// decodeHeader parses and checks the header block. Besides the version and
// roots it requires the exact bytes encodeHeader would produce: the CBOR
// decoder tolerates unsorted keys, unknown keys and long-form
// integers, and a strict reader should not.
func decodeHeader(b []byte) ([]cid.CID, error) {
	var h header
	if err := dagcbor.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	if h.Version != 1 {
		return nil, fmt.Errorf("%w: version %d, want 1", ErrHeader, h.Version)
	}
	if len(h.Roots) == 0 {
		return nil, fmt.Errorf("%w: no roots", ErrHeader)
	}
	want, err := encodeHeader(h.Roots)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b, want) {
		return nil, fmt.Errorf("%w: not canonical DAG-CBOR {roots, version}", ErrHeader)
	}
	return h.Roots, nil
}

var (
	errNonMinimal = errors.New("varint is not minimally encoded")
	errOverflow   = errors.New("varint overflows 64 bits")
)

// readUvarint reads an unsigned LEB128 varint and the number of bytes it
// took. Unlike binary.ReadUvarint it rejects non-minimal encodings, so one
// length has one encoding. It returns io.EOF only if no byte was read.
func readUvarint(br io.ByteReader) (uint64, int, error) {
	var x uint64
	var s uint
	for i := range binary.MaxVarintLen64 {
		b, err := br.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, i, err
		}
		if b < 0x80 {
			if i > 0 && b == 0 {
				return 0, i + 1, errNonMinimal
			}
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, i + 1, errOverflow
			}
			return x | uint64(b)<<s, i + 1, nil
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	return 0, binary.MaxVarintLen64, errOverflow
}
