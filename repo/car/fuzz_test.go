package car

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

// FuzzReader checks that any input ends in a clean error or io.EOF, that
// every error is one of ours, and that a file the Reader accepts is exactly
// what the Writer writes for the same roots and blocks.
func FuzzReader(f *testing.F) {
	for _, tc := range loadFixtures(f) {
		f.Add(b64(f, tc.CAR))
	}
	a := mkBlock(cid.DagCBOR, []byte{0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0xf6})
	raw := mkBlock(cid.Raw, []byte("blob"))
	f.Add(encode(f, []cid.CID{a.c}, nil))
	f.Add(encode(f, []cid.CID{a.c}, []block{a, raw, mkBlock(cid.Raw, nil)}))
	f.Add(encode(f, []cid.CID{a.c, raw.c}, []block{raw, a, raw}))
	for _, tc := range hostileCases() {
		f.Add(tc.in)
	}

	// Small limits so the fuzzer reaches them.
	opts := Options{MaxBlockSize: 4 << 10, MaxTotal: 64 << 10, MaxBlocks: 64}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in), opts)
		if err != nil {
			checkErr(t, err)
			return
		}
		var out bytes.Buffer
		w, err := NewWriter(&out, r.Roots()...)
		if err != nil {
			t.Fatalf("accepted roots the writer refuses: %v", err)
		}
		for {
			c, data, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkErr(t, err)
				return
			}
			if !c.Verify(data) {
				t.Fatalf("returned block %s that does not verify", c)
			}
			if err := w.WriteBlock(c, data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("accepted input is not canonical\n  in % x\n out % x", in, out.Bytes())
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrHeader, ErrMalformed, ErrCIDMismatch, ErrTooLarge} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error without a sentinel: %v", err)
}
