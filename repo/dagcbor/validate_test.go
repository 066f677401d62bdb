package dagcbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

var (
	testCID = cid.Sum(cid.DagCBOR, []byte("x"))
	// linkHex is testCID as a DAG-CBOR link: tag 42, 37-byte string, 0x00.
	linkHex = "d82a 5825 00" + hex.EncodeToString(testCID.Bytes())
	rawCID  = hex.EncodeToString(testCID.Bytes())
)

// nested returns n one-item arrays around a 0.
func nested(n int) string {
	return strings.Repeat("81", n) + "00"
}

type invalidCase struct {
	name      string
	hex       string
	canonical bool // rejected only as ErrNotCanonical
	offset    int  // where the error is reported
}

var invalidCBOR = []invalidCase{
	{"empty input", "", false, 0},
	{"unsorted keys", "a2 6162 01 6161 02", true, 4},
	{"longer key first", "a2 626161 01 6162 02", true, 5},
	{"duplicate keys", "a2 6161 01 6161 02", false, 4},
	{"integer key", "a1 01 02", false, 1},
	{"byte-string key", "a1 4161 01", false, 1},
	{"array key", "a1 80 01", false, 1},
	{"null key", "a1 f6 01", false, 1},
	{"half float", "f9 3c00", false, 0},
	{"single float", "fa 3f800000", false, 0},
	{"double float", "fb 3ff0000000000000", false, 0},
	{"float map value", "a1 6161 fb 0000000000000000", false, 3},
	{"indefinite text", "7f 6161 ff", true, 0},
	{"indefinite bytes", "5f 4161 ff", true, 0},
	{"indefinite array", "9f 01 ff", true, 0},
	{"indefinite map", "bf 6161 01 ff", true, 0},
	{"lone break", "ff", false, 0},
	{"indefinite int", "1f", false, 0},
	{"reserved info 28", "1c", false, 0},
	{"reserved info 30 in map key", "a1 7e 01", false, 1},
	{"non-minimal int 1 byte", "18 17", true, 0},
	{"non-minimal int 2 bytes", "19 00ff", true, 0},
	{"non-minimal int 4 bytes", "1a 0000ffff", true, 0},
	{"non-minimal int 8 bytes", "1b 00000000ffffffff", true, 0},
	{"non-minimal negative", "38 00", true, 0},
	{"non-minimal text length", "78 01 61", true, 0},
	{"non-minimal bytes length", "59 0001 00", true, 0},
	{"non-minimal array length", "98 01 01", true, 0},
	{"non-minimal map length", "b8 01 6161 01", true, 0},
	{"non-minimal key length", "a1 78 01 61 01", true, 1},
	{"non-minimal tag", "d9 002a 5825 00" + rawCID, true, 0},
	{"non-minimal link length", "d82a 5a 00000025 00" + rawCID, true, 2},
	{"undefined", "f7", false, 0},
	{"undefined in array", "82 01 f7", false, 2},
	{"simple value 16", "f0", false, 0},
	{"simple value 32", "f8 20", false, 0},
	{"tag 1 (time)", "c1 1a 5f000000", false, 0},
	{"tag 0", "c0 60", false, 0},
	{"tag 42 without 0x00", "d82a 5824" + rawCID, false, 2},
	{"tag 42 with empty bytes", "d82a 40", false, 2},
	{"tag 42 over text", "d82a 7825 00" + rawCID, false, 2},
	{"tag 42 over null", "d82a f6", false, 2},
	{"tag 42 with a bad CID version", "d82a 5825 00 00" + rawCID[2:], false, 0},
	{"tag 42 with a short CID", "d82a 5824 00" + rawCID[:70], false, 0},
	{"nested tag 42", "d82a d82a 5825 00" + rawCID, false, 2},
	{"trailing bytes", "01 01", false, 1},
	{"trailing after map", "a0 00", false, 1},
	{"two items", "6161 6162", false, 2},
	{"truncated text", "62 61", false, 0},
	{"truncated head", "19 01", false, 0},
	{"truncated map", "a1 6161", false, 3},
	{"truncated array", "82 01", false, 0},
	{"truncated nested array", "82 81 01", false, 3},
	{"truncated link", "d82a 5825 00 0171", false, 2},
	{"invalid UTF-8 text", "62 c328", false, 0},
	{"invalid UTF-8 key", "a1 61 ff 01", false, 1},
	{"surrogate in text", "63 eda080", false, 0},
	{"huge bytes length", "5b ffffffffffffffff", false, 0},
	{"huge text length", "7a ffffffff 61", false, 0},
	{"huge array length", "9b 7fffffffffffffff 01", false, 0},
	{"huge map length", "bb 0000000100000000 6161 01", false, 0},
	{"array longer than input", "99 ffff 01 01", false, 0},
	{"int above int64", "1b 8000000000000000", false, 0},
	{"int below int64", "3b 8000000000000000", false, 0},
	{"too deep", nested(MaxDepth + 1), false, MaxDepth},
}

