package lexicon

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
// with Add or LoadFS before use; after that it is safe for concurrent
// validation. A catalog from Default also loads schemas on first use,
// which never blocks a lookup of one already loaded.
type Catalog struct {
	// idx is never nil and what it points at never changes: a change
	// builds a new index and swaps it in, so lookups take no lock.
	idx atomic.Pointer[index]
	mu  sync.Mutex // serialises changes to idx
	// src holds schemas to load on first use, each under dir at its
	// NSID's path (see schemaPath); nil for none. Set once, before the
	// catalog is shared.
	src fs.FS
	dir string
}

// index is what a catalog holds at one moment. It is never changed once
// published.
type index struct {
	schemas  map[string]*Schema
	defs     map[string]*Def // by ref in $type form: "nsid" or "nsid#name"
	complete bool            // every schema of src is in schemas
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	c := &Catalog{}
	c.idx.Store(&index{schemas: map[string]*Schema{}, defs: map[string]*Def{}})
	return c
}

// with returns a copy of ix holding ss as well. Copying costs a few
// microseconds for the few dozen schemas a daemon uses; it happens once
// per schema, against lookups that happen on every request.
func (ix *index) with(ss []*Schema, complete bool) *index {
	n := &index{schemas: maps.Clone(ix.schemas), defs: maps.Clone(ix.defs), complete: complete}
	for _, s := range ss {
		n.schemas[s.ID] = s
		for name, d := range s.Defs {
			key := s.ID
			if name != "main" {
				key += "#" + name
			}
			n.defs[key] = d
		}
	}
	return n
}

// Add puts a parsed schema in the catalog. A second schema with the same
// id is refused, since which one won would otherwise depend on load order;
// that includes one the catalog would load on first use.
func (c *Catalog) Add(s *Schema) error {
	if s == nil {
		return fmt.Errorf("%w: nil schema", ErrInvalidSchema)
	}
	return c.add([]found{{s: s}})
}

// found is a parsed schema and the file it came from, if any.
type found struct {
	path string
	s    *Schema
}

func (f found) errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if f.path != "" {
		err = fmt.Errorf("%s: %w", f.path, err)
	}
	return err
}

// add puts all of batch in the catalog, or none of them if one is a
// duplicate.
func (c *Catalog) add(batch []found) error {
	// Load any namesake src holds first, so that the check below sees it.
	for _, f := range batch {
		if _, err := c.schema(f.s.ID); err != nil {
			return f.errorf("%w", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ix := c.idx.Load()
	seen := make(map[string]bool, len(batch))
	ss := make([]*Schema, len(batch))
	for i, f := range batch {
		if ix.schemas[f.s.ID] != nil || seen[f.s.ID] {
			return f.errorf("%w: %s", ErrDuplicateSchema, f.s.ID)
		}
		seen[f.s.ID] = true
		ss[i] = f.s
	}
	c.idx.Store(ix.with(ss, ix.complete))
	return nil
}

// LoadFS parses and adds every *.json file under fsys. If one fails to
// parse or is a duplicate, none is added.
func (c *Catalog) LoadFS(fsys fs.FS) error {
	var all []found
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
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
		all = append(all, found{path: p, s: s})
		return nil
	})
	if err != nil {
		return err
	}
	return c.add(all)
}

// Len reports how many schemas the catalog holds, loading all it can
// first. A schema that fails to load is not counted; CheckRefs reports it.
func (c *Catalog) Len() int {
	_ = c.loadAll()
	return len(c.idx.Load().schemas)
}

// Schema returns the schema with the given NSID. One that fails to load
// is reported as absent; Def and CheckRefs say why.
func (c *Catalog) Schema(id string) (*Schema, bool) {
	s, err := c.schema(id)
	return s, err == nil && s != nil
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
	if nsid == "" {
		return nil, fmt.Errorf("%w: %s", ErrUnknownDef, key)
	}
	d, err := c.def(key)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
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
	errs := []error{c.loadAll()}
	ix := c.idx.Load()
	ids := make([]string, 0, len(ix.schemas))
	for id := range ix.schemas {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for name, d := range ix.schemas[id].Defs {
			walkDefs(d, func(d *Def) {
				switch d.Type {
				case "ref":
					switch t := ix.defs[d.target]; {
					case t == nil:
						errs = append(errs, fmt.Errorf("%s#%s: ref %s does not resolve", id, name, d.Ref))
					case t.Type == "token" || t.Type == "query" || t.Type == "procedure" || t.Type == "subscription" || t.Type == "permission-set":
						errs = append(errs, fmt.Errorf("%s#%s: ref %s names a %s", id, name, d.Ref, t.Type))
					}
				case "union":
					for i, ref := range d.targets {
						switch t := ix.defs[ref]; {
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
