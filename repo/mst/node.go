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
func (n Node) Encode() ([]byte, error) {
	w := wireNode{L: n.Left, E: make([]wireEntry, 0, len(n.Entries))}
	prev := ""
	for _, e := range n.Entries {
		p := CommonPrefixLen(prev, e.Key)
		w.E = append(w.E, wireEntry{P: int64(p), K: []byte(e.Key[p:]), V: e.Value, T: e.Right})
		prev = e.Key
	}
	return dagcbor.Marshal(w)
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
