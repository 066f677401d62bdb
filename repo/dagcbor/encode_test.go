package dagcbor

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

// mstEntry and mstNode mirror the MST node layout, to check how Marshal
// treats nil and empty slices.
type mstEntry struct {
	P int64   `cbor:"p"`
	K []byte  `cbor:"k"`
	V cid.CID `cbor:"v"`
	T cid.CID `cbor:"t"`
}

type mstNode struct {
	E []mstEntry `cbor:"e"`
	L cid.CID    `cbor:"l"`
}

const emptyNodeCID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"

func TestEmptyMSTNode(t *testing.T) {
	want := hx(t, "a2 6165 80 616c f6")

	got, err := Encode(map[string]any{"e": []any{}, "l": nil})
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Encode(map) = % x, %v; want % x", got, err, want)
	}
	got, err = Encode(map[string]any{"e": []any{}, "l": cid.CID{}})
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Encode(map with zero CID) = % x, %v; want % x", got, err, want)
	}
	got, err = Marshal(mstNode{E: []mstEntry{}})
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Marshal(struct) = % x, %v; want % x", got, err, want)
	}
	if c := cid.Sum(cid.DagCBOR, got).String(); c != emptyNodeCID {
		t.Errorf("CID %s, want %s", c, emptyNodeCID)
	}

	// The trap: a nil slice is null, not [].
	nilE := hx(t, "a2 6165 f6 616c f6")
	if got, _ := Marshal(mstNode{}); !bytes.Equal(got, nilE) {
		t.Errorf("Marshal(nil E) = % x, want % x", got, nilE)
	}
	if got, _ := Encode(map[string]any{"e": []any(nil), "l": nil}); !bytes.Equal(got, nilE) {
		t.Errorf("Encode(nil E) = % x, want % x", got, nilE)
	}

	var n mstNode
	if err := Unmarshal(want, &n); err != nil || n.E == nil || len(n.E) != 0 || n.L.Defined() {
		t.Errorf("Unmarshal = %+v, %v", n, err)
	}
}

// commitLike declares its fields out of canonical order; Marshal must still
// write them sorted, length first.
type commitLike struct {
	DID     string  `cbor:"did"`
	Version int64   `cbor:"version"`
	Data    cid.CID `cbor:"data"`
	Rev     string  `cbor:"rev"`
	Prev    cid.CID `cbor:"prev"`
	Sig     []byte  `cbor:"sig"`
}

func TestMarshalMatchesEncode(t *testing.T) {
	s := commitLike{DID: "did:plc:abc", Version: 3, Data: testCID, Rev: "3kabc", Sig: []byte{1, 2}}
	m := map[string]any{"did": "did:plc:abc", "version": 3, "data": testCID, "rev": "3kabc", "prev": nil, "sig": []byte{1, 2}}
	a, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("Marshal = % x\nEncode  = % x", a, b)
	}
	var back commitLike
	if err := Unmarshal(a, &back); err != nil || back.Rev != s.Rev || back.Data != s.Data || back.Prev.Defined() {
		t.Fatalf("Unmarshal = %+v, %v", back, err)
	}
}

