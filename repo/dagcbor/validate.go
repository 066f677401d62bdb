package dagcbor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hearth-pds/hearth/repo/cid"
)

// MaxDepth is the deepest nesting of arrays and maps that Validate, Decode,
// Encode and FromJSON accept. It bounds recursion on hostile input; real
// records nest a handful of levels.
const MaxDepth = 64

// CBOR major types.
const (
	majUint  = 0
	majNeg   = 1
	majBytes = 2
	majText  = 3
	majArray = 4
	majMap   = 5
	majTag   = 6
	majOther = 7
)

// CBOR simple values allowed by the data model.
const (
	simpleFalse = 20
	simpleTrue  = 21
	simpleNull  = 22
)

// tagLink is the only CBOR tag DAG-CBOR allows: a CID.
const tagLink = 42

// Validate reports whether data is exactly one strict DAG-CBOR item of the
// atproto data model and nothing after it. Errors are *SyntaxError values
// wrapping ErrInvalid, or ErrNotCanonical for a non-canonical form.
func Validate(data []byte) error {
	w := walker{data: data}
	_, err := w.top()
	return err
}

// Decode parses strict DAG-CBOR (see Validate) into a generic value built
// from map[string]any, []any, int64, string, []byte, bool, nil and cid.CID.
// The result does not alias data. Empty arrays, maps and byte strings decode
// as empty non-nil values, so Encode gives back the same bytes.
func Decode(data []byte) (any, error) {
	w := walker{data: data, build: true}
	return w.top()
}

// walker checks, and when build is set also decodes, one item. Validate and
// Decode share it so that they cannot disagree about what is valid.
type walker struct {
	data  []byte
	off   int
	build bool
	out   *jsonWriter // set: write the item as JSON while walking (AppendCBORAsJSON)
}

func (w *walker) top() (any, error) {
	v, err := w.value(0)
	if err != nil {
		return nil, err
	}
	if rest := len(w.data) - w.off; rest != 0 {
		return nil, w.fail(w.off, ErrInvalid, nil, "%d trailing bytes after the item", rest)
	}
	return v, nil
}

func (w *walker) fail(off int, kind, cause error, format string, args ...any) error {
	return &SyntaxError{Offset: off, msg: fmt.Sprintf(format, args...), kind: kind, cause: cause}
}

// head reads the head of the item at w.off: its major type, additional info
// and argument. It insists on the shortest form of the argument and refuses
// indefinite lengths. For major type 7 the argument is not read; the caller
// interprets info itself.
func (w *walker) head() (major, info byte, arg uint64, err error) {
	start := w.off
	if start >= len(w.data) {
		return 0, 0, 0, w.fail(start, ErrInvalid, nil, "unexpected end of input")
	}
	b := w.data[start]
	major, info = b>>5, b&0x1f
	w.off++
	if major == majOther {
		return major, info, 0, nil
	}
	switch {
	case info < 24:
		return major, info, uint64(info), nil
	case info <= 27:
		n := 1 << (info - 24)
		if len(w.data)-w.off < n {
			return 0, 0, 0, w.fail(start, ErrInvalid, nil, "truncated item head")
		}
		p := w.data[w.off : w.off+n]
		switch n {
		case 1:
			arg = uint64(p[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(p))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(p))
		default:
			arg = binary.BigEndian.Uint64(p)
		}
		w.off += n
		// The smallest argument each long form may carry; anything smaller
		// had a shorter encoding.
		least := uint64(24)
		if n > 1 {
			least = 1 << (4 * n)
		}
		if arg < least {
			return 0, 0, 0, w.fail(start, ErrNotCanonical, nil, "argument %d not in its shortest form", arg)
		}
		return major, info, arg, nil
	case info == 31 && major >= majBytes && major <= majMap:
		return 0, 0, 0, w.fail(start, ErrNotCanonical, nil, "indefinite length")
	default:
		return 0, 0, 0, w.fail(start, ErrInvalid, nil, "malformed item head 0x%02x", b)
	}
}

// take returns the next n bytes of content. Checking n against what is left
// before slicing is what keeps a lying length from costing anything.
func (w *walker) take(start int, n uint64) ([]byte, error) {
	if left := uint64(len(w.data) - w.off); n > left {
		return nil, w.fail(start, ErrInvalid, nil, "length %d exceeds the %d bytes left", n, left)
	}
	b := w.data[w.off : w.off+int(n)]
	w.off += int(n)
	return b, nil
}

// preallocCap bounds how much room a declared count may reserve up front;
// longer containers grow as their items actually arrive.
const preallocCap = 1024

