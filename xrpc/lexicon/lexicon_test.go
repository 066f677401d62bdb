package lexicon

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/repo/dagcbor"
)

func readCases(t testing.TB, name string) []map[string]json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var cases []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("fixture %s has no cases", name)
	}
	return cases
}

func testCatalog(t testing.TB) *Catalog {
	t.Helper()
	c := NewCatalog()
	if err := c.LoadFS(os.DirFS("testdata/catalog")); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 5 {
		t.Fatalf("catalog has %d schemas, want 5", c.Len())
	}
	return c
}

func TestSchemaVectors(t *testing.T) {
	for _, c := range readCases(t, "lexicon-valid.json") {
		if _, err := ParseSchema(c["lexicon"]); err != nil {
			t.Errorf("valid %s: %v", c["name"], err)
		}
	}
	for _, c := range readCases(t, "lexicon-invalid.json") {
		if _, err := ParseSchema(c["lexicon"]); !errors.Is(err, ErrInvalidSchema) {
			t.Errorf("invalid %s accepted (%v)", c["name"], err)
		}
	}
}

func TestRecordVectors(t *testing.T) {
	cat := testCatalog(t)
	check := func(c map[string]json.RawMessage) error {
		v, err := dagcbor.FromJSON(c["data"])
		if err != nil {
			return err
		}
		var rkey string
		json.Unmarshal(c["rkey"], &rkey)
		if err := cat.ValidateRecordKey("example.lexicon.record", rkey); err != nil {
			return err
		}
		return cat.ValidateRecord("example.lexicon.record", v)
	}
	for _, c := range readCases(t, "record-data-valid.json") {
		if err := check(c); err != nil {
			t.Errorf("valid %s: %v", c["name"], err)
		}
	}
	for _, c := range readCases(t, "record-data-invalid.json") {
		if err := check(c); err == nil {
			t.Errorf("invalid %s accepted", c["name"])
		}
	}
}

func TestOfficialCatalog(t *testing.T) {
	cat, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if cat.Len() < 300 {
		t.Fatalf("only %d schemas embedded", cat.Len())
	}
	cid := "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
	post := `{"$type":"app.bsky.feed.post","text":"hello @alice.test","createdAt":"2024-05-01T12:00:00.000Z","langs":["en"],
	  "facets":[{"index":{"byteStart":6,"byteEnd":17},"features":[{"$type":"app.bsky.richtext.facet#mention","did":"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"}]}],
	  "reply":{"root":{"uri":"at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3jzfcijpj2z2a","cid":"` + cid + `"},
	           "parent":{"uri":"at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3jzfcijpj2z2a","cid":"` + cid + `"}},
	  "embed":{"$type":"app.bsky.embed.images","images":[{"alt":"a cat","image":{"$type":"blob","ref":{"$link":"` + cid + `"},"mimeType":"image/jpeg","size":12345}}]}}`
	cases := []struct {
		name, coll, json string
		ok               bool
	}{
		{"post", "app.bsky.feed.post", post, true},
		{"profile", "app.bsky.actor.profile", `{"$type":"app.bsky.actor.profile","displayName":"Alice","description":"hi"}`, true},
		{"like", "app.bsky.feed.like", `{"$type":"app.bsky.feed.like","subject":{"uri":"at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3jzfcijpj2z2a","cid":"` + cid + `"},"createdAt":"2024-05-01T12:00:00Z"}`, true},
		{"follow", "app.bsky.graph.follow", `{"$type":"app.bsky.graph.follow","subject":"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa","createdAt":"2024-05-01T12:00:00Z"}`, true},
		{"repost", "app.bsky.feed.repost", `{"$type":"app.bsky.feed.repost","subject":{"uri":"at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3jzfcijpj2z2a","cid":"` + cid + `"},"createdAt":"2024-05-01T12:00:00Z"}`, true},
		{"text too long", "app.bsky.feed.post", `{"$type":"app.bsky.feed.post","text":"` + strings.Repeat("é", 301) + `","createdAt":"2024-05-01T12:00:00Z"}`, false},
		{"no createdAt", "app.bsky.feed.post", `{"$type":"app.bsky.feed.post","text":"x"}`, false},
		{"bad datetime", "app.bsky.feed.post", `{"$type":"app.bsky.feed.post","text":"x","createdAt":"yesterday"}`, false},
		{"wrong embed", "app.bsky.feed.post", `{"$type":"app.bsky.feed.post","text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.images","images":"nope"}}`, false},
		{"video too big", "app.bsky.feed.post", `{"$type":"app.bsky.feed.post","text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.images","images":[{"alt":"","image":{"$type":"blob","ref":{"$link":"` + cid + `"},"mimeType":"text/plain","size":1}}]}}`, false},
	}
	for _, c := range cases {
		v, err := dagcbor.FromJSON([]byte(c.json))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = cat.ValidateRecord(c.coll, v)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if err := cat.ValidateRecord("com.example.unknown", map[string]any{"$type": "com.example.unknown"}); !errors.Is(err, ErrUnknownCollection) {
		t.Errorf("unknown collection: %v", err)
	}
	if cat.ValidateRecordKey("app.bsky.actor.profile", "self") != nil || cat.ValidateRecordKey("app.bsky.actor.profile", "other") == nil {
		t.Error("literal:self key")
	}
	if cat.ValidateRecordKey("app.bsky.feed.post", "3jzfcijpj2z2a") != nil || cat.ValidateRecordKey("app.bsky.feed.post", "notatid") == nil {
		t.Error("tid key")
	}
}

func TestGraphemes(t *testing.T) {
	cases := map[string]int{
		"":             0,
		"abc":          3,
		"é":            1, // precomposed
		"e\u0301":      1, // combining acute
		"👩‍👩‍👦‍👦":      1, // ZWJ family
		"🇩🇪🇫🇷":         2, // two flags
		"🏳️‍🌈":         1,
		"👍🏽":           1,
		"\r\n":         1,
		"한국어":          3,
		"\u1100\u1161": 1,
	}
	for s, want := range cases {
		if got := Graphemes(s); got != want {
			t.Errorf("Graphemes(%q) = %d, want %d", s, got, want)
		}
	}
}

func FuzzParseSchema(f *testing.F) {
	for _, c := range readCases(f, "lexicon-valid.json") {
		f.Add([]byte(c["lexicon"]))
	}
	f.Fuzz(func(t *testing.T, data []byte) { ParseSchema(data) })
}

func FuzzValidateRecord(f *testing.F) {
	cat := testCatalog(f)
	for _, c := range readCases(f, "record-data-valid.json") {
		f.Add([]byte(c["data"]))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := dagcbor.FromJSON(data)
		if err != nil {
			return
		}
		cat.ValidateRecord("example.lexicon.record", v)
	})
}

func BenchmarkValidatePost(b *testing.B) {
	cat, _ := Default()
	v, _ := dagcbor.FromJSON([]byte(`{"$type":"app.bsky.feed.post","text":"hello world, a typical post of some length with an emoji 🎉","createdAt":"2024-05-01T12:00:00.000Z","langs":["en"]}`))
	for b.Loop() {
		if err := cat.ValidateRecord("app.bsky.feed.post", v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefault(b *testing.B) {
	for b.Loop() {
		Default()
	}
}
