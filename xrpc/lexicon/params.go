package lexicon

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
)

// method finds the definition of an XRPC method of one of the given kinds.
func (c *Catalog) method(nsid string, kinds ...string) (*Def, error) {
	d, err := c.def(nsid)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		return nil, fmt.Errorf("%w: %s", ErrUnknownMethod, nsid)
	}
	for _, k := range kinds {
		if d.Type == k {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: %s is a %s definition", ErrUnknownMethod, nsid, d.Type)
}

// DecodeParams reads the HTTP query parameters of a query, procedure or
// subscription call into data-model values (bool, int64, string, or []any
// of those for array parameters), checks them against the method's params
// definition, and fills in the defaults of parameters not given. The map
// holds only the parameters the definition names; others are ignored, as
// a server should for forward compatibility.
//
// It returns an error wrapping ErrUnknownMethod when the catalog has no
// such method, and a *ValidationError wrapping ErrInvalidParams, whose
// path is "params/<name>", for a missing, malformed or out-of-range value.
func (c *Catalog) DecodeParams(nsid string, q url.Values) (map[string]any, error) {
	d, err := c.method(nsid, "query", "procedure", "subscription")
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	ps := d.Parameters
	if ps == nil {
		return out, nil
	}
	v := newValidator(c, ErrInvalidParams, "params")
	for _, name := range ps.order {
		pd := ps.Properties[name]
		raw, given := q[name]
		if !given || len(raw) == 0 {
			switch {
			case pd.Default != nil:
				out[name] = pd.Default
			case slices.Contains(ps.Required, name):
				return nil, v.failAt(name, "required parameter missing")
			}
			continue
		}
		v.push(name)
		var val any
		if pd.Type == "array" {
			items := make([]any, len(raw))
			for i, s := range raw {
				v.pushIdx(i)
				if items[i], err = v.param(pd.Items, s); err != nil {
					return nil, err
				}
				v.pop()
			}
			val = items
		} else {
			if len(raw) > 1 {
				return nil, v.fail("must be given once, not %d times", len(raw))
			}
			if val, err = v.param(pd, raw[0]); err != nil {
				return nil, err
			}
		}
		if err := v.value(pd, val, 0); err != nil {
			return nil, err
		}
		v.pop()
		out[name] = val
	}
	return out, nil
}

// ValidateParams is DecodeParams for callers that only need the verdict.
func (c *Catalog) ValidateParams(nsid string, q url.Values) error {
	_, err := c.DecodeParams(nsid, q)
	return err
}

// param converts one query-string value to the kind d describes.
func (v *validator) param(d *Def, s string) (any, error) {
	switch d.Type {
	case "boolean":
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, v.fail("must be true or false, not %q", s)
	case "integer":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, v.fail("must be an integer, not %q", s)
		}
		return n, nil
	case "string":
		return s, nil
	}
	return nil, v.fail("a %s cannot be a parameter", d.Type)
}

// ValidateInput checks the decoded JSON input body of a procedure (a
// data-model value, as from dagcbor.FromJSON) against the procedure's input
// schema. A procedure whose input has no schema, such as a blob upload,
// accepts any body; one without input accepts only none (nil). Errors
// wrap ErrUnknownMethod, or are *ValidationError values under the path
// "input" wrapping ErrInvalidInput.
func (c *Catalog) ValidateInput(nsid string, value any) error {
	d, err := c.method(nsid, "procedure")
	if err != nil {
		return err
	}
	return c.body(d.Input, value, "input", ErrInvalidInput)
}

// ValidateOutput is ValidateInput for the output body of a query or
// procedure, for checking what a handler is about to send.
func (c *Catalog) ValidateOutput(nsid string, value any) error {
	d, err := c.method(nsid, "query", "procedure")
	if err != nil {
		return err
	}
	return c.body(d.Output, value, "output", ErrInvalidOutput)
}

func (c *Catalog) body(b *Body, value any, name string, kind error) error {
	v := newValidator(c, kind, name)
	switch {
	case b == nil && value != nil:
		return v.fail("none expected")
	case b == nil || b.Schema == nil:
		return nil
	}
	return v.value(b.Schema, value, 0)
}
