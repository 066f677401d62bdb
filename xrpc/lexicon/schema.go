package lexicon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hearth-pds/hearth/repo/syntax"
)

// Schema is one Lexicon document: a set of definitions under one NSID.
type Schema struct {
	Lexicon     int
	ID          string
	Description string
	Defs        map[string]*Def
}

// Def is one definition: a primary type (record, query, procedure,
// subscription, permission-set), a field type, or a params block. Fields
// that do not apply to its Type are zero.
type Def struct {
	Type        string
	Description string

	// record
	Key    string // "tid", "nsid", "any", "record-key" or "literal:<key>"
	Record *Def   // always of type object

	// object, params
	Properties map[string]*Def
	Required   []string
	Nullable   []string

	// array
	Items *Def

	// MinLength and MaxLength count UTF-8 bytes of a string, bytes of a
	// bytes value, and items of an array.
	MinLength, MaxLength       *int64
	MinGraphemes, MaxGraphemes *int64
	Format                     string
	KnownValues                []string // advice only, never enforced

	// Enum, Const and Default hold data-model values of the def's own
	// kind: bool, int64 or string.
	Enum    []any
	Const   any
	Default any

	// integer
	Minimum, Maximum *int64

	// ref, union; Ref and Refs are as written in the document
	Ref    string
	Refs   []string
	Closed bool

	// blob
	Accept  []string // MIME types; "type/*" and "*/*" are globs
	MaxSize *int64

	// query, procedure, subscription
	Parameters *Def // of type params
	Input      *Body
	Output     *Body
	Message    *Body // subscription; its Schema is a union
	Errors     []ErrorDef

	// permission-set
	Title       string
	TitleLang   map[string]string
	Detail      string
	DetailLang  map[string]string
	Permissions []Permission

	// Resolved at parse time so validation neither allocates nor needs to
	// know which document it is in: refs in $type form ("nsid" for a main
	// def, "nsid#name" otherwise) and property names in sorted order, so
	// the first error reported is always the same one.
	target  string
	targets []string
	order   []string
}

// Body is the input or output of a query or procedure, or the message of
// a subscription.
type Body struct {
	Description string
	Encoding    string // MIME type; empty for subscription messages
	Schema      *Def   // object, ref or union; nil when not described
}

// ErrorDef names an error a method may return.
type ErrorDef struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Permission is one entry of a permission-set. Resource decides which of
// the other fields matter ("repo": Collection, Action; "rpc": Lxm, Aud,
// InheritAud); entries for other resources are kept but mean nothing here.
type Permission struct {
	Type       string   `json:"type"`
	Resource   string   `json:"resource"`
	Collection []string `json:"collection,omitempty"`
	Action     []string `json:"action,omitempty"`
	Lxm        []string `json:"lxm,omitempty"`
	Aud        string   `json:"aud,omitempty"`
	InheritAud bool     `json:"inheritAud,omitempty"`
}

// jsonSchema and jsonDef mirror the document; build turns them into
// Schema and Def, checking as it goes.
type jsonSchema struct {
	Lexicon     json.RawMessage     `json:"lexicon"`
	ID          json.RawMessage     `json:"id"`
	Description string              `json:"description"`
	Defs        map[string]*jsonDef `json:"defs"`
}

type jsonDef struct {
	Type         string              `json:"type"`
	Description  string              `json:"description"`
	Key          string              `json:"key"`
	Record       *jsonDef            `json:"record"`
	Properties   map[string]*jsonDef `json:"properties"`
	Required     []string            `json:"required"`
	Nullable     []string            `json:"nullable"`
	Items        *jsonDef            `json:"items"`
	MinLength    *int64              `json:"minLength"`
	MaxLength    *int64              `json:"maxLength"`
	MinGraphemes *int64              `json:"minGraphemes"`
	MaxGraphemes *int64              `json:"maxGraphemes"`
	Format       string              `json:"format"`
	KnownValues  []string            `json:"knownValues"`
	Enum         json.RawMessage     `json:"enum"`
	Const        json.RawMessage     `json:"const"`
	Default      json.RawMessage     `json:"default"`
	Minimum      *int64              `json:"minimum"`
	Maximum      *int64              `json:"maximum"`
	Ref          string              `json:"ref"`
	Refs         *[]string           `json:"refs"`
	Closed       bool                `json:"closed"`
	Accept       []string            `json:"accept"`
	MaxSize      *int64              `json:"maxSize"`
	Parameters   *jsonDef            `json:"parameters"`
	Input        *jsonBody           `json:"input"`
	Output       *jsonBody           `json:"output"`
	Message      *jsonBody           `json:"message"`
	Errors       []ErrorDef          `json:"errors"`
	Title        string              `json:"title"`
	TitleLang    map[string]string   `json:"title:lang"`
	Detail       string              `json:"detail"`
	DetailLang   map[string]string   `json:"detail:lang"`
	Permissions  *[]Permission       `json:"permissions"`
}

