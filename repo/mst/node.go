package mst

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
)

// Sentinel errors.
var (
	ErrNotFound     = errors.New("mst: key not found")
	ErrMissingBlock = errors.New("mst: block missing")
	ErrInvalidKey   = errors.New("mst: invalid key")
	ErrInvalidNode  = errors.New("mst: invalid node")
	// ErrStop, returned by a Walk callback, ends the walk without error.
	ErrStop = errors.New("mst: stop")
)

// MaxKeyLen bounds a repo path.
const MaxKeyLen = 1024

// KeyHeight is the layer of key: leading zero bits of SHA-256(key), in
// 2-bit chunks, so each layer has about four times fewer keys.
func KeyHeight(key string) int {
	h := sha256.Sum256([]byte(key))
	n := 0
	for _, b := range h {
		if b == 0 {
			n += 8
			continue
		}
		n += bits.LeadingZeros8(b)
		break
	}
	return n / 2
}

// CommonPrefixLen is the number of leading bytes a and b share.
func CommonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// ValidateKey checks a repo path: collection/rkey with allowed characters.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes", ErrInvalidKey, len(key))
	}
	slash := -1
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '~' || c == '.' || c == ':' || c == '-':
		case c == '/':
			if slash >= 0 {
				return fmt.Errorf("%w: %q has more than one /", ErrInvalidKey, key)
			}
			slash = i
		default:
			return fmt.Errorf("%w: %q has character %q", ErrInvalidKey, key, c)
		}
	}
	if slash <= 0 || slash == len(key)-1 {
		return fmt.Errorf("%w: %q is not collection/rkey", ErrInvalidKey, key)
	}
	return nil
}

// Block is a CID and its bytes.
type Block struct {
	CID  cid.CID
	Data []byte
}

// BlockGetter reads blocks; a missing block is an error wrapping
// ErrMissingBlock.
type BlockGetter interface {
	GetBlock(c cid.CID) ([]byte, error)
}

// wire forms of a node.
type wireEntry struct {
	P int64   `cbor:"p"`
	K []byte  `cbor:"k"`
	V cid.CID `cbor:"v"`
	T cid.CID `cbor:"t"`
}

type wireNode struct {
	L cid.CID     `cbor:"l"`
	E []wireEntry `cbor:"e"`
}

// Entry is a decoded node entry with its full key.
type Entry struct {
	Key   string
	Value cid.CID
	Right cid.CID // zero when there is no subtree
}

// Node is a decoded MST node.
type Node struct {
	Left    cid.CID
	Entries []Entry
}

// Encode gives the canonical bytes of n.
//
// The node's shape is fixed, so its DAG-CBOR is written directly: the map
// keys in canonical order ("e" before "l"; "k", "p", "t", "v"), lengths and
// numbers in their shortest heads, absent links as null. Through the
// generic encoder every CID was a separate allocation, and nodes are
// encoded at every write and checked at every read (DecodeNode).
// TestEncodeMatchesGeneric holds it to dagcbor.Marshal of the wire form.
func (n Node) Encode() ([]byte, error) {
	size := 8 + 2*linkSize
	for _, e := range n.Entries {
		size += 16 + 2*linkSize + len(e.Key)
	}
	b := make([]byte, 0, size)
	b = append(b, 0xa2, 0x61, 'e')
	b = appendHead(b, 4, uint64(len(n.Entries)))
	prev := ""
	for _, e := range n.Entries {
		p := CommonPrefixLen(prev, e.Key)
		b = append(b, 0xa4, 0x61, 'k')
		b = appendHead(b, 2, uint64(len(e.Key)-p))
		b = append(b, e.Key[p:]...)
		b = append(b, 0x61, 'p')
		b = appendHead(b, 0, uint64(p))
		b = append(b, 0x61, 't')
		b = appendLink(b, e.Right)
		b = append(b, 0x61, 'v')
		b = appendLink(b, e.Value)
		prev = e.Key
	}
	b = append(b, 0x61, 'l')
	return appendLink(b, n.Left), nil
}

// linkSize is the encoded size of a link: tag 42, a 37-byte string head,
// the multibase prefix and the CID.
const linkSize = 4 + 1 + cid.Size

// appendHead appends a CBOR head of the major type in its shortest form.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// appendLink appends a CID as DAG-CBOR's tag 42, or null for the zero CID.
func appendLink(b []byte, c cid.CID) []byte {
	if !c.Defined() {
		return append(b, 0xf6)
	}
	b = append(b, 0xd8, cid.TagLink, 0x58, 1+cid.Size, 0x00)
	return c.AppendBinary(b)
}

// DecodeNode parses node bytes strictly: they must be canonical DAG-CBOR of
// exactly the node shape, with valid keys in ascending order, all at one
// height.
func DecodeNode(data []byte) (Node, error) {
	var w wireNode
	if err := dagcbor.Unmarshal(data, &w); err != nil {
		return Node{}, fmt.Errorf("%w: %v", ErrInvalidNode, err)
	}
	if w.E == nil {
		return Node{}, fmt.Errorf("%w: entries are not an array", ErrInvalidNode)
	}
	n := Node{Left: w.L, Entries: make([]Entry, 0, len(w.E))}
	prev := ""
	height := -1
	for i, e := range w.E {
		if e.P < 0 || int(e.P) > len(prev) {
			return Node{}, fmt.Errorf("%w: entry %d prefix %d", ErrInvalidNode, i, e.P)
		}
		key := prev[:e.P] + string(e.K)
		if err := ValidateKey(key); err != nil {
			return Node{}, fmt.Errorf("%w: entry %d: %v", ErrInvalidNode, i, err)
		}
		if i > 0 && key <= prev {
			return Node{}, fmt.Errorf("%w: keys out of order at entry %d", ErrInvalidNode, i)
		}
		if !e.V.Defined() {
			return Node{}, fmt.Errorf("%w: entry %d has no value", ErrInvalidNode, i)
		}
		h := KeyHeight(key)
		if height >= 0 && h != height {
			return Node{}, fmt.Errorf("%w: entry %d at height %d, node at %d", ErrInvalidNode, i, h, height)
		}
		height = h
		n.Entries = append(n.Entries, Entry{Key: key, Value: e.V, Right: e.T})
		prev = key
	}
	again, err := n.Encode()
	if err != nil || !bytes.Equal(again, data) {
		return Node{}, fmt.Errorf("%w: not in canonical form", ErrInvalidNode)
	}
	return n, nil
}
