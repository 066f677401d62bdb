package lexicon

import (
	"errors"
	"strings"
	"testing"
)

// doc wraps defs (a JSON object body) in a schema document.
func doc(defs string) []byte {
	return []byte(`{"lexicon":1,"id":"com.example.test","defs":{` + defs + `}}`)
}

func TestParseSchemaRejects(t *testing.T) {
	cases := []struct {
		name, json, want string
	}{
		{"not json", `{`, "unexpected end"},
		{"lexicon 2", `{"lexicon":2,"id":"com.example.test","defs":{"a":{"type":"token"}}}`, "integer 1"},
		{"lexicon 1.0", `{"lexicon":1.0,"id":"com.example.test","defs":{"a":{"type":"token"}}}`, "integer 1"},
		{"lexicon missing", `{"id":"com.example.test","defs":{"a":{"type":"token"}}}`, "integer 1"},
		{"no defs", `{"lexicon":1,"id":"com.example.test","defs":{}}`, "no defs"},
		{"null def", string(doc(`"a":null`)), "must be an object"},
		{"no type", string(doc(`"a":{}`)), "missing type"},
		{"bogus type", string(doc(`"a":{"type":"float"}`)), `unknown type "float"`},
		{"def name with hash", string(doc(`"a#b":{"type":"token"}`)), "bad def name"},
		{"top-level union", string(doc(`"a":{"type":"union","refs":[]}`)), "cannot be a named def"},
		{"top-level params", string(doc(`"main":{"type":"params","properties":{}}`)), "cannot be a named def"},
		{"query not main", string(doc(`"a":{"type":"query"}`)), "must be the main def"},
		{"record without key", string(doc(`"main":{"type":"record","record":{"type":"object","properties":{}}}`)), "without key"},
		{"record bad key", string(doc(`"main":{"type":"record","key":"uuid","record":{"type":"object","properties":{}}}`)), "record key type"},
		{"record bad literal", string(doc(`"main":{"type":"record","key":"literal:..","record":{"type":"object","properties":{}}}`)), "record key type"},
		{"record of string", string(doc(`"main":{"type":"record","key":"tid","record":{"type":"string"}}`)), "not allowed here"},
		{"token property", string(doc(`"a":{"type":"object","properties":{"t":{"type":"token"}}}`)), "not allowed here"},
		{"nested record", string(doc(`"a":{"type":"object","properties":{"r":{"type":"record","key":"tid","record":{"type":"object"}}}}`)), "not allowed here"},
		{"required not a property", string(doc(`"a":{"type":"object","required":["x"],"properties":{}}`)), `"x" is required`},
		{"array without items", string(doc(`"a":{"type":"array"}`)), "without items"},
		{"unknown format", string(doc(`"a":{"type":"string","format":"email"}`)), "unknown string format"},
		{"min over max", string(doc(`"a":{"type":"string","minLength":5,"maxLength":4}`)), "over maximum"},
		{"negative graphemes", string(doc(`"a":{"type":"string","maxGraphemes":-1}`)), "negative"},
		{"integer range", string(doc(`"a":{"type":"integer","minimum":5,"maximum":4}`)), "over maximum"},
		{"string const not string", string(doc(`"a":{"type":"string","const":3}`)), "const"},
		{"integer const fraction", string(doc(`"a":{"type":"integer","const":1.5}`)), "not an integer"},
		{"integer enum of strings", string(doc(`"a":{"type":"integer","enum":["a"]}`)), "enum"},
		{"boolean default string", string(doc(`"a":{"type":"boolean","default":"yes"}`)), "default"},
		{"const and default", string(doc(`"a":{"type":"integer","const":1,"default":1}`)), "together"},
		{"ref empty", string(doc(`"a":{"type":"object","properties":{"r":{"type":"ref","ref":""}}}`)), "empty ref"},
		{"ref bad nsid", string(doc(`"a":{"type":"object","properties":{"r":{"type":"ref","ref":"nope#x"}}}`)), "ref"},
		{"ref empty name", string(doc(`"a":{"type":"object","properties":{"r":{"type":"ref","ref":"com.example.x#"}}}`)), "bad def name"},
		{"union no refs", string(doc(`"a":{"type":"object","properties":{"u":{"type":"union"}}}`)), "without refs"},
		{"closed empty union", string(doc(`"a":{"type":"object","properties":{"u":{"type":"union","refs":[],"closed":true}}}`)), "closed union without refs"},
		{"blob partial glob", string(doc(`"a":{"type":"blob","accept":["image/pn*"]}`)), "partial glob"},
		{"blob bare star", string(doc(`"a":{"type":"blob","accept":["*"]}`)), "bad accept"},
		{"params nullable", string(doc(`"main":{"type":"query","parameters":{"type":"params","nullable":[],"properties":{}}}`)), "nullable"},
		{"params of object", string(doc(`"main":{"type":"query","parameters":{"type":"params","properties":{"o":{"type":"object","properties":{}}}}}`)), "not allowed here"},
		{"params array of arrays", string(doc(`"main":{"type":"query","parameters":{"type":"params","properties":{"a":{"type":"array","items":{"type":"array","items":{"type":"string"}}}}}}`)), "not allowed here"},
		{"parameters not params", string(doc(`"main":{"type":"query","parameters":{"type":"object","properties":{}}}`)), "not allowed here"},
		{"query with input", string(doc(`"main":{"type":"query","input":{"encoding":"application/json"}}`)), "only a procedure"},
		{"output without encoding", string(doc(`"main":{"type":"query","output":{"schema":{"type":"object","properties":{}}}}`)), "missing encoding"},
		{"output of string", string(doc(`"main":{"type":"query","output":{"encoding":"application/json","schema":{"type":"string"}}}`)), "not allowed here"},
		{"subscription without message", string(doc(`"main":{"type":"subscription"}`)), "without message"},
		{"message of object", string(doc(`"main":{"type":"subscription","message":{"schema":{"type":"object","properties":{}}}}`)), "not allowed here"},
		{"error name with space", string(doc(`"main":{"type":"query","errors":[{"name":"Bad Thing"}]}`)), "bad error name"},
		{"permission-set without permissions", string(doc(`"main":{"type":"permission-set"}`)), "without permissions"},
		{"permission bad action", string(doc(`"main":{"type":"permission-set","permissions":[{"type":"permission","resource":"repo","collection":["a.b.c"],"action":["read"]}]}`)), "unknown action"},
		{"rpc permission without aud", string(doc(`"main":{"type":"permission-set","permissions":[{"type":"permission","resource":"rpc","lxm":["a.b.c"]}]}`)), "aud"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSchema([]byte(c.json))
			if !errors.Is(err, ErrInvalidSchema) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrInvalidSchema mentioning %q", err, c.want)
			}
		})
	}
}

