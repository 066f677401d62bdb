package dagcbor

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode checks that Decode never panics, that it agrees with Validate
// and Unmarshal, and the canonicality property: an accepted input is
// exactly what Encode writes for the decoded value.
func FuzzDecode(f *testing.F) {
	for _, tc := range loadFixture[roundTripCase](f, "data-model-fixtures.json") {
		f.Add(b64(f, tc.CBORBase64))
	}
	for _, tc := range invalidCBOR {
		f.Add(hx(f, tc.hex))
	}
	f.Add(hx(f, "a2 6165 80 616c f6"))
	f.Add(hx(f, "a3 6162 01 6163 02 626161 03"))
	f.Add(postCBOR(f))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := Decode(in)
		verr := Validate(in)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Decode err %v but Validate err %v", err, verr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			var a any
			if Unmarshal(in, &a) == nil {
				t.Fatalf("Unmarshal accepted what Decode refused: %v", err)
			}
			return
		}
		out, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(Decode(x)): %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("not canonical but accepted:\n in % x\nout % x", in, out)
		}
		var m map[string]any
		if mv, isMap := v.(map[string]any); isMap {
			if err := Unmarshal(in, &m); err != nil {
				t.Fatalf("Unmarshal into map refused what Decode accepted: %v", err)
			}
			if len(m) != len(mv) {
				t.Fatalf("Unmarshal found %d keys, Decode %d", len(m), len(mv))
			}
		}
		// ToJSON may refuse (a map with a $link key), but whatever it writes
		// FromJSON must read, unless the data-model rules on $type and blobs
		// say otherwise, which Decode does not enforce.
		js, err := ToJSON(v)
		if err != nil {
			return
		}
		back, err := FromJSON(js)
		if err != nil {
			return
		}
		if again, err := Encode(back); err != nil || !bytes.Equal(again, in) {
			t.Fatalf("CBOR→JSON→CBOR changed the bytes: %s", js)
		}
	})
}

// FuzzFromJSON checks that FromJSON never panics and that whatever it
// accepts encodes to valid DAG-CBOR that survives a round trip unchanged.
func FuzzFromJSON(f *testing.F) {
	for _, tc := range loadFixture[roundTripCase](f, "data-model-fixtures.json") {
		f.Add([]byte(tc.JSON))
	}
	for _, name := range []string{"data-model-valid.json", "data-model-invalid.json"} {
		for _, tc := range loadFixture[acceptCase](f, name) {
			f.Add([]byte(tc.JSON))
		}
	}
	f.Add([]byte(postJSON))
	f.Add([]byte(`[1e3, 1.5e1, -0.0, 9223372036854775807, "\u2028"]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := FromJSON(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		b, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(FromJSON) refused: %v", err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(FromJSON)) refused: %v", err)
		}
		if !reflect.DeepEqual(d, v) {
			t.Fatalf("CBOR round trip changed the value: %#v vs %#v", d, v)
		}
		js, err := ToJSON(v)
		if err != nil {
			t.Fatalf("ToJSON(FromJSON) refused: %v", err)
		}
		back, err := FromJSON(js)
		if err != nil {
			t.Fatalf("FromJSON(ToJSON) refused %s: %v", js, err)
		}
		if again, _ := Encode(back); !bytes.Equal(again, b) {
			t.Fatalf("JSON round trip changed the encoding: %s", js)
		}
	})
}
