package mst

import (
	"errors"
	"fmt"

	"github.com/hearth-pds/hearth/repo/cid"
)

// node is the in-memory form. A clean node has its CID; a changed one is
// dirty until Commit. Children are loaded on first use.
type node struct {
	height int
	left   *link
	ents   []ent
	cid    cid.CID
	data   []byte // encoded bytes, valid when not dirty
	dirty  bool
}

type ent struct {
	key   string
	val   cid.CID
	right *link
}

// link points to a subtree, loaded or not. A nil *link is "no subtree".
type link struct {
	cid cid.CID
	n   *node
}

// Tree is a Merkle Search Tree over a block store. It is not safe for
// concurrent use.
type Tree struct {
	bs     BlockGetter
	root   *node // nil: not loaded yet
	rootID cid.CID
	// loaded holds the CIDs of nodes read from the store since the last
	// Commit; those not in the tree at Commit time are reported removed.
	loaded map[cid.CID]bool
	cache  *Cache // may be nil
}

// UseCache makes t read nodes through c, and returns t.
func (t *Tree) UseCache(c *Cache) *Tree {
	t.cache = c
	return t
}

// New returns an empty tree.
func New(bs BlockGetter) *Tree {
	return &Tree{bs: bs, root: &node{height: 0, dirty: true}, loaded: map[cid.CID]bool{}}
}

// Load returns the tree rooted at root; nothing is read until needed.
func Load(bs BlockGetter, root cid.CID) *Tree {
	return &Tree{bs: bs, rootID: root, loaded: map[cid.CID]bool{}}
}

func (t *Tree) load(c cid.CID, height int) (*node, error) {
	if d := t.cache.get(c); d != nil && (height < 0 || d.height == height) {
		t.loaded[c] = true
		return d.node(c), nil // its bytes are read again only if asked for
	}
	data, err := t.bs.GetBlock(c)
	if err != nil {
		if errors.Is(err, ErrMissingBlock) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrMissingBlock, c, err)
	}
	if !c.Verify(data) {
		return nil, fmt.Errorf("%w: block %s does not match its CID", ErrInvalidNode, c)
	}
	dn, err := DecodeNode(data)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", c, err)
	}
	n := &node{height: height, cid: c, data: data}
	if len(dn.Entries) > 0 {
		h := KeyHeight(dn.Entries[0].Key)
		if height >= 0 && h != height {
			return nil, fmt.Errorf("%w: node %s at height %d, expected %d", ErrInvalidNode, c, h, height)
		}
		n.height = h
	} else if height < 0 {
		if dn.Left.Defined() {
			return nil, fmt.Errorf("%w: root %s is empty but has a subtree", ErrInvalidNode, c)
		}
		n.height = 0
	}
	if dn.Left.Defined() {
		n.left = &link{cid: dn.Left}
	}
	for _, e := range dn.Entries {
		x := ent{key: e.Key, val: e.Value}
		if e.Right.Defined() {
			x.right = &link{cid: e.Right}
		}
		n.ents = append(n.ents, x)
	}
	if n.height == 0 && (n.left != nil || hasRight(n)) {
		return nil, fmt.Errorf("%w: node %s at height 0 has subtrees", ErrInvalidNode, c)
	}
	t.loaded[c] = true
	t.cache.put(c, decodedOf(n))
	return n, nil
}

func hasRight(n *node) bool {
	for _, e := range n.ents {
		if e.right != nil {
			return true
		}
	}
	return false
}

func (t *Tree) getRoot() (*node, error) {
	if t.root == nil {
		n, err := t.load(t.rootID, -1)
		if err != nil {
			return nil, err
		}
		t.root = n
	}
	return t.root, nil
}

// child loads the subtree behind l, one layer below parent.
func (t *Tree) child(l *link, parent *node) (*node, error) {
	if l == nil {
		return nil, nil
	}
	if l.n == nil {
		n, err := t.load(l.cid, parent.height-1)
		if err != nil {
			return nil, err
		}
		if len(n.ents) == 0 && n.left == nil {
			return nil, fmt.Errorf("%w: empty subtree %s", ErrInvalidNode, l.cid)
		}
		l.n = n
	}
	return l.n, nil
}

