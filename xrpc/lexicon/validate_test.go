package lexicon

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
)

const testCID = "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq"

// fromJSON is dagcbor.FromJSON for test inputs that must be valid.
func fromJSON(t testing.TB, s string) any {
	t.Helper()
	v, err := dagcbor.FromJSON([]byte(s))
	if err != nil {
		t.Fatalf("FromJSON(%s): %v", s, err)
	}
	return v
}

// checkResult compares a validation error with an expected error path:
// "" for success.
func checkResult(t *testing.T, err error, wantPath string) {
	t.Helper()
	var ve *ValidationError
	switch {
	case wantPath == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case wantPath == "":
	case !errors.As(err, &ve):
		t.Errorf("got %v, want a *ValidationError at %s", err, wantPath)
	case ve.Path != wantPath:
		t.Errorf("error %v, want one at %s", err, wantPath)
	}
}

func TestValidateRecordRules(t *testing.T) {
	cat := fixtureCatalog(t)
	blob := func(mime string, size int) string {
		return fmt.Sprintf(`{"$type":"blob","ref":{"$link":%q},"mimeType":%q,"size":%d}`, testCID, mime, size)
	}
	cases := []struct {
		name, fields, path string
	}{
		{"minimal", ``, ""},
		{"nullable null", `"nullableString":null`, ""},
		{"nullable string", `"nullableString":"x"`, ""},
		{"extra fields ignored", `"somethingElse":{"a":[1,2]}`, ""},
		{"known values not enforced", `"knownString":"purple"`, ""},
		{"enum string", `"enumString":"rock"`, ""},
		{"bytes in range", `"sizeBytes":{"$bytes":"AAAAAAAAAAAAAAAA"}`, ""},
		{"range bounds", `"rangeInteger":10`, ""},
		{"range low", `"rangeInteger":9`, "record/rangeInteger"},
		{"ten graphemes", `"graphemeString":"🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪"`, ""},
		{"nine graphemes", `"graphemeString":"🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪🇩🇪"`, "record/graphemeString"},
		{"twenty graphemes in many bytes", `"graphemeString":"` + strings.Repeat("e\u0301", 20) + `"`, ""},
		{"twenty-one graphemes", `"graphemeString":"` + strings.Repeat("e\u0301", 21) + `"`, "record/graphemeString"},
		{"blob size at limit", `"sizeBlob":` + blob("text/plain", 20), ""},
		{"accept image/jpeg", `"acceptBlob":` + blob("image/jpeg", 1), ""},
		{"legacy blob", `"blob":{"cid":"` + testCID + `","mimeType":"image/png"}`, ""},
		{"legacy blob bad cid", `"blob":{"cid":"bafynope","mimeType":"image/png"}`, "record/blob/cid"},
		{"blob without mimeType", `"blob":{"cid":"` + testCID + `"}`, "record/blob"},
		{"object as blob", `"object":` + blob("text/plain", 1), "record/object"},
		{"cid-link", `"cid-link":{"$link":"` + testCID + `"}`, ""},
		{"cid-link as bytes", `"cid-link":{"$bytes":"AAAA"}`, "record/cid-link"},
		{"closed union member", `"closedUnion":{"$type":"example.lexicon.record#demoObject","a":1}`, ""},
		{"open union unknown member", `"union":{"$type":"com.example.other#thing","x":true}`, ""},
		{"open union bad type name", `"union":{"$type":"not a type"}`, "record/union/$type"},
		{"open union #main", `"union":{"$type":"com.example.other#main"}`, "record/union/$type"},
		{"open union blob", `"union":` + blob("text/plain", 1), "record/union"},
		{"union second member", `"union":{"$type":"example.lexicon.record#demoObjectTwo","c":1}`, ""},
		{"union second member invalid", `"union":{"$type":"example.lexicon.record#demoObjectTwo","d":"x"}`, "record/union/d"},
		{"unknown empty", `"unknown":{}`, ""},
		{"unknown typed, not checked", `"unknown":{"$type":"example.lexicon.record#demoObject","a":"x"}`, ""},
		{"unknown array", `"unknown":[1]`, "record/unknown"},
		{"unknown string", `"unknown":"x"`, "record/unknown"},
		{"unknown link", `"unknown":{"$link":"` + testCID + `"}`, "record/unknown"},
		{"array of null", `"array":[1,null]`, "record/array/1"},
		{"ref nested", `"ref":{"a":"x"}`, "record/ref/a"},
		{"valid formats", `"formats":{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","handle":"xn--ls8h.test","atidentifier":"did:web:example.com",
			"aturi":"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jzfcijpj2z2a","nsid":"app.bsky.feed.post","cid":"` + testCID + `",
			"datetime":"1985-04-12T23:20:50.123-07:00","language":"pt-BR","uri":"https://example.com/a?b#c","tid":"3jzfcijpj2z2a","recordkey":"self"}`, ""},
		{"datetime not a date", `"formats":{"datetime":"2023-02-30T00:00:00Z"}`, "record/formats/datetime"},
		{"datetime lower-case z", `"formats":{"datetime":"2023-02-03T00:00:00z"}`, "record/formats/datetime"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sep := ""
			if c.fields != "" {
				sep = ","
			}
			v := fromJSON(t, `{"$type":"example.lexicon.record","integer":1`+sep+c.fields+`}`)
			checkResult(t, cat.ValidateRecord("example.lexicon.record", v), c.path)
		})
	}
}

