package dagcbor

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

func TestFromJSONNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any // int64, or nil for a rejection
	}{
		{"0", int64(0)},
		{"-0", int64(0)},
		{"123", int64(123)},
		{"-123", int64(-123)},
		{"123.0", int64(123)},
		{"123.000", int64(123)},
		{"-0.0", int64(0)},
		{"1e3", int64(1000)},
		{"1E+3", int64(1000)},
		{"1.5e1", int64(15)},
		{"1500e-2", int64(15)},
		{"0e999999999999999999999", int64(0)},
		{"9007199254740993", int64(9007199254740993)}, // not a float64
		{"9223372036854775807", int64(math.MaxInt64)},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"9223372036854775807.0", int64(math.MaxInt64)},
		{"-9.223372036854775808e18", int64(math.MinInt64)},
		{"9223372036854775808", nil},
		{"-9223372036854775809", nil},
		{"9.3e18", nil},
		{"1e19", nil},
		{"1e999999999999999999999", nil},
		{"123.456", nil},
		{"0.5", nil},
		{"1e-1", nil},
		{"15e-1", nil},
		{"1e-999999999999999999999", nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := FromJSON([]byte(tc.in))
			if tc.want == nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("FromJSON = %#v, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FromJSON = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestFromJSON(t *testing.T) {
	link := testCID.String()
	for _, tc := range []struct {
		name string
		in   string
		want any
	}{
		{"null", "null", nil},
		{"bool", "true", true},
		{"string", `"a\u00e9\ud83d\ude00"`, "aé😀"},
		{"lone surrogate becomes U+FFFD", `"\ud800"`, "\ufffd"},
		{"empty array", "[]", []any{}},
		{"empty object", "{}", map[string]any{}},
		{"link", `{"$link":"` + link + `"}`, testCID},
		{"bytes", `{"$bytes":"AQID"}`, []byte{1, 2, 3}},
		{"empty bytes", `{"$bytes":""}`, []byte{}},
		{"typed", `{"$type":"a.b.c","x":[1,null]}`, map[string]any{"$type": "a.b.c", "x": []any{int64(1), nil}}},
		{"blob", `{"$type":"blob","ref":{"$link":"` + link + `"},"mimeType":"image/png","size":0}`,
			map[string]any{"$type": "blob", "ref": testCID, "mimeType": "image/png", "size": int64(0)}},
		{"whitespace", " \n{ } \t", map[string]any{}},
		{"other $ keys are ordinary", `{"$foo":1}`, map[string]any{"$foo": int64(1)}},
		{"deepest nesting", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), emptyNested(MaxDepth)},
		{"link at the deepest level", strings.Repeat("[", MaxDepth) + `{"$link":"` + link + `"}` + strings.Repeat("]", MaxDepth), linkNested(MaxDepth)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromJSON([]byte(tc.in))
			if err != nil {
				t.Fatalf("FromJSON: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("FromJSON = %#v, want %#v", got, tc.want)
			}
			if _, err := Encode(got); err != nil {
				t.Fatalf("Encode(FromJSON) = %v", err)
			}
		})
	}
}

func emptyNested(n int) any {
	var v any = []any{}
	for range n - 1 {
		v = []any{v}
	}
	return v
}

func linkNested(n int) any {
	var v any = testCID
	for range n {
		v = []any{v}
	}
	return v
}