func TestValidateRejects(t *testing.T) {
	for _, tc := range invalidCBOR {
		t.Run(tc.name, func(t *testing.T) {
			in := hx(t, tc.hex)
			err := Validate(in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate(% x) = %v, want ErrInvalid", in, err)
			}
			if got := errors.Is(err, ErrNotCanonical); got != tc.canonical {
				t.Errorf("errors.Is(%v, ErrNotCanonical) = %v, want %v", err, got, tc.canonical)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("%v is not a *SyntaxError", err)
			}
			if se.Offset != tc.offset {
				t.Errorf("offset %d, want %d (%v)", se.Offset, tc.offset, err)
			}

			if v, err := Decode(in); !errors.Is(err, ErrInvalid) || v != nil {
				t.Errorf("Decode = %v, %v; want nil, ErrInvalid", v, err)
			}
			var a any
			if err := Unmarshal(in, &a); !errors.Is(err, ErrInvalid) {
				t.Errorf("Unmarshal(*any) = %v, want ErrInvalid", err)
			}
			var m map[string]any
			if err := Unmarshal(in, &m); !errors.Is(err, ErrInvalid) {
				t.Errorf("Unmarshal(*map) = %v, want ErrInvalid", err)
			}
			var n mstNode
			if err := Unmarshal(in, &n); !errors.Is(err, ErrInvalid) {
				t.Errorf("Unmarshal(*struct) = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want any
	}{
		{"zero", "00", int64(0)},
		{"23", "17", int64(23)},
		{"24", "18 18", int64(24)},
		{"256", "19 0100", int64(256)},
		{"2^32", "1b 0000000100000000", int64(1 << 32)},
		{"max int64", "1b 7fffffffffffffff", int64(math.MaxInt64)},
		{"-1", "20", int64(-1)},
		{"-25", "38 18", int64(-25)},
		{"min int64", "3b 7fffffffffffffff", int64(math.MinInt64)},
		{"false", "f4", false},
		{"true", "f5", true},
		{"null", "f6", nil},
		{"empty text", "60", ""},
		{"text", "63 e282ac", "€"},
		{"empty bytes", "40", []byte{}},
		{"bytes", "43 010203", []byte{1, 2, 3}},
		{"empty array", "80", []any{}},
		{"array", "83 01 f6 6161", []any{int64(1), nil, "a"}},
		{"empty map", "a0", map[string]any{}},
		{"map in canonical order", "a3 6162 01 6163 02 626161 03",
			map[string]any{"b": int64(1), "c": int64(2), "aa": int64(3)}},
		{"empty key", "a2 60 01 6161 02", map[string]any{"": int64(1), "a": int64(2)}},
		{"link", linkHex, testCID},
		{"link in map", "a1 6161 " + linkHex, map[string]any{"a": testCID}},
		{"deepest nesting", nested(MaxDepth), nestedValue(MaxDepth)},
		{"empty MST node", "a2 6165 80 616c f6", map[string]any{"e": []any{}, "l": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := hx(t, tc.hex)
			if err := Validate(in); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got, err := Decode(in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Decode = %#v, want %#v", got, tc.want)
			}
			out, err := Encode(got)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(out, in) {
				t.Fatalf("Encode(Decode(x)) = % x, want % x", out, in)
			}
		})
	}
}

func nestedValue(n int) any {
	var v any = int64(0)
	for range n {
		v = []any{v}
	}
	return v
}

// Decode must not alias its input: records are often decoded out of a
// buffer that is reused.
func TestDecodeCopies(t *testing.T) {
	in := hx(t, "a2 6161 43 010203 6162 6178")
	v, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	want := map[string]any{"a": []byte{1, 2, 3}, "b": "x"}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("decoded value changed with its input: %#v", v)
	}
}

func TestErrorMessage(t *testing.T) {
	err := Validate(hx(t, "a2 6162 01 6161 02"))
	want := `dagcbor: byte 4: map key "a" sorts before the previous key "b"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	err = Validate(hx(t, "d82a 5825 00 00"+rawCID[2:]))
	if !errors.Is(err, cid.ErrInvalid) {
		t.Fatalf("bad link err = %v, want it to wrap cid.ErrInvalid", err)
	}
}
