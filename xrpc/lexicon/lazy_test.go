package lexicon

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/hearth-pds/hearth/repo/dagcbor"
)

// loaded lists the schemas c has parsed so far.
func loaded(c *Catalog) []string {
	ids := make([]string, 0, len(c.idx.Load().schemas))
	for id := range c.idx.Load().schemas {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// lazyCatalog is a catalog that loads from fsys on first use, as Default
// does from the embedded schemas.
func lazyCatalog(fsys fstest.MapFS) *Catalog {
	c := NewCatalog()
	c.src, c.dir = fsys, "."
	return c
}

func mustJSON(t testing.TB, s string) any {
	t.Helper()
	v, err := dagcbor.FromJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDefaultLoadsOnUse(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if ids := loaded(c); len(ids) != 0 {
		t.Fatalf("Default parsed %d schemas before any use", len(ids))
	}
	if err := c.ValidateRecord("app.bsky.feed.post", mustJSON(t, typicalPost)); err != nil {
		t.Fatal(err)
	}
	// The post and what it reaches; nothing else.
	want := []string{"app.bsky.embed.defs", "app.bsky.embed.images", "app.bsky.feed.post",
		"app.bsky.richtext.facet", "com.atproto.label.defs", "com.atproto.repo.strongRef"}
	if got := loaded(c); !slices.Equal(got, want) {
		t.Errorf("after one post, loaded %v, want %v", got, want)
	}
	if _, err := c.DecodeParams("com.atproto.repo.listRecords", url.Values{"repo": {"alice.test"}, "collection": {"app.bsky.feed.post"}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(loaded(c), "com.atproto.repo.listRecords") {
		t.Error("DecodeParams did not load its method")
	}
	if c.Len() != 395 || len(loaded(c)) != 395 {
		t.Errorf("Len = %d with %d loaded, want all 395", c.Len(), len(loaded(c)))
	}
}

// The names looked up come from requests: one the catalog does not hold
// must leave nothing behind.
func TestUnknownNamesNotKept(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"com.example.nothing", "app.bsky.feed", "app/bsky/feed/post", "app.bsky.feed.post/../post",
		"..", "", "app.bsky.feed.post.json", "APP.BSKY.FEED.POST"}
	for _, name := range names {
		if _, err := c.Def(name); !errors.Is(err, ErrUnknownDef) {
			t.Errorf("Def(%q): %v, want ErrUnknownDef", name, err)
		}
		if err := c.ValidateRecord(name, map[string]any{"$type": name}); !errors.Is(err, ErrUnknownCollection) {
			t.Errorf("ValidateRecord(%q): %v, want ErrUnknownCollection", name, err)
		}
		if err := c.ValidateInput(name, nil); !errors.Is(err, ErrUnknownMethod) {
			t.Errorf("ValidateInput(%q): %v, want ErrUnknownMethod", name, err)
		}
	}
	if ids := loaded(c); len(ids) != 0 {
		t.Errorf("unknown names left %v in the catalog", ids)
	}
	// A missing def of a real schema loads the schema, and only it.
	if _, err := c.Def("app.bsky.feed.post#nothing"); !errors.Is(err, ErrUnknownDef) {
		t.Errorf("Def of a missing name: %v", err)
	}
	if got := loaded(c); !slices.Equal(got, []string{"app.bsky.feed.post"}) {
		t.Errorf("loaded %v, want only app.bsky.feed.post", got)
	}
}

func TestLazyRefusesMisplacedSchema(t *testing.T) {
	c := lazyCatalog(fstest.MapFS{
		"com/example/a.json": {Data: doc(`"main":{"type":"token"}`)}, // id com.example.test
		"com/example/test.json": {Data: []byte(`{"lexicon":1,"id":"com.example.test",
			"defs":{"main":{"type":"record","key":"tid","record":{"type":"object","properties":{"a":{"type":"ref","ref":"com.example.a"}}}}}}`)},
	})
	if _, err := c.Def("com.example.a"); !errors.Is(err, ErrInvalidSchema) || !strings.Contains(err.Error(), "com/example/a.json") {
		t.Errorf("Def of a misplaced schema: %v, want ErrInvalidSchema naming its file", err)
	}
	// A ref to it fails the same way, not as data that does not conform.
	err := c.ValidateRecord("com.example.test", map[string]any{"$type": "com.example.test", "a": "com.example.a"})
	var ve *ValidationError
	if !errors.Is(err, ErrInvalidSchema) || errors.As(err, &ve) {
		t.Errorf("ValidateRecord through a misplaced schema: %v, want ErrInvalidSchema", err)
	}
	if got := loaded(c); !slices.Equal(got, []string{"com.example.test"}) {
		t.Errorf("loaded %v", got)
	}
	if err := c.CheckRefs(); !errors.Is(err, ErrInvalidSchema) {
		t.Errorf("CheckRefs: %v, want the misplaced schema reported", err)
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d, want 1", c.Len())
	}
}

func TestLazyBrokenSchema(t *testing.T) {
	c := lazyCatalog(fstest.MapFS{
		"com/example/bad.json": {Data: []byte(`{"lexicon":1,"id":"com.example.bad","defs":{"main":{"type":"recrd"}}}`)},
	})
	checks := map[string]error{
		"Def":               func() error { _, err := c.Def("com.example.bad"); return err }(),
		"ValidateRecord":    c.ValidateRecord("com.example.bad", map[string]any{"$type": "com.example.bad"}),
		"ValidateRecordKey": c.ValidateRecordKey("com.example.bad", "self"),
		"ValidateParams":    c.ValidateParams("com.example.bad", nil),
		"Add":               c.Add(&Schema{ID: "com.example.bad"}),
		"CheckRefs":         c.CheckRefs(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrInvalidSchema) {
			t.Errorf("%s: %v, want ErrInvalidSchema", name, err)
		}
	}
	if _, ok := c.Schema("com.example.bad"); ok {
		t.Error("Schema found a schema that does not parse")
	}
}

func TestAddRefusesLazyDuplicate(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Add(&Schema{ID: "app.bsky.feed.like"}); !errors.Is(err, ErrDuplicateSchema) {
		t.Errorf("Add of an embedded id: %v, want ErrDuplicateSchema", err)
	}
	extra := fstest.MapFS{
		"mine.json": {Data: []byte(`{"lexicon":1,"id":"com.example.mine","defs":{"main":{"type":"token"}}}`)},
		"post.json": {Data: []byte(`{"lexicon":1,"id":"app.bsky.feed.post","defs":{"main":{"type":"token"}}}`)},
	}
	if err := c.LoadFS(extra); !errors.Is(err, ErrDuplicateSchema) || !strings.Contains(err.Error(), "post.json") {
		t.Errorf("LoadFS with an embedded id: %v, want ErrDuplicateSchema naming post.json", err)
	}
	if _, ok := c.Schema("com.example.mine"); ok {
		t.Error("a refused LoadFS added part of its files")
	}
	if d, err := c.Def("app.bsky.feed.post"); err != nil || d.Type != "record" {
		t.Errorf("the embedded post was replaced: %v, %v", d, err)
	}
	delete(extra, "post.json")
	if err := c.LoadFS(extra); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 396 {
		t.Errorf("Len = %d, want the 395 embedded and one more", c.Len())
	}
}

// Many requests validating at once, each perhaps the first to need a
// schema, must agree and must not race (go test -race).
func TestLazyConcurrentValidation(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]string{
		"app.bsky.feed.post":     typicalPost,
		"app.bsky.feed.like":     `{"$type":"app.bsky.feed.like","subject":` + strong + `,"createdAt":"2024-05-01T12:00:00.000Z"}`,
		"app.bsky.graph.follow":  `{"$type":"app.bsky.graph.follow","subject":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","createdAt":"2024-05-01T12:00:00.000Z"}`,
		"app.bsky.actor.profile": `{"$type":"app.bsky.actor.profile","displayName":"Alice","avatar":` + image + `}`,
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		for coll, rec := range records {
			v := mustJSON(t, rec)
			wg.Go(func() {
				if err := c.ValidateRecord(coll, v); err != nil {
					errs <- fmt.Errorf("%s (%d): %w", coll, i, err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for coll := range records {
		s1, _ := c.Schema(coll)
		d, _ := c.Def(coll)
		if s1 == nil || s1.Defs["main"] != d {
			t.Errorf("%s: Schema and Def disagree", coll)
		}
	}
}

func TestSchemaPath(t *testing.T) {
	cases := []struct {
		dir, nsid, want string
		ok              bool
	}{
		{"schemas", "app.bsky.feed.post", "schemas/app/bsky/feed/post.json", true},
		{".", "com.example.fooBar", "com/example/fooBar.json", true},
		{"schemas", "app/bsky/feed/post", "", false},
		{"schemas", "app.bsky..post", "", false},
		{"schemas", "post", "", false},
		{"schemas", "", "", false},
	}
	for _, tc := range cases {
		if got, ok := schemaPath(tc.dir, tc.nsid); got != tc.want || ok != tc.ok {
			t.Errorf("schemaPath(%q, %q) = %q, %v; want %q, %v", tc.dir, tc.nsid, got, ok, tc.want, tc.ok)
		}
	}
}
