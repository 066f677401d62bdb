package lexicon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/repo/dagcbor"
)

// readFixture reads a file from testdata, failing the test if it is
// missing or empty: a lost fixture must not pass as zero cases.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		t.Fatalf("fixture %s is empty", name)
	}
	return data
}

type fixtureCase struct {
	Name    string          `json:"name"`
	Lexicon json.RawMessage `json:"lexicon"`
	RKey    string          `json:"rkey"`
	Data    json.RawMessage `json:"data"`
}

func readCases(t testing.TB, name string) []fixtureCase {
	t.Helper()
	var cases []fixtureCase
	if err := json.Unmarshal(readFixture(t, name), &cases); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if len(cases) == 0 {
		t.Fatalf("fixture %s has no cases", name)
	}
	return cases
}

var catalogFiles = []string{"permission-set.json", "procedure.json", "query.json", "record.json", "subscription.json"}

// fixtureCatalog loads testdata/catalog, the schemas the record fixtures
// are written against.
func fixtureCatalog(t testing.TB) *Catalog {
	t.Helper()
	for _, f := range catalogFiles {
		readFixture(t, "catalog/"+f)
	}
	c := NewCatalog()
	if err := c.LoadFS(os.DirFS("testdata/catalog")); err != nil {
		t.Fatal(err)
	}
	if c.Len() != len(catalogFiles) {
		t.Fatalf("catalog has %d schemas, want %d", c.Len(), len(catalogFiles))
	}
	return c
}

func TestSchemaFixtures(t *testing.T) {
	for _, c := range readCases(t, "lexicon-valid.json") {
		t.Run("valid/"+c.Name, func(t *testing.T) {
			if _, err := ParseSchema(c.Lexicon); err != nil {
				t.Error(err)
			}
		})
	}
	invalid := readCases(t, "lexicon-invalid.json")
	if len(invalid) != 7 {
		t.Errorf("%d invalid schema cases, want 7", len(invalid))
	}
	for _, c := range invalid {
		t.Run("invalid/"+c.Name, func(t *testing.T) {
			s, err := ParseSchema(c.Lexicon)
			if !errors.Is(err, ErrInvalidSchema) {
				t.Errorf("accepted (%v, %v)", s, err)
			}
		})
	}
}

// recordCase validates one fixture record the way the fixtures ask: as a
// record of its own $type, with its rkey.
func recordCase(cat *Catalog, data json.RawMessage, rkey string) error {
	v, err := dagcbor.FromJSON(data)
	if err != nil {
		return err
	}
	m, _ := v.(map[string]any)
	typ, _ := m["$type"].(string)
	if err := cat.ValidateRecordKey(typ, rkey); err != nil {
		return err
	}
	return cat.ValidateRecord(typ, v)
}

