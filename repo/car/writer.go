package car

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/hearth-pds/hearth/repo/cid"
)

// writeBufferSize is the Writer's only memory. Big enough that a network
// write carries dozens of typical blocks, small enough to not matter.
const writeBufferSize = 32 << 10

// Writer streams a CAR v1 file.
//
// It does not verify that a block hashes to its CID: callers write blocks
// they read from their own content-addressed store, and hashing a whole
// export again is real CPU on small hardware. Every Reader verifies.
//
// It does not skip duplicate CIDs either: that would take a set as large as
// the export. Duplicates are legal CAR v1, and the exports in this project
// come from stores keyed by CID, so they have none.
type Writer struct {
	out     io.Writer
	bw      *bufio.Writer // nil when out is already a buffer in memory
	err     error
	scratch [binary.MaxVarintLen64 + cid.Size]byte
}

// NewWriter writes the header naming roots to w and returns a Writer for the
// blocks. At least one root is required. The header sits in the buffer until
// the first flush, so a write error may surface only at WriteBlock or Flush.
func NewWriter(w io.Writer, roots ...cid.CID) (*Writer, error) {
	h, err := encodeHeader(roots)
	if err != nil {
		return nil, err
	}
	cw := &Writer{out: w}
	// A buffer in memory needs no second one: a firehose frame's CAR of a
	// few blocks allocated 32 KiB for it at every commit.
	if _, ok := w.(*bytes.Buffer); !ok {
		cw.bw = bufio.NewWriterSize(w, writeBufferSize)
		cw.out = cw.bw
	}
	p := binary.AppendUvarint(cw.scratch[:0], uint64(len(h)))
	if _, err := cw.out.Write(p); err != nil {
		return nil, fmt.Errorf("car: write header: %w", err)
	}
	if _, err := cw.out.Write(h); err != nil {
		return nil, fmt.Errorf("car: write header: %w", err)
	}
	return cw, nil
}

// WriteBlock writes one section. The caller may reuse data once it returns.
// After a write error every later call returns that error.
func (w *Writer) WriteBlock(c cid.CID, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if !c.Defined() {
		return fmt.Errorf("%w: block with the zero cid", ErrMalformed)
	}
	p := binary.AppendUvarint(w.scratch[:0], uint64(cid.Size+len(data)))
	p = c.AppendBinary(p)
	if _, err := w.out.Write(p); err != nil {
		w.err = fmt.Errorf("car: write block %s: %w", c, err)
		return w.err
	}
	if _, err := w.out.Write(data); err != nil {
		w.err = fmt.Errorf("car: write block %s: %w", c, err)
		return w.err
	}
	return nil
}

// Flush writes any buffered data to the underlying writer. It does not close
// it; call it once after the last block.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.bw == nil {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("car: flush: %w", err)
		return w.err
	}
	return nil
}
