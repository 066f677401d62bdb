package car

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

// TestWriterInMemory checks that a CAR written into a bytes.Buffer (a
// firehose frame's few blocks, at every commit) costs about its own size,
// not a 32 KiB write buffer besides, and reads back.
func TestWriterInMemory(t *testing.T) {
	b := mkBlock(cid.DagCBOR, []byte{0xa1, 0x61, 0x61, 0x01})
	write := func(buf *bytes.Buffer) {
		cw, err := NewWriter(buf, b.c)
		if err != nil {
			t.Fatal(err)
		}
		if err := cw.WriteBlock(b.c, b.data); err != nil {
			t.Fatal(err)
		}
		if err := cw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	write(&buf)
	r, err := NewReader(bytes.NewReader(buf.Bytes()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c, data, err := r.Next(); err != nil || c != b.c || !bytes.Equal(data, b.data) {
		t.Fatalf("read back %s %x %v", c, data, err)
	}
	const n = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		var buf bytes.Buffer
		buf.Grow(256)
		write(&buf)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 4<<10 {
		t.Errorf("%d bytes allocated per in-memory CAR of one small block", per)
	}
}
