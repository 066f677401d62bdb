package mst

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
)

// countingStore counts the blocks read from it.
type countingStore struct {
	memStore
	reads int
}

func (s *countingStore) GetBlock(c cid.CID) ([]byte, error) {
	s.reads++
	return s.memStore.GetBlock(c)
}

// TestCacheSameTrees applies the same writes, one tree per write as the
// repo writer does, with and without a cache: the roots, new blocks and
// removed CIDs agree at every step, and the cached trees read far fewer
// blocks, the path the previous write made above all.
func TestCacheSameTrees(t *testing.T) {
	for _, size := range []int{1, 50, 2000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			plain, cached := &countingStore{memStore: memStore{}}, &countingStore{memStore: memStore{}}
			cache := NewCache(256)
			var root cid.CID
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			keys := map[string]bool{}
			for i := range size + 200 {
				key := fmt.Sprintf("app.bsky.feed.post/%013d", i)
				del := false
				if i >= size && rng.IntN(3) == 0 {
					for k := range keys {
						key, del = k, true
						break
					}
				}
				step := func(s *countingStore, c *Cache) (cid.CID, []Block, []cid.CID) {
					var tr *Tree
					if root.Defined() {
						tr = Load(s, root).UseCache(c)
					} else {
						tr = New(s).UseCache(c)
					}
					var err error
					if del {
						_, err = tr.Delete(key)
					} else {
						_, err = tr.Put(key, cid.Sum(cid.DagCBOR, []byte(key)))
					}
					if err != nil {
						t.Fatal(err)
					}
					r, added, removed, err := tr.Commit()
					if err != nil {
						t.Fatal(err)
					}
					for _, b := range added {
						s.memStore[b.CID] = b.Data
					}
					for _, c := range removed {
						delete(s.memStore, c)
					}
					return r, added, removed
				}
				r1, a1, d1 := step(plain, nil)
				r2, a2, d2 := step(cached, cache)
				if r1 != r2 || len(a1) != len(a2) || len(d1) != len(d2) {
					t.Fatalf("write %d: root %s with %d new, %d removed; cached %s with %d new, %d removed", i, r1, len(a1), len(d1), r2, len(a2), len(d2))
				}
				root = r1
				if del {
					delete(keys, key)
				} else {
					keys[key] = true
				}
			}
			if len(plain.memStore) != len(cached.memStore) {
				t.Fatalf("%d blocks stored, %d with the cache", len(plain.memStore), len(cached.memStore))
			}
			if size > 1 && cached.reads*4 > plain.reads {
				t.Errorf("%d block reads with the cache, %d without: want a quarter at most", cached.reads, plain.reads)
			}
		})
	}
}

// TestCacheBlocksOfCachedNodes checks a proof through cached nodes: their
// bytes, which the cache does not keep, are read back from the store.
func TestCacheBlocksOfCachedNodes(t *testing.T) {
	s := memStore{}
	cache := NewCache(64)
	tr := New(s).UseCache(cache)
	for i := range 100 {
		key := fmt.Sprintf("app.bsky.feed.like/%013d", i)
		if _, err := tr.Put(key, cid.Sum(cid.DagCBOR, []byte(key))); err != nil {
			t.Fatal(err)
		}
	}
	root, added, _, err := tr.Commit()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range added {
		s[b.CID] = b.Data
	}
	want, err := Load(s, root).Proof("app.bsky.feed.like/0000000000042")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(s, root).UseCache(cache).Proof("app.bsky.feed.like/0000000000042")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d proof blocks, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].CID != want[i].CID || string(got[i].Data) != string(want[i].Data) {
			t.Fatalf("proof block %d: %s (%d bytes), want %s (%d bytes)", i, got[i].CID, len(got[i].Data), want[i].CID, len(want[i].Data))
		}
	}
}

// TestCacheBounded keeps the cache near its size whatever passes through.
func TestCacheBounded(t *testing.T) {
	c := NewCache(10)
	for i := range 1000 {
		c.put(cid.Sum(cid.Raw, []byte(fmt.Sprint(i))), &decoded{})
		if c.Len() > 10 {
			t.Fatalf("%d nodes after %d puts, want at most 10", c.Len(), i+1)
		}
	}
	hot := cid.Sum(cid.Raw, []byte("hot"))
	c.put(hot, &decoded{height: 3})
	for i := range 1000 {
		c.put(cid.Sum(cid.Raw, []byte(fmt.Sprint("cold", i))), &decoded{})
		if c.get(hot) == nil {
			t.Fatalf("a node asked for at every put aged out after %d puts", i+1)
		}
	}
}
