package dagcbor

import (
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/hearth-pds/hearth/repo/cid"
)

// Encode writes a generic data-model value as canonical DAG-CBOR. It takes
// nil, bool, string, []byte, cid.CID, Blob, []any, map[string]any and every
// Go integer type whose value fits in an int64. A nil slice, nil map, nil
// []byte and the zero cid.CID encode as null, as they do in Marshal. Floats
// and other types are refused with ErrUnsupported; invalid UTF-8, integers
// beyond int64 and nesting deeper than MaxDepth with ErrInvalid.
func Encode(v any) ([]byte, error) {
	var e encoder
	e.buf = make([]byte, 0, 256)
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type encoder struct {
	buf []byte
}

// head appends an item head with the argument in its shortest form.
func (e *encoder) head(major byte, arg uint64) {
	m := major << 5
	switch {
	case arg < 24:
		e.buf = append(e.buf, m|byte(arg))
	case arg <= math.MaxUint8:
		e.buf = append(e.buf, m|24, byte(arg))
	case arg <= math.MaxUint16:
		e.buf = append(e.buf, m|25, byte(arg>>8), byte(arg))
	case arg <= math.MaxUint32:
		e.buf = append(e.buf, m|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	default:
		e.buf = append(e.buf, m|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32),
			byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
}

func (e *encoder) int(n int64) {
	if n >= 0 {
		e.head(majUint, uint64(n))
	} else {
		e.head(majNeg, uint64(-1-n))
	}
}

func (e *encoder) string(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: string is not valid UTF-8", ErrInvalid)
	}
	e.head(majText, uint64(len(s)))
	e.buf = append(e.buf, s...)
	return nil
}

func (e *encoder) null() { e.buf = append(e.buf, majOther<<5|simpleNull) }

func (e *encoder) link(c cid.CID) {
	if !c.Defined() {
		e.null()
		return
	}
	e.buf = append(e.buf, majTag<<5|24, tagLink, majBytes<<5|24, 1+cid.Size, 0x00)
	e.buf = c.AppendBinary(e.buf)
}

func (e *encoder) value(v any, depth int) error {
	switch x := v.(type) {
	case nil:
		e.null()
	case bool:
		if x {
			e.buf = append(e.buf, majOther<<5|simpleTrue)
		} else {
			e.buf = append(e.buf, majOther<<5|simpleFalse)
		}
	case int64:
		e.int(x)
	case string:
		return e.string(x)
	case []byte:
		if x == nil {
			e.null()
			return nil
		}
		e.head(majBytes, uint64(len(x)))
		e.buf = append(e.buf, x...)
	case cid.CID:
		e.link(x)
	case Blob:
		return e.blob(x, depth)
	case []any:
		if x == nil {
			e.null()
			return nil
		}
		if depth >= MaxDepth {
			return fmt.Errorf("%w: nested deeper than %d", ErrInvalid, MaxDepth)
		}
		e.head(majArray, uint64(len(x)))
		for _, item := range x {
			if err := e.value(item, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		if x == nil {
			e.null()
			return nil
		}
		if depth >= MaxDepth {
			return fmt.Errorf("%w: nested deeper than %d", ErrInvalid, MaxDepth)
		}
		e.head(majMap, uint64(len(x)))
		var stack [16]string
		for _, k := range sortedKeys(x, stack[:0]) {
			if err := e.string(k); err != nil {
				return fmt.Errorf("map key: %w", err)
			}
			if err := e.value(x[k], depth+1); err != nil {
				return err
			}
		}
	case float32, float64:
		return fmt.Errorf("%w: floating-point number %v (the data model has none)", ErrUnsupported, x)
	default:
		n, err := otherInt(v)
		if err != nil {
			return err
		}
		e.int(n)
	}
	return nil
}

// otherInt reads the Go integer types besides int64, or explains why v is
// not one that fits.
func otherInt(v any) (int64, error) {
	if n, ok := asInt64(v); ok {
		return n, nil
	}
	switch v.(type) {
	case uint64, uint:
		return 0, fmt.Errorf("%w: integer %v overflows int64", ErrInvalid, v)
	}
	return 0, fmt.Errorf("%w: %T", ErrUnsupported, v)
}

// blob writes a Blob as its data-model map. The keys are written in
// canonical order: ref, size, $type, mimeType.
func (e *encoder) blob(b Blob, depth int) error {
	if err := b.check(); err != nil {
		return err
	}
	if depth >= MaxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrInvalid, MaxDepth)
	}
	e.head(majMap, 4)
	e.string("ref")
	e.link(b.Ref)
	e.string("size")
	e.int(b.Size)
	e.string("$type")
	e.string("blob")
	e.string("mimeType")
	return e.string(b.MimeType)
}

// sortedKeys returns m's keys in DAG-CBOR order, using buf when it is big
// enough so that small maps need no allocation.
func sortedKeys(m map[string]any, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}
