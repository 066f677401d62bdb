package mst

import (
	"fmt"

	"github.com/hearth-pds/hearth/repo/cid"
)

// encode computes the CID of n and of its dirty descendants, appending
// the new blocks to added.
func (t *Tree) encode(n *node, added *[]Block) (cid.CID, error) {
	if !n.dirty {
		return n.cid, nil
	}
	dn := Node{}
	sub := func(l *link) (cid.CID, error) {
		if l == nil {
			return cid.CID{}, nil
		}
		if l.n == nil {
			return l.cid, nil
		}
		c, err := t.encode(l.n, added)
		l.cid = c
		return c, err
	}
	var err error
	if dn.Left, err = sub(n.left); err != nil {
		return cid.CID{}, err
	}
	for _, e := range n.ents {
		r, err := sub(e.right)
		if err != nil {
			return cid.CID{}, err
		}
		dn.Entries = append(dn.Entries, Entry{Key: e.key, Value: e.val, Right: r})
	}
	data, err := dn.Encode()
	if err != nil {
		return cid.CID{}, fmt.Errorf("mst: encode node: %w", err)
	}
	n.cid, n.data, n.dirty = cid.Sum(cid.DagCBOR, data), data, false
	*added = append(*added, Block{CID: n.cid, Data: data})
	// The next write starts from the path this one made. Should the
	// transaction roll back, the node is unreachable from any stored root
	// and is never asked for; should it be made again, it is stored then.
	t.cache.put(n.cid, decodedOf(n))
	return n.cid, nil
}

// Root returns the root CID, computing changed nodes.
func (t *Tree) Root() (cid.CID, error) {
	root, _, _, err := t.Commit()
	return root, err
}

// Commit computes the CIDs of changed nodes and reports the new node
// blocks and the CIDs of loaded nodes that are no longer in the tree.
func (t *Tree) Commit() (cid.CID, []Block, []cid.CID, error) {
	root, err := t.getRoot()
	if err != nil {
		return cid.CID{}, nil, nil, err
	}
	var added []Block
	rc, err := t.encode(root, &added)
	if err != nil {
		return cid.CID{}, nil, nil, err
	}
	// The nodes in memory are the only ones that can have changed; collect
	// their CIDs and compare with what was loaded.
	live := map[cid.CID]bool{}
	var mark func(n *node)
	mark = func(n *node) {
		live[n.cid] = true
		for _, l := range t.links(n) {
			if l.n != nil {
				mark(l.n)
			}
		}
	}
	mark(root)
	var removed []cid.CID
	for c := range t.loaded {
		if !live[c] {
			removed = append(removed, c)
		}
	}
	// Blocks that were already stored are not new.
	kept := added[:0]
	for _, b := range added {
		if !t.loaded[b.CID] {
			kept = append(kept, b)
		}
	}
	t.loaded = live
	t.rootID = rc
	return rc, kept, removed, nil
}

func (t *Tree) links(n *node) []*link {
	var out []*link
	if n.left != nil {
		out = append(out, n.left)
	}
	for _, e := range n.ents {
		if e.right != nil {
			out = append(out, e.right)
		}
	}
	return out
}

func (t *Tree) block(n *node) (Block, error) {
	if n.dirty {
		var added []Block
		if _, err := t.encode(n, &added); err != nil {
			return Block{}, err
		}
	}
	if n.data == nil {
		// Loaded from the cache, which keeps no bytes.
		data, err := t.bs.GetBlock(n.cid)
		if err != nil {
			return Block{}, err
		}
		n.data = data
	}
	return Block{CID: n.cid, Data: n.data}, nil
}

// Proof returns the nodes from the root down to where key is or would be:
// enough to prove its presence or absence.
func (t *Tree) Proof(key string) ([]Block, error) {
	seen := map[cid.CID]bool{}
	var out []Block
	err := t.path(key, false, seen, &out)
	return out, err
}