// find returns the index of the first entry whose key is >= key.
func find(n *node, key string) int {
	lo, hi := 0, len(n.ents)
	for lo < hi {
		m := (lo + hi) / 2
		if n.ents[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// gap returns a pointer to the subtree slot before entry i.
func gap(n *node, i int) **link {
	if i == 0 {
		return &n.left
	}
	return &n.ents[i-1].right
}

func nodeLink(n *node) *link {
	if n == nil || (len(n.ents) == 0 && n.left == nil) {
		return nil
	}
	return &link{n: n}
}

// Get returns the value at key.
func (t *Tree) Get(key string) (cid.CID, error) {
	n, err := t.getRoot()
	if err != nil {
		return cid.CID{}, err
	}
	for n != nil {
		i := find(n, key)
		if i < len(n.ents) && n.ents[i].key == key {
			return n.ents[i].val, nil
		}
		if n, err = t.child(*gap(n, i), n); err != nil {
			return cid.CID{}, err
		}
	}
	return cid.CID{}, fmt.Errorf("%w: %s", ErrNotFound, key)
}

// Put inserts or updates key and returns the previous value (zero if new).
func (t *Tree) Put(key string, val cid.CID) (cid.CID, error) {
	if err := ValidateKey(key); err != nil {
		return cid.CID{}, err
	}
	if !val.Defined() {
		return cid.CID{}, fmt.Errorf("mst: put %s: no value", key)
	}
	root, err := t.getRoot()
	if err != nil {
		return cid.CID{}, err
	}
	prev, err := t.Get(key)
	switch {
	case err == nil:
		if prev == val {
			return prev, nil
		}
		return prev, t.update(root, key, val)
	case !errors.Is(err, ErrNotFound):
		return cid.CID{}, err
	}
	kh := KeyHeight(key)
	if len(root.ents) == 0 && root.left == nil {
		root.height = kh
	}
	for root.height < kh {
		// Grow: the old root becomes the left subtree of a higher node.
		root = &node{height: root.height + 1, left: nodeLink(root), dirty: true}
	}
	if err := t.insert(root, key, kh, val); err != nil {
		return cid.CID{}, err
	}
	t.root = root
	return cid.CID{}, nil
}

func (t *Tree) update(n *node, key string, val cid.CID) error {
	for {
		n.dirty = true
		i := find(n, key)
		if i < len(n.ents) && n.ents[i].key == key {
			n.ents[i].val = val
			return nil
		}
		c, err := t.child(*gap(n, i), n)
		if err != nil {
			return err
		}
		n = c
	}
}

func (t *Tree) insert(n *node, key string, kh int, val cid.CID) error {
	n.dirty = true
	i := find(n, key)
	slot := gap(n, i)
	if kh == n.height {
		lo, hi, err := t.split(*slot, key, n)
		if err != nil {
			return err
		}
		*slot = lo
		n.ents = append(n.ents, ent{})
		copy(n.ents[i+1:], n.ents[i:])
		n.ents[i] = ent{key: key, val: val, right: hi}
		return nil
	}
	c, err := t.child(*slot, n)
	if err != nil {
		return err
	}
	if c == nil {
		c = &node{height: n.height - 1, dirty: true}
	}
	if err := t.insert(c, key, kh, val); err != nil {
		return err
	}
	*slot = &link{n: c}
	return nil
}

// split divides the subtree l (a child of parent) into the keys below and
// above key.
func (t *Tree) split(l *link, key string, parent *node) (lo, hi *link, err error) {
	n, err := t.child(l, parent)
	if err != nil || n == nil {
		return nil, nil, err
	}
	i := find(n, key)
	glo, ghi, err := t.split(*gap(n, i), key, n)
	if err != nil {
		return nil, nil, err
	}
	left := &node{height: n.height, left: n.left, ents: append([]ent(nil), n.ents[:i]...), dirty: true}
	if i == 0 {
		left.left = glo
	} else {
		left.ents[i-1].right = glo
	}
	right := &node{height: n.height, left: ghi, ents: append([]ent(nil), n.ents[i:]...), dirty: true}
	return nodeLink(left), nodeLink(right), nil
}

// Delete removes key and returns its value.
func (t *Tree) Delete(key string) (cid.CID, error) {
	root, err := t.getRoot()
	if err != nil {
		return cid.CID{}, err
	}
	prev, err := t.Get(key)
	if err != nil {
		return cid.CID{}, err
	}
	if err := t.remove(root, key); err != nil {
		return cid.CID{}, err
	}
	// The top may not be an empty node that only points down.
	for len(root.ents) == 0 && root.left != nil {
		c, err := t.child(root.left, root)
		if err != nil {
			return cid.CID{}, err
		}
		root = c
	}
	if len(root.ents) == 0 {
		root = &node{height: 0, dirty: true}
	}
	t.root = root
	return prev, nil
}

func (t *Tree) remove(n *node, key string) error {
	n.dirty = true
	i := find(n, key)
	if i < len(n.ents) && n.ents[i].key == key {
		m, err := t.merge(*gap(n, i), n.ents[i].right, n)
		if err != nil {
			return err
		}
		*gap(n, i) = m
		n.ents = append(n.ents[:i], n.ents[i+1:]...)
		return nil
	}
	slot := gap(n, i)
	c, err := t.child(*slot, n)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err := t.remove(c, key); err != nil {
		return err
	}
	*slot = nodeLink(c)
	return nil
}

// merge joins two adjacent subtrees (all keys of a below those of b),
// children of parent.
func (t *Tree) merge(a, b *link, parent *node) (*link, error) {
	if a == nil {
		return b, nil
	}
	if b == nil {
		return a, nil
	}
	an, err := t.child(a, parent)
	if err != nil {
		return nil, err
	}
	bn, err := t.child(b, parent)
	if err != nil {
		return nil, err
	}
	m := &node{height: an.height, left: an.left, ents: append(append([]ent(nil), an.ents...), bn.ents...), dirty: true}
	if len(an.ents) == 0 {
		if m.left, err = t.merge(an.left, bn.left, an); err != nil {
			return nil, err
		}
	} else {
		last := len(an.ents) - 1
		if m.ents[last].right, err = t.merge(an.ents[last].right, bn.left, an); err != nil {
			return nil, err
		}
	}
	return nodeLink(m), nil
}

// Walk calls fn for each key >= from in ascending order.
func (t *Tree) Walk(from string, fn func(key string, val cid.CID) error) error {
	root, err := t.getRoot()
	if err != nil {
		return err
	}
	err = t.walk(root, from, fn)
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

func (t *Tree) walk(n *node, from string, fn func(string, cid.CID) error) error {
	for i := 0; i <= len(n.ents); i++ {
		if i == len(n.ents) || n.ents[i].key >= from {
			c, err := t.child(*gap(n, i), n)
			if err != nil {
				return err
			}
			if c != nil {
				if err := t.walk(c, from, fn); err != nil {
					return err
				}
			}
		}
		if i < len(n.ents) && n.ents[i].key >= from {
			if err := fn(n.ents[i].key, n.ents[i].val); err != nil {
				return err
			}
		}
	}
	return nil
}