func TestRecordFixtures(t *testing.T) {
	cat := fixtureCatalog(t)
	for _, c := range readCases(t, "record-data-valid.json") {
		t.Run("valid/"+c.Name, func(t *testing.T) {
			if err := recordCase(cat, c.Data, c.RKey); err != nil {
				t.Error(err)
			}
		})
	}

	// The path each case must be refused at. Cases that also lack the
	// required "integer" are checked again with it added, so that the
	// rule they are about is the one that fires.
	want := map[string]string{
		"missing required field":             "record/integer",
		"invalid boolean field":              "record/boolean",
		"invalid integer field":              "record/integer",
		"invalid non-nullable string field":  "record/string",
		"invalid string field":               "record/string",
		"invalid bytes field":                "record/bytes",
		"invalid bytes: empty object":        "record/bytes",
		"invalid bytes: wrong type":          "record/bytes",
		"invalid cid-link field":             "record/cid-link",
		"invalid blob field":                 "record/blob",
		"invalid blob: wrong type":           "record/blob",
		"invalid array":                      "record/array",
		"invalid array element":              "record/array/0",
		"object wrong data type":             "record/object",
		"object nested wrong data type":      "record/object/a",
		"invalid token ref type":             "record/ref",
		"invalid ref value":                  "record/ref",
		"invalid string format handle":       "record/formats/handle",
		"invalid string format did":          "record/formats/did",
		"invalid string format atidentifier": "record/formats/atidentifier",
		"invalid string format nsid":         "record/formats/nsid",
		"invalid string format aturi":        "record/formats/aturi",
		"invalid string format cid":          "record/formats/cid",
		"invalid string format datetime":     "record/formats/datetime",
		"invalid string format language":     "record/formats/language",
		"invalid string format uri":          "record/formats/uri",
		"invalid string format tid":          "record/formats/tid",
		"invalid string format recordkey":    "record/formats/recordkey",
		"wrong const value":                  "record/constInteger",
		"integer not in enum":                "record/enumInteger",
		"out of integer range":               "record/rangeInteger",
		"string too short":                   "record/lenString",
		"string too long":                    "record/lenString",
		"string too short (graphemes)":       "record/graphemeString",
		"string too long (graphemes)":        "record/graphemeString",
		"out of enum string":                 "record/enumString",
		"bytes too short":                    "record/sizeBytes",
		"bytes too long":                     "record/sizeBytes",
		"array too short":                    "record/lenArray",
		"array too long":                     "record/lenArray",
		"blob too large":                     "record/sizeBlob",
		"blob wrong type":                    "record/acceptBlob",
		"open union wrong data type":         "record/union",
		"open union missing $type":           "record/union",
		"out of closed union":                "record/closedUnion",
		"union inner invalid#1":              "record/closedUnion",
		"union inner invalid#2":              "record/union/a",
		"unknown wrong type (bool)":          "record/unknown",
		"unknown wrong type (bytes)":         "record/unknown",
		"unknown wrong type (blob)":          "record/unknown",
	}
	invalid := readCases(t, "record-data-invalid.json")
	if len(invalid) != 50 {
		t.Errorf("%d invalid record cases, want 50", len(invalid))
	}
	seen := map[string]int{}
	for _, c := range invalid {
		seen[c.Name]++
		key := c.Name
		if _, ok := want[key]; !ok {
			key = fmt.Sprintf("%s#%d", c.Name, seen[c.Name])
		}
		t.Run("invalid/"+key, func(t *testing.T) {
			err := recordCase(cat, c.Data, c.RKey)
			if !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("got %v, want an ErrInvalidRecord", err)
			}
			path, ok := want[key]
			if !ok {
				t.Fatalf("no expected path for this case (error: %v)", err)
			}
			data := c.Data
			if path != "record/integer" && !strings.Contains(string(data), `"integer"`) {
				var m map[string]any
				json.Unmarshal(data, &m)
				m["integer"] = 1
				data, _ = json.Marshal(m)
				err = recordCase(cat, data, c.RKey)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Path != path {
				t.Errorf("error %v, want one at %s", err, path)
			}
		})
	}
}

func TestFixtureCatalog(t *testing.T) {
	cat := fixtureCatalog(t)
	for _, ref := range []string{"example.lexicon.record", "example.lexicon.record#main", "example.lexicon.record#demoToken", "example.lexicon.query", "example.lexicon.permissionset"} {
		if _, err := cat.Def(ref); err != nil {
			t.Errorf("Def(%q): %v", ref, err)
		}
	}
	d, err := cat.Resolve("#stringFormats", "example.lexicon.record")
	if err != nil || d.Type != "object" || len(d.Properties) != 11 {
		t.Errorf("Resolve(#stringFormats) = %+v, %v", d, err)
	}
	for _, ref := range []string{"#demoToken", "example.lexicon.record#nope", "example.lexicon.nope"} {
		if _, err := cat.Def(ref); !errors.Is(err, ErrUnknownDef) {
			t.Errorf("Def(%q): %v, want ErrUnknownDef", ref, err)
		}
	}
	// The procedure refs app.bsky.actor.defs, which this small catalog
	// lacks; nothing else should be missing.
	err = cat.CheckRefs()
	if err == nil || !strings.Contains(err.Error(), "app.bsky.actor.defs#preferences") || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("CheckRefs: %v", err)
	}
	ps, _ := cat.Def("example.lexicon.permissionset")
	if len(ps.Permissions) != 6 || ps.TitleLang["fr"] == "" || ps.Permissions[4].Lxm[0] != "*" {
		t.Errorf("permission-set parsed as %+v", ps)
	}
}
