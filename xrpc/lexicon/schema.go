package lexicon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/hearth-pds/hearth/repo/syntax"
)

// Sentinel errors.
var (
	ErrInvalidSchema     = errors.New("lexicon: invalid schema")
	ErrUnknownCollection = errors.New("lexicon: no schema for collection")
	ErrInvalidRecord     = errors.New("lexicon: invalid record")
)

// Def is one definition: a primary type (record, query, procedure,
// subscription, permission-set) or a field type. Fields not relevant to
// its type are empty.
type Def struct {
	Type string `json:"type"`

	// record
	Key    string `json:"key,omitempty"`
	Record *Def   `json:"record,omitempty"`

	// object, params
	Required   []string        `json:"required,omitempty"`
	Nullable   []string        `json:"nullable,omitempty"`
	Properties map[string]*Def `json:"properties,omitempty"`

	// array
	Items *Def `json:"items,omitempty"`

	// string, bytes, array
	MinLength    *int64          `json:"minLength,omitempty"`
	MaxLength    *int64          `json:"maxLength,omitempty"`
	MinGraphemes *int64          `json:"minGraphemes,omitempty"`
	MaxGraphemes *int64          `json:"maxGraphemes,omitempty"`
	Format       string          `json:"format,omitempty"`
	KnownValues  []string        `json:"knownValues,omitempty"`
	Enum         json.RawMessage `json:"enum,omitempty"`
	Const        json.RawMessage `json:"const,omitempty"`
	Default      json.RawMessage `json:"default,omitempty"`

	// integer
	Minimum *int64 `json:"minimum,omitempty"`
	Maximum *int64 `json:"maximum,omitempty"`

	// ref, union
	Ref    string   `json:"ref,omitempty"`
	Refs   []string `json:"refs,omitempty"`
	Closed bool     `json:"closed,omitempty"`

	// blob
	Accept  []string `json:"accept,omitempty"`
	MaxSize *int64   `json:"maxSize,omitempty"`

	// query, procedure, subscription
	Parameters *Def  `json:"parameters,omitempty"`
	Input      *Body `json:"input,omitempty"`
	Output     *Body `json:"output,omitempty"`
	Message    *Body `json:"message,omitempty"`

	Description string `json:"description,omitempty"`
}

// Body is the input, output or message of a method.
type Body struct {
	Encoding string `json:"encoding,omitempty"`
	Schema   *Def   `json:"schema,omitempty"`
}

// Schema is one Lexicon document.
type Schema struct {
	Lexicon int             `json:"lexicon"`
	ID      string          `json:"id"`
	Defs    map[string]*Def `json:"defs"`
}

var primaryTypes = map[string]bool{"record": true, "query": true, "procedure": true, "subscription": true, "permission-set": true}

var fieldTypes = map[string]bool{
	"object": true, "array": true, "token": true, "string": true, "integer": true, "boolean": true,
	"bytes": true, "cid-link": true, "blob": true, "unknown": true, "ref": true, "union": true, "params": true,
}

