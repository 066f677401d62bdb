package dagcbor

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

func TestFixtures(t *testing.T) {
	for i, tc := range loadFixture[roundTripCase](t, "data-model-fixtures.json") {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			want := b64(t, tc.CBORBase64)

			v, err := FromJSON(tc.JSON)
			if err != nil {
				t.Fatalf("FromJSON: %v", err)
			}
			got, err := Encode(v)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("JSON→CBOR:\n got % x\nwant % x", got, want)
			}
			if c := cid.Sum(cid.DagCBOR, got).String(); c != tc.CID {
				t.Errorf("CID %s, want %s", c, tc.CID)
			}

			if err := Validate(want); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			dv, err := Decode(want)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(dv, v) {
				t.Errorf("Decode(CBOR) = %#v\nFromJSON(JSON) = %#v", dv, v)
			}
			js, err := ToJSON(dv)
			if err != nil {
				t.Fatalf("ToJSON: %v", err)
			}
			if !jsonEqual(t, js, tc.JSON) {
				t.Errorf("CBOR→JSON:\n got %s\nwant %s", js, tc.JSON)
			}

			var u any
			if err := Unmarshal(want, &u); err != nil || !reflect.DeepEqual(u, dv) {
				t.Errorf("Unmarshal(*any) = %#v, %v", u, err)
			}
		})
	}
}

func TestDataModelValid(t *testing.T) {
	for _, tc := range loadFixture[acceptCase](t, "data-model-valid.json") {
		t.Run(tc.Note, func(t *testing.T) {
			m, err := RecordFromJSON(tc.JSON)
			if err != nil {
				t.Fatalf("RecordFromJSON: %v", err)
			}
			b, err := Encode(m)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if err := Validate(b); err != nil {
				t.Fatalf("Validate(Encode): %v", err)
			}
			// JSON → CBOR → JSON → CBOR is stable.
			js, err := ToJSON(m)
			if err != nil {
				t.Fatalf("ToJSON: %v", err)
			}
			again, err := RecordFromJSON(js)
			if err != nil {
				t.Fatalf("RecordFromJSON(ToJSON): %v", err)
			}
			if b2, _ := Encode(again); !bytes.Equal(b, b2) {
				t.Fatalf("round trip changed the encoding")
			}
		})
	}
}

// invalidReasons pins why each invalid fixture must fail, so that a case
// cannot pass by failing for some other reason.
var invalidReasons = map[string]string{
	"top-level not an object":        "a record must be an object",
	"float":                          "rcrd.a: number 123.456 is not an integer",
	"record with $type null":         "rcrd.$type: must be a non-empty string",
	"record with $type wrong type":   "rcrd.$type: must be a non-empty string",
	"record with empty $type string": "rcrd.$type: must be a non-empty string",
	"blob with string size":          "blb: blob size must be",
	"blob with missing key":          "blb: blob must have exactly",
	"bytes with wrong field type":    "lnk.$bytes: must be a string",
	"bytes with extra fields":        "lnk: a $bytes object must have no other keys",
	"link with wrong field type":     "lnk.$link: must be a string",
	"link with bogus CID":            "lnk.$link: invalid cid",
	"link with extra fields":         "lnk: a $link object must have no other keys",
}

func TestDataModelInvalid(t *testing.T) {
	cases := loadFixture[acceptCase](t, "data-model-invalid.json")
	if len(cases) != len(invalidReasons) {
		t.Errorf("%d invalid fixtures, %d known reasons", len(cases), len(invalidReasons))
	}
	for _, tc := range cases {
		t.Run(tc.Note, func(t *testing.T) {
			_, err := RecordFromJSON(tc.JSON)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("RecordFromJSON(%s) err = %v, want ErrInvalid", tc.JSON, err)
			}
			want, ok := invalidReasons[tc.Note]
			if !ok {
				t.Fatalf("no expected reason for %q (got %v)", tc.Note, err)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to mention %q", err, want)
			}
		})
	}
}
