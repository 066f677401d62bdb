package lexicon

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/syntax"
)

// maxDepth bounds recursion. Values from repo/dagcbor are already limited
// in depth, but a caller may build deeper ones by hand.
const maxDepth = 256

// ValidationError reports data that does not conform to its schema: where
// (Path, slash-separated from the root, such as "record/embed/images/0/alt")
// and which rule it breaks (Msg, such as "must be at most 2000 graphemes").
// It unwraps to the sentinel for what was being validated.
type ValidationError struct {
	Path string
	Msg  string
	kind error
}

func (e *ValidationError) Error() string { return e.Path + ": " + e.Msg }

// Unwrap returns ErrInvalidRecord, ErrInvalidRecordKey, ErrInvalidParams,
// ErrInvalidInput or ErrInvalidOutput.
func (e *ValidationError) Unwrap() error { return e.kind }

// step is one step of a path into the data: a property name, or an
// array index when key is empty. The validator keeps the current path as
// a stack, so descending costs no allocation and the path is only
// formatted for an error.
type step struct {
	key string
	idx int
}

// ValidateRecord checks value, a data-model value as repo/dagcbor produces
// it, as a record of collection: an object whose $type is collection and
// which conforms to the collection's record definition. It returns an
// error wrapping ErrUnknownCollection when the catalog has no definition
// for the collection (the caller decides whether that matters), and a
// *ValidationError wrapping ErrInvalidRecord when the value does not
// conform.
//
// Unknown fields are allowed, as the spec requires for schema evolution;
// so are members of open unions whose $type the catalog does not know.
func (c *Catalog) ValidateRecord(collection string, value any) error {
	d, err := c.def(collection)
	switch {
	case err != nil:
		return err
	case d == nil:
		return fmt.Errorf("%w: %s", ErrUnknownCollection, collection)
	}
	v := newValidator(c, ErrInvalidRecord, "record")
	if d.Type != "record" {
		return v.fail("%s is a %s definition, not a record type", collection, d.Type)
	}
	m, ok := value.(map[string]any)
	if !ok {
		return v.wrongType("an object", value)
	}
	if t, _ := m["$type"].(string); t != collection {
		return v.failAt("$type", "must be %q", collection)
	}
	return v.object(d.Record, m, 0)
}

// ValidateRecordKey checks rkey against the key type of collection's record
// definition: "tid", "nsid", "literal:<value>", or "any" (any valid record
// key). Like ValidateRecord, it returns an error wrapping
// ErrUnknownCollection when the catalog has no definition for the
// collection, and a *ValidationError wrapping ErrInvalidRecordKey when
// rkey does not fit.
func (c *Catalog) ValidateRecordKey(collection, rkey string) error {
	d, err := c.def(collection)
	switch {
	case err != nil:
		return err
	case d == nil:
		return fmt.Errorf("%w: %s", ErrUnknownCollection, collection)
	}
	v := newValidator(c, ErrInvalidRecordKey, "rkey")
	if d.Type != "record" {
		return v.fail("%s is a %s definition, not a record type", collection, d.Type)
	}
	if _, err := syntax.ParseRecordKey(rkey); err != nil {
		return v.fail("%v", err)
	}
	switch {
	case d.Key == "tid":
		_, err = syntax.ParseTID(rkey)
	case d.Key == "nsid":
		_, err = syntax.ParseNSID(rkey)
	case strings.HasPrefix(d.Key, "literal:"):
		if want := d.Key[len("literal:"):]; rkey != want {
			return v.fail("must be %q", want)
		}
	}
	if err != nil {
		return v.fail("must be a valid %s: %v", d.Key, err)
	}
	return nil
}

type validator struct {
	cat  *Catalog
	kind error // the sentinel errors wrap
	path []step
	buf  [16]step // path's first backing array, deep enough for most data
}

func newValidator(c *Catalog, kind error, root string) *validator {
	v := &validator{cat: c, kind: kind}
	v.path = append(v.buf[:0], step{key: root})
	return v
}

func (v *validator) push(key string) { v.path = append(v.path, step{key: key}) }
func (v *validator) pushIdx(i int)   { v.path = append(v.path, step{idx: i}) }
func (v *validator) pop()            { v.path = v.path[:len(v.path)-1] }

// fail reports a broken rule at the current path.
func (v *validator) fail(format string, args ...any) error {
	var b strings.Builder
	for i, s := range v.path {
		if i > 0 {
			b.WriteByte('/')
		}
		if s.key != "" {
			b.WriteString(s.key)
		} else {
			b.WriteString(strconv.Itoa(s.idx))
		}
	}
	return &ValidationError{Path: b.String(), Msg: fmt.Sprintf(format, args...), kind: v.kind}
}

// failAt reports a broken rule one step below the current path.
func (v *validator) failAt(key, format string, args ...any) error {
	v.push(key)
	return v.fail(format, args...)
}

func (v *validator) wrongType(want string, got any) error {
	return v.fail("must be %s, not %s", want, typeName(got))
}

// typeName names the data-model type of x, with an article.
func typeName(x any) string {
	switch x := x.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case string:
		return "a string"
	case []byte:
		return "bytes"
	case cid.CID:
		return "a cid-link"
	case []any:
		return "an array"
	case dagcbor.Blob:
		return "a blob"
	case map[string]any:
		if isBlob(x) {
			return "a blob"
		}
		return "an object"
	}
	return fmt.Sprintf("a %T", x)
}

