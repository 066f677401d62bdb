package dagcbor

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hearth-pds/hearth/repo/cid"
)

// FromJSON parses one value in the atproto JSON form into a generic
// data-model value of the kinds Decode returns:
//
//   - {"$link": "<cid>"} becomes a cid.CID, and {"$bytes": "<base64>"} a
//     []byte (standard alphabet, no padding); neither object may have other
//     keys.
//   - A number must be an integer in the int64 range. A number written with
//     a fraction or exponent is accepted when its value is whole (123.0,
//     1e3), because JavaScript writers cannot tell those apart from 123.
//   - "$type", where present, must be a non-empty string; a map whose $type
//     is "blob" must be exactly {$type, ref, mimeType, size} with a link, a
//     non-empty string and a non-negative integer.
//   - Duplicate object keys are refused rather than silently resolved.
//
// Nesting is limited to MaxDepth maps and arrays, as in Decode, so whatever
// FromJSON accepts, Encode can write.
func FromJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := jsonParser{dec: dec}
	v, err := p.value(0)
	if err != nil {
		return nil, fmt.Errorf("%w: JSON: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: JSON: data after the value", ErrInvalid)
	}
	return v, nil
}

// RecordFromJSON is FromJSON for a record, which must be a JSON object
// (and not a $link or $bytes one).
func RecordFromJSON(data []byte) (map[string]any, error) {
	v, err := FromJSON(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: JSON: a record must be an object", ErrInvalid)
	}
	return m, nil
}

// pathError locates a JSON problem. The path is built while the parser
// unwinds, so parsing valid input pays nothing for it.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// at prefixes err's location with one step, a key or an index.
func at(step string, err error) error {
	var pe *pathError
	if errors.As(err, &pe) {
		if strings.HasPrefix(pe.path, "[") {
			pe.path = step + pe.path
		} else {
			pe.path = step + "." + pe.path
		}
		return pe
	}
	return &pathError{path: step, err: err}
}

var errTooDeep = fmt.Errorf("nested deeper than %d", MaxDepth)

type jsonParser struct {
	dec *json.Decoder
}

// value parses one value. depth counts the data-model maps and arrays
// around it; $link and $bytes objects are leaves, not maps.
func (p *jsonParser) value(depth int) (any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return p.array(depth)
		}
		return p.object(depth) // Token only hands out '{' or '[' here
	case json.Number:
		return jsonInt(string(t))
	default: // string, bool, nil
		return t, nil
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	if depth >= MaxDepth {
		return nil, errTooDeep
	}
	arr := []any{}
	for p.dec.More() {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, at("["+strconv.Itoa(len(arr))+"]", err)
		}
		arr = append(arr, v)
	}
	if _, err := p.dec.Token(); err != nil { // ']'
		return nil, err
	}
	return arr, nil
}

func (p *jsonParser) object(depth int) (any, error) {
	// An object one level too deep may still be a $link or $bytes leaf; its
	// members are then one further level down, where any container fails,
	// so recursion stays bounded.
	if depth > MaxDepth {
		return nil, errTooDeep
	}
	m := map[string]any{}
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, err
		}
		k := tok.(string) // Token guarantees a key here
		if _, dup := m[k]; dup {
			return nil, at(k, errors.New("duplicate key"))
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, at(k, err)
		}
		m[k] = v
	}
	if _, err := p.dec.Token(); err != nil { // '}'
		return nil, err
	}
	v, err := special(m)
	if err != nil {
		return nil, err
	}
	if _, isMap := v.(map[string]any); isMap && depth >= MaxDepth {
		return nil, errTooDeep
	}
	return v, nil
}