// ParseSchema reads and checks a Lexicon document.
func ParseSchema(data []byte) (*Schema, error) {
	var head struct {
		Lexicon json.RawMessage `json:"lexicon"`
		ID      json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	if string(bytes.TrimSpace(head.Lexicon)) != "1" {
		return nil, fmt.Errorf("%w: lexicon must be the integer 1", ErrInvalidSchema)
	}
	var id string
	if err := json.Unmarshal(head.ID, &id); err != nil {
		return nil, fmt.Errorf("%w: id must be a string", ErrInvalidSchema)
	}
	if _, err := syntax.ParseNSID(id); err != nil {
		return nil, fmt.Errorf("%w: id %q is not an NSID", ErrInvalidSchema, id)
	}
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidSchema, id, err)
	}
	if len(s.Defs) == 0 {
		return nil, fmt.Errorf("%w: %s has no defs", ErrInvalidSchema, id)
	}
	for name, d := range s.Defs {
		if d == nil {
			return nil, fmt.Errorf("%w: %s#%s is null", ErrInvalidSchema, id, name)
		}
		switch {
		case primaryTypes[d.Type] && name != "main":
			return nil, fmt.Errorf("%w: %s#%s: a %s must be the main def", ErrInvalidSchema, id, name, d.Type)
		case d.Type == "unknown" || d.Type == "ref" || d.Type == "params":
			return nil, fmt.Errorf("%w: %s#%s: type %s cannot be a top-level def", ErrInvalidSchema, id, name, d.Type)
		case !primaryTypes[d.Type] && !fieldTypes[d.Type]:
			return nil, fmt.Errorf("%w: %s#%s: unknown type %q", ErrInvalidSchema, id, name, d.Type)
		}
		if d.Type == "record" {
			if d.Record == nil || d.Record.Type != "object" {
				return nil, fmt.Errorf("%w: %s: record must be an object", ErrInvalidSchema, id)
			}
			if err := checkKey(d.Key); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalidSchema, id, err)
			}
		}
		if err := checkDef(d, id+"#"+name); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

func checkKey(k string) error {
	switch {
	case k == "tid" || k == "nsid" || k == "any" || k == "record-key":
	case strings.HasPrefix(k, "literal:") && len(k) > len("literal:"):
	default:
		return fmt.Errorf("record key type %q", k)
	}
	return nil
}

// checkDef checks nested field definitions have known types.
func checkDef(d *Def, where string) error {
	if d == nil {
		return nil
	}
	if d.Type != "" && !primaryTypes[d.Type] && !fieldTypes[d.Type] {
		return fmt.Errorf("%w: %s: unknown type %q", ErrInvalidSchema, where, d.Type)
	}
	for name, p := range d.Properties {
		if p == nil {
			return fmt.Errorf("%w: %s.%s is null", ErrInvalidSchema, where, name)
		}
		if primaryTypes[p.Type] {
			return fmt.Errorf("%w: %s.%s: %s cannot be nested", ErrInvalidSchema, where, name, p.Type)
		}
		if err := checkDef(p, where+"."+name); err != nil {
			return err
		}
	}
	if d.Type == "ref" && d.Ref == "" {
		return fmt.Errorf("%w: %s: ref without target", ErrInvalidSchema, where)
	}
	if d.Type == "array" && d.Items == nil {
		return fmt.Errorf("%w: %s: array without items", ErrInvalidSchema, where)
	}
	for _, sub := range []*Def{d.Record, d.Items, d.Parameters} {
		if err := checkDef(sub, where); err != nil {
			return err
		}
	}
	for _, b := range []*Body{d.Input, d.Output, d.Message} {
		if b != nil {
			if err := checkDef(b.Schema, where); err != nil {
				return err
			}
		}
	}
	return nil
}

// Catalog is a set of schemas, looked up by NSID.
type Catalog struct {
	schemas map[string]*Schema
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{schemas: map[string]*Schema{}} }

// Add puts a schema in the catalog, replacing one with the same id.
func (c *Catalog) Add(s *Schema) { c.schemas[s.ID] = s }

// LoadFS adds every *.json schema under fsys.
func (c *Catalog) LoadFS(fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		s, err := ParseSchema(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		c.Add(s)
		return nil
	})
}

// Len is the number of schemas.
func (c *Catalog) Len() int { return len(c.schemas) }

// Def resolves a reference: "nsid", "nsid#name", or "#name" relative to the
// schema "from".
func (c *Catalog) Def(ref, from string) (*Def, string, error) {
	id, name, _ := strings.Cut(ref, "#")
	if id == "" {
		id = from
	}
	if name == "" {
		name = "main"
	}
	s, ok := c.schemas[id]
	if !ok {
		return nil, "", fmt.Errorf("no schema %s", id)
	}
	d, ok := s.Defs[name]
	if !ok {
		return nil, "", fmt.Errorf("no def %s#%s", id, name)
	}
	return d, id, nil
}