func TestFromJSONRejects(t *testing.T) {
	link := testCID.String()
	for _, tc := range []struct {
		name, in, why string
	}{
		{"empty", "", "EOF"},
		{"syntax", "{", "EOF"},
		{"trailing comma", "[1,]", "invalid"},
		{"trailing value", "{} {}", "data after the value"},
		{"trailing garbage", "1 x", "data after the value"},
		{"duplicate key", `{"a":1,"a":1}`, "a: duplicate key"},
		{"duplicate key deep", `{"x":[{"a":1,"a":2}]}`, "x[0].a: duplicate key"},
		{"float deep", `{"x":[0,[1.5]]}`, "x[1][0]: number 1.5 is not an integer"},
		{"$type number", `{"$type":1}`, "$type: must be a non-empty string"},
		{"$link null", `{"$link":null}`, "$link: must be a string"},
		{"$link upper case", `{"$link":"` + strings.ToUpper(link) + `"}`, "invalid cid"},
		{"$link nested link", `{"$link":{"$link":"` + link + `"}}`, "$link: must be a string"},
		{"$link with $type", `{"$link":"` + link + `","$type":"x"}`, "no other keys"},
		{"$bytes padded", `{"$bytes":"AQI="}`, "base64"},
		{"$bytes url alphabet", `{"$bytes":"-_8"}`, "base64"},
		{"blob with extra key", `{"$type":"blob","ref":{"$link":"` + link + `"},"mimeType":"a/b","size":1,"x":1}`, "exactly"},
		{"blob ref as string", `{"$type":"blob","ref":"` + link + `","mimeType":"a/b","size":1}`, "ref must be a link"},
		{"blob empty mimeType", `{"$type":"blob","ref":{"$link":"` + link + `"},"mimeType":"","size":1}`, "mimeType"},
		{"blob negative size", `{"$type":"blob","ref":{"$link":"` + link + `"},"mimeType":"a/b","size":-1}`, "size"},
		{"blob float size", `{"$type":"blob","ref":{"$link":"` + link + `"},"mimeType":"a/b","size":1.5}`, "not an integer"},
		{"too deep array", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nested deeper"},
		{"too deep object", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), "nested deeper"},
		{"deep $link chain", strings.Repeat(`{"$link":`, 10000) + "1" + strings.Repeat("}", 10000), "nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := FromJSON([]byte(tc.in))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("FromJSON = %#v, %v; want ErrInvalid", v, err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.why)
			}
		})
	}
	if _, err := FromJSON([]byte(`{"$link":"x"}`)); !errors.Is(err, cid.ErrInvalid) {
		t.Errorf("bad $link err = %v, want it to wrap cid.ErrInvalid", err)
	}
}

func TestRecordFromJSON(t *testing.T) {
	for _, in := range []string{`"x"`, "1", "[]", "null", `{"$link":"` + testCID.String() + `"}`, `{"$bytes":""}`} {
		if m, err := RecordFromJSON([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("RecordFromJSON(%s) = %v, %v; want ErrInvalid", in, m, err)
		}
	}
}

func TestToJSON(t *testing.T) {
	link := testCID.String()
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"null", nil, "null"},
		{"ints", []any{int64(-1), 2, uint8(3), int64(math.MinInt64)}, "[-1,2,3,-9223372036854775808]"},
		{"escapes", "\"\\\n\r\t\x00\x1f<>&\u2028\u2029é😀", `"\"\\\n\r\t\u0000\u001f<>&\u2028\u2029é😀"`},
		{"bytes", []byte{1, 2, 3}, `{"$bytes":"AQID"}`},
		{"empty bytes", []byte{}, `{"$bytes":""}`},
		{"nil bytes", []byte(nil), "null"},
		{"link", testCID, `{"$link":"` + link + `"}`},
		{"zero link", cid.CID{}, "null"},
		{"key order", map[string]any{"bb": true, "a": false, "ab": nil}, `{"a":false,"ab":null,"bb":true}`},
		{"blob", Blob{Ref: testCID, MimeType: "image/png", Size: 5},
			`{"$type":"blob","ref":{"$link":"` + link + `"},"mimeType":"image/png","size":5}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToJSON(tc.in)
			if err != nil {
				t.Fatalf("ToJSON: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("ToJSON = %s\n    want %s", got, tc.want)
			}
			// Whatever ToJSON writes, encoding/json reads.
			jsonValueString(t, got)
		})
	}
}

func TestToJSONRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want error
	}{
		{"float", 1.5, ErrUnsupported},
		{"struct", struct{}{}, ErrUnsupported},
		{"uint64 overflow", uint64(math.MaxUint64), ErrInvalid},
		{"invalid UTF-8", "\xff", ErrInvalid},
		{"invalid UTF-8 key", map[string]any{"\xff": 1}, ErrInvalid},
		{"$link key", map[string]any{"$link": "x"}, ErrInvalid},
		{"$bytes key", map[string]any{"$bytes": "x", "y": 1}, ErrInvalid},
		{"too deep", nestedValue(MaxDepth + 1), ErrInvalid},
		{"bad blob", Blob{}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := ToJSON(tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("ToJSON = %s, %v; want %v", b, err, tc.want)
			}
		})
	}
}