func TestParseSchemaModel(t *testing.T) {
	s, err := ParseSchema(doc(`
		"main": {"type":"record","key":"literal:self","record":{"type":"object","required":["n"],"nullable":["s"],
			"properties":{"n":{"type":"integer","enum":[1,2],"default":1},"s":{"type":"string","const":"x"},
			"r":{"type":"ref","ref":"#other"},"u":{"type":"union","refs":["#other","com.example.else#main","com.example.else"]}}}},
		"other": {"type":"object","properties":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "com.example.test" || s.Lexicon != 1 || len(s.Defs) != 2 {
		t.Fatalf("schema %+v", s)
	}
	rec := s.Defs["main"].Record
	n := rec.Properties["n"]
	if n.Default != int64(1) || len(n.Enum) != 2 || n.Enum[1] != int64(2) {
		t.Errorf("integer def %+v", n)
	}
	if rec.Properties["s"].Const != "x" {
		t.Errorf("string const %v", rec.Properties["s"].Const)
	}
	if r := rec.Properties["r"]; r.Ref != "#other" || r.target != "com.example.test#other" {
		t.Errorf("ref kept as %q, resolved to %q", r.Ref, r.target)
	}
	want := []string{"com.example.test#other", "com.example.else", "com.example.else"}
	if u := rec.Properties["u"]; strings.Join(u.targets, " ") != strings.Join(want, " ") {
		t.Errorf("union targets %q, want %q", u.targets, want)
	}
	if strings.Join(rec.order, ",") != "n,r,s,u" {
		t.Errorf("property order %v", rec.order)
	}
}

func TestCatalogAdd(t *testing.T) {
	c := NewCatalog()
	s, err := ParseSchema(doc(`"main":{"type":"token"},"b":{"type":"string"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Add(s); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(s); !errors.Is(err, ErrDuplicateSchema) {
		t.Errorf("second Add: %v", err)
	}
	if err := c.Add(nil); err == nil {
		t.Error("Add(nil) succeeded")
	}
	if got, ok := c.Schema("com.example.test"); !ok || got != s {
		t.Error("Schema lookup")
	}
	for _, ref := range []string{"com.example.test", "com.example.test#main"} {
		if d, err := c.Def(ref); err != nil || d.Type != "token" {
			t.Errorf("Def(%q) = %v, %v", ref, d, err)
		}
	}
	if d, err := c.Resolve("#b", "com.example.test"); err != nil || d.Type != "string" {
		t.Errorf("Resolve(#b) = %v, %v", d, err)
	}
	if _, err := c.Resolve("#b", ""); !errors.Is(err, ErrUnknownDef) {
		t.Errorf("Resolve without base: %v", err)
	}
}
