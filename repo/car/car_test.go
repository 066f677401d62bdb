package car

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

type fixtureCase struct {
	Root   string `json:"root"`
	Blocks []struct {
		CID   string `json:"cid"`
		Bytes string `json:"bytes"`
	} `json:"blocks"`
	CAR string `json:"car"`
}

// readFixture fails the test, rather than skipping it, when the file is
// missing or empty: a lost fixture must not look like a pass.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		t.Fatalf("fixture %s is empty", name)
	}
	return raw
}

func loadFixtures(t testing.TB) []fixtureCase {
	t.Helper()
	var cases []fixtureCase
	if err := json.Unmarshal(readFixture(t, "car-file-fixtures.json"), &cases); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("fixture has no cases")
	}
	return cases
}

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %.20q: %v", s, err)
	}
	return b
}

func TestFixtures(t *testing.T) {
	for i, tc := range loadFixtures(t) {
		t.Run(fmt.Sprintf("case%d", i), func(t *testing.T) {
			file := b64(t, tc.CAR)
			root := cid.MustParse(tc.Root)
			if len(tc.Blocks) == 0 {
				t.Fatal("fixture case has no blocks")
			}

			// Streaming: same blocks, same order.
			r, err := NewReader(bytes.NewReader(file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Roots(); len(got) != 1 || got[0] != root {
				t.Fatalf("roots = %v, want [%s]", got, root)
			}
			for j, want := range tc.Blocks {
				c, data, err := r.Next()
				if err != nil {
					t.Fatalf("block %d: %v", j, err)
				}
				if c.String() != want.CID || !bytes.Equal(data, b64(t, want.Bytes)) {
					t.Fatalf("block %d = %s, want %s", j, c, want.CID)
				}
			}
			if _, _, err := r.Next(); err != io.EOF {
				t.Fatalf("after the last block: %v, want io.EOF", err)
			}

			// ReadAll.
			gotRoot, blocks, err := ReadAll(bytes.NewReader(file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if gotRoot != root || len(blocks) != len(tc.Blocks) {
				t.Fatalf("ReadAll = %s with %d blocks, want %s with %d", gotRoot, len(blocks), root, len(tc.Blocks))
			}

			// Writing the same blocks gives the same bytes.
			var buf bytes.Buffer
			w, err := NewWriter(&buf, root)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tc.Blocks {
				if err := w.WriteBlock(cid.MustParse(b.CID), b64(t, b.Bytes)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), file) {
				t.Fatalf("written CAR differs from the fixture\n got % x\nwant % x", buf.Bytes(), file)
			}
		})
	}
}

type block struct {
	c    cid.CID
	data []byte
}

func mkBlock(codec uint64, data []byte) block { return block{cid.Sum(codec, data), data} }

func encode(t testing.TB, roots []cid.CID, blocks []block) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, roots...)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if err := w.WriteBlock(b.c, b.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	a := mkBlock(cid.DagCBOR, []byte{0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0xf6})
	raw := mkBlock(cid.Raw, []byte("blob bytes"))
	empty := mkBlock(cid.Raw, nil)
	big := mkBlock(cid.Raw, bytes.Repeat([]byte{7}, DefaultMaxBlockSize))
	tests := []struct {
		name   string
		roots  []cid.CID
		blocks []block
	}{
		{"no blocks", []cid.CID{a.c}, nil},
		{"one block", []cid.CID{a.c}, []block{a}},
		{"raw codec", []cid.CID{a.c}, []block{a, raw}},
		{"empty data", []cid.CID{a.c}, []block{empty, a}},
		{"duplicates", []cid.CID{a.c}, []block{a, raw, a}},
		{"two roots", []cid.CID{a.c, raw.c}, []block{a, raw}},
		{"block at the size limit", []cid.CID{big.c}, []block{big}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := encode(t, tt.roots, tt.blocks)
			r, err := NewReader(bytes.NewReader(file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Roots(); !equalCIDs(got, tt.roots) {
				t.Fatalf("roots = %v, want %v", got, tt.roots)
			}
			for i, want := range tt.blocks {
				c, data, err := r.Next()
				if err != nil {
					t.Fatalf("block %d: %v", i, err)
				}
				if c != want.c || !bytes.Equal(data, want.data) {
					t.Fatalf("block %d = %s, want %s", i, c, want.c)
				}
			}
			for range 2 { // io.EOF is sticky
				if _, _, err := r.Next(); err != io.EOF {
					t.Fatalf("at the end: %v, want io.EOF", err)
				}
			}
		})
	}
}

func equalCIDs(a, b []cid.CID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Hand-made pieces of hostile files.
var (
	testBlock = mkBlock(cid.DagCBOR, []byte{0xa1, 0x61, 0x61, 0x01}) // {"a":1}
	testLink  = append([]byte{0xd8, 0x2a, 0x58, 0x25, 0x00}, testBlock.c.Bytes()...)
)

func uvarint(n uint64) []byte { return binary.AppendUvarint(nil, n) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// withLen prefixes b with its uvarint length.
func withLen(b []byte) []byte { return cat(uvarint(uint64(len(b))), b) }

// hdr builds a header from the CBOR of its body.
func hdr(body ...[]byte) []byte { return withLen(cat(body...)) }

var (
	kRoots   = []byte("\x65roots")
	kVersion = []byte("\x67version")
	oneRoot  = cat([]byte{0x81}, testLink)
	goodHdr  = hdr([]byte{0xa2}, kRoots, oneRoot, kVersion, []byte{0x01})
)

func section(c []byte, data []byte) []byte { return withLen(cat(c, data)) }

var goodSection = section(testBlock.c.Bytes(), testBlock.data)

type hostileCase struct {
	name string
	in   []byte
	opts Options
	want []error // every one must be in the chain
}

func hostileCases() []hostileCase {
	v0 := cat([]byte{0x12, 0x20}, testBlock.c.Digest())
	dagPB := cat([]byte{0x01, 0x70, 0x12, 0x20}, testBlock.c.Digest())
	sha512 := cat([]byte{0x01, 0x71, 0x13, 0x20}, testBlock.c.Digest())
	wrongData := []byte{0xa1, 0x61, 0x61, 0x02}
	return []hostileCase{
		{"empty file", nil, Options{}, []error{ErrHeader, io.ErrUnexpectedEOF}},
		{"header length truncated", []byte{0x80}, Options{}, []error{ErrHeader, io.ErrUnexpectedEOF}},
		{"header length non-minimal", cat([]byte{0x80 | byte(len(goodHdr)-1), 0x00}, goodHdr[1:]), Options{}, []error{ErrHeader, errNonMinimal}},
		{"header length zero", []byte{0x00}, Options{}, []error{ErrHeader}},
		{"header length huge", cat(uvarint(1<<62), goodHdr[1:]), Options{}, []error{ErrTooLarge}},
		{"header over MaxTotal", goodHdr, Options{MaxTotal: 10}, []error{ErrTooLarge}},
		{"header body truncated", goodHdr[:30], Options{}, []error{ErrHeader, io.ErrUnexpectedEOF}},
		{"header not cbor", hdr([]byte{0xff, 0xff}), Options{}, []error{ErrHeader}},
		{"header not a map", hdr([]byte{0x01}), Options{}, []error{ErrHeader}},
		{"version 2", hdr([]byte{0xa2}, kRoots, oneRoot, kVersion, []byte{0x02}), Options{}, []error{ErrHeader}},
		{"carv2 pragma", hdr([]byte{0xa1}, kVersion, []byte{0x02}), Options{}, []error{ErrHeader}},
		{"version missing", hdr([]byte{0xa1}, kRoots, oneRoot), Options{}, []error{ErrHeader}},
		{"version a string", hdr([]byte{0xa2}, kRoots, oneRoot, kVersion, []byte("\x611")), Options{}, []error{ErrHeader}},
		{"version long form", hdr([]byte{0xa2}, kRoots, oneRoot, kVersion, []byte{0x18, 0x01}), Options{}, []error{ErrHeader}},
		{"roots empty", hdr([]byte{0xa2}, kRoots, []byte{0x80}, kVersion, []byte{0x01}), Options{}, []error{ErrHeader}},
		{"roots missing", hdr([]byte{0xa1}, kVersion, []byte{0x01}), Options{}, []error{ErrHeader}},
		{"roots null", hdr([]byte{0xa2}, kRoots, []byte{0xf6}, kVersion, []byte{0x01}), Options{}, []error{ErrHeader}},
		{"root null", hdr([]byte{0xa2}, kRoots, []byte{0x81, 0xf6}, kVersion, []byte{0x01}), Options{}, []error{ErrHeader}},
		{"root not a link", hdr([]byte{0xa2}, kRoots, []byte{0x81, 0x41, 0x00}, kVersion, []byte{0x01}), Options{}, []error{ErrHeader}},
		{"root CIDv0", hdr([]byte{0xa2}, kRoots, []byte{0x81, 0xd8, 0x2a, 0x58, 0x23, 0x00}, v0, kVersion, []byte{0x01}), Options{}, []error{ErrHeader}},
		{"keys unsorted", hdr([]byte{0xa2}, kVersion, []byte{0x01}, kRoots, oneRoot), Options{}, []error{ErrHeader}},
		{"extra key", hdr([]byte{0xa3}, []byte("\x61x\x01"), kRoots, oneRoot, kVersion, []byte{0x01}), Options{}, []error{ErrHeader}},
		{"duplicate key", hdr([]byte{0xa3}, kRoots, oneRoot, kRoots, oneRoot, kVersion, []byte{0x01}), Options{}, []error{ErrHeader}},
		{"header trailing bytes", hdr([]byte{0xa2}, kRoots, oneRoot, kVersion, []byte{0x01, 0x00}), Options{}, []error{ErrHeader}},

		{"section length truncated", cat(goodHdr, []byte{0x80}), Options{}, []error{ErrMalformed, io.ErrUnexpectedEOF}},
		{"section length non-minimal", cat(goodHdr, []byte{0x80 | byte(len(goodSection)-1), 0x00}, goodSection[1:]), Options{}, []error{ErrMalformed, errNonMinimal}},
		{"section length overflow", cat(goodHdr, bytes.Repeat([]byte{0xff}, 10), []byte{0x01}), Options{}, []error{ErrMalformed, errOverflow}},
		{"section length huge", cat(goodHdr, uvarint(1<<62), testBlock.c.Bytes()), Options{}, []error{ErrTooLarge}},
		{"section over MaxBlockSize", cat(goodHdr, goodSection), Options{MaxBlockSize: len(testBlock.data) - 1}, []error{ErrTooLarge}},
		{"section over MaxTotal", cat(goodHdr, goodSection), Options{MaxTotal: int64(len(goodHdr) + len(goodSection) - 1)}, []error{ErrTooLarge}},
		{"too many blocks", cat(goodHdr, goodSection, goodSection), Options{MaxBlocks: 1}, []error{ErrTooLarge}},
		{"empty section", cat(goodHdr, []byte{0x00}), Options{}, []error{ErrMalformed}},
		{"section shorter than a cid", cat(goodHdr, section(testBlock.c.Bytes()[:10], nil)), Options{}, []error{ErrMalformed}},
		{"cid truncated", cat(goodHdr, uvarint(40), testBlock.c.Bytes()[:20]), Options{}, []error{ErrMalformed, io.ErrUnexpectedEOF}},
		{"data truncated", cat(goodHdr, goodSection[:len(goodSection)-1]), Options{}, []error{ErrMalformed, io.ErrUnexpectedEOF}},
		{"data missing", cat(goodHdr, uvarint(40), testBlock.c.Bytes()), Options{}, []error{ErrMalformed, io.ErrUnexpectedEOF}},
		{"cid mismatch", cat(goodHdr, section(testBlock.c.Bytes(), wrongData)), Options{}, []error{ErrCIDMismatch}},
		{"codec swapped", cat(goodHdr, section(cid.Sum(cid.Raw, testBlock.data).Bytes(), wrongData)), Options{}, []error{ErrCIDMismatch}},
		{"CIDv0", cat(goodHdr, section(v0, testBlock.data)), Options{}, []error{ErrMalformed}},
		{"dag-pb codec", cat(goodHdr, section(dagPB, testBlock.data)), Options{}, []error{ErrMalformed, cid.ErrInvalid}},
		{"sha2-512 multihash", cat(goodHdr, section(sha512, testBlock.data)), Options{}, []error{ErrMalformed, cid.ErrInvalid}},
		{"trailing zero", cat(goodHdr, goodSection, []byte{0x00}), Options{}, []error{ErrMalformed}},
		{"trailing garbage", cat(goodHdr, goodSection, []byte("garbage")), Options{}, []error{ErrMalformed, io.ErrUnexpectedEOF}},
		{"second CAR appended", cat(goodHdr, goodSection, goodHdr, goodSection), Options{}, []error{ErrMalformed}},
	}
}

// readAllBlocks drives a Reader to its end, which ReadAll cannot do for
// files with several roots.
func readAllBlocks(in []byte, opts Options) (int, error) {
	r, err := NewReader(bytes.NewReader(in), opts)
	if err != nil {
		return 0, err
	}
	for n := 0; ; n++ {
		if _, _, err := r.Next(); err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
	}
}

func TestHostile(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAllBlocks(tc.in, tc.opts)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("error %q is not %q", err, want)
				}
			}
			if strings.HasPrefix(tc.name, "section") || strings.HasPrefix(tc.name, "data") || strings.HasPrefix(tc.name, "cid") {
				if !strings.Contains(err.Error(), "block 1 at offset") && !strings.Contains(err.Error(), "block 0 at offset") {
					t.Errorf("error %q does not say where", err)
				}
			}
			t.Log(err)
		})
	}
}

func TestLimitsAreInclusive(t *testing.T) {
	file := cat(goodHdr, goodSection, goodSection)
	opts := Options{MaxBlockSize: len(testBlock.data), MaxTotal: int64(len(file)), MaxBlocks: 2}
	if n, err := readAllBlocks(file, opts); err != nil || n != 2 {
		t.Fatalf("read %d blocks, %v; want 2, nil", n, err)
	}
	unlimited := Options{MaxTotal: -1, MaxBlocks: -1}
	if n, err := readAllBlocks(file, unlimited); err != nil || n != 2 {
		t.Fatalf("unlimited: read %d blocks, %v; want 2, nil", n, err)
	}
}

func TestErrorIsSticky(t *testing.T) {
	r, err := NewReader(bytes.NewReader(cat(goodHdr, []byte{0x00}, goodSection)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err1 := r.Next()
	_, _, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v then %v, want the same error twice", err1, err2)
	}
}

// A hostile length must not cost more memory than the limits allow, even
// when the file then ends early.
func TestNoLargeAllocation(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		opts Options
	}{
		{"header", cat(uvarint(1<<40), goodHdr[1:]), Options{}},
		{"section", cat(goodHdr, uvarint(1<<40), testBlock.c.Bytes()), Options{}},
		{"section within block limit over total", cat(goodHdr, uvarint(cid.Size+1<<20), testBlock.c.Bytes()), Options{MaxTotal: 1 << 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range 10 {
				if _, err := readAllBlocks(tt.in, tt.opts); !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 64<<10 {
				t.Fatalf("allocated %d bytes per read", per)
			}
		})
	}
}

func TestReadAll(t *testing.T) {
	other := mkBlock(cid.Raw, []byte("x"))
	t.Run("duplicates kept once", func(t *testing.T) {
		root, blocks, err := ReadAll(bytes.NewReader(encode(t, []cid.CID{testBlock.c}, []block{testBlock, other, testBlock})), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if root != testBlock.c || len(blocks) != 2 || !bytes.Equal(blocks[other.c], other.data) {
			t.Fatalf("got %s and %d blocks", root, len(blocks))
		}
	})
	t.Run("two roots", func(t *testing.T) {
		_, _, err := ReadAll(bytes.NewReader(encode(t, []cid.CID{testBlock.c, other.c}, nil)), Options{})
		if !errors.Is(err, ErrHeader) {
			t.Fatalf("err = %v, want ErrHeader", err)
		}
	})
	t.Run("hostile", func(t *testing.T) {
		for _, tc := range hostileCases() {
			if _, blocks, err := ReadAll(bytes.NewReader(tc.in), tc.opts); err == nil || blocks != nil {
				t.Errorf("%s: ReadAll = %d blocks, %v", tc.name, len(blocks), err)
			}
		}
	})
}

type failingRW struct{ after int }

var errIO = errors.New("disk on fire")

func (f *failingRW) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errIO
	}
	n := min(len(p), f.after)
	copy(p, goodHdr[len(goodHdr)-f.after:])
	f.after -= n
	return n, nil
}

func (f *failingRW) Write(p []byte) (int, error) { return 0, errIO }

func TestIOErrors(t *testing.T) {
	// A failing reader is reported as such, not as a malformed file.
	_, err := NewReader(&failingRW{}, Options{})
	if !errors.Is(err, errIO) || errors.Is(err, ErrHeader) {
		t.Errorf("header read error = %v", err)
	}
	r, err := NewReader(&failingRW{after: len(goodHdr)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Next(); !errors.Is(err, errIO) || errors.Is(err, ErrMalformed) || err == io.EOF {
		t.Errorf("block read error = %v", err)
	}

	w, err := NewWriter(&failingRW{}, testBlock.c)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, writeBufferSize+1) // bypasses the buffer, so fails now
	err1 := w.WriteBlock(testBlock.c, big)
	err2 := w.WriteBlock(testBlock.c, testBlock.data)
	err3 := w.Flush()
	if !errors.Is(err1, errIO) || err2 != err1 || err3 != err1 {
		t.Errorf("write errors %v, %v, %v; want the first one three times", err1, err2, err3)
	}
}

func TestWriterRejects(t *testing.T) {
	if _, err := NewWriter(io.Discard); !errors.Is(err, ErrHeader) {
		t.Errorf("no roots: %v", err)
	}
	if _, err := NewWriter(io.Discard, testBlock.c, cid.CID{}); !errors.Is(err, ErrHeader) {
		t.Errorf("zero root: %v", err)
	}
	many := make([]cid.CID, MaxHeaderSize/cid.Size)
	for i := range many {
		many[i] = testBlock.c
	}
	if _, err := NewWriter(io.Discard, many...); !errors.Is(err, ErrTooLarge) {
		t.Errorf("header over MaxHeaderSize: %v", err)
	}
	w, err := NewWriter(io.Discard, testBlock.c)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBlock(cid.CID{}, nil); err == nil {
		t.Error("wrote a block with the zero cid")
	}
	if err := w.WriteBlock(testBlock.c, testBlock.data); err != nil {
		t.Errorf("a bad block poisoned the writer: %v", err)
	}
}

func TestUvarint(t *testing.T) {
	tests := []struct {
		in      []byte
		want    uint64
		n       int
		wantErr error
	}{
		{[]byte{0x00}, 0, 1, nil},
		{[]byte{0x7f}, 127, 1, nil},
		{[]byte{0x80, 0x01}, 128, 2, nil},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1<<64 - 1, 10, nil},
		{nil, 0, 0, io.EOF},
		{[]byte{0x80}, 0, 1, io.ErrUnexpectedEOF},
		{[]byte{0x80, 0x00}, 0, 2, errNonMinimal},
		{[]byte{0xff, 0x80, 0x00}, 0, 3, errNonMinimal},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0, 10, errOverflow},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}, 0, 10, errOverflow},
	}
	for _, tt := range tests {
		got, n, err := readUvarint(bytes.NewReader(tt.in))
		if got != tt.want || n != tt.n || err != tt.wantErr {
			t.Errorf("readUvarint(% x) = %d, %d, %v; want %d, %d, %v", tt.in, got, n, err, tt.want, tt.n, tt.wantErr)
		}
	}
}
