package repo

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/e2e"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

type jsRepo struct {
	OK         bool   `json:"ok"`
	DID        string `json:"did"`
	SigningKey string `json:"signingKey"`
	PrivateKey string `json:"privateKey"`
	Root       string `json:"root"`
	Data       string `json:"data"`
	Rev        string `json:"rev"`
	Records    []struct {
		Path string `json:"path"`
		CID  string `json:"cid"`
	} `json:"records"`
}

func (f *fixture) records() []string {
	var out []string
	f.db.View(func(tx *store.Tx) error {
		r, _ := tx.Repo(testDID)
		return r.AllRecords(func(p string, c []byte) error {
			out = append(out, p)
			return nil
		})
	})
	return out
}

// TestE2EReferenceVerifiesHearthCAR: @atproto/repo fully verifies a repo
// Hearth built and exported, and checks its record proofs.
func TestE2EReferenceVerifiesHearthCAR(t *testing.T) {
	e2e.Node(t)
	f := newFixture(t)
	for i := 0; i < 120; i++ {
		if _, err := f.apply([]Op{{Action: Create, Collection: []string{"app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.follow"}[i%3], RKey: string(f.w.Clock.Next()), Record: record(t, fmt.Sprint("r", i))}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	paths := f.records()
	var ops []Op
	for i, p := range paths[:20] {
		coll, rkey := p[:len(p)-14], p[len(p)-13:]
		if i%2 == 0 {
			ops = append(ops, Op{Action: Delete, Collection: coll, RKey: rkey})
		} else {
			ops = append(ops, Op{Action: Update, Collection: coll, RKey: rkey, Record: record(t, "edited")})
		}
	}
	if _, err := f.apply(ops, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	var head Head
	f.db.View(func(tx *store.Tx) error {
		head, _ = LoadHead(tx, testDID)
		return ExportCAR(tx, &buf, testDID, "")
	})
	carPath := filepath.Join(dir, "repo.car")
	os.WriteFile(carPath, buf.Bytes(), 0o600)
	var got jsRepo
	e2e.Run(t, &got, "repo.mjs", "verify", carPath, testDID, f.key.Public().DIDKey())
	if !got.OK || got.Root != head.Commit.String() || got.Data != head.Data.String() || got.Rev != head.Rev {
		t.Fatalf("reference saw %+v, head %+v", got, head)
	}
	want := f.records()
	var saw []string
	for _, r := range got.Records {
		saw = append(saw, r.Path)
	}
	if !slices.Equal(saw, want) {
		t.Fatalf("reference listed %d records, Hearth has %d", len(saw), len(want))
	}
	// Record proofs: inclusion and absence.
	for _, c := range []struct{ coll, rkey, cid string }{
		{got.Records[5].Path[:len(got.Records[5].Path)-14], got.Records[5].Path[len(got.Records[5].Path)-13:], got.Records[5].CID},
		{"app.bsky.feed.post", "3zzzzzzzzzzzz", "null"},
	} {
		var pb bytes.Buffer
		if err := f.db.View(func(tx *store.Tx) error { return ExportRecordProof(tx, &pb, testDID, c.coll, c.rkey) }); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "proof.car")
		os.WriteFile(p, pb.Bytes(), 0o600)
		e2e.Run(t, nil, "repo.mjs", "verify-proof", p, testDID, f.key.Public().DIDKey(), c.coll, c.rkey, c.cid)
	}
}

// TestE2EImportReferenceRepo: a repo built by @atproto/repo imports into
// Hearth with the same root and records, takes a new commit, and the
// result verifies with the reference again.
func TestE2EImportReferenceRepo(t *testing.T) {
	e2e.Node(t)
	dir := t.TempDir()
	carPath := filepath.Join(dir, "ref.car")
	var ref jsRepo
	e2e.Run(t, &ref, "repo.mjs", "make", carPath, "300")
	pub, err := keys.ParseDIDKey(ref.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(carPath)
	snap, err := ReadSnapshot(bytes.NewReader(raw), ref.DID, pub, car.Options{})
	if err != nil {
		t.Fatalf("Hearth refused the reference CAR: %v", err)
	}
	if snap.Commit.String() != ref.Root || snap.Data.String() != ref.Data || snap.Rev != ref.Rev || len(snap.Records) != len(ref.Records) {
		t.Fatalf("snapshot %s/%s/%s with %d records; reference %s/%s/%s with %d", snap.Commit, snap.Data, snap.Rev, len(snap.Records), ref.Root, ref.Data, ref.Rev, len(ref.Records))
	}
	for i, r := range ref.Records {
		if snap.Records[i].Path != r.Path || snap.Records[i].CID.String() != r.CID {
			t.Fatalf("record %d: %s %s vs %s %s", i, snap.Records[i].Path, snap.Records[i].CID, r.Path, r.CID)
		}
	}
	db, err := store.Open(filepath.Join(dir, "h.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(context.Background(), func(tx *store.Tx) error { return Import(tx, snap) }); err != nil {
		t.Fatal(err)
	}
	// Hearth's MST, rebuilt from its own store, has the reference's root.
	priv, _ := hex.DecodeString(ref.PrivateKey)
	key, err := keys.ParsePrivateK256(priv)
	if err != nil {
		t.Fatal(err)
	}
	w := &Writer{Clock: syntax.NewTIDClock(2)}
	var lastPost string
	for _, r := range ref.Records {
		if rkey, ok := strings.CutPrefix(r.Path, "app.bsky.feed.post/"); ok {
			lastPost = rkey
		}
	}
	if err := db.Update(context.Background(), func(tx *store.Tx) error {
		c, err := w.Apply(tx, ref.DID, key, []Op{
			{Action: Create, Collection: "app.bsky.feed.post", RKey: string(w.Clock.Next()), Record: record(t, "from hearth")},
			{Action: Delete, Collection: "app.bsky.feed.post", RKey: lastPost},
		}, nil)
		if err == nil && c.PrevData.String() != ref.Data {
			err = fmt.Errorf("prevData %s, want the reference's %s", c.PrevData, ref.Data)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	db.View(func(tx *store.Tx) error { return ExportCAR(tx, &buf, ref.DID, "") })
	out := filepath.Join(dir, "after.car")
	os.WriteFile(out, buf.Bytes(), 0o600)
	var again jsRepo
	e2e.Run(t, &again, "repo.mjs", "verify", out, ref.DID, ref.SigningKey)
	if len(again.Records) != len(ref.Records) {
		t.Fatalf("after one create and one delete the reference sees %d records, want %d", len(again.Records), len(ref.Records))
	}
}
