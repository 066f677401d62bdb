package lexicon

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/syntax"
)

// maxDepth bounds ref and nesting recursion on hostile input.
const maxDepth = 64

// ValidateRecord checks value as a record of collection. It returns an
// error wrapping ErrUnknownCollection when the catalog has no record
// schema for it, and ErrInvalidRecord, naming the field, when the value
// does not conform.
func (c *Catalog) ValidateRecord(collection string, value any) error {
	d, _, err := c.Def(collection, "")
	if err != nil || d.Type != "record" {
		return fmt.Errorf("%w: %s", ErrUnknownCollection, collection)
	}
	m, ok := value.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: a record must be an object", ErrInvalidRecord)
	}
	if t, _ := m["$type"].(string); t != collection {
		return fmt.Errorf("%w: $type %q, want %q", ErrInvalidRecord, m["$type"], collection)
	}
	v := validator{cat: c}
	if err := v.value(d.Record, m, "record", collection, 0); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidRecord, err)
	}
	return nil
}

// ValidateRecordKey checks rkey against the record's key type.
func (c *Catalog) ValidateRecordKey(collection, rkey string) error {
	d, _, err := c.Def(collection, "")
	if err != nil || d.Type != "record" {
		return fmt.Errorf("%w: %s", ErrUnknownCollection, collection)
	}
	if _, err := syntax.ParseRecordKey(rkey); err != nil {
		return err
	}
	switch {
	case d.Key == "tid":
		_, err = syntax.ParseTID(rkey)
	case d.Key == "nsid":
		_, err = syntax.ParseNSID(rkey)
	case strings.HasPrefix(d.Key, "literal:"):
		if rkey != strings.TrimPrefix(d.Key, "literal:") {
			err = fmt.Errorf("record key must be %q", strings.TrimPrefix(d.Key, "literal:"))
		}
	}
	if err != nil {
		return fmt.Errorf("%w: record key %q: %v", ErrInvalidRecord, rkey, err)
	}
	return nil
}

type validator struct{ cat *Catalog }

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case string:
		return "string"
	case []byte:
		return "bytes"
	case cid.CID:
		return "cid-link"
	case []any:
		return "array"
	case map[string]any:
		if isBlob(v) {
			return "blob"
		}
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func isBlob(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["$type"] == "blob"
}

func (v *validator) value(d *Def, val any, path, schema string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: nested too deeply", path)
	}
	want := func(t string) error { return fmt.Errorf("%s: must be %s, not %s", path, t, typeName(val)) }
	switch d.Type {
	case "boolean":
		b, ok := val.(bool)
		if !ok {
			return want("a boolean")
		}
		if len(d.Const) > 0 && string(d.Const) != fmt.Sprint(b) {
			return fmt.Errorf("%s: must be %s", path, d.Const)
		}
	case "integer":
		n, ok := val.(int64)
		if !ok {
			return want("an integer")
		}
		return checkInteger(d, n, path)
	case "string":
		s, ok := val.(string)
		if !ok {
			return want("a string")
		}
		return checkString(d, s, path)
	case "bytes":
		b, ok := val.([]byte)
		if !ok {
			return want("bytes")
		}
		if d.MinLength != nil && int64(len(b)) < *d.MinLength {
			return fmt.Errorf("%s: must be at least %d bytes", path, *d.MinLength)
		}
		if d.MaxLength != nil && int64(len(b)) > *d.MaxLength {
			return fmt.Errorf("%s: must be at most %d bytes", path, *d.MaxLength)
		}
	case "cid-link":
		if _, ok := val.(cid.CID); !ok {
			return want("a cid-link")
		}
	case "blob":
		return checkBlob(d, val, path)
	case "unknown":
		m, ok := val.(map[string]any)
		if !ok || isBlob(m) {
			return want("an object")
		}
	case "array":
		a, ok := val.([]any)
		if !ok {
			return want("an array")
		}
		if d.MinLength != nil && int64(len(a)) < *d.MinLength {
			return fmt.Errorf("%s: must have at least %d items", path, *d.MinLength)
		}
		if d.MaxLength != nil && int64(len(a)) > *d.MaxLength {
			return fmt.Errorf("%s: must have at most %d items", path, *d.MaxLength)
		}
		for i, item := range a {
			if err := v.value(d.Items, item, fmt.Sprintf("%s/%d", path, i), schema, depth+1); err != nil {
				return err
			}
		}
	case "object", "params":
		m, ok := val.(map[string]any)
		if !ok || isBlob(m) {
			return want("an object")
		}
		return v.object(d, m, path, schema, depth)
	case "ref":
		target, tschema, err := v.cat.Def(d.Ref, schema)
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if target.Type == "token" {
			s, ok := val.(string)
			if !ok || s != qualify(d.Ref, schema) {
				return fmt.Errorf("%s: must be the token %s", path, qualify(d.Ref, schema))
			}
			return nil
		}
		return v.value(target, val, path, tschema, depth+1)
	case "union":
		return v.union(d, val, path, schema, depth)
	case "token":
		return fmt.Errorf("%s: a token is not a field type", path)
	default:
		return fmt.Errorf("%s: unsupported type %q", path, d.Type)
	}
	return nil
}

