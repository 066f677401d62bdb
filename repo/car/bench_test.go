package car

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

// benchBlocks returns n distinct blocks of about 500 bytes, the size of a
// typical record or MST node.
func benchBlocks(n int) []block {
	out := make([]block, n)
	for i := range out {
		data := bytes.Repeat([]byte{byte(i)}, 500)
		binary.BigEndian.PutUint32(data, uint32(i))
		out[i] = mkBlock(cid.DagCBOR, data)
	}
	return out
}

func BenchmarkWrite(b *testing.B) {
	blocks := benchBlocks(10_000)
	b.SetBytes(int64(len(encode(b, []cid.CID{blocks[0].c}, blocks))))
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter(io.Discard, blocks[0].c)
		if err != nil {
			b.Fatal(err)
		}
		for _, bl := range blocks {
			if err := w.WriteBlock(bl.c, bl.data); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	blocks := benchBlocks(10_000)
	file := encode(b, []cid.CID{blocks[0].c}, blocks)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(file), Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, _, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != len(blocks) {
			b.Fatalf("read %d blocks", n)
		}
	}
}

func BenchmarkReadAll(b *testing.B) {
	blocks := benchBlocks(10_000)
	file := encode(b, []cid.CID{blocks[0].c}, blocks)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ReadAll(bytes.NewReader(file), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