// CoveringProof returns every node a consumer holding the new tree needs
// to invert operations on keys: the path to each key, and for keys present
// the spines of the subtrees beside them, which a deletion would merge.
func (t *Tree) CoveringProof(keys []string) ([]Block, error) {
	seen := map[cid.CID]bool{}
	var out []Block
	for _, k := range keys {
		if err := t.path(k, true, seen, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *Tree) add(n *node, seen map[cid.CID]bool, out *[]Block) error {
	b, err := t.block(n)
	if err != nil {
		return err
	}
	if !seen[b.CID] {
		seen[b.CID] = true
		*out = append(*out, b)
	}
	return nil
}

func (t *Tree) path(key string, spines bool, seen map[cid.CID]bool, out *[]Block) error {
	if _, err := t.Root(); err != nil {
		return err
	}
	n := t.root
	for n != nil {
		if err := t.add(n, seen, out); err != nil {
			return err
		}
		i := find(n, key)
		if i < len(n.ents) && n.ents[i].key == key {
			if !spines {
				return nil
			}
			if err := t.spine(*gap(n, i), n, true, seen, out); err != nil {
				return err
			}
			return t.spine(n.ents[i].right, n, false, seen, out)
		}
		c, err := t.child(*gap(n, i), n)
		if err != nil {
			return err
		}
		n = c
	}
	return nil
}

// spine adds the rightmost (or leftmost) chain of nodes of a subtree.
func (t *Tree) spine(l *link, parent *node, rightmost bool, seen map[cid.CID]bool, out *[]Block) error {
	for l != nil {
		n, err := t.child(l, parent)
		if err != nil {
			return err
		}
		if err := t.add(n, seen, out); err != nil {
			return err
		}
		if rightmost && len(n.ents) > 0 {
			l = n.ents[len(n.ents)-1].right
		} else {
			l = n.left
		}
		parent = n
	}
	return nil
}

// Nodes calls fn for every node block reachable from the root, depth
// first, loading as it goes; the tree must have no uncommitted changes.
func (t *Tree) Nodes(fn func(Block) error) error {
	root, err := t.getRoot()
	if err != nil {
		return err
	}
	if root.dirty {
		return fmt.Errorf("mst: Nodes on a tree with uncommitted changes")
	}
	return t.visit(root, fn)
}

func (t *Tree) visit(n *node, fn func(Block) error) error {
	b, err := t.block(n)
	if err != nil {
		return err
	}
	if err := fn(b); err != nil {
		return err
	}
	for _, l := range t.links(n) {
		c, err := t.child(l, n)
		if err != nil {
			return err
		}
		if err := t.visit(c, fn); err != nil {
			return err
		}
		// Drop loaded children so a whole-tree walk stays small.
		l.n = nil
	}
	return nil
}

// Verify walks the whole tree at root, checking every node strictly (present,
// canonical, keys ascending across the tree, each key at its height, no
// empty subtrees, no empty root pointing down), and calls fn per key.
func Verify(bs BlockGetter, root cid.CID, fn func(key string, val cid.CID) error) error {
	t := Load(bs, root)
	rn, err := t.getRoot()
	if err != nil {
		return err
	}
	last := ""
	var walk func(n *node) error
	walk = func(n *node) error {
		for i := 0; i <= len(n.ents); i++ {
			l := *gap(n, i)
			if l != nil && n.height == 0 {
				return fmt.Errorf("%w: subtree below height 0", ErrInvalidNode)
			}
			c, err := t.child(l, n)
			if err != nil {
				return err
			}
			if c != nil {
				if err := walk(c); err != nil {
					return err
				}
				*gap(n, i) = &link{cid: l.cid} // unload: keep memory flat
			}
			if i < len(n.ents) {
				k := n.ents[i].key
				if k <= last && last != "" {
					return fmt.Errorf("%w: key %q after %q", ErrInvalidNode, k, last)
				}
				last = k
				if err := fn(k, n.ents[i].val); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(rn)
}
