package mst

import (
	"sync"

	"github.com/hearth-pds/hearth/repo/cid"
)

// Cache keeps decoded nodes by CID, for trees that load the same nodes
// again and again: every write to a repository walks from its root, and
// the upper layers are the same nodes from one write to the next. Reading
// and decoding them was a fifth of a createRecord's allocations.
//
// A CID names its bytes, so an entry can never be stale, and one cache may
// serve every repository. Nodes go in when a tree reads them from its store
// (checked against their CID) and when it encodes them at Commit: a tree
// only ever asks for a CID some stored node links to, and the store holds
// every block its roots reach, so a node cached from a transaction that
// rolled back is simply never asked for.
//
// It keeps two generations of at most max/2 nodes each and drops the older
// when the newer fills: a hit in the older moves the node forward, so what
// every write uses stays while the rest ages out, without a list to keep.
// It is safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	max      int
	cur, old map[cid.CID]*decoded
}

// decoded is a node as read: its layer and entries, keys expanded.
type decoded struct {
	height int
	left   cid.CID
	ents   []decodedEnt
}

type decodedEnt struct {
	key        string
	val, right cid.CID
}

// NewCache returns a cache of about max nodes (at least 2).
func NewCache(max int) *Cache {
	max = (max + 1) / 2 * 2
	if max < 2 {
		max = 2
	}
	return &Cache{max: max, cur: map[cid.CID]*decoded{}}
}

// Len reports how many nodes the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

func (c *Cache) get(id cid.CID) *decoded {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.cur[id]; d != nil {
		return d
	}
	d := c.old[id]
	if d != nil {
		delete(c.old, id)
		c.putLocked(id, d)
	}
	return d
}

func (c *Cache) put(id cid.CID, d *decoded) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(id, d)
}

func (c *Cache) putLocked(id cid.CID, d *decoded) {
	if len(c.cur) >= c.max/2 {
		c.old, c.cur = c.cur, make(map[cid.CID]*decoded, c.max/2)
	}
	c.cur[id] = d
}

// node makes a tree node of its own from a cached one; the links are new,
// so the tree may load and change what hangs below them.
func (d *decoded) node(c cid.CID) *node {
	n := &node{height: d.height, cid: c, ents: make([]ent, len(d.ents))}
	if d.left.Defined() {
		n.left = &link{cid: d.left}
	}
	for i, e := range d.ents {
		n.ents[i] = ent{key: e.key, val: e.val}
		if e.right.Defined() {
			n.ents[i].right = &link{cid: e.right}
		}
	}
	return n
}

// decodedOf is what the cache keeps of a node just read.
func decodedOf(n *node) *decoded {
	d := &decoded{height: n.height, ents: make([]decodedEnt, len(n.ents))}
	if n.left != nil {
		d.left = n.left.cid
	}
	for i, e := range n.ents {
		d.ents[i] = decodedEnt{key: e.key, val: e.val}
		if e.right != nil {
			d.ents[i].right = e.right.cid
		}
	}
	return d
}