func isBlob(m map[string]any) bool {
	t, _ := m["$type"].(string)
	return t == "blob"
}

// value checks x against d. Every branch either checks x's kind itself
// or hands x to one that does.
func (v *validator) value(d *Def, x any, depth int) error {
	if depth > maxDepth {
		return v.fail("nested too deeply")
	}
	switch d.Type {
	case "boolean":
		b, ok := x.(bool)
		if !ok {
			return v.wrongType("a boolean", x)
		}
		if c, ok := d.Const.(bool); ok && b != c {
			return v.fail("must be %v", c)
		}
	case "integer":
		n, ok := x.(int64)
		if !ok {
			return v.wrongType("an integer", x)
		}
		return v.integer(d, n)
	case "string":
		s, ok := x.(string)
		if !ok {
			return v.wrongType("a string", x)
		}
		return v.str(d, s)
	case "bytes":
		b, ok := x.([]byte)
		if !ok {
			return v.wrongType("bytes", x)
		}
		if d.MinLength != nil && int64(len(b)) < *d.MinLength {
			return v.fail("must be at least %d bytes", *d.MinLength)
		}
		if d.MaxLength != nil && int64(len(b)) > *d.MaxLength {
			return v.fail("must be at most %d bytes", *d.MaxLength)
		}
	case "cid-link":
		if c, ok := x.(cid.CID); !ok || !c.Defined() {
			return v.wrongType("a cid-link", x)
		}
	case "blob":
		return v.blob(d, x)
	case "array":
		a, ok := x.([]any)
		if !ok {
			return v.wrongType("an array", x)
		}
		if d.MinLength != nil && int64(len(a)) < *d.MinLength {
			return v.fail("must have at least %d items", *d.MinLength)
		}
		if d.MaxLength != nil && int64(len(a)) > *d.MaxLength {
			return v.fail("must have at most %d items", *d.MaxLength)
		}
		for i, item := range a {
			v.pushIdx(i)
			if err := v.value(d.Items, item, depth+1); err != nil {
				return err
			}
			v.pop()
		}
	case "object":
		return v.object(d, x, depth)
	case "ref":
		return v.ref(d, x, depth)
	case "union":
		return v.union(d, x, depth)
	case "unknown":
		// Any object, with no further checks: the spec leaves a $type in
		// it unvalidated. Blobs, bytes and links are not objects here.
		m, ok := x.(map[string]any)
		if !ok || isBlob(m) {
			return v.wrongType("an object", x)
		}
	case "record":
		// Reached through a ref or union: the record's own object.
		return v.object(d.Record, x, depth+1)
	default:
		return v.fail("a %s definition does not describe data", d.Type)
	}
	return nil
}

func (v *validator) object(d *Def, x any, depth int) error {
	m, ok := x.(map[string]any)
	if !ok || isBlob(m) {
		return v.wrongType("an object", x)
	}
	for _, name := range d.Required {
		if _, ok := m[name]; !ok {
			return v.failAt(name, "required field missing")
		}
	}
	for _, name := range d.order {
		val, ok := m[name]
		if !ok {
			continue
		}
		if val == nil {
			if slices.Contains(d.Nullable, name) {
				continue
			}
			return v.failAt(name, "must not be null")
		}
		v.push(name)
		if err := v.value(d.Properties[name], val, depth+1); err != nil {
			return err
		}
		v.pop()
	}
	return nil
}

func (v *validator) ref(d *Def, x any, depth int) error {
	t, err := v.cat.def(d.target)
	if err != nil {
		return err
	}
	if t == nil {
		return v.fail("cannot check against %s: not in the catalog", d.Ref)
	}
	switch t.Type {
	case "token":
		// Schemas should not ref a token; if one does, the only value
		// that can mean it is the token's own name.
		if s, ok := x.(string); !ok || s != d.target {
			return v.fail("must be the token %s", d.target)
		}
		return nil
	case "record":
		// A record is self-describing wherever it appears.
		m, ok := x.(map[string]any)
		if !ok {
			return v.wrongType("an object", x)
		}
		if ty, _ := m["$type"].(string); ty != d.target {
			return v.failAt("$type", "must be %q", d.target)
		}
	}
	return v.value(t, x, depth+1)
}

func (v *validator) union(d *Def, x any, depth int) error {
	m, ok := x.(map[string]any)
	if !ok || isBlob(m) {
		return v.wrongType("an object", x)
	}
	t, ok := m["$type"].(string)
	if !ok || t == "" {
		return v.fail("must have a $type naming one of %s", strings.Join(d.Refs, ", "))
	}
	for _, ref := range d.targets {
		if ref != t {
			continue
		}
		td, err := v.cat.def(ref)
		if err != nil {
			return err
		}
		if td == nil {
			return v.fail("cannot check against %s: not in the catalog", t)
		}
		return v.value(td, m, depth+1)
	}
	if d.Closed {
		return v.fail("$type %q is not one of %s", t, strings.Join(d.Refs, ", "))
	}
	// An open union admits types it does not list, but a $type must still
	// be a well-formed reference, and one to a main def must not say so.
	nsid, name, hasName := strings.Cut(t, "#")
	if _, err := syntax.ParseNSID(nsid); err != nil || hasName && (name == "" || name == "main") {
		return v.failAt("$type", "%q is not a valid type reference", t)
	}
	return nil
}
