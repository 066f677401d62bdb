package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"golang.org/x/crypto/acme/autocert"
)

func openTest(t testing.TB, opts Options) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "hearth.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 64)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(ctx, func(tx *Tx) error {
				if err := tx.SetMeta(fmt.Sprintf("k%02d", i), []byte{byte(i)}); err != nil {
					return err
				}
				if i%5 == 0 {
					return fmt.Errorf("call %d refuses", i)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	err := db.View(func(tx *Tx) error {
		for i, e := range errs {
			got := tx.Meta(fmt.Sprintf("k%02d", i))
			switch {
			case i%5 == 0 && (e == nil || got != nil):
				return fmt.Errorf("call %d: err=%v, value=%v; want its error and no write", i, e, got)
			case i%5 != 0 && (e != nil || len(got) != 1):
				return fmt.Errorf("call %d: err=%v, value=%v; want success", i, e, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpdatePanicIsAnError(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	err := db.Update(context.Background(), func(tx *Tx) error { panic("boom") })
	if err == nil {
		t.Fatal("want error from panicking update")
	}
	if err := db.Update(context.Background(), func(tx *Tx) error { return nil }); err != nil {
		t.Fatalf("store unusable after panic: %v", err)
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx *Tx) error {
		r, err := tx.CreateRepo("did:plc:a")
		if err != nil {
			return err
		}
		if err := r.PutBlock([]byte("c1"), "2222222222222", []byte("data")); err != nil {
			return err
		}
		return r.SetHead([]byte("c1"), "2222222222222")
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.Update(context.Background(), func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("update after close: %v", err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *Tx) error {
		r, err := tx.Repo("did:plc:a")
		if err != nil {
			t.Fatal(err)
		}
		root, rev := r.Head()
		if string(root) != "c1" || rev != "2222222222222" || string(r.Block([]byte("c1"))) != "data" {
			t.Fatalf("after reopen: root=%q rev=%q block=%q", root, rev, r.Block([]byte("c1")))
		}
		return nil
	})
}

func TestRecordsListing(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	paths := []string{"a.b.c/1", "a.b.c/2", "a.b.c/3", "a.b.cd/1", "a.b/9", "z.z.z/x"}
	db.Update(context.Background(), func(tx *Tx) error {
		r, _ := tx.CreateRepo("did:plc:a")
		for _, p := range paths {
			r.PutRecord(p, []byte(p))
		}
		return nil
	})
	list := func(coll, cursor string, reverse bool, limit int) []string {
		var out []string
		db.View(func(tx *Tx) error {
			r, _ := tx.Repo("did:plc:a")
			return r.Records(coll, cursor, reverse, func(rkey string, _ []byte) error {
				out = append(out, rkey)
				if len(out) == limit {
					return ErrStop
				}
				return nil
			})
		})
		return out
	}
	cases := []struct {
		coll, cursor string
		reverse      bool
		limit        int
		want         []string
	}{
		{"a.b.c", "", false, 0, []string{"1", "2", "3"}},
		{"a.b.c", "1", false, 0, []string{"2", "3"}},
		{"a.b.c", "", true, 0, []string{"3", "2", "1"}},
		{"a.b.c", "3", true, 0, []string{"2", "1"}},
		{"a.b.c", "", false, 2, []string{"1", "2"}},
		{"a.b.cd", "", true, 0, []string{"1"}},
		{"z.z.z", "", true, 0, []string{"x"}},
		{"none", "", false, 0, nil},
		{"none", "", true, 0, nil},
	}
	for _, c := range cases {
		if got := list(c.coll, c.cursor, c.reverse, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("Records(%q, %q, %v) = %v, want %v", c.coll, c.cursor, c.reverse, got, c.want)
		}
	}
	db.View(func(tx *Tx) error {
		r, _ := tx.Repo("did:plc:a")
		if got, want := r.Collections(), []string{"a.b", "a.b.c", "a.b.cd", "z.z.z"}; !slices.Equal(got, want) {
			t.Errorf("Collections = %v, want %v", got, want)
		}
		return nil
	})
}

func TestRefsAndBlocksSince(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	db.Update(context.Background(), func(tx *Tx) error {
		r, _ := tx.CreateRepo("did:plc:a")
		// A stored block without an entry has one reference; only counts
		// above one are written.
		if n := r.Refs([]byte("x")); n != 0 {
			t.Fatalf("Refs of an absent block = %d, want 0", n)
		}
		r.PutBlock([]byte("x"), "1111111111111", []byte("X"))
		for _, c := range []struct{ set, want int }{{-1, 1}, {2, 2}, {3, 3}, {1, 1}, {0, 1}} {
			if c.set >= 0 {
				if err := r.SetRefs([]byte("x"), c.set); err != nil {
					t.Fatal(err)
				}
			}
			if n := r.Refs([]byte("x")); n != c.want {
				t.Fatalf("after SetRefs(%d): Refs = %d, want %d", c.set, n, c.want)
			}
			if stored := r.refs.Get([]byte("x")) != nil; stored != (c.want > 1) {
				t.Fatalf("after SetRefs(%d): entry stored = %v", c.set, stored)
			}
		}
		if err := r.SetRefs([]byte("x"), -1); err == nil {
			t.Fatal("count below zero accepted")
		}
		r.DeleteBlock([]byte("x"))
		r.PutBlock([]byte("a"), "2222222222222", []byte("A"))
		r.PutBlock([]byte("b"), "3333333333333", []byte("B"))
		r.PutBlock([]byte("a"), "4444444444444", []byte("A")) // keeps first rev
		var got []string
		r.Blocks("2222222222222", func(c []byte, rev string, _ []byte) error {
			got = append(got, string(c)+"@"+rev)
			return nil
		})
		if want := []string{"b@3333333333333"}; !slices.Equal(got, want) {
			t.Fatalf("Blocks since = %v, want %v", got, want)
		}
		return nil
	})
}

func BenchmarkUpdateSequential(b *testing.B) {
	for _, nosync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", nosync), func(b *testing.B) {
			db := openTest(b, Options{NoSync: nosync})
			i := 0
			for b.Loop() {
				i++
				db.Update(context.Background(), func(tx *Tx) error {
					return tx.SetMeta(fmt.Sprint(i), []byte("v"))
				})
			}
		})
	}
}

func BenchmarkUpdateParallel8(b *testing.B) {
	db := openTest(b, Options{})
	b.SetParallelism(4) // 2 cores × 4 = 8 writers
	var mu sync.Mutex
	n := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			k := fmt.Sprint(n)
			mu.Unlock()
			db.Update(context.Background(), func(tx *Tx) error { return tx.SetMeta(k, []byte("v")) })
		}
	})
}

func TestCertCache(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	c := db.CertCache()
	if _, err := c.Get(ctx, "pds.example.com"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Fatalf("empty cache: %v, want ErrCacheMiss", err)
	}
	if err := c.Put(ctx, "pds.example.com", []byte("PEM")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "pds.example.com"); err != nil || string(got) != "PEM" {
		t.Fatalf("Get after Put: %q %v", got, err)
	}
	if err := c.Delete(ctx, "pds.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "never.example.com"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := c.Get(ctx, "pds.example.com"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Fatalf("after Delete: %v", err)
	}
}