func TestValidateRecordShape(t *testing.T) {
	cat := fixtureCatalog(t)
	ref := cid.MustParse(testCID)
	cases := []struct {
		name       string
		collection string
		value      any
		path       string
	}{
		{"not an object", "example.lexicon.record", "x", "record"},
		{"no $type", "example.lexicon.record", map[string]any{"integer": int64(1)}, "record/$type"},
		{"other $type", "example.lexicon.record", map[string]any{"$type": "example.lexicon.other", "integer": int64(1)}, "record/$type"},
		{"not a record type", "example.lexicon.query", map[string]any{"$type": "example.lexicon.query"}, "record"},
		{"Go int is not an integer", "example.lexicon.record", map[string]any{"$type": "example.lexicon.record", "integer": 1}, "record/integer"},
		{"typed blob", "example.lexicon.record", map[string]any{"$type": "example.lexicon.record", "integer": int64(1),
			"acceptBlob": dagcbor.Blob{Ref: ref, MimeType: "image/gif", Size: 3}}, ""},
		{"blob with extra key", "example.lexicon.record", map[string]any{"$type": "example.lexicon.record", "integer": int64(1),
			"blob": map[string]any{"$type": "blob", "ref": ref, "mimeType": "a/b", "size": int64(1), "x": true}}, "record/blob"},
		{"blob with negative size", "example.lexicon.record", map[string]any{"$type": "example.lexicon.record", "integer": int64(1),
			"blob": map[string]any{"$type": "blob", "ref": ref, "mimeType": "a/b", "size": int64(-1)}}, "record/blob/size"},
		{"blob with string ref", "example.lexicon.record", map[string]any{"$type": "example.lexicon.record", "integer": int64(1),
			"blob": map[string]any{"$type": "blob", "ref": testCID, "mimeType": "a/b", "size": int64(1)}}, "record/blob/ref"},
		{"undefined cid-link", "example.lexicon.record", map[string]any{"$type": "example.lexicon.record", "integer": int64(1),
			"cid-link": cid.CID{}}, "record/cid-link"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := cat.ValidateRecord(c.collection, c.value)
			if c.path != "" && !errors.Is(err, ErrInvalidRecord) {
				t.Errorf("%v does not wrap ErrInvalidRecord", err)
			}
			checkResult(t, err, c.path)
		})
	}
	if err := cat.ValidateRecordKey("example.lexicon.query", "demo"); !errors.Is(err, ErrInvalidRecordKey) {
		t.Errorf("key for a query: %v", err)
	}
	err := cat.ValidateRecord("com.example.nothing", map[string]any{"$type": "com.example.nothing"})
	if !errors.Is(err, ErrUnknownCollection) || errors.Is(err, ErrInvalidRecord) {
		t.Errorf("unknown collection: %v", err)
	}
}

