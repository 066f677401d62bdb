package dagcbor

import (
	"bytes"
	"testing"
)

// postJSON is a typical app.bsky.feed.post: a reply with a mention and a link.
const postJSON = `{
	"$type": "app.bsky.feed.post",
	"text": "Replying to @alice.example.com about the new release — notes are at https://example.com/notes/2024 🎉",
	"createdAt": "2024-05-01T12:34:56.789Z",
	"langs": ["en"],
	"reply": {
		"root": {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3kq7a2b4c5d2x", "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},
		"parent": {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3kq7a3c4d5e2y", "cid": "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq"}
	},
	"facets": [
		{"index": {"byteStart": 12, "byteEnd": 30}, "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"}]},
		{"index": {"byteStart": 72, "byteEnd": 101}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/notes/2024"}]}
	]
}`

// The post as typed structs, for Marshal and Unmarshal.
type (
	strongRef struct {
		URI string `cbor:"uri"`
		CID string `cbor:"cid"`
	}
	replyRef struct {
		Root   strongRef `cbor:"root"`
		Parent strongRef `cbor:"parent"`
	}
	facetFeature struct {
		Type string `cbor:"$type"`
		DID  string `cbor:"did,omitempty"`
		URI  string `cbor:"uri,omitempty"`
	}
	facet struct {
		Index struct {
			ByteStart int64 `cbor:"byteStart"`
			ByteEnd   int64 `cbor:"byteEnd"`
		} `cbor:"index"`
		Features []facetFeature `cbor:"features"`
	}
	post struct {
		Type      string    `cbor:"$type"`
		Text      string    `cbor:"text"`
		CreatedAt string    `cbor:"createdAt"`
		Langs     []string  `cbor:"langs,omitempty"`
		Reply     *replyRef `cbor:"reply,omitempty"`
		Facets    []facet   `cbor:"facets,omitempty"`
	}
)

func postCBOR(tb testing.TB) []byte {
	tb.Helper()
	v, err := FromJSON([]byte(postJSON))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := Encode(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestPostStructMatchesGeneric(t *testing.T) {
	b := postCBOR(t)
	var p post
	if err := Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	again, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Fatalf("Marshal(struct) = % x\n   Encode(map) = % x", again, b)
	}
}

func BenchmarkValidate(b *testing.B) {
	data := postCBOR(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	data := postCBOR(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	v, err := Decode(postCBOR(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	data := postCBOR(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var p post
		if err := Unmarshal(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	var p post
	if err := Unmarshal(postCBOR(b), &p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromJSON(b *testing.B) {
	data := []byte(postJSON)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToJSON(b *testing.B) {
	v, err := Decode(postCBOR(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToJSON(v); err != nil {
			b.Fatal(err)
		}
	}
}
