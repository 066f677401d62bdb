package dagcbor

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

func TestFindBlobs(t *testing.T) {
	img := cid.Sum(cid.Raw, []byte("image"))
	vid := cid.Sum(cid.Raw, []byte("video"))
	old := cid.Sum(cid.Raw, []byte("legacy"))
	rec, err := RecordFromJSON([]byte(`{
		"$type": "app.bsky.feed.post",
		"embed": {
			"$type": "app.bsky.embed.recordWithMedia",
			"media": {"images": [
				{"alt": "", "image": {"$type": "blob", "ref": {"$link": "` + img.String() + `"}, "mimeType": "image/jpeg", "size": 1000}},
				{"alt": "", "image": {"cid": "` + old.String() + `", "mimeType": "image/png"}}
			]},
			"video": {"$type": "blob", "ref": {"$link": "` + vid.String() + `"}, "mimeType": "video/mp4", "size": 20}
		},
		"notLegacy": {"cid": "` + old.String() + `", "mimeType": "image/png", "extra": 1},
		"notLegacyEither": {"cid": "not a cid", "mimeType": "image/png"},
		"strongRef": {"cid": "` + old.String() + `", "uri": "at://x"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Blob{
		{Ref: img, MimeType: "image/jpeg", Size: 1000},
		{Ref: old, MimeType: "image/png", Size: LegacySize},
		{Ref: vid, MimeType: "video/mp4", Size: 20},
	}
	if got := FindBlobs(rec); !reflect.DeepEqual(got, want) {
		t.Fatalf("FindBlobs = %+v\n      want %+v", got, want)
	}

	// The same after a trip through CBOR.
	b, err := Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := FindBlobs(v); !reflect.DeepEqual(got, want) {
		t.Fatalf("FindBlobs(Decode) = %+v", got)
	}

	// Blob values, malformed blobs, and values without any.
	direct := []any{Blob{Ref: img, MimeType: "a/b", Size: 1}, map[string]any{"$type": "blob", "ref": "x"}}
	if got := FindBlobs(direct); len(got) != 1 || got[0].Ref != img {
		t.Fatalf("FindBlobs(direct) = %+v", got)
	}
	for _, v := range []any{nil, "x", int64(1), map[string]any{}, []any{}} {
		if got := FindBlobs(v); got != nil {
			t.Errorf("FindBlobs(%#v) = %+v, want nil", v, got)
		}
	}
	cyclic := []any{nil}
	cyclic[0] = cyclic
	FindBlobs(cyclic) // must return
}

func TestBlobJSON(t *testing.T) {
	b := Blob{Ref: cid.Sum(cid.Raw, []byte("x")), MimeType: "image/png", Size: 3}
	js, err := json.Marshal(struct {
		Avatar Blob `json:"avatar"`
	}{b})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"avatar":{"$type":"blob","ref":{"$link":"` + b.Ref.String() + `"},"mimeType":"image/png","size":3}}`
	if string(js) != want {
		t.Fatalf("json.Marshal = %s\nwant %s", js, want)
	}
	var back struct {
		Avatar Blob `json:"avatar"`
	}
	if err := json.Unmarshal(js, &back); err != nil || back.Avatar != b {
		t.Fatalf("json.Unmarshal = %+v, %v", back, err)
	}

	var legacy Blob
	err = json.Unmarshal([]byte(`{"cid":"`+b.Ref.String()+`","mimeType":"image/png"}`), &legacy)
	if err != nil || legacy != (Blob{Ref: b.Ref, MimeType: "image/png", Size: LegacySize}) {
		t.Fatalf("legacy = %+v, %v", legacy, err)
	}
	for _, in := range []string{`{}`, `1`, `{"$type":"blob"}`, `{"$type":"other"}`} {
		var x Blob
		if err := x.UnmarshalJSON([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("UnmarshalJSON(%s) = %v, want ErrInvalid", in, err)
		}
		if err := Unmarshal(mustEncodeJSON(t, in), &x); !errors.Is(err, ErrInvalid) {
			t.Errorf("Unmarshal(%s) = %v, want ErrInvalid", in, err)
		}
	}
}

// mustEncodeJSON encodes JSON text as DAG-CBOR, skipping the data-model
// checks of FromJSON where needed by going through a plain decode.
func mustEncodeJSON(t *testing.T, in string) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if f, ok := v.(float64); ok {
		v = int64(f)
	}
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
