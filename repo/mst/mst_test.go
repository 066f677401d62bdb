package mst

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
)

func marshalWire(w wireNode) ([]byte, error) { return dagcbor.Marshal(w) }

type memStore map[cid.CID][]byte

func (m memStore) GetBlock(c cid.CID) ([]byte, error) {
	if b, ok := m[c]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrMissingBlock, c)
}

func readFixture(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(raw) == 0 {
		t.Fatalf("fixture %s is empty", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

func exampleKeys(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/example_keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			keys = append(keys, l)
		}
	}
	if len(keys) < 100 {
		t.Fatalf("example_keys.txt has %d keys", len(keys))
	}
	return keys
}

func TestKeyHeights(t *testing.T) {
	var cases []struct {
		Key    string `json:"key"`
		Height int    `json:"height"`
	}
	readFixture(t, "key_heights.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		if got := KeyHeight(c.Key); got != c.Height {
			t.Errorf("KeyHeight(%q) = %d, want %d", c.Key, got, c.Height)
		}
	}
}

func TestCommonPrefix(t *testing.T) {
	var cases []struct {
		Left  string `json:"left"`
		Right string `json:"right"`
		Len   int    `json:"len"`
	}
	readFixture(t, "common_prefix.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		if got := CommonPrefixLen(c.Left, c.Right); got != c.Len {
			t.Errorf("CommonPrefixLen(%q, %q) = %d, want %d", c.Left, c.Right, got, c.Len)
		}
	}
}

func TestEmptyTree(t *testing.T) {
	root, err := New(memStore{}).Root()
	if err != nil || root.String() != "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm" {
		t.Fatalf("empty root %s, %v", root, err)
	}
}

// build inserts keys (all with val) into a fresh tree, commits and stores it.
func build(t testing.TB, bs memStore, keys []string, val cid.CID) cid.CID {
	t.Helper()
	tr := New(bs)
	for _, k := range keys {
		if _, err := tr.Put(k, val); err != nil {
			t.Fatal(err)
		}
	}
	root, added, _, err := tr.Commit()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range added {
		bs[b.CID] = b.Data
	}
	return root
}

func TestCommitProofFixtures(t *testing.T) {
	var cases []struct {
		Comment          string   `json:"comment"`
		LeafValue        string   `json:"leafValue"`
		Keys             []string `json:"keys"`
		Adds             []string `json:"adds"`
		Dels             []string `json:"dels"`
		RootBeforeCommit string   `json:"rootBeforeCommit"`
		RootAfterCommit  string   `json:"rootAfterCommit"`
		BlocksInProof    []string `json:"blocksInProof"`
	}
	readFixture(t, "commit-proof-fixtures.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		t.Run(c.Comment, func(t *testing.T) {
			val := cid.MustParse(c.LeafValue)
			bs := memStore{}
			before := build(t, bs, c.Keys, val)
			if before.String() != c.RootBeforeCommit {
				t.Fatalf("root before %s, want %s", before, c.RootBeforeCommit)
			}
			tr := Load(bs, before)
			for _, k := range c.Adds {
				if _, err := tr.Put(k, val); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range c.Dels {
				if _, err := tr.Delete(k); err != nil {
					t.Fatal(err)
				}
			}
			after, added, removed, err := tr.Commit()
			if err != nil {
				t.Fatal(err)
			}
			if after.String() != c.RootAfterCommit {
				t.Fatalf("root after %s, want %s", after, c.RootAfterCommit)
			}
			for _, b := range added {
				bs[b.CID] = b.Data
			}
			for _, r := range removed {
				delete(bs, r)
			}
			proof, err := tr.CoveringProof(append(slices.Clone(c.Adds), c.Dels...))
			if err != nil {
				t.Fatal(err)
			}
			pm := memStore{}
			for _, b := range proof {
				pm[b.CID] = b.Data
			}
			for _, want := range c.BlocksInProof {
				if _, ok := pm[cid.MustParse(want)]; !ok {
					t.Errorf("proof lacks %s", want)
				}
			}
			// Invert using only the proof blocks.
			inv := Load(pm, after)
			for _, k := range c.Adds {
				if _, err := inv.Delete(k); err != nil {
					t.Fatalf("invert add %s: %v", k, err)
				}
			}
			for _, k := range c.Dels {
				if _, err := inv.Put(k, val); err != nil {
					t.Fatalf("invert del %s: %v", k, err)
				}
			}
			if got, err := inv.Root(); err != nil || got != before {
				t.Fatalf("inverted root %s, %v; want %s", got, err, before)
			}
		})
	}
}