func (w *walker) value(depth int) (any, error) {
	start := w.off
	major, info, arg, err := w.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case majUint:
		if arg > math.MaxInt64 {
			return nil, w.fail(start, ErrInvalid, nil, "integer %d overflows int64", arg)
		}
		if w.build {
			return int64(arg), nil
		}
		if w.out != nil {
			w.out.buf = strconv.AppendUint(w.out.buf, arg, 10)
		}
		return nil, nil

	case majNeg:
		if arg > math.MaxInt64 {
			return nil, w.fail(start, ErrInvalid, nil, "integer -1-%d overflows int64", arg)
		}
		if w.build {
			return -1 - int64(arg), nil
		}
		if w.out != nil {
			w.out.buf = strconv.AppendInt(w.out.buf, -1-int64(arg), 10)
		}
		return nil, nil

	case majBytes:
		b, err := w.take(start, arg)
		if err != nil {
			return nil, err
		}
		if w.out != nil {
			w.out.bytes(b)
		}
		if !w.build {
			return nil, nil
		}
		return bytes.Clone(b), nil

	case majText:
		b, err := w.take(start, arg)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(b) {
			return nil, w.fail(start, ErrInvalid, nil, "text string is not valid UTF-8")
		}
		if w.build {
			return string(b), nil
		}
		if w.out != nil {
			return nil, w.out.string(string(b))
		}
		return nil, nil

	case majArray:
		return w.array(start, depth, arg)

	case majMap:
		return w.mapping(start, depth, arg)

	case majTag:
		if arg != tagLink {
			return nil, w.fail(start, ErrInvalid, nil, "tag %d (only 42, a link, is allowed)", arg)
		}
		return w.link(start)

	default: // majOther
		switch info {
		case simpleFalse:
			w.emit("false")
			return false, nil
		case simpleTrue:
			w.emit("true")
			return true, nil
		case simpleNull:
			w.emit("null")
			return nil, nil
		case 23:
			return nil, w.fail(start, ErrInvalid, nil, "undefined is not allowed")
		case 25, 26, 27:
			return nil, w.fail(start, ErrInvalid, nil, "floating-point numbers are not allowed")
		case 31:
			return nil, w.fail(start, ErrInvalid, nil, "unexpected break")
		default:
			return nil, w.fail(start, ErrInvalid, nil, "simple value (info %d) is not allowed", info)
		}
	}
}

// emit writes literal JSON when the walk writes JSON.
func (w *walker) emit(s string) {
	if w.out != nil {
		w.out.buf = append(w.out.buf, s...)
	}
}

func (w *walker) array(start, depth int, n uint64) (any, error) {
	if depth >= MaxDepth {
		return nil, w.fail(start, ErrInvalid, nil, "nested deeper than %d", MaxDepth)
	}
	// Every item takes at least one byte.
	if left := uint64(len(w.data) - w.off); n > left {
		return nil, w.fail(start, ErrInvalid, nil, "array of %d items exceeds the %d bytes left", n, left)
	}
	var arr []any
	if w.build {
		arr = make([]any, 0, min(n, preallocCap))
	}
	if w.out != nil {
		w.out.buf = append(w.out.buf, '[')
		defer func() { w.out.buf = append(w.out.buf, ']') }()
	}
	for i := range n {
		if w.out != nil && i > 0 {
			w.out.buf = append(w.out.buf, ',')
		}
		v, err := w.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if w.build {
			arr = append(arr, v)
		}
	}
	if w.build {
		return arr, nil
	}
	return nil, nil
}

func (w *walker) mapping(start, depth int, n uint64) (any, error) {
	if depth >= MaxDepth {
		return nil, w.fail(start, ErrInvalid, nil, "nested deeper than %d", MaxDepth)
	}
	// Every pair takes at least two bytes.
	if left := uint64(len(w.data) - w.off); n > left/2 {
		return nil, w.fail(start, ErrInvalid, nil, "map of %d pairs exceeds the %d bytes left", n, left)
	}
	var m map[string]any
	if w.build {
		m = make(map[string]any, min(n, preallocCap))
	}
	if w.out != nil {
		w.out.buf = append(w.out.buf, '{')
		defer func() { w.out.buf = append(w.out.buf, '}') }()
	}
	var prev []byte
	for i := range n {
		kstart := w.off
		major, _, klen, err := w.head()
		if err != nil {
			return nil, err
		}
		if major != majText {
			return nil, w.fail(kstart, ErrInvalid, nil, "map key of major type %d (keys must be text strings)", major)
		}
		key, err := w.take(kstart, klen)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(key) {
			return nil, w.fail(kstart, ErrInvalid, nil, "map key is not valid UTF-8")
		}
		if i > 0 {
			switch compareKeyBytes(prev, key) {
			case 0:
				return nil, w.fail(kstart, ErrInvalid, nil, "duplicate map key %q", key)
			case 1:
				return nil, w.fail(kstart, ErrNotCanonical, nil, "map key %q sorts before the previous key %q", key, prev)
			}
		}
		prev = key
		if w.out != nil {
			if err := w.out.key(i, key); err != nil {
				return nil, err
			}
		}
		v, err := w.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if w.build {
			m[string(key)] = v
		}
	}
	if w.build {
		return m, nil
	}
	return nil, nil
}

// link reads the content of a tag 42: a byte string holding 0x00 (the
// identity multibase prefix) and a binary CID.
func (w *walker) link(start int) (any, error) {
	cstart := w.off
	major, _, n, err := w.head()
	if err != nil {
		return nil, err
	}
	if major != majBytes {
		return nil, w.fail(cstart, ErrInvalid, nil, "link content of major type %d (want a byte string)", major)
	}
	b, err := w.take(cstart, n)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != 0x00 {
		return nil, w.fail(cstart, ErrInvalid, nil, "link content lacks the 0x00 prefix")
	}
	c, err := cid.Decode(b[1:])
	if err != nil {
		return nil, w.fail(start, ErrInvalid, err, "bad link")
	}
	if w.build {
		return c, nil
	}
	if w.out != nil {
		w.out.link(c)
	}
	return nil, nil
}

// compareKeys orders map keys the DAG-CBOR way: shorter first, then bytewise.
func compareKeys(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func compareKeyBytes(a, b []byte) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return bytes.Compare(a, b)
}
