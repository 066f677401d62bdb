package lexicon

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Sentinel errors. Validation failures are *ValidationError values that
// unwrap to ErrInvalidRecord, ErrInvalidRecordKey, ErrInvalidParams,
// ErrInvalidInput or ErrInvalidOutput, whichever was being checked.
var (
	ErrInvalidSchema     = errors.New("lexicon: invalid schema")
	ErrDuplicateSchema   = errors.New("lexicon: schema already in catalog")
	ErrUnknownDef        = errors.New("lexicon: no such definition")
	ErrUnknownCollection = errors.New("lexicon: no schema for collection")
	ErrUnknownMethod     = errors.New("lexicon: no schema for method")
	ErrInvalidRecord     = errors.New("lexicon: invalid record")
	ErrInvalidRecordKey  = errors.New("lexicon: invalid record key")
	ErrInvalidParams     = errors.New("lexicon: invalid parameters")
	ErrInvalidInput      = errors.New("lexicon: invalid input")
	ErrInvalidOutput     = errors.New("lexicon: invalid output")
)

// Catalog is a set of schemas and the index of their definitions. Fill it
// with Add or LoadFS before use; after that it is read-only and safe for
// concurrent validation.
type Catalog struct {
	schemas map[string]*Schema
	defs    map[string]*Def // by ref in $type form: "nsid" or "nsid#name"
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{schemas: map[string]*Schema{}, defs: map[string]*Def{}}
}

// Add puts a parsed schema in the catalog. A second schema with the same
// id is refused, since which one won would otherwise depend on load order.
func (c *Catalog) Add(s *Schema) error {
	if s == nil {
		return fmt.Errorf("%w: nil schema", ErrInvalidSchema)
	}
	if _, dup := c.schemas[s.ID]; dup {
		return fmt.Errorf("%w: %s", ErrDuplicateSchema, s.ID)
	}
	c.schemas[s.ID] = s
	for name, d := range s.Defs {
		key := s.ID
		if name != "main" {
			key += "#" + name
		}
		c.defs[key] = d
	}
	return nil
}

// LoadFS parses and adds every *.json file under fsys.
func (c *Catalog) LoadFS(fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("lexicon: %w", err)
		}
		s, err := ParseSchema(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := c.Add(s); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
}

// Len reports how many schemas the catalog holds.
func (c *Catalog) Len() int { return len(c.schemas) }

// Schema returns the schema with the given NSID.
func (c *Catalog) Schema(id string) (*Schema, bool) {
	s, ok := c.schemas[id]
	return s, ok
}

// Def finds a definition by a global ref: "nsid" or "nsid#main" for the
// main def, "nsid#name" for another.
func (c *Catalog) Def(ref string) (*Def, error) {
	if strings.HasPrefix(ref, "#") {
		return nil, fmt.Errorf("%w: %q is a local ref; use Resolve", ErrUnknownDef, ref)
	}
	return c.Resolve(ref, "")
}

// Resolve finds a definition by a ref as a schema writes it, where a local
// ref "#name" means a def of the schema with NSID base.
func (c *Catalog) Resolve(ref, base string) (*Def, error) {
	nsid, name, _ := strings.Cut(ref, "#")
	if nsid == "" {
		nsid = base
	}
	key := nsid
	if name != "" && name != "main" {
		key += "#" + name
	}
	d, ok := c.defs[key]
	if !ok || nsid == "" {
		return nil, fmt.Errorf("%w: %s", ErrUnknownDef, key)
	}
	return d, nil
}

// CheckRefs reports refs and union members that do not resolve within the
// catalog, or that point at a kind of definition they may not: a ref may
// not name a token or a method; a union member must be an object or a
// record. A catalog may be used with refs missing — data that reaches one
// fails validation — so this is for catalogs meant to be complete, such
// as Default's.
func (c *Catalog) CheckRefs() error {
	var errs []error
	ids := make([]string, 0, len(c.schemas))
	for id := range c.schemas {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for name, d := range c.schemas[id].Defs {
			walkDefs(d, func(d *Def) {
				switch d.Type {
				case "ref":
					switch t := c.defs[d.target]; {
					case t == nil:
						errs = append(errs, fmt.Errorf("%s#%s: ref %s does not resolve", id, name, d.Ref))
					case t.Type == "token" || t.Type == "query" || t.Type == "procedure" || t.Type == "subscription" || t.Type == "permission-set":
						errs = append(errs, fmt.Errorf("%s#%s: ref %s names a %s", id, name, d.Ref, t.Type))
					}
				case "union":
					for i, ref := range d.targets {
						switch t := c.defs[ref]; {
						case t == nil:
							errs = append(errs, fmt.Errorf("%s#%s: union member %s does not resolve", id, name, d.Refs[i]))
						case t.Type != "object" && t.Type != "record":
							errs = append(errs, fmt.Errorf("%s#%s: union member %s is a %s", id, name, d.Refs[i], t.Type))
						}
					}
				}
			})
		}
	}
	return errors.Join(errs...)
}

// walkDefs calls f on d and every definition nested in it.
func walkDefs(d *Def, f func(*Def)) {
	if d == nil {
		return
	}
	f(d)
	walkDefs(d.Record, f)
	walkDefs(d.Items, f)
	walkDefs(d.Parameters, f)
	for _, name := range d.order {
		walkDefs(d.Properties[name], f)
	}
	for _, b := range []*Body{d.Input, d.Output, d.Message} {
		if b != nil {
			walkDefs(b.Schema, f)
		}
	}
}