func TestOrderIndependenceAndGC(t *testing.T) {
	keys := exampleKeys(t)
	val := cid.Sum(cid.Raw, []byte("v"))
	want := build(t, memStore{}, keys, val)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 5; round++ {
		ks := slices.Clone(keys)
		rng.Shuffle(len(ks), func(i, j int) { ks[i], ks[j] = ks[j], ks[i] })
		if got := build(t, memStore{}, ks, val); got != want {
			t.Fatalf("round %d: root %s, want %s", round, got, want)
		}
	}
	// Incremental changes with GC keep the store equal to the reachable set.
	bs := memStore{}
	root := build(t, bs, nil, val)
	present := map[string]bool{}
	for step := 0; step < 400; step++ {
		tr := Load(bs, root)
		for j := 0; j < 1+rng.IntN(5); j++ {
			k := keys[rng.IntN(len(keys))]
			if present[k] && rng.IntN(2) == 0 {
				if _, err := tr.Delete(k); err != nil {
					t.Fatal(err)
				}
				delete(present, k)
			} else {
				if _, err := tr.Put(k, cid.Sum(cid.Raw, []byte(fmt.Sprint(step)))); err != nil {
					t.Fatal(err)
				}
				present[k] = true
			}
		}
		var added []Block
		var removed []cid.CID
		var err error
		root, added, removed, err = tr.Commit()
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range added {
			bs[b.CID] = b.Data
		}
		for _, r := range removed {
			delete(bs, r)
		}
		reach := map[cid.CID]bool{}
		if err := Load(bs, root).Nodes(func(b Block) error { reach[b.CID] = true; return nil }); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(reach) != len(bs) {
			t.Fatalf("step %d: store has %d blocks, %d reachable", step, len(bs), len(reach))
		}
		var got []string
		if err := Verify(bs, root, func(k string, _ cid.CID) error { got = append(got, k); return nil }); err != nil {
			t.Fatalf("step %d: verify: %v", step, err)
		}
		if len(got) != len(present) {
			t.Fatalf("step %d: %d keys, want %d", step, len(got), len(present))
		}
		var wantKeys []string
		for k := range present {
			wantKeys = append(wantKeys, k)
		}
		if fresh := build(t, memStore{}, wantKeys, val); len(wantKeys) > 0 && fresh == root {
			// Values differ, so roots differ; the shape check is the key list.
			t.Fatalf("unexpected root equality")
		}
	}
}

func TestShapeMatchesFreshBuild(t *testing.T) {
	keys := exampleKeys(t)
	val := cid.Sum(cid.Raw, []byte("v"))
	rng := rand.New(rand.NewPCG(3, 4))
	bs := memStore{}
	root := build(t, bs, keys, val)
	tr := Load(bs, root)
	var kept []string
	for _, k := range keys {
		if rng.IntN(3) == 0 {
			if _, err := tr.Delete(k); err != nil {
				t.Fatal(err)
			}
		} else {
			kept = append(kept, k)
		}
	}
	got, _, _, err := tr.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if want := build(t, memStore{}, kept, val); got != want {
		t.Fatalf("after deletes root %s, fresh build %s", got, want)
	}
}

func TestProofAndWalk(t *testing.T) {
	keys := exampleKeys(t)
	val := cid.Sum(cid.Raw, []byte("v"))
	bs := memStore{}
	root := build(t, bs, keys, val)
	tr := Load(bs, root)
	for _, k := range []string{keys[0], keys[77], "A0/999999", "zzz/none"} {
		proof, err := tr.Proof(k)
		if err != nil {
			t.Fatal(err)
		}
		pm := memStore{}
		for _, b := range proof {
			pm[b.CID] = b.Data
		}
		_, err = Load(pm, root).Get(k)
		if slices.Contains(keys, k) != (err == nil) || (err != nil && !errors.Is(err, ErrNotFound)) {
			t.Fatalf("proof of %s: %v", k, err)
		}
	}
	sorted := slices.Sorted(slices.Values(keys))
	var got []string
	err := Load(bs, root).Walk(sorted[10], func(k string, _ cid.CID) error {
		got = append(got, k)
		if len(got) == 5 {
			return ErrStop
		}
		return nil
	})
	if err != nil || !slices.Equal(got, sorted[10:15]) {
		t.Fatalf("walk: %v %v, want %v", got, err, sorted[10:15])
	}
}