// special turns $link and $bytes objects into their values and checks the
// rules on $type and blobs; any other map comes back as it is.
func special(m map[string]any) (any, error) {
	if v, ok := m["$link"]; ok {
		if len(m) != 1 {
			return nil, errors.New("a $link object must have no other keys")
		}
		s, ok := v.(string)
		if !ok {
			return nil, at("$link", errors.New("must be a string"))
		}
		c, err := cid.Parse(s)
		if err != nil {
			return nil, at("$link", err)
		}
		return c, nil
	}
	if v, ok := m["$bytes"]; ok {
		if len(m) != 1 {
			return nil, errors.New("a $bytes object must have no other keys")
		}
		s, ok := v.(string)
		if !ok {
			return nil, at("$bytes", errors.New("must be a string"))
		}
		b, err := base64.RawStdEncoding.DecodeString(s)
		if err != nil {
			return nil, at("$bytes", fmt.Errorf("base64: %v", err))
		}
		return b, nil
	}
	if v, ok := m["$type"]; ok {
		if s, ok := v.(string); !ok || s == "" {
			return nil, at("$type", errors.New("must be a non-empty string"))
		}
		if _, err := blobFromMap(m); err != nil && !errors.Is(err, errNotBlob) {
			return nil, err
		}
	}
	return m, nil
}

// jsonInt reads a JSON number (already syntax-checked by encoding/json) as
// an int64. It works on the digits rather than through float64, so that
// 9007199254740993 stays exact and 1e999999999 costs nothing.
func jsonInt(s string) (any, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	notInt := fmt.Errorf("number %s is not an integer", s)
	tooBig := fmt.Errorf("number %s overflows int64", s)

	num := strings.TrimPrefix(s, "-")
	neg := len(num) != len(s)
	mant, exp := num, 0
	expOK := true
	if i := strings.IndexAny(num, "eE"); i >= 0 {
		mant = num[:i]
		e, err := strconv.Atoi(num[i+1:])
		if err != nil || e > 1<<20 || e < -(1<<20) {
			expOK = false
			if strings.HasPrefix(num[i+1:], "-") {
				e = -1
			} else {
				e = 1
			}
		}
		exp = e
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	// The value is digits × 10^exp, with digits stripped of its zeros.
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= len(frac)
	for digits != "" && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	switch {
	case digits == "":
		return int64(0), nil
	case !expOK && exp < 0:
		return nil, notInt
	case !expOK:
		return nil, tooBig
	case exp < 0:
		return nil, notInt
	case len(digits)+exp > 19:
		return nil, tooBig
	}
	u, err := strconv.ParseUint(digits+strings.Repeat("0", exp), 10, 64)
	switch {
	case err != nil:
		return nil, tooBig
	case neg && u <= 1<<63:
		return -int64(u-1) - 1, nil
	case !neg && u <= math.MaxInt64:
		return int64(u), nil
	}
	return nil, tooBig
}

// ToJSON writes a generic data-model value (the types Encode takes) in the
// atproto JSON form. Map keys come out in DAG-CBOR order. A map with a
// "$link" or "$bytes" key is refused: its JSON would read back as a link or
// bytes.
func ToJSON(v any) ([]byte, error) {
	var w jsonWriter
	w.buf = make([]byte, 0, 256)
	if err := w.value(v, 0); err != nil {
		return nil, err
	}
	return w.buf, nil
}

// AppendJSON appends the atproto JSON form of v (as ToJSON writes it) to
// dst, so that a response of many records is written into one buffer.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	w := jsonWriter{buf: dst}
	if err := w.value(v, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}

type jsonWriter struct {
	buf []byte
}

// AppendCBORAsJSON appends the atproto JSON form of the strict DAG-CBOR item
// data to dst, as AppendJSON(dst, Decode(data)) would, without building the
// value: the walk that checks the bytes writes the JSON, so a page of
// records costs no map per record. On an error dst comes back as it was.
func AppendCBORAsJSON(dst, data []byte) ([]byte, error) {
	w := walker{data: data, out: &jsonWriter{buf: dst}}
	if _, err := w.top(); err != nil {
		return dst, err
	}
	return w.out.buf, nil
}

// bytes writes a byte string in its JSON form.
func (w *jsonWriter) bytes(b []byte) {
	w.buf = append(w.buf, `{"$bytes":"`...)
	w.buf = base64.RawStdEncoding.AppendEncode(w.buf, b)
	w.buf = append(w.buf, `"}`...)
}

// key writes the i-th key of a map and its colon; the keys that would make
// the map read back as a link or bytes are refused, as AppendJSON refuses
// them.
func (w *jsonWriter) key(i uint64, k []byte) error {
	if string(k) == "$link" || string(k) == "$bytes" {
		return fmt.Errorf("%w: map with a %s key has no JSON form", ErrInvalid, k)
	}
	if i > 0 {
		w.buf = append(w.buf, ',')
	}
	if err := w.string(string(k)); err != nil {
		return err
	}
	w.buf = append(w.buf, ':')
	return nil
}

func (w *jsonWriter) value(v any, depth int) error {
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, x)
	case string:
		return w.string(x)
	case []byte:
		if x == nil {
			w.buf = append(w.buf, "null"...)
			return nil
		}
		w.buf = append(w.buf, `{"$bytes":"`...)
		w.buf = base64.RawStdEncoding.AppendEncode(w.buf, x)
		w.buf = append(w.buf, `"}`...)
	case cid.CID:
		w.link(x)
	case Blob:
		if err := x.check(); err != nil {
			return err
		}
		w.buf = append(w.buf, `{"$type":"blob","ref":`...)
		w.link(x.Ref)
		w.buf = append(w.buf, `,"mimeType":`...)
		w.string(x.MimeType)
		w.buf = append(w.buf, `,"size":`...)
		w.buf = strconv.AppendInt(w.buf, x.Size, 10)
		w.buf = append(w.buf, '}')
	case []any:
		if x == nil {
			w.buf = append(w.buf, "null"...)
			return nil
		}
		if depth >= MaxDepth {
			return fmt.Errorf("%w: nested deeper than %d", ErrInvalid, MaxDepth)
		}
		w.buf = append(w.buf, '[')
		for i, item := range x {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if err := w.value(item, depth+1); err != nil {
				return err
			}
		}
		w.buf = append(w.buf, ']')
	case map[string]any:
		if x == nil {
			w.buf = append(w.buf, "null"...)
			return nil
		}
		if depth >= MaxDepth {
			return fmt.Errorf("%w: nested deeper than %d", ErrInvalid, MaxDepth)
		}
		for _, k := range [...]string{"$link", "$bytes"} {
			if _, ok := x[k]; ok {
				return fmt.Errorf("%w: map with a %s key has no JSON form", ErrInvalid, k)
			}
		}
		w.buf = append(w.buf, '{')
		var stack [16]string
		for i, k := range sortedKeys(x, stack[:0]) {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if err := w.string(k); err != nil {
				return err
			}
			w.buf = append(w.buf, ':')
			if err := w.value(x[k], depth+1); err != nil {
				return err
			}
		}
		w.buf = append(w.buf, '}')
	case float32, float64:
		return fmt.Errorf("%w: floating-point number %v (the data model has none)", ErrUnsupported, x)
	default:
		n, err := otherInt(v)
		if err != nil {
			return err
		}
		w.buf = strconv.AppendInt(w.buf, n, 10)
	}
	return nil
}

