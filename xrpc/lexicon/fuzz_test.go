package lexicon

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/hearth-pds/hearth/repo/dagcbor"
)

func FuzzParseSchema(f *testing.F) {
	for _, c := range readCases(f, "lexicon-valid.json") {
		f.Add([]byte(c.Lexicon))
	}
	for _, c := range readCases(f, "lexicon-invalid.json") {
		f.Add([]byte(c.Lexicon))
	}
	for _, name := range catalogFiles {
		f.Add(readFixture(f, "catalog/"+name))
	}
	for _, name := range []string{"app/bsky/feed/post.json", "com/atproto/repo/applyWrites.json", "com/atproto/sync/subscribeRepos.json"} {
		data, err := fs.ReadFile(schemasFS, "schemas/"+name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSchema(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("error %v does not wrap ErrInvalidSchema", err)
			}
			return
		}
		// Whatever parses must load, and validating against it must not
		// panic, refs unresolved or not.
		c := NewCatalog()
		if err := c.Add(s); err != nil {
			t.Fatal(err)
		}
		c.CheckRefs()
		for name, d := range s.Defs {
			if d.Type == "record" {
				c.ValidateRecord(s.ID, map[string]any{"$type": s.ID, name: int64(1)})
			}
		}
	})
}

func FuzzValidateRecord(f *testing.F) {
	cat := official(f)
	for _, s := range []string{
		typicalPost,
		post(`"text":"","createdAt":"2024-05-01T12:00:00Z"`),
		post(`"text":"q","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.recordWithMedia","record":{"record":` + strong + `},"media":{"$type":"app.bsky.embed.images","images":[{"alt":"","image":` + image + `}]}}`),
		post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.images","images":"nope"}`),
		post(`"text":"` + "👩‍👩‍👦‍👦🇩🇪e\u0301" + `","createdAt":"2024-05-01T12:00:00+01:00","langs":["en"]`),
	} {
		f.Add([]byte(s))
	}
	for _, c := range readCases(f, "record-data-valid.json") {
		f.Add([]byte(c.Data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := dagcbor.FromJSON(data)
		if err != nil {
			return
		}
		err = cat.ValidateRecord("app.bsky.feed.post", v)
		var ve *ValidationError
		if err != nil && (!errors.Is(err, ErrInvalidRecord) || !errors.As(err, &ve) || ve.Path == "") {
			t.Fatalf("error %v is not a located ErrInvalidRecord", err)
		}
	})
}

func FuzzGraphemes(f *testing.F) {
	for _, s := range []string{"abc", "\r\n", "👩‍👩‍👦‍👦", "🇩🇪🇫🇷", "नमस्ते", "한국어", "e\u0301", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Graphemes(s)
		// Never more clusters than code points (or bad bytes), and at
		// least one for any non-empty string.
		if runes := len([]rune(s)); n > runes || (s != "" && n < 1) {
			t.Fatalf("Graphemes(%+q) = %d with %d runes", s, n, runes)
		}
	})
}

// FuzzLookup looks up names as a client may send them: whatever the name,
// the catalog holds only schemas it has files for.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"app.bsky.feed.post", "app.bsky.feed.post#main", "app.bsky.feed.defs#postView",
		"com.example.nothing", "app/bsky/feed/post", "app.bsky.feed.post/../like", "#main", "..", "app.bsky..post"} {
		f.Add(s)
	}
	c, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		d, err := c.Def(name)
		if err != nil && !errors.Is(err, ErrUnknownDef) {
			t.Fatalf("Def(%q): %v", name, err)
		}
		if err == nil && d == nil {
			t.Fatalf("Def(%q) found nil", name)
		}
		c.ValidateRecord(name, map[string]any{"$type": name})
		c.ValidateParams(name, nil)
		for _, id := range loaded(c) {
			p, ok := schemaPath("schemas", id)
			if _, err := fs.Stat(schemasFS, p); !ok || err != nil {
				t.Fatalf("after %q the catalog holds %s, which is not embedded", name, id)
			}
		}
	})
}