func TestVerifyRejects(t *testing.T) {
	val := cid.Sum(cid.Raw, []byte("v"))
	bs := memStore{}
	root := build(t, bs, exampleKeys(t)[:40], val)
	// Missing block.
	for c := range bs {
		if c == root {
			continue
		}
		cp := memStore{}
		for k, v := range bs {
			if k != c {
				cp[k] = v
			}
		}
		if err := Verify(cp, root, func(string, cid.CID) error { return nil }); !errors.Is(err, ErrMissingBlock) {
			t.Fatalf("missing block: %v", err)
		}
		break
	}
	// Unsorted keys in one node.
	bad := Node{Entries: []Entry{{Key: "b/1", Value: val}, {Key: "a/1", Value: val}}}
	w := wireNode{E: []wireEntry{{P: 0, K: []byte("b/1"), V: val}, {P: 0, K: []byte("a/1"), V: val}}}
	_ = bad
	data, _ := marshalWire(w)
	if _, err := DecodeNode(data); err == nil {
		t.Fatal("unsorted node accepted")
	}
	// Non-canonical prefix (p smaller than possible).
	w2 := wireNode{E: []wireEntry{{P: 0, K: []byte("a/1"), V: val}, {P: 0, K: []byte("a/2"), V: val}}}
	data2, _ := marshalWire(w2)
	if _, err := DecodeNode(data2); err == nil {
		t.Fatal("uncompressed prefix accepted")
	}
	// An empty root that points down.
	e := Node{Left: root}
	data3, _ := e.Encode()
	c3 := cid.Sum(cid.DagCBOR, data3)
	bs[c3] = data3
	if err := Verify(bs, c3, func(string, cid.CID) error { return nil }); err == nil {
		t.Fatal("empty root with subtree accepted")
	}
}

func FuzzDecodeNode(f *testing.F) {
	bs := memStore{}
	val := cid.Sum(cid.Raw, []byte("v"))
	build(f, bs, []string{"a/1", "a/2", "b/3", "c/44444"}, val)
	for _, b := range bs {
		f.Add(b)
	}
	f.Add([]byte{0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0xf6})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := DecodeNode(data)
		if err != nil {
			return
		}
		again, err := n.Encode()
		if err != nil || string(again) != string(data) {
			t.Fatalf("accepted node does not re-encode identically")
		}
	})
}

func FuzzOps(f *testing.F) {
	f.Add([]byte{1, 2, 3, 130, 5, 200, 7})
	keys := []string{"a/1", "a/2", "b/1", "c/x", "d/yy", "e/zzz", "f/0", "g/9", "h/h", "i/i", "j/j", "k/k", "l/l", "m/m", "n/n", "o/o"}
	f.Fuzz(func(t *testing.T, ops []byte) {
		bs := memStore{}
		root := build(t, bs, nil, cid.Sum(cid.Raw, nil))
		model := map[string]cid.CID{}
		for i, op := range ops {
			tr := Load(bs, root)
			k := keys[int(op)%len(keys)]
			if op >= 128 {
				_, err := tr.Delete(k)
				if _, ok := model[k]; ok != (err == nil) {
					t.Fatalf("delete %s: %v", k, err)
				}
				delete(model, k)
			} else {
				v := cid.Sum(cid.Raw, []byte{byte(i)})
				tr.Put(k, v)
				model[k] = v
			}
			var added []Block
			var removed []cid.CID
			var err error
			root, added, removed, err = tr.Commit()
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range added {
				bs[b.CID] = b.Data
			}
			for _, r := range removed {
				delete(bs, r)
			}
		}
		n := 0
		err := Verify(bs, root, func(k string, v cid.CID) error {
			if model[k] != v {
				t.Fatalf("key %s = %s, model %s", k, v, model[k])
			}
			n++
			return nil
		})
		if err != nil || n != len(model) {
			t.Fatalf("verify: %v, %d keys, model %d", err, n, len(model))
		}
	})
}

func BenchmarkPut(b *testing.B) {
	bs := memStore{}
	val := cid.Sum(cid.Raw, []byte("v"))
	keys := make([]string, 100000)
	for i := range keys {
		keys[i] = fmt.Sprintf("app.bsky.feed.post/%013d", i)
	}
	root := build(b, bs, keys, val)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		tr := Load(bs, root)
		tr.Put(fmt.Sprintf("app.bsky.feed.like/%013d", i), val)
		i++
		var added []Block
		root, added, _, _ = tr.Commit()
		for _, bl := range added {
			bs[bl.CID] = bl.Data
		}
	}
}

func BenchmarkGet(b *testing.B) {
	bs := memStore{}
	val := cid.Sum(cid.Raw, []byte("v"))
	keys := make([]string, 100000)
	for i := range keys {
		keys[i] = fmt.Sprintf("app.bsky.feed.post/%013d", i)
	}
	root := build(b, bs, keys, val)
	i := 0
	for b.Loop() {
		Load(bs, root).Get(keys[i%len(keys)])
		i++
	}
}