type jsonBody struct {
	Description string   `json:"description"`
	Encoding    string   `json:"encoding"`
	Schema      *jsonDef `json:"schema"`
}

// place is where a definition sits, which decides the types it may have.
type place int

const (
	placeTop      place = iota // a named def other than main
	placeMain                  // the main def
	placeRecord                // the object of a record
	placeField                 // an object property or array items
	placeParams                // the parameters of a method
	placeParam                 // a property of params
	placeParamArr              // the items of an array property of params
	placeBody                  // the schema of an input or output
	placeMessage               // the schema of a subscription message
)

// allowed and formats are read-only tables.
var allowed = [...][]string{
	placeTop:      {"object", "array", "token", "string", "integer", "boolean", "bytes", "cid-link", "blob"},
	placeMain:     {"record", "query", "procedure", "subscription", "permission-set", "object", "array", "token", "string", "integer", "boolean", "bytes", "cid-link", "blob"},
	placeRecord:   {"object"},
	placeField:    {"object", "array", "string", "integer", "boolean", "bytes", "cid-link", "blob", "unknown", "ref", "union"},
	placeParams:   {"params"},
	placeParam:    {"boolean", "integer", "string", "array"},
	placeParamArr: {"boolean", "integer", "string"},
	placeBody:     {"object", "ref", "union"},
	placeMessage:  {"union"},
}

var formats = []string{"at-identifier", "at-uri", "cid", "datetime", "did", "handle", "language", "nsid", "record-key", "tid", "uri"}

// ParseSchema reads a Lexicon version 1 document and checks it: the
// version, the NSID, that every definition has a type allowed where it
// sits (primary types only as main; no unknown, ref, union or params as
// named defs; records holding an object), that refs are well formed, and
// that constraints fit their type. It does not check that refs resolve;
// Catalog.CheckRefs does, once all documents are known.
func ParseSchema(data []byte) (*Schema, error) {
	var js jsonSchema
	if err := json.Unmarshal(data, &js); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	// Compared as text: a float 1.0 is not the integer 1.
	if string(bytes.TrimSpace(js.Lexicon)) != "1" {
		return nil, fmt.Errorf("%w: lexicon must be the integer 1", ErrInvalidSchema)
	}
	var id string
	if err := json.Unmarshal(js.ID, &id); err != nil {
		return nil, fmt.Errorf("%w: id must be a string", ErrInvalidSchema)
	}
	if _, err := syntax.ParseNSID(id); err != nil {
		return nil, fmt.Errorf("%w: id: %w", ErrInvalidSchema, err)
	}
	if len(js.Defs) == 0 {
		return nil, fmt.Errorf("%w: %s: no defs", ErrInvalidSchema, id)
	}
	s := &Schema{Lexicon: 1, ID: id, Description: js.Description, Defs: make(map[string]*Def, len(js.Defs))}
	b := builder{id: id}
	for name, jd := range js.Defs {
		if name == "" || strings.ContainsAny(name, "#/") {
			return nil, fmt.Errorf("%w: %s: bad def name %q", ErrInvalidSchema, id, name)
		}
		p := placeTop
		if name == "main" {
			p = placeMain
		}
		d, err := b.def(jd, id+"#"+name, p)
		if err != nil {
			return nil, err
		}
		s.Defs[name] = d
	}
	return s, nil
}