func (v *validator) object(d *Def, m map[string]any, path, schema string, depth int) error {
	for _, r := range d.Required {
		x, present := m[r]
		if !present {
			return fmt.Errorf("%s: must have the property %q", path, r)
		}
		if x == nil && !slices.Contains(d.Nullable, r) {
			return fmt.Errorf("%s/%s: must not be null", path, r)
		}
	}
	// Sorted for deterministic error messages.
	names := make([]string, 0, len(d.Properties))
	for name := range d.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		x, present := m[name]
		if !present {
			continue
		}
		if x == nil {
			if slices.Contains(d.Nullable, name) {
				continue
			}
			return fmt.Errorf("%s/%s: must not be null", path, name)
		}
		if err := v.value(d.Properties[name], x, path+"/"+name, schema, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// qualify turns a ref into its full "nsid#name" form.
func qualify(ref, schema string) string {
	if strings.HasPrefix(ref, "#") {
		return schema + ref
	}
	if !strings.Contains(ref, "#") {
		return ref + "#main"
	}
	return ref
}

func (v *validator) union(d *Def, val any, path, schema string, depth int) error {
	m, ok := val.(map[string]any)
	if !ok || isBlob(m) {
		return fmt.Errorf("%s: must be an object, not %s", path, typeName(val))
	}
	t, ok := m["$type"].(string)
	if !ok || t == "" {
		return fmt.Errorf("%s: a union member must have a $type", path)
	}
	full := qualify(t, "")
	for _, ref := range d.Refs {
		if qualify(ref, schema) == full {
			target, tschema, err := v.cat.Def(ref, schema)
			if err != nil {
				return fmt.Errorf("%s: %v", path, err)
			}
			return v.value(target, m, path, tschema, depth+1)
		}
	}
	if d.Closed {
		return fmt.Errorf("%s: $type %q is not one of %s", path, t, strings.Join(d.Refs, ", "))
	}
	return nil
}

func checkInteger(d *Def, n int64, path string) error {
	if len(d.Const) > 0 {
		var c int64
		if json.Unmarshal(d.Const, &c) == nil && n != c {
			return fmt.Errorf("%s: must be %d", path, c)
		}
	}
	if len(d.Enum) > 0 {
		var e []int64
		if json.Unmarshal(d.Enum, &e) == nil && !slices.Contains(e, n) {
			return fmt.Errorf("%s: must be one of %v", path, e)
		}
	}
	if d.Minimum != nil && n < *d.Minimum {
		return fmt.Errorf("%s: must be at least %d", path, *d.Minimum)
	}
	if d.Maximum != nil && n > *d.Maximum {
		return fmt.Errorf("%s: must be at most %d", path, *d.Maximum)
	}
	return nil
}

func checkString(d *Def, s, path string) error {
	if len(d.Const) > 0 {
		var c string
		if json.Unmarshal(d.Const, &c) == nil && s != c {
			return fmt.Errorf("%s: must be %q", path, c)
		}
	}
	if len(d.Enum) > 0 {
		var e []string
		if json.Unmarshal(d.Enum, &e) == nil && !slices.Contains(e, s) {
			return fmt.Errorf("%s: must be one of %v", path, e)
		}
	}
	if d.MinLength != nil && int64(len(s)) < *d.MinLength {
		return fmt.Errorf("%s: must be at least %d bytes", path, *d.MinLength)
	}
	if d.MaxLength != nil && int64(len(s)) > *d.MaxLength {
		return fmt.Errorf("%s: must be at most %d bytes", path, *d.MaxLength)
	}
	if d.MinGraphemes != nil || d.MaxGraphemes != nil {
		g := int64(Graphemes(s))
		if d.MinGraphemes != nil && g < *d.MinGraphemes {
			return fmt.Errorf("%s: must be at least %d graphemes", path, *d.MinGraphemes)
		}
		if d.MaxGraphemes != nil && g > *d.MaxGraphemes {
			return fmt.Errorf("%s: must be at most %d graphemes", path, *d.MaxGraphemes)
		}
	}
	if d.Format != "" {
		if err := checkFormat(d.Format, s); err != nil {
			return fmt.Errorf("%s: must be a valid %s: %v", path, d.Format, err)
		}
	}
	return nil
}

func checkFormat(format, s string) error {
	var err error
	switch format {
	case "did":
		_, err = identity.ParseDID(s)
	case "handle":
		_, err = identity.ParseHandle(s)
	case "at-identifier":
		_, err = identity.ParseAtIdentifier(s)
	case "nsid":
		_, err = syntax.ParseNSID(s)
	case "at-uri":
		_, err = syntax.ParseATURI(s)
	case "cid":
		err = syntax.ValidateCIDString(s)
	case "datetime":
		_, err = syntax.ParseDatetime(s)
	case "language":
		err = syntax.ValidateLanguage(s)
	case "uri":
		err = syntax.ValidateURI(s)
	case "tid":
		_, err = syntax.ParseTID(s)
	case "record-key":
		_, err = syntax.ParseRecordKey(s)
	}
	return err
}

func checkBlob(d *Def, val any, path string) error {
	m, ok := val.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: must be a blob, not %s", path, typeName(val))
	}
	blobs := dagcbor.FindBlobs(m)
	if len(blobs) != 1 || !(isBlob(m) || m["cid"] != nil) {
		return fmt.Errorf("%s: must be a blob", path)
	}
	b := blobs[0]
	if !b.Ref.Defined() || b.MimeType == "" {
		return fmt.Errorf("%s: blob needs a ref and a mimeType", path)
	}
	if d.MaxSize != nil && b.Size > *d.MaxSize {
		return fmt.Errorf("%s: blob is %d bytes, over the %d allowed", path, b.Size, *d.MaxSize)
	}
	if len(d.Accept) > 0 && !accepts(d.Accept, b.MimeType) {
		return fmt.Errorf("%s: blob type %s is not one of %s", path, b.MimeType, strings.Join(d.Accept, ", "))
	}
	return nil
}

func accepts(patterns []string, mime string) bool {
	for _, p := range patterns {
		if p == "*/*" || p == mime {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "/*"); ok && strings.HasPrefix(mime, prefix+"/") {
			return true
		}
	}
	return false
}

// Accepts reports whether mime matches one of the accept patterns
// ("image/*", "*/*", exact types); used by blob references.
func Accepts(patterns []string, mime string) bool {
	return len(patterns) == 0 || accepts(patterns, mime)
}
