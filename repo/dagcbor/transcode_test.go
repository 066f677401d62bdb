package dagcbor

import (
	"bytes"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

// cborJSONCases are values whose JSON AppendCBORAsJSON must write exactly as
// AppendJSON writes the decoded value.
func cborJSONCases(t testing.TB) [][]byte {
	link := cid.Sum(cid.DagCBOR, []byte("x"))
	vals := []any{
		nil, true, false, int64(0), int64(23), int64(24), int64(-1), int64(-25), int64(1) << 40, int64(-1) << 62,
		"", "plain", "quote \" backslash \\ newline \n tab \t bell \x07 and \u2028 é 🎉 <&>",
		[]byte{}, []byte{0, 1, 2, 250}, link,
		[]any{}, []any{int64(1), "two", nil, []any{true}},
		map[string]any{}, map[string]any{"a": int64(1), "bb": "two", "c": map[string]any{"d": []any{link}}},
		map[string]any{"$type": "blob", "ref": link, "mimeType": "image/png", "size": int64(1234)},
		map[string]any{"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2025-01-02T03:04:05.678Z",
			"langs": []any{"en"}, "facets": []any{map[string]any{"index": map[string]any{"byteStart": int64(0), "byteEnd": int64(5)}}}},
	}
	var out [][]byte
	for _, v := range vals {
		b, err := Encode(v)
		if err != nil {
			t.Fatalf("encode %v: %v", v, err)
		}
		out = append(out, b)
	}
	return out
}

func TestAppendCBORAsJSON(t *testing.T) {
	for _, in := range cborJSONCases(t) {
		checkTranscode(t, in)
	}
	// Refused as AppendJSON refuses them, leaving dst as it was.
	for _, v := range []map[string]any{{"$link": "x"}, {"a": map[string]any{"$bytes": "x"}}} {
		in, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendCBORAsJSON([]byte("prefix"), in)
		if err == nil || string(got) != "prefix" {
			t.Errorf("%v: %q, %v; want an error and dst untouched", v, got, err)
		}
	}
}

// checkTranscode compares AppendCBORAsJSON with AppendJSON of Decode.
func checkTranscode(t *testing.T, in []byte) {
	t.Helper()
	var want []byte
	v, err := Decode(in)
	if err == nil {
		want, err = AppendJSON([]byte("x"), v)
	}
	got, gerr := AppendCBORAsJSON([]byte("x"), in)
	switch {
	case err != nil && gerr == nil:
		t.Fatalf("%x: accepted, where Decode and AppendJSON refused (%v)", in, err)
	case err == nil && gerr != nil:
		t.Fatalf("%x: refused (%v), where Decode and AppendJSON wrote %s", in, gerr, want)
	case err != nil && string(got) != "x":
		t.Fatalf("%x: refused but dst changed to %q", in, got)
	case err == nil && !bytes.Equal(got, want):
		t.Fatalf("%x:\n got %s\nwant %s", in, got, want)
	}
}

// FuzzAppendCBORAsJSON holds the streaming transcoder to Decode and
// AppendJSON on any input: the same refusals, the same bytes.
func FuzzAppendCBORAsJSON(f *testing.F) {
	for _, in := range cborJSONCases(f) {
		f.Add(in)
	}
	for _, tc := range loadFixture[roundTripCase](f, "data-model-fixtures.json") {
		f.Add(b64(f, tc.CBORBase64))
	}
	for _, tc := range invalidCBOR {
		f.Add(hx(f, tc.hex))
	}
	f.Add(postCBOR(f))
	f.Fuzz(func(t *testing.T, in []byte) { checkTranscode(t, in) })
}

func BenchmarkAppendCBORAsJSON(b *testing.B) {
	in := postCBOR(b)
	b.Run("walk", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf, _ = AppendCBORAsJSON(buf[:0], in)
		}
	})
	b.Run("decode-then-append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			v, _ := Decode(in)
			buf, _ = AppendJSON(buf[:0], v)
		}
	})
}
