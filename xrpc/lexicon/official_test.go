package lexicon

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// defaultCatalog parses the embedded schemas once for all tests.
var defaultCatalog = sync.OnceValues(Default)

func official(t testing.TB) *Catalog {
	t.Helper()
	c, err := defaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDefault(t *testing.T) {
	cat := official(t)
	// com.atproto 95, app.bsky 164, chat.bsky 58, tools.ozone 77, and
	// com.germnetwork 1, which upstream keeps under com.
	if cat.Len() != 395 {
		t.Errorf("%d schemas embedded, want 395", cat.Len())
	}
	if err := cat.CheckRefs(); err != nil {
		t.Errorf("embedded catalog has dangling refs:\n%v", err)
	}
	for _, ref := range []string{"app.bsky.feed.post", "com.atproto.repo.createRecord", "chat.bsky.convo.defs#messageView",
		"tools.ozone.moderation.defs#modEventTakedown", "com.atproto.repo.strongRef", "app.bsky.richtext.facet#mention"} {
		if _, err := cat.Def(ref); err != nil {
			t.Errorf("Def(%s): %v", ref, err)
		}
	}
	other, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if other == cat {
		t.Error("Default returned a shared catalog")
	}
}

const (
	postCID = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"
	imgCID  = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
	postURI = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jzfcijpj2z2a"
	strong  = `{"uri":"` + postURI + `","cid":"` + postCID + `"}`
	image   = `{"$type":"blob","ref":{"$link":"` + imgCID + `"},"mimeType":"image/jpeg","size":123456}`
)

// post builds an app.bsky.feed.post with the given fields after $type.
func post(fields string) string {
	return `{"$type":"app.bsky.feed.post",` + fields + `}`
}

const typicalPost = `{"$type":"app.bsky.feed.post","text":"hello @alice.example.com, look at this 🎉 #atproto",
	"createdAt":"2024-05-01T12:00:00.000Z","langs":["en","pt-BR"],
	"facets":[
		{"index":{"byteStart":6,"byteEnd":24},"features":[{"$type":"app.bsky.richtext.facet#mention","did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz"}]},
		{"index":{"byteStart":43,"byteEnd":51},"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"atproto"}]}],
	"reply":{"root":` + strong + `,"parent":` + strong + `},
	"embed":{"$type":"app.bsky.embed.images","images":[
		{"alt":"a cat","image":` + image + `,"aspectRatio":{"width":4,"height":3}}]},
	"labels":{"$type":"com.atproto.label.defs#selfLabels","values":[{"val":"nudity"}]},
	"tags":["cats"]}`

func TestOfficialRecords(t *testing.T) {
	cat := official(t)
	cases := []struct {
		name, collection, json, path string
	}{
		{"typical post", "app.bsky.feed.post", typicalPost, ""},
		{"minimal post", "app.bsky.feed.post", post(`"text":"","createdAt":"2024-05-01T12:00:00Z"`), ""},
		{"post quoting", "app.bsky.feed.post", post(`"text":"q","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.record","record":` + strong + `}`), ""},
		{"post with link card", "app.bsky.feed.post", post(`"text":"l","createdAt":"2024-05-01T12:00:00Z",
			"embed":{"$type":"app.bsky.embed.external","external":{"uri":"https://example.com","title":"t","description":"d","thumb":` + image + `}}`), ""},
		{"post with quote and media", "app.bsky.feed.post", post(`"text":"q","createdAt":"2024-05-01T12:00:00Z",
			"embed":{"$type":"app.bsky.embed.recordWithMedia","record":{"record":` + strong + `},"media":{"$type":"app.bsky.embed.images","images":[{"alt":"","image":` + image + `}]}}`), ""},
		{"post with future embed", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"com.example.embed.hologram","x":1}`), ""},
		{"post with link facet", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z",
			"facets":[{"index":{"byteStart":0,"byteEnd":1},"features":[{"$type":"app.bsky.richtext.facet#link","uri":"https://example.com"}]}]`), ""},
		{"300 graphemes", "app.bsky.feed.post", post(`"text":"` + strings.Repeat("é", 300) + `","createdAt":"2024-05-01T12:00:00Z"`), ""},

		{"text over 300 graphemes", "app.bsky.feed.post", post(`"text":"` + strings.Repeat("é", 301) + `","createdAt":"2024-05-01T12:00:00Z"`), "record/text"},
		{"text over 3000 bytes", "app.bsky.feed.post", post(`"text":"` + strings.Repeat("👩‍👩‍👦‍👦", 121) + `","createdAt":"2024-05-01T12:00:00Z"`), "record/text"},
		{"missing createdAt", "app.bsky.feed.post", post(`"text":"x"`), "record/createdAt"},
		{"missing text", "app.bsky.feed.post", post(`"createdAt":"2024-05-01T12:00:00Z"`), "record/text"},
		{"bad datetime", "app.bsky.feed.post", post(`"text":"x","createdAt":"yesterday"`), "record/createdAt"},
		{"datetime without zone", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00"`), "record/createdAt"},
		{"embed not an object", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":"images"`), "record/embed"},
		{"embed without $type", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"images":[]}`), "record/embed"},
		{"embed images wrong type", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.images","images":"nope"}`), "record/embed/images"},
		{"too many images", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.images","images":[` +
			strings.Repeat(`{"alt":"","image":`+image+`},`, 4) + `{"alt":"","image":` + image + `}]}`), "record/embed/images"},
		{"image not an image", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.images","images":[{"alt":"",
			"image":{"$type":"blob","ref":{"$link":"` + imgCID + `"},"mimeType":"text/plain","size":1}}]}`), "record/embed/images/0/image"},
		{"image too big", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.images","images":[{"alt":"",
			"image":{"$type":"blob","ref":{"$link":"` + imgCID + `"},"mimeType":"image/png","size":2000001}}]}`), "record/embed/images/0/image"},
		{"image without alt", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.images","images":[{"image":` + image + `}]}`), "record/embed/images/0/alt"},
		{"bad language", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","langs":["english!"]`), "record/langs/0"},
		{"too many langs", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","langs":["en","de","fr","es"]`), "record/langs"},
		{"mention with bad did", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z",
			"facets":[{"index":{"byteStart":0,"byteEnd":1},"features":[{"$type":"app.bsky.richtext.facet#mention","did":"alice"}]}]`), "record/facets/0/features/0/did"},
		{"negative byteStart", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z",
			"facets":[{"index":{"byteStart":-1,"byteEnd":1},"features":[]}]`), "record/facets/0/index/byteStart"},
		{"reply without parent", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","reply":{"root":` + strong + `}`), "record/reply/parent"},
		{"strongRef bad cid", "app.bsky.feed.post", post(`"text":"x","createdAt":"2024-05-01T12:00:00Z","embed":{"$type":"app.bsky.embed.record","record":{"uri":"` + postURI + `","cid":"nope"}}`), "record/embed/record/cid"},
		{"wrong $type", "app.bsky.feed.post", `{"$type":"app.bsky.feed.like","text":"x","createdAt":"2024-05-01T12:00:00Z"}`, "record/$type"},

		{"profile", "app.bsky.actor.profile", `{"$type":"app.bsky.actor.profile","displayName":"Alice 🌷","description":"hi there",
			"avatar":{"$type":"blob","ref":{"$link":"` + imgCID + `"},"mimeType":"image/png","size":50000},"pinnedPost":` + strong + `,"createdAt":"2024-05-01T12:00:00Z"}`, ""},
		{"empty profile", "app.bsky.actor.profile", `{"$type":"app.bsky.actor.profile"}`, ""},
		{"profile name too long", "app.bsky.actor.profile", `{"$type":"app.bsky.actor.profile","displayName":"` + strings.Repeat("a", 65) + `"}`, "record/displayName"},
		{"profile gif avatar", "app.bsky.actor.profile", `{"$type":"app.bsky.actor.profile","avatar":{"$type":"blob","ref":{"$link":"` + imgCID + `"},"mimeType":"image/gif","size":5}}`, "record/avatar"},
		{"like", "app.bsky.feed.like", `{"$type":"app.bsky.feed.like","subject":` + strong + `,"createdAt":"2024-05-01T12:00:00Z"}`, ""},
		{"like without subject", "app.bsky.feed.like", `{"$type":"app.bsky.feed.like","createdAt":"2024-05-01T12:00:00Z"}`, "record/subject"},
		{"follow", "app.bsky.graph.follow", `{"$type":"app.bsky.graph.follow","subject":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","createdAt":"2024-05-01T12:00:00Z"}`, ""},
		{"follow a handle", "app.bsky.graph.follow", `{"$type":"app.bsky.graph.follow","subject":"alice.example.com","createdAt":"2024-05-01T12:00:00Z"}`, "record/subject"},
		{"repost", "app.bsky.feed.repost", `{"$type":"app.bsky.feed.repost","subject":` + strong + `,"createdAt":"2024-05-01T12:00:00Z"}`, ""},
		{"repost of a uri", "app.bsky.feed.repost", `{"$type":"app.bsky.feed.repost","subject":"` + postURI + `","createdAt":"2024-05-01T12:00:00Z"}`, "record/subject"},
		{"block", "app.bsky.graph.block", `{"$type":"app.bsky.graph.block","subject":"did:web:example.com","createdAt":"2024-05-01T12:00:00Z"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkResult(t, cat.ValidateRecord(c.collection, fromJSON(t, c.json)), c.path)
		})
	}
	if err := cat.ValidateRecord("com.example.unknown", fromJSON(t, `{"$type":"com.example.unknown"}`)); !errors.Is(err, ErrUnknownCollection) {
		t.Errorf("unknown collection: %v", err)
	}
	keys := []struct {
		collection, rkey string
		ok               bool
	}{
		{"app.bsky.actor.profile", "self", true},
		{"app.bsky.actor.profile", "other", false},
		{"app.bsky.feed.post", "3jzfcijpj2z2a", true},
		{"app.bsky.feed.post", "notatid", false},
		{"app.bsky.feed.generator", "my-feed", true},
	}
	for _, k := range keys {
		if err := cat.ValidateRecordKey(k.collection, k.rkey); (err == nil) != k.ok {
			t.Errorf("ValidateRecordKey(%s, %q) = %v", k.collection, k.rkey, err)
		}
	}
}

func TestDecodeParams(t *testing.T) {
	fixtures := fixtureCatalog(t)
	cat := official(t)
	cases := []struct {
		name string
		cat  *Catalog
		nsid string
		q    string
		want map[string]any // nil: expect an error at path
		path string
	}{
		{"all kinds", fixtures, "example.lexicon.query", "stringField=x&integer=-5&boolean=true&array=1&array=2&handle=alice.example.com&other=ignored", map[string]any{
			"stringField": "x", "integer": int64(-5), "boolean": true, "array": []any{int64(1), int64(2)}, "handle": "alice.example.com"}, ""},
		{"empty string given", fixtures, "example.lexicon.query", "stringField=", map[string]any{"stringField": ""}, ""},
		{"required missing", fixtures, "example.lexicon.query", "integer=1", nil, "params/stringField"},
		{"bad boolean", fixtures, "example.lexicon.query", "stringField=x&boolean=yes", nil, "params/boolean"},
		{"bad integer", fixtures, "example.lexicon.query", "stringField=x&integer=1.5", nil, "params/integer"},
		{"integer twice", fixtures, "example.lexicon.query", "stringField=x&integer=1&integer=2", nil, "params/integer"},
		{"bad array item", fixtures, "example.lexicon.query", "stringField=x&array=1&array=b", nil, "params/array/1"},
		{"bad handle", fixtures, "example.lexicon.query", "stringField=x&handle=nope", nil, "params/handle"},
		{"no params at all", fixtures, "example.lexicon.procedure", "", map[string]any{}, ""},
		{"defaults", cat, "com.atproto.repo.listRecords", "repo=alice.example.com&collection=app.bsky.feed.post", map[string]any{
			"repo": "alice.example.com", "collection": "app.bsky.feed.post", "limit": int64(50)}, ""},
		{"over maximum", cat, "com.atproto.repo.listRecords", "repo=alice.example.com&collection=app.bsky.feed.post&limit=101", nil, "params/limit"},
		{"bad nsid", cat, "com.atproto.repo.listRecords", "repo=alice.example.com&collection=posts", nil, "params/collection"},
		{"subscription", cat, "com.atproto.sync.subscribeRepos", "cursor=5", map[string]any{"cursor": int64(5)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.cat.DecodeParams(c.nsid, q)
			if c.want == nil {
				if !errors.Is(err, ErrInvalidParams) {
					t.Errorf("%v does not wrap ErrInvalidParams", err)
				}
				checkResult(t, err, c.path)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
			if err := c.cat.ValidateParams(c.nsid, q); err != nil {
				t.Errorf("ValidateParams: %v", err)
			}
		})
	}
	for _, nsid := range []string{"com.example.nothing", "app.bsky.feed.post", "app.bsky.feed.defs#postView"} {
		if _, err := cat.DecodeParams(nsid, nil); !errors.Is(err, ErrUnknownMethod) {
			t.Errorf("DecodeParams(%s): %v", nsid, err)
		}
	}
}

func TestValidateInputOutput(t *testing.T) {
	cat := official(t)
	cases := []struct {
		name, nsid, json string
		output           bool
		path             string
	}{
		{"createRecord", "com.atproto.repo.createRecord", `{"repo":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","collection":"app.bsky.feed.post","record":` + post(`"text":"x","createdAt":"2024-05-01T12:00:00Z"`) + `}`, false, ""},
		{"createRecord any record", "com.atproto.repo.createRecord", `{"repo":"alice.example.com","collection":"com.example.thing","record":{"anything":true},"validate":false}`, false, ""},
		{"createRecord without repo", "com.atproto.repo.createRecord", `{"collection":"app.bsky.feed.post","record":{}}`, false, "input/repo"},
		{"createRecord bad collection", "com.atproto.repo.createRecord", `{"repo":"alice.example.com","collection":"post","record":{}}`, false, "input/collection"},
		{"createRecord record not object", "com.atproto.repo.createRecord", `{"repo":"alice.example.com","collection":"a.b.c","record":"x"}`, false, "input/record"},
		{"createRecord validate not bool", "com.atproto.repo.createRecord", `{"repo":"alice.example.com","collection":"a.b.c","record":{},"validate":"yes"}`, false, "input/validate"},
		{"input not an object", "com.atproto.repo.createRecord", `[]`, false, "input"},
		{"applyWrites union", "com.atproto.repo.applyWrites", `{"repo":"alice.example.com","writes":[{"$type":"com.atproto.repo.applyWrites#delete","collection":"a.b.c","rkey":"x"}]}`, false, ""},
		{"applyWrites closed union", "com.atproto.repo.applyWrites", `{"repo":"alice.example.com","writes":[{"$type":"com.atproto.repo.applyWrites#explode"}]}`, false, "input/writes/0"},
		{"describeServer output", "com.atproto.server.describeServer", `{"did":"did:web:pds.example.com","availableUserDomains":[".example.com"]}`, true, ""},
		{"describeServer output bad did", "com.atproto.server.describeServer", `{"did":"pds.example.com","availableUserDomains":[]}`, true, "output/did"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := fromJSON(t, c.json)
			var err error
			if c.output {
				err = cat.ValidateOutput(c.nsid, v)
			} else {
				err = cat.ValidateInput(c.nsid, v)
			}
			checkResult(t, err, c.path)
		})
	}
	// uploadBlob takes any bytes, described by no schema.
	if err := cat.ValidateInput("com.atproto.repo.uploadBlob", []byte("x")); err != nil {
		t.Errorf("uploadBlob: %v", err)
	}
	// deleteSession takes no input.
	if err := cat.ValidateInput("com.atproto.server.deleteSession", nil); err != nil {
		t.Errorf("deleteSession without input: %v", err)
	}
	if err := cat.ValidateInput("com.atproto.server.deleteSession", map[string]any{}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("deleteSession with input: %v", err)
	}
	if err := cat.ValidateInput("com.atproto.repo.listRecords", nil); !errors.Is(err, ErrUnknownMethod) {
		t.Errorf("input to a query: %v", err)
	}
}
