package lexicon

import (
	"slices"
	"strings"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/syntax"
)

func (v *validator) integer(d *Def, n int64) error {
	if c, ok := d.Const.(int64); ok && n != c {
		return v.fail("must be %d", c)
	}
	if d.Enum != nil && !slices.ContainsFunc(d.Enum, func(e any) bool { en, ok := e.(int64); return ok && en == n }) {
		return v.fail("must be one of %v", d.Enum)
	}
	if d.Minimum != nil && n < *d.Minimum {
		return v.fail("must be at least %d", *d.Minimum)
	}
	if d.Maximum != nil && n > *d.Maximum {
		return v.fail("must be at most %d", *d.Maximum)
	}
	return nil
}

func (v *validator) str(d *Def, s string) error {
	if c, ok := d.Const.(string); ok && s != c {
		return v.fail("must be %q", c)
	}
	if d.Enum != nil && !slices.ContainsFunc(d.Enum, func(e any) bool { es, ok := e.(string); return ok && es == s }) {
		return v.fail("must be one of %q", d.Enum)
	}
	n := int64(len(s))
	if d.MinLength != nil && n < *d.MinLength {
		return v.fail("must be at least %d bytes", *d.MinLength)
	}
	if d.MaxLength != nil && n > *d.MaxLength {
		return v.fail("must be at most %d bytes", *d.MaxLength)
	}
	// A grapheme is at least one byte, so the byte length bounds the count
	// from above: most strings need no counting at all.
	if d.MinGraphemes != nil && n < *d.MinGraphemes {
		return v.fail("must be at least %d graphemes", *d.MinGraphemes)
	}
	if d.MinGraphemes != nil && *d.MinGraphemes > 0 || d.MaxGraphemes != nil && n > *d.MaxGraphemes {
		g := int64(Graphemes(s))
		if d.MinGraphemes != nil && g < *d.MinGraphemes {
			return v.fail("must be at least %d graphemes", *d.MinGraphemes)
		}
		if d.MaxGraphemes != nil && g > *d.MaxGraphemes {
			return v.fail("must be at most %d graphemes", *d.MaxGraphemes)
		}
	}
	if d.Format != "" {
		if err := checkFormat(d.Format, s); err != nil {
			return v.fail("must be a valid %s: %v", d.Format, err)
		}
	}
	return nil
}

// checkFormat checks s against a string format. Identifiers get their most
// general syntax (any DID method, say), as the spec asks.
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
		// Parse, not just the syntax: 2023-02-30 is not a date.
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

// blob checks a blob reference: {$type: "blob", ref, mimeType, size}, or
// the legacy {cid, mimeType} that old records still hold (its size is
// unknown, so maxSize cannot be checked against it here).
func (v *validator) blob(d *Def, x any) error {
	var mime string
	size := int64(-1)
	switch b := x.(type) {
	case dagcbor.Blob:
		if !b.Ref.Defined() || b.MimeType == "" {
			return v.fail("must be a blob with a ref and a mimeType")
		}
		mime, size = b.MimeType, b.Size
	case map[string]any:
		if isBlob(b) {
			ref, ok := b["ref"].(cid.CID)
			if !ok || !ref.Defined() {
				return v.failAt("ref", "must be a cid-link")
			}
			if mime, ok = b["mimeType"].(string); !ok || mime == "" {
				return v.failAt("mimeType", "must be a non-empty string")
			}
			if size, ok = b["size"].(int64); !ok || size < 0 {
				return v.failAt("size", "must be a non-negative integer")
			}
			if len(b) != 4 {
				return v.fail("a blob has only $type, ref, mimeType and size")
			}
			break
		}
		s, _ := b["cid"].(string)
		mime, _ = b["mimeType"].(string)
		if len(b) != 2 || mime == "" || s == "" {
			return v.wrongType("a blob", x)
		}
		if _, err := cid.Parse(s); err != nil {
			return v.failAt("cid", "must be a CID: %v", err)
		}
	default:
		return v.wrongType("a blob", x)
	}
	if d.MaxSize != nil && size > *d.MaxSize {
		return v.fail("blob must be at most %d bytes, not %d", *d.MaxSize, size)
	}
	if len(d.Accept) > 0 && !Accepts(d.Accept, mime) {
		return v.fail("blob type %s is not one of %s", mime, strings.Join(d.Accept, ", "))
	}
	return nil
}

// Accepts reports whether the MIME type mime matches one of a blob
// definition's accept patterns: an exact type, "type/*", or "*/*". MIME
// types are compared without case and without parameters. No patterns
// means anything goes.
func Accepts(patterns []string, mime string) bool {
	if len(patterns) == 0 {
		return true
	}
	if i := strings.IndexByte(mime, ';'); i >= 0 {
		mime = mime[:i]
	}
	mime = strings.TrimSpace(mime)
	typ, _, ok := strings.Cut(mime, "/")
	for _, p := range patterns {
		switch {
		case p == "*/*":
			return true
		case strings.EqualFold(p, mime):
			return true
		case ok && strings.HasSuffix(p, "/*") && strings.EqualFold(p[:len(p)-2], typ):
			return true
		}
	}
	return false
}
