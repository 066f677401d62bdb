package mst

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

// TestEncodeMatchesGeneric holds the hand-written node encoder to the
// generic DAG-CBOR encoder over the wire form, for nodes of every shape:
// empty, with and without links, long keys and prefixes (multi-byte heads).
func TestEncodeMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	link := func() cid.CID {
		if rng.IntN(2) == 0 {
			return cid.CID{}
		}
		return cid.Sum(cid.DagCBOR, []byte(fmt.Sprint(rng.Int())))
	}
	for i := range 500 {
		n := Node{Left: link()}
		prev := ""
		for j := range rng.IntN(40) {
			// Shared prefixes of every length, suffixes up to 300 bytes.
			key := prev[:rng.IntN(len(prev)+1)] + fmt.Sprintf("%c%0*d", 'a'+j, rng.IntN(300), j)
			if key <= prev {
				continue
			}
			n.Entries = append(n.Entries, Entry{Key: key, Value: cid.Sum(cid.DagCBOR, []byte(key)), Right: link()})
			prev = key
		}
		got, err := n.Encode()
		if err != nil {
			t.Fatal(err)
		}
		w := wireNode{L: n.Left, E: make([]wireEntry, 0, len(n.Entries))}
		prev = ""
		for _, e := range n.Entries {
			p := CommonPrefixLen(prev, e.Key)
			w.E = append(w.E, wireEntry{P: int64(p), K: []byte(e.Key[p:]), V: e.Value, T: e.Right})
			prev = e.Key
		}
		want, err := marshalWire(w)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("node %d (%d entries): encoded\n%x\nwant\n%x", i, len(n.Entries), got, want)
		}
	}
}