type builder struct{ id string }

func (b *builder) fail(where, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidSchema, where, fmt.Sprintf(format, args...))
}

func (b *builder) def(j *jsonDef, where string, p place) (*Def, error) {
	if j == nil {
		return nil, b.fail(where, "must be an object")
	}
	if j.Type == "" {
		return nil, b.fail(where, "missing type")
	}
	if !slices.Contains(allowed[p], j.Type) {
		known := slices.Contains(allowed[placeMain], j.Type) || slices.Contains(allowed[placeField], j.Type) || j.Type == "params"
		switch {
		case !known:
			return nil, b.fail(where, "unknown type %q", j.Type)
		case p == placeTop && slices.Contains(allowed[placeMain], j.Type):
			return nil, b.fail(where, "a %s must be the main def", j.Type)
		case p == placeTop || p == placeMain:
			return nil, b.fail(where, "a %s cannot be a named def", j.Type)
		}
		return nil, b.fail(where, "type %s is not allowed here", j.Type)
	}
	d := &Def{
		Type:        j.Type,
		Description: j.Description,
		Format:      j.Format,
		KnownValues: j.KnownValues,
		Ref:         j.Ref,
		Closed:      j.Closed,
		Accept:      j.Accept,
		MaxSize:     j.MaxSize,
		Errors:      j.Errors,
	}
	var err error
	switch j.Type {
	case "record":
		if err := checkRecordKey(j.Key); err != nil {
			return nil, b.fail(where, "%v", err)
		}
		d.Key = j.Key
		if j.Record == nil {
			return nil, b.fail(where, "record: missing")
		}
		if d.Record, err = b.def(j.Record, where+"/record", placeRecord); err != nil {
			return nil, err
		}
	case "query", "procedure", "subscription":
		err = b.method(d, j, where)
	case "permission-set":
		err = b.permissionSet(d, j, where)
	case "object", "params":
		err = b.object(d, j, where)
	case "array":
		if j.Items == nil {
			return nil, b.fail(where, "array without items")
		}
		ip := placeField
		if p == placeParam {
			ip = placeParamArr
		}
		if d.Items, err = b.def(j.Items, where+"/items", ip); err != nil {
			return nil, err
		}
		err = b.lengths(d, j, where)
	case "string":
		err = b.str(d, j, where)
	case "integer":
		err = b.integer(d, j, where)
	case "boolean":
		err = b.scalars(d, j, where, func(v any) bool { _, ok := v.(bool); return ok })
	case "bytes":
		err = b.lengths(d, j, where)
	case "blob":
		err = b.blob(d, where)
	case "ref":
		d.target, err = b.canonical(j.Ref, where)
	case "union":
		err = b.union(d, j, where)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

func checkRecordKey(k string) error {
	switch k {
	case "tid", "nsid", "any", "record-key":
		return nil
	case "":
		return fmt.Errorf("record without key")
	}
	lit, ok := strings.CutPrefix(k, "literal:")
	if !ok {
		return fmt.Errorf("record key type %q", k)
	}
	if _, err := syntax.ParseRecordKey(lit); err != nil {
		return fmt.Errorf("record key type %q: %w", k, err)
	}
	return nil
}

func (b *builder) method(d *Def, j *jsonDef, where string) error {
	var err error
	if j.Parameters != nil {
		if d.Parameters, err = b.def(j.Parameters, where+"/parameters", placeParams); err != nil {
			return err
		}
	}
	switch {
	case j.Input != nil && j.Type != "procedure":
		return b.fail(where, "only a procedure takes input")
	case j.Output != nil && j.Type == "subscription":
		return b.fail(where, "a subscription has a message, not output")
	case j.Message != nil && j.Type != "subscription":
		return b.fail(where, "only a subscription has a message")
	case j.Type == "subscription" && j.Message == nil:
		return b.fail(where, "subscription without message")
	}
	if d.Input, err = b.body(j.Input, where+"/input", placeBody); err != nil {
		return err
	}
	if d.Output, err = b.body(j.Output, where+"/output", placeBody); err != nil {
		return err
	}
	if d.Message, err = b.body(j.Message, where+"/message", placeMessage); err != nil {
		return err
	}
	for i, e := range d.Errors {
		if e.Name == "" || strings.ContainsFunc(e.Name, isSpace) {
			return b.fail(fmt.Sprintf("%s/errors/%d", where, i), "bad error name %q", e.Name)
		}
	}
	return nil
}

func isSpace(r rune) bool { return r <= ' ' || r == 0x7f }

func (b *builder) body(j *jsonBody, where string, p place) (*Body, error) {
	if j == nil {
		return nil, nil
	}
	out := &Body{Description: j.Description, Encoding: j.Encoding}
	if p == placeBody && j.Encoding == "" {
		return nil, b.fail(where, "missing encoding")
	}
	if p == placeMessage && j.Schema == nil {
		return nil, b.fail(where, "missing schema")
	}
	if j.Schema != nil {
		var err error
		if out.Schema, err = b.def(j.Schema, where+"/schema", p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (b *builder) permissionSet(d *Def, j *jsonDef, where string) error {
	if j.Permissions == nil {
		return b.fail(where, "permission-set without permissions")
	}
	d.Title, d.TitleLang, d.Detail, d.DetailLang = j.Title, j.TitleLang, j.Detail, j.DetailLang
	d.Permissions = *j.Permissions
	for i, p := range d.Permissions {
		at := fmt.Sprintf("%s/permissions/%d", where, i)
		if p.Type != "permission" {
			return b.fail(at, "type must be permission")
		}
		switch p.Resource {
		case "":
			return b.fail(at, "missing resource")
		case "repo":
			if len(p.Collection) == 0 {
				return b.fail(at, "repo permission without collection")
			}
			for _, a := range p.Action {
				if a != "create" && a != "update" && a != "delete" {
					return b.fail(at, "unknown action %q", a)
				}
			}
		case "rpc":
			if len(p.Lxm) == 0 {
				return b.fail(at, "rpc permission without lxm")
			}
			if p.Aud == "" && !p.InheritAud {
				return b.fail(at, "rpc permission needs aud or inheritAud")
			}
		}
	}
	return nil
}

func (b *builder) object(d *Def, j *jsonDef, where string) error {
	if j.Type == "params" && j.Nullable != nil {
		return b.fail(where, "params cannot be nullable")
	}
	d.Properties = make(map[string]*Def, len(j.Properties))
	fp := placeField
	if j.Type == "params" {
		fp = placeParam
	}
	for name, jp := range j.Properties {
		if name == "" {
			return b.fail(where, "empty property name")
		}
		pd, err := b.def(jp, where+"/properties/"+name, fp)
		if err != nil {
			return err
		}
		d.Properties[name] = pd
		d.order = append(d.order, name)
	}
	slices.Sort(d.order)
	for _, list := range [][]string{j.Required, j.Nullable} {
		for _, name := range list {
			if _, ok := d.Properties[name]; !ok {
				return b.fail(where, "%q is required or nullable but not a property", name)
			}
		}
	}
	d.Required, d.Nullable = j.Required, j.Nullable
	return nil
}

func (b *builder) union(d *Def, j *jsonDef, where string) error {
	if j.Refs == nil {
		return b.fail(where, "union without refs")
	}
	if len(*j.Refs) == 0 && j.Closed {
		return b.fail(where, "closed union without refs")
	}
	d.Refs = *j.Refs
	for _, r := range d.Refs {
		t, err := b.canonical(r, where)
		if err != nil {
			return err
		}
		d.targets = append(d.targets, t)
	}
	return nil
}

func (b *builder) lengths(d *Def, j *jsonDef, where string) error {
	if err := b.bounds(where, "length", j.MinLength, j.MaxLength); err != nil {
		return err
	}
	d.MinLength, d.MaxLength = j.MinLength, j.MaxLength
	return nil
}

func (b *builder) bounds(where, what string, lo, hi *int64) error {
	switch {
	case lo != nil && *lo < 0, hi != nil && *hi < 0:
		return b.fail(where, "negative %s bound", what)
	case lo != nil && hi != nil && *lo > *hi:
		return b.fail(where, "minimum %s %d over maximum %d", what, *lo, *hi)
	}
	return nil
}

func (b *builder) str(d *Def, j *jsonDef, where string) error {
	if err := b.lengths(d, j, where); err != nil {
		return err
	}
	if err := b.bounds(where, "graphemes", j.MinGraphemes, j.MaxGraphemes); err != nil {
		return err
	}
	d.MinGraphemes, d.MaxGraphemes = j.MinGraphemes, j.MaxGraphemes
	if j.Format != "" && !slices.Contains(formats, j.Format) {
		return b.fail(where, "unknown string format %q", j.Format)
	}
	return b.scalars(d, j, where, func(v any) bool { _, ok := v.(string); return ok })
}

func (b *builder) integer(d *Def, j *jsonDef, where string) error {
	if j.Minimum != nil && j.Maximum != nil && *j.Minimum > *j.Maximum {
		return b.fail(where, "minimum %d over maximum %d", *j.Minimum, *j.Maximum)
	}
	d.Minimum, d.Maximum = j.Minimum, j.Maximum
	return b.scalars(d, j, where, func(v any) bool { _, ok := v.(int64); return ok })
}

// scalars reads enum, const and default, which must all be of the kind is
// accepts.
func (b *builder) scalars(d *Def, j *jsonDef, where string, is func(any) bool) error {
	var err error
	if d.Const, err = scalar(j.Const, is); err != nil {
		return b.fail(where, "const: %v", err)
	}
	if d.Default, err = scalar(j.Default, is); err != nil {
		return b.fail(where, "default: %v", err)
	}
	if d.Const != nil && d.Default != nil {
		return b.fail(where, "const and default together")
	}
	if len(j.Enum) > 0 && d.Type != "boolean" {
		var raw []json.RawMessage
		if err := json.Unmarshal(j.Enum, &raw); err != nil {
			return b.fail(where, "enum must be an array")
		}
		d.Enum = make([]any, 0, len(raw))
		for _, r := range raw {
			v, err := scalar(r, is)
			if err != nil || v == nil {
				return b.fail(where, "enum: %s is not a %s", r, d.Type)
			}
			d.Enum = append(d.Enum, v)
		}
	}
	return nil
}

// scalar reads one JSON bool, integer or string; nil for an absent value.
func scalar(raw json.RawMessage, is func(any) bool) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if n, ok := v.(json.Number); ok {
		i, err := n.Int64()
		if err != nil {
			return nil, fmt.Errorf("%s is not an integer", n)
		}
		v = i
	}
	if !is(v) {
		return nil, fmt.Errorf("%s is of the wrong type", raw)
	}
	return v, nil
}

func (b *builder) blob(d *Def, where string) error {
	if d.MaxSize != nil && *d.MaxSize < 0 {
		return b.fail(where, "negative maxSize")
	}
	for _, a := range d.Accept {
		typ, sub, ok := strings.Cut(a, "/")
		switch {
		case a == "*/*":
		case !ok || typ == "" || sub == "" || typ == "*" || strings.Contains(sub, "/"):
			return b.fail(where, "bad accept pattern %q", a)
		case strings.Contains(sub, "*") && sub != "*":
			return b.fail(where, "partial glob %q in accept", a)
		}
	}
	return nil
}

// canonical turns a ref as written ("#name", "nsid", "nsid#name") into the
// form a $type takes: "nsid" for a main def, "nsid#name" otherwise.
func (b *builder) canonical(ref, where string) (string, error) {
	if ref == "" {
		return "", b.fail(where, "empty ref")
	}
	nsid, name, hasName := strings.Cut(ref, "#")
	if nsid == "" {
		nsid = b.id
	} else if _, err := syntax.ParseNSID(nsid); err != nil {
		return "", b.fail(where, "ref %q: %v", ref, err)
	}
	if hasName && (name == "" || strings.ContainsAny(name, "#/")) {
		return "", b.fail(where, "ref %q: bad def name", ref)
	}
	if !hasName || name == "main" {
		return nsid, nil
	}
	return nsid + "#" + name, nil
}
