package lexicon

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/hearth-pds/hearth/repo/syntax"
)

// Every lookup goes through def or schema, which load a schema from src
// the first time it is asked for. A daemon uses a few dozen of the
// official schemas; parsing all of them at start would keep about 3 MB
// live for nothing.
//
// A name src does not hold is not remembered: the names come from
// requests, so remembering them would let a client grow the catalog.
// Looking one up again costs a failed open of the embedded tree.

// def returns the definition with the given key in $type form, or nil
// when the catalog has none. The error is for a schema src holds but
// cannot load.
func (c *Catalog) def(key string) (*Def, error) {
	if d := c.idx.Load().defs[key]; d != nil {
		return d, nil
	}
	return c.defMiss(key)
}

func (c *Catalog) defMiss(key string) (*Def, error) {
	nsid, _, _ := strings.Cut(key, "#")
	ix, err := c.load(nsid)
	if err != nil || ix == nil {
		return nil, err
	}
	return ix.defs[key], nil
}

// schema returns the schema with the given NSID, or nil when the catalog
// has none; the error is as for def.
func (c *Catalog) schema(nsid string) (*Schema, error) {
	if s := c.idx.Load().schemas[nsid]; s != nil {
		return s, nil
	}
	ix, err := c.load(nsid)
	if err != nil || ix == nil {
		return nil, err
	}
	return ix.schemas[nsid], nil
}

// load makes sure the schema nsid is in the catalog if src holds it, and
// returns the index that has it; nil if src does not hold it.
func (c *Catalog) load(nsid string) (*index, error) {
	ix := c.idx.Load()
	if ix.schemas[nsid] != nil {
		return ix, nil // loaded, or loaded since the caller looked
	}
	if c.src == nil || ix.complete {
		return nil, nil
	}
	p, ok := schemaPath(c.dir, nsid)
	if !ok {
		return nil, nil
	}
	// Parsed outside the lock, so that loads of different schemas do not
	// wait on each other; two loads of the same one race and one is
	// dropped.
	s, err := c.read(nsid, p)
	if err != nil || s == nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ix = c.idx.Load()
	if ix.schemas[nsid] == nil {
		ix = ix.with([]*Schema{s}, ix.complete)
		c.idx.Store(ix)
	}
	return ix, nil
}

// read parses the schema nsid from the file p of src; nil if there is
// no such file. A file whose id is not nsid is refused: it is in the
// wrong place, and the lookup by its path would otherwise index a schema
// under a name nobody asked for.
func (c *Catalog) read(nsid, p string) (*Schema, error) {
	data, err := fs.ReadFile(c.src, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lexicon: %s: %w", nsid, err)
	}
	s, err := ParseSchema(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if s.ID != nsid {
		return nil, fmt.Errorf("%s: %w: id is %s, want %s from its path", p, ErrInvalidSchema, s.ID, nsid)
	}
	return s, nil
}

// schemaPath is where the schema nsid is kept under dir: app.bsky.feed.post
// at dir/app/bsky/feed/post.json. It is built in one allocation, since a
// name the catalog does not hold comes this way on every lookup.
func schemaPath(dir, nsid string) (string, bool) {
	if _, err := syntax.ParseNSID(nsid); err != nil {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(dir) + 1 + len(nsid) + len(".json"))
	if dir != "." {
		b.WriteString(dir)
		b.WriteByte('/')
	}
	for i := range len(nsid) {
		if ch := nsid[i]; ch == '.' {
			b.WriteByte('/')
		} else {
			b.WriteByte(ch)
		}
	}
	b.WriteString(".json")
	return b.String(), true
}

// loadAll loads every schema src holds, for the callers that need the
// whole set: Len and CheckRefs. It reports the schemas that fail to load
// and loads the rest.
func (c *Catalog) loadAll() error {
	if c.src == nil || c.idx.Load().complete {
		return nil
	}
	var ss []*Schema
	var errs []error
	err := fs.WalkDir(c.src, c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		rel := strings.TrimSuffix(p, ".json")
		if c.dir != "." {
			rel = strings.TrimPrefix(rel, c.dir+"/")
		}
		nsid := strings.ReplaceAll(rel, "/", ".")
		if c.idx.Load().schemas[nsid] != nil {
			return nil
		}
		if s, err := c.read(nsid, p); err != nil {
			errs = append(errs, err)
		} else if s != nil {
			ss = append(ss, s)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("lexicon: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ix := c.idx.Load()
	fresh := ss[:0]
	for _, s := range ss {
		if ix.schemas[s.ID] == nil {
			fresh = append(fresh, s)
		}
	}
	c.idx.Store(ix.with(fresh, len(errs) == 0))
	return errors.Join(errs...)
}
