package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/store"
)

const otherDID = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"

// proofFixture is a repository of 40 posts, deep enough that a proof
// crosses several MST layers, and the proof of one of them.
func proofFixture(t testing.TB) (*fixture, []byte) {
	t.Helper()
	f := newFixture(t)
	var ops []Op
	for i := range 40 {
		ops = append(ops, Op{Action: Create, Collection: "app.bsky.feed.post", RKey: fmt.Sprintf("r%02d", i), Record: record(t, fmt.Sprint(i))})
	}
	if _, err := f.apply(ops, nil); err != nil {
		t.Fatal(err)
	}
	return f, f.proof(testDID, "r07")
}

func (f *fixture) proof(did, rkey string) []byte {
	f.t.Helper()
	var buf bytes.Buffer
	if err := f.db.View(func(tx *store.Tx) error { return ExportRecordProof(tx, &buf, did, "app.bsky.feed.post", rkey) }); err != nil {
		f.t.Fatal(err)
	}
	return buf.Bytes()
}

// rewriteCAR reads a proof and writes it again, with edit applied to each
// block; edit returns the CID and bytes to write, or ok false to drop it.
func rewriteCAR(t testing.TB, in []byte, edit func(c cid.CID, data []byte) (cid.CID, []byte, bool)) []byte {
	t.Helper()
	cr, err := car.NewReader(bytes.NewReader(in), car.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cw, err := car.NewWriter(&out, cr.Roots()...)
	if err != nil {
		t.Fatal(err)
	}
	for {
		c, data, err := cr.Next()
		if err != nil {
			break
		}
		if c, data, ok := edit(c, data); ok {
			cw.WriteBlock(c, data)
		}
	}
	cw.Flush()
	return out.Bytes()
}

func TestVerifyRecordProof(t *testing.T) {
	f, good := proofFixture(t)
	var want cid.CID
	if err := f.db.View(func(tx *store.Tx) error {
		r, err := GetRecord(tx, testDID, "app.bsky.feed.post", "r07")
		want = r.CID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rc, data, err := VerifyRecordProof(bytes.NewReader(good), testDID, f.key.Public(), "app.bsky.feed.post", "r07", car.Options{})
	if err != nil || rc != want || !bytes.Equal(data, record(t, "7")) {
		t.Fatalf("good proof: %s, %v", rc, err)
	}

	other, _ := keys.GenerateK256()
	// A repository of another DID, signed with the same key.
	if err := f.db.Update(context.Background(), func(tx *store.Tx) error {
		if _, err := f.w.Create(tx, otherDID, f.key); err != nil {
			return err
		}
		_, err := f.w.Apply(tx, otherDID, f.key, []Op{{Action: Create, Collection: "app.bsky.feed.post", RKey: "r07", Record: record(t, "7")}}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	forged := record(t, "forged")
	for _, c := range []struct {
		name string
		car  []byte
		key  Verifier
		rkey string
	}{
		{"record bytes under the proven CID", rewriteCAR(t, good, func(c cid.CID, d []byte) (cid.CID, []byte, bool) {
			if c == want {
				return c, forged, true
			}
			return c, d, true
		}), f.key.Public(), "r07"},
		{"another record in place of the proven one", rewriteCAR(t, good, func(c cid.CID, d []byte) (cid.CID, []byte, bool) {
			if c == want {
				return cid.Sum(cid.DagCBOR, forged), forged, true
			}
			return c, d, true
		}), f.key.Public(), "r07"},
		{"record missing", rewriteCAR(t, good, func(c cid.CID, d []byte) (cid.CID, []byte, bool) { return c, d, c != want }), f.key.Public(), "r07"},
		{"signed by another key", good, other.Public(), "r07"},
		{"proof of another key", f.proof(testDID, "r08"), f.key.Public(), "r07"},
		{"proof of absence", f.proof(testDID, "r99"), f.key.Public(), "r99"},
		{"commit of another DID", f.proof(otherDID, "r07"), f.key.Public(), "r07"},
		{"truncated", good[:len(good)-9], f.key.Public(), "r07"},
		{"header only", good[:59], f.key.Public(), "r07"},
		{"empty", nil, f.key.Public(), "r07"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := VerifyRecordProof(bytes.NewReader(c.car), testDID, c.key, "app.bsky.feed.post", c.rkey, car.Options{})
			if !errors.Is(err, ErrBadProof) {
				t.Fatalf("accepted (%v)", err)
			}
		})
	}
}

// FuzzVerifyRecordProof: whatever the bytes, the verifier ends in
// ErrBadProof or returns a record whose block hashes to the CID it returns.
func FuzzVerifyRecordProof(f *testing.F) {
	fx, good := proofFixture(f)
	f.Add(good)
	f.Add(fx.proof(testDID, "r99"))
	f.Add(good[:len(good)/2])
	pub := fx.key.Public()
	opts := car.Options{MaxBlockSize: 4 << 10, MaxTotal: 64 << 10, MaxBlocks: 64}
	f.Fuzz(func(t *testing.T, in []byte) {
		rc, data, err := VerifyRecordProof(bytes.NewReader(in), testDID, pub, "app.bsky.feed.post", "r07", opts)
		if err != nil {
			if !errors.Is(err, ErrBadProof) {
				t.Fatalf("error outside ErrBadProof: %v", err)
			}
			return
		}
		if !rc.Verify(data) {
			t.Fatal("returned a block that is not its CID's")
		}
	})
}