// edgeCatalog holds schemas for rules the fixture catalog does not reach.
func edgeCatalog(t testing.TB) *Catalog {
	t.Helper()
	c := NewCatalog()
	for _, d := range []string{
		`{"lexicon":1,"id":"com.example.keys.tid","defs":{"main":{"type":"record","key":"tid","record":{"type":"object","properties":{}}}}}`,
		`{"lexicon":1,"id":"com.example.keys.nsid","defs":{"main":{"type":"record","key":"nsid","record":{"type":"object","properties":{}}}}}`,
		`{"lexicon":1,"id":"com.example.keys.any","defs":{"main":{"type":"record","key":"any","record":{"type":"object","properties":{}}}}}`,
		`{"lexicon":1,"id":"com.example.keys.self","defs":{"main":{"type":"record","key":"literal:self","record":{"type":"object","properties":{}}}}}`,
		`{"lexicon":1,"id":"com.example.edge","defs":{
			"main":{"type":"record","key":"any","record":{"type":"object","required":["req","reqNull"],"nullable":["reqNull","optNull"],"properties":{
				"req":{"type":"string"},"reqNull":{"type":"string"},"optNull":{"type":"integer"},
				"rec":{"type":"ref","ref":"com.example.keys.any"},
				"tree":{"type":"ref","ref":"#node"},
				"tok":{"type":"string","knownValues":["com.example.edge#tok"]},
				"flag":{"type":"boolean","const":true},
				"anyBlob":{"type":"blob","accept":["*/*"]}}}},
			"node":{"type":"object","properties":{"next":{"type":"ref","ref":"#node"}}},
			"tok":{"type":"token"}}}`,
	} {
		s, err := ParseSchema([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CheckRefs(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestValidateRecordEdges(t *testing.T) {
	cat := edgeCatalog(t)
	deep := map[string]any{}
	for i := 0; i < 1000; i++ {
		deep = map[string]any{"next": deep}
	}
	base := func(kv ...any) map[string]any {
		m := map[string]any{"$type": "com.example.edge", "req": "x", "reqNull": nil}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name  string
		value map[string]any
		path  string
	}{
		{"required nullable may be null", base(), ""},
		{"required nullable may be absent? no", map[string]any{"$type": "com.example.edge", "req": "x"}, "record/reqNull"},
		{"required not nullable", base("req", nil), "record/req"},
		{"optional nullable", base("optNull", nil), ""},
		{"ref to record", base("rec", map[string]any{"$type": "com.example.keys.any"}), ""},
		{"ref to record without $type", base("rec", map[string]any{}), "record/rec/$type"},
		{"token as known value", base("tok", "com.example.edge#tok"), ""},
		{"other token string", base("tok", "com.example.edge#other"), ""},
		{"boolean const", base("flag", true), ""},
		{"boolean const broken", base("flag", false), "record/flag"},
		{"any mime", base("anyBlob", dagcbor.Blob{Ref: cid.MustParse(testCID), MimeType: "application/x-thing", Size: 1}), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkResult(t, cat.ValidateRecord("com.example.edge", c.value), c.path)
		})
	}
	// Values built by hand can nest past anything dagcbor would decode;
	// validation must refuse them rather than recurse without end.
	var ve *ValidationError
	err := cat.ValidateRecord("com.example.edge", base("tree", deep))
	if !errors.As(err, &ve) || ve.Msg != "nested too deeply" || !strings.HasPrefix(ve.Path, "record/tree/next/") {
		t.Errorf("deep tree: %v", err)
	}
}

func TestValidateRecordKey(t *testing.T) {
	cat := edgeCatalog(t)
	cases := []struct {
		collection, rkey string
		ok               bool
	}{
		{"com.example.keys.tid", "3jzfcijpj2z2a", true},
		{"com.example.keys.tid", "self", false},
		{"com.example.keys.tid", "3jzfcijpj2z2", false},
		{"com.example.keys.nsid", "app.bsky.feed.post", true},
		{"com.example.keys.nsid", "self", false},
		{"com.example.keys.any", "self", true},
		{"com.example.keys.any", "a:b~c_d.e-f", true},
		{"com.example.keys.any", "..", false},
		{"com.example.keys.any", "a/b", false},
		{"com.example.keys.any", "", false},
		{"com.example.keys.self", "self", true},
		{"com.example.keys.self", "other", false},
	}
	for _, c := range cases {
		err := cat.ValidateRecordKey(c.collection, c.rkey)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrInvalidRecordKey) {
			t.Errorf("ValidateRecordKey(%s, %q) = %v", c.collection, c.rkey, err)
		}
	}
	if err := cat.ValidateRecordKey("com.example.none", "self"); !errors.Is(err, ErrUnknownCollection) {
		t.Errorf("unknown collection: %v", err)
	}
}

func TestAccepts(t *testing.T) {
	cases := []struct {
		patterns []string
		mime     string
		want     bool
	}{
		{nil, "anything/at-all", true},
		{[]string{"image/*"}, "image/png", true},
		{[]string{"image/*"}, "IMAGE/PNG", true},
		{[]string{"image/*"}, "video/mp4", false},
		{[]string{"image/*"}, "image", false},
		{[]string{"image/*"}, "imagex/png", false},
		{[]string{"image/png", "image/jpeg"}, "image/jpeg", true},
		{[]string{"image/png", "image/jpeg"}, "image/gif", false},
		{[]string{"text/plain"}, "text/plain; charset=utf-8", true},
		{[]string{"*/*"}, "application/octet-stream", true},
	}
	for _, c := range cases {
		if got := Accepts(c.patterns, c.mime); got != c.want {
			t.Errorf("Accepts(%q, %q) = %v", c.patterns, c.mime, got)
		}
	}
}