func (w *jsonWriter) link(c cid.CID) {
	if !c.Defined() {
		w.buf = append(w.buf, "null"...)
		return
	}
	w.buf = append(w.buf, `{"$link":"`...)
	w.buf = append(w.buf, c.String()...)
	w.buf = append(w.buf, `"}`...)
}

const hexDigits = "0123456789abcdef"

// string writes s as a JSON string. Like JavaScript's JSON.stringify it
// leaves <, > and & alone; it escapes U+2028 and U+2029 as encoding/json
// does, so the output is also valid JavaScript.
func (w *jsonWriter) string(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: string is not valid UTF-8", ErrInvalid)
	}
	w.buf = append(w.buf, '"')
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\t':
			esc = `\t`
		case c < 0x20:
			esc = `\u00` + string(hexDigits[c>>4]) + string(hexDigits[c&0xf])
		case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9):
			esc = `\u202` + string(hexDigits[s[i+2]&0xf])
			w.buf = append(w.buf, s[last:i]...)
			w.buf = append(w.buf, esc...)
			i += 2
			last = i + 1
			continue
		default:
			continue
		}
		w.buf = append(w.buf, s[last:i]...)
		w.buf = append(w.buf, esc...)
		last = i + 1
	}
	w.buf = append(w.buf, s[last:]...)
	w.buf = append(w.buf, '"')
	return nil
}
