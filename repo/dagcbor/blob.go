package dagcbor

import (
	"errors"
	"fmt"
	"math"

	"github.com/hearth-pds/hearth/repo/cid"
)

// Blob is a reference to a blob, as a record holds it:
//
//	{"$type": "blob", "ref": <link>, "mimeType": "image/jpeg", "size": 12345}
//
// Encode, ToJSON, Marshal and Unmarshal all read and write Blob in that form.
// A Blob found in the legacy form {"cid": "<cid>", "mimeType": "..."} has
// Size -1, its size being unknown; it can be read but not written.
type Blob struct {
	Ref      cid.CID
	MimeType string
	Size     int64
}

// LegacySize is the Size of a Blob read from the legacy form.
const LegacySize = -1

// Value returns the blob reference as a generic data-model map.
func (b Blob) Value() map[string]any {
	return map[string]any{"$type": "blob", "ref": b.Ref, "mimeType": b.MimeType, "size": b.Size}
}

// check reports whether b can be written.
func (b Blob) check() error {
	switch {
	case !b.Ref.Defined():
		return fmt.Errorf("%w: blob: undefined ref", ErrInvalid)
	case b.MimeType == "":
		return fmt.Errorf("%w: blob: empty mimeType", ErrInvalid)
	case b.Size < 0:
		return fmt.Errorf("%w: blob: size %d", ErrInvalid, b.Size)
	}
	return nil
}

// errNotBlob marks a map that does not claim to be a blob at all, as opposed
// to one that claims it ($type "blob") but has the wrong shape.
var errNotBlob = errors.New("not a blob")

// blobFromMap reads a blob reference in its current form. It returns
// errNotBlob if m's $type is not "blob", and an ErrInvalid error if it is
// but m is not exactly {$type, ref, mimeType, size} with a link, a
// non-empty string and a non-negative integer.
func blobFromMap(m map[string]any) (Blob, error) {
	if t, ok := m["$type"].(string); !ok || t != "blob" {
		return Blob{}, errNotBlob
	}
	if len(m) != 4 {
		return Blob{}, errors.New("blob must have exactly $type, ref, mimeType and size")
	}
	ref, ok := m["ref"].(cid.CID)
	if !ok || !ref.Defined() {
		return Blob{}, errors.New("blob ref must be a link")
	}
	mime, ok := m["mimeType"].(string)
	if !ok || mime == "" {
		return Blob{}, errors.New("blob mimeType must be a non-empty string")
	}
	size, ok := asInt64(m["size"])
	if !ok || size < 0 {
		return Blob{}, errors.New("blob size must be a non-negative integer")
	}
	return Blob{Ref: ref, MimeType: mime, Size: size}, nil
}

// legacyBlobFromMap reads the legacy form: exactly {"cid": <CID string>,
// "mimeType": <string>}.
func legacyBlobFromMap(m map[string]any) (Blob, bool) {
	if len(m) != 2 {
		return Blob{}, false
	}
	s, ok := m["cid"].(string)
	if !ok {
		return Blob{}, false
	}
	mime, ok := m["mimeType"].(string)
	if !ok {
		return Blob{}, false
	}
	c, err := cid.Parse(s)
	if err != nil {
		return Blob{}, false
	}
	return Blob{Ref: c, MimeType: mime, Size: LegacySize}, true
}

// FindBlobs returns every blob reference in a generic value, in both the
// current and the legacy form, walking maps (in key order, so the result is
// deterministic) and arrays. A map that claims to be a blob but is malformed
// is not returned. Duplicates are kept.
func FindBlobs(v any) []Blob {
	var out []Blob
	findBlobs(v, &out, 0)
	return out
}

func findBlobs(v any, out *[]Blob, depth int) {
	if depth > MaxDepth {
		return // a cycle, or input no encoder would accept
	}
	switch x := v.(type) {
	case Blob:
		*out = append(*out, x)
	case []any:
		for _, item := range x {
			findBlobs(item, out, depth+1)
		}
	case map[string]any:
		if b, err := blobFromMap(x); err == nil {
			*out = append(*out, b)
			return
		} else if !errors.Is(err, errNotBlob) {
			return
		}
		if b, ok := legacyBlobFromMap(x); ok {
			*out = append(*out, b)
			return
		}
		var stack [16]string
		for _, k := range sortedKeys(x, stack[:0]) {
			findBlobs(x[k], out, depth+1)
		}
	}
}

// MarshalCBOR encodes b as a blob map, so that Marshal handles Blob fields.
func (b Blob) MarshalCBOR() ([]byte, error) {
	var e encoder
	if err := e.blob(b, 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// UnmarshalCBOR reads a blob map in the current or the legacy form.
func (b *Blob) UnmarshalCBOR(data []byte) error {
	v, err := Decode(data)
	if err != nil {
		return err
	}
	return b.fromValue(v)
}

// MarshalJSON writes b in the atproto JSON form.
func (b Blob) MarshalJSON() ([]byte, error) { return ToJSON(b) }

// UnmarshalJSON reads b from the atproto JSON form, current or legacy.
func (b *Blob) UnmarshalJSON(data []byte) error {
	v, err := FromJSON(data)
	if err != nil {
		return err
	}
	return b.fromValue(v)
}

func (b *Blob) fromValue(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: blob is a %T, not a map", ErrInvalid, v)
	}
	got, err := blobFromMap(m)
	if errors.Is(err, errNotBlob) {
		var legacy bool
		if got, legacy = legacyBlobFromMap(m); !legacy {
			return fmt.Errorf("%w: map is not a blob", ErrInvalid)
		}
	} else if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	*b = got
	return nil
}

// asInt64 reads any Go integer that fits in an int64.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	}
	return 0, false
}