func TestMarshalRejectsOutsideDataModel(t *testing.T) {
	for _, v := range []any{
		struct {
			F float64 `cbor:"f"`
		}{1.5},
		map[int]string{1: "a"},
		uint64(math.MaxUint64),
	} {
		if b, err := Marshal(v); !errors.Is(err, ErrInvalid) {
			t.Errorf("Marshal(%#v) = % x, %v; want ErrInvalid", v, b, err)
		}
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		hex  string
	}{
		{"nil", nil, "f6"},
		{"false", false, "f4"},
		{"true", true, "f5"},
		{"int 0", 0, "00"},
		{"int 23", int8(23), "17"},
		{"int 24", int16(24), "1818"},
		{"int 255", uint8(255), "18ff"},
		{"int 256", uint16(256), "190100"},
		{"int 65536", uint32(65536), "1a00010000"},
		{"int 2^32", uint(1 << 32), "1b0000000100000000"},
		{"max int64", uint64(math.MaxInt64), "1b7fffffffffffffff"},
		{"-1", int32(-1), "20"},
		{"-24", -24, "37"},
		{"-25", -25, "3818"},
		{"-257", int64(-257), "390100"},
		{"min int64", int64(math.MinInt64), "3b7fffffffffffffff"},
		{"empty string", "", "60"},
		{"string", "abc", "63616263"},
		{"string of 24", "abcdefghijklmnopqrstuvwx", "78186162636465666768696a6b6c6d6e6f707172737475767778"},
		{"nil bytes", []byte(nil), "f6"},
		{"empty bytes", []byte{}, "40"},
		{"bytes", []byte{0xff}, "41ff"},
		{"link", testCID, linkHex},
		{"zero link", cid.CID{}, "f6"},
		{"nil array", []any(nil), "f6"},
		{"empty array", []any{}, "80"},
		{"nil map", map[string]any(nil), "f6"},
		{"empty map", map[string]any{}, "a0"},
		{"key order", map[string]any{"bb": 1, "a": 2, "c": 3, "": 4, "ab": 5},
			"a5 60 04 6161 02 6163 03 626162 05 626262 01"},
		{"blob", Blob{Ref: testCID, MimeType: "image/png", Size: 10},
			"a4 63726566 " + linkHex + " 6473697a65 0a 652474797065 64626c6f62 686d696d6554797065 69696d6167652f706e67"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(tc.in)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if want := hx(t, tc.hex); !bytes.Equal(got, want) {
				t.Fatalf("Encode = % x\n    want % x", got, want)
			}
			if err := Validate(got); err != nil {
				t.Fatalf("Validate(Encode) = %v", err)
			}
		})
	}
}

func TestEncodeBlobMatchesMap(t *testing.T) {
	b := Blob{Ref: testCID, MimeType: "image/png", Size: 10}
	a, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Encode(b.Value())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, m) {
		t.Fatalf("Encode(Blob) = % x\nEncode(map)  = % x", a, m)
	}
	s, err := Marshal(struct {
		B Blob `cbor:"b"`
	}{b})
	if err != nil {
		t.Fatal(err)
	}
	if want := append(hx(t, "a1 6162"), a...); !bytes.Equal(s, want) {
		t.Fatalf("Marshal(struct{Blob}) = % x, want % x", s, want)
	}
	var back struct {
		B Blob `cbor:"b"`
	}
	if err := Unmarshal(s, &back); err != nil || back.B != b {
		t.Fatalf("Unmarshal = %+v, %v", back, err)
	}
}

func TestEncodeRejects(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for _, tc := range []struct {
		name string
		in   any
		want error
	}{
		{"float64", 1.0, ErrUnsupported},
		{"float32", float32(1), ErrUnsupported},
		{"float in map", map[string]any{"a": 0.5}, ErrUnsupported},
		{"struct", struct{}{}, ErrUnsupported},
		{"string slice", []string{"a"}, ErrUnsupported},
		{"pointer", new(int64), ErrUnsupported},
		{"uint64 overflow", uint64(math.MaxInt64 + 1), ErrInvalid},
		{"uint overflow", uint(math.MaxUint), ErrInvalid},
		{"invalid UTF-8", "\xff", ErrInvalid},
		{"invalid UTF-8 key", map[string]any{"\xff": 1}, ErrInvalid},
		{"too deep", nestedValue(MaxDepth + 1), ErrInvalid},
		{"cycle", cyclic, ErrInvalid},
		{"blob without ref", Blob{MimeType: "a/b", Size: 1}, ErrInvalid},
		{"blob without mimeType", Blob{Ref: testCID, Size: 1}, ErrInvalid},
		{"legacy blob", Blob{Ref: testCID, MimeType: "a/b", Size: LegacySize}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Encode(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Encode = % x, %v; want %v", b, err, tc.want)
			}
		})
	}
	if _, err := Encode(nestedValue(MaxDepth)); err != nil {
		t.Fatalf("Encode at MaxDepth: %v", err)
	}
}

func TestUnmarshalMismatch(t *testing.T) {
	var n mstNode
	if err := Unmarshal(hx(t, "a1 6165 01"), &n); !errors.Is(err, ErrInvalid) {
		t.Errorf("Unmarshal(type mismatch) = %v, want ErrInvalid", err)
	}
	if err := Unmarshal(hx(t, "a0"), n); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("Unmarshal(non-pointer) = %v, want a non-ErrInvalid error", err)
	}
}
