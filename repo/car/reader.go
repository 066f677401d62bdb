package car

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/hearth-pds/hearth/repo/cid"
)

const readBufferSize = 32 << 10

// Reader reads a CAR v1 file one verified block at a time. Its memory is one
// read buffer plus the block it returns; see Options for the limits.
type Reader struct {
	br    *bufio.Reader
	opts  Options
	roots []cid.CID
	off   int64          // bytes consumed so far
	n     int            // blocks returned so far
	err   error          // sticky: after a failure or the end, Next repeats it
	cb    [cid.Size]byte // CID scratch; a local would escape through io.ReadFull
}

// NewReader reads and checks the header of the CAR in r.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	cr := &Reader{br: bufio.NewReaderSize(r, readBufferSize), opts: opts.resolved()}
	if err := cr.readHeader(); err != nil {
		return nil, err
	}
	return cr, nil
}

func (r *Reader) readHeader() error {
	l, n, err := readUvarint(r.br)
	r.off += int64(n)
	if err != nil {
		return r.headerErr("length", err)
	}
	if l == 0 {
		return fmt.Errorf("%w: empty header", ErrHeader)
	}
	if l > MaxHeaderSize {
		return fmt.Errorf("%w: header of %d bytes exceeds %d", ErrTooLarge, l, MaxHeaderSize)
	}
	if err := r.checkTotal(l); err != nil {
		return fmt.Errorf("%w: header: %s", ErrTooLarge, err)
	}
	b := make([]byte, l)
	k, err := io.ReadFull(r.br, b)
	r.off += int64(k)
	if err != nil {
		return r.headerErr("body", err)
	}
	roots, err := decodeHeader(b)
	if err != nil {
		return err
	}
	r.roots = roots
	return nil
}

func (r *Reader) headerErr(what string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if isFormatErr(err) {
		return fmt.Errorf("%w: %s at offset %d: %w", ErrHeader, what, r.off, err)
	}
	return fmt.Errorf("car: read header %s at offset %d: %w", what, r.off, err)
}

// Roots returns the roots the header names; there is at least one.
func (r *Reader) Roots() []cid.CID { return slices.Clone(r.roots) }

// Next returns the next block, its data freshly allocated and verified
// against its CID. It returns io.EOF, unwrapped, at a clean end of file,
// that is at a section boundary. After any error it keeps returning it.
func (r *Reader) Next() (cid.CID, []byte, error) {
	if r.err != nil {
		return cid.CID{}, nil, r.err
	}
	c, data, err := r.next()
	if err != nil {
		r.err = err
		return cid.CID{}, nil, err
	}
	return c, data, nil
}

func (r *Reader) next() (cid.CID, []byte, error) {
	start := r.off
	fail := func(sentinel error, format string, args ...any) (cid.CID, []byte, error) {
		return cid.CID{}, nil, fmt.Errorf("%w: block %d at offset %d: %s", sentinel, r.n, start, fmt.Sprintf(format, args...))
	}
	// wrap keeps err in the chain (io.ErrUnexpectedEOF, cid.ErrInvalid) and
	// tells a broken file from a failing reader.
	wrap := func(what string, err error) (cid.CID, []byte, error) {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if isFormatErr(err) {
			return cid.CID{}, nil, fmt.Errorf("%w: block %d at offset %d: %s: %w", ErrMalformed, r.n, start, what, err)
		}
		return cid.CID{}, nil, fmt.Errorf("car: read block %d at offset %d: %s: %w", r.n, start, what, err)
	}

	l, n, err := readUvarint(r.br)
	r.off += int64(n)
	if err == io.EOF {
		return cid.CID{}, nil, io.EOF
	}
	if err != nil {
		return wrap("section length", err)
	}
	// Counted only once a section begins, so a file of exactly MaxBlocks
	// blocks still ends cleanly.
	if r.opts.MaxBlocks >= 0 && r.n >= r.opts.MaxBlocks {
		return fail(ErrTooLarge, "more than %d blocks", r.opts.MaxBlocks)
	}
	switch {
	case l == 0:
		return fail(ErrMalformed, "empty section")
	case l < cid.Size:
		return fail(ErrMalformed, "section of %d bytes is shorter than a %d-byte cid", l, cid.Size)
	case l-cid.Size > uint64(r.opts.MaxBlockSize):
		return fail(ErrTooLarge, "section of %d bytes exceeds the block limit of %d", l, r.opts.MaxBlockSize)
	}
	if err := r.checkTotal(l); err != nil {
		return fail(ErrTooLarge, "%s", err)
	}

	cb := r.cb[:]
	k, err := io.ReadFull(r.br, cb)
	r.off += int64(k)
	if err != nil {
		return wrap("cid", err)
	}
	c, _, err := cid.DecodePrefix(cb)
	if err != nil {
		if cb[0] == 0x12 && cb[1] == 0x20 {
			return fail(ErrMalformed, "CIDv0 is not supported")
		}
		return wrap("cid", err)
	}

	// l is bounded by MaxBlockSize and MaxTotal above, so this is the only
	// allocation a hostile length can cause.
	data := make([]byte, l-cid.Size)
	k, err = io.ReadFull(r.br, data)
	r.off += int64(k)
	if err != nil {
		return wrap("data", err)
	}
	if !c.Verify(data) {
		return fail(ErrCIDMismatch, "%s", c)
	}
	r.n++
	return c, data, nil
}

// checkTotal reports whether l more bytes would pass MaxTotal.
func (r *Reader) checkTotal(l uint64) error {
	if r.opts.MaxTotal < 0 {
		return nil
	}
	if left := uint64(r.opts.MaxTotal - r.off); r.off > r.opts.MaxTotal || l > left {
		return fmt.Errorf("%d bytes at offset %d pass the total limit of %d", l, r.off, r.opts.MaxTotal)
	}
	return nil
}

// isFormatErr reports errors that mean the bytes are wrong rather than that
// reading them failed.
func isFormatErr(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errNonMinimal) ||
		errors.Is(err, errOverflow) || errors.Is(err, cid.ErrInvalid)
}

// ReadAll reads a whole CAR into memory and verifies it: for event slices,
// tests and other small files, bounded by opts. The header must name exactly
// one root, as atproto's do. Whether the root block is present is left to the
// caller. A block that appears twice is kept once.
func ReadAll(r io.Reader, opts Options) (root cid.CID, blocks map[cid.CID][]byte, err error) {
	cr, err := NewReader(r, opts)
	if err != nil {
		return cid.CID{}, nil, err
	}
	if len(cr.roots) != 1 {
		return cid.CID{}, nil, fmt.Errorf("%w: %d roots, want exactly one", ErrHeader, len(cr.roots))
	}
	blocks = make(map[cid.CID][]byte)
	for {
		c, data, err := cr.Next()
		if err == io.EOF {
			return cr.roots[0], blocks, nil
		}
		if err != nil {
			return cid.CID{}, nil, err
		}
		blocks[c] = data
	}
}
