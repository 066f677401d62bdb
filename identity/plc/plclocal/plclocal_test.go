package plclocal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/store"
)

func TestDirectoryJudgesAndKeeps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/plc", &Directory{DB: db}))
	defer srv.Close()
	c := &plc.Client{BaseURL: srv.URL + "/plc", HTTP: srv.Client()}
	ctx := context.Background()
	rot, _ := keys.GenerateK256()
	signing, _ := keys.GenerateP256()
	genesis := plc.Genesis([]string{rot.Public().DIDKey()}, signing.Public().DIDKey(), "alice.test", "http://localhost:2583")
	if err := genesis.Sign(rot); err != nil {
		t.Fatal(err)
	}
	did, _ := plc.DIDFromGenesis(genesis)
	var se *plc.StatusError
	if err := c.Submit(ctx, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", genesis); !errors.As(err, &se) {
		t.Fatalf("a genesis under another DID: %v", err)
	}
	if err := c.Submit(ctx, did, genesis); err != nil {
		t.Fatal(err)
	}
	next, err := c.NextOp(ctx, did)
	if err != nil {
		t.Fatal(err)
	}
	next.SetHandle("alice2.test")
	next.Sign(signing) // not a rotation key
	if err := c.Submit(ctx, did, next); !errors.As(err, &se) {
		t.Fatalf("signed by the signing key: %v", err)
	}
	next.Sign(rot)
	if err := c.Submit(ctx, did, next); err != nil {
		t.Fatal(err)
	}
	// Kept in the data file: a reopened store serves the same log.
	srv.Close()
	db.Close()
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv2 := httptest.NewServer(http.StripPrefix("/plc", &Directory{DB: db}))
	defer srv2.Close()
	c = &plc.Client{BaseURL: srv2.URL + "/plc", HTTP: srv2.Client()}
	doc, err := c.Document(ctx, did)
	if err != nil || len(doc.AlsoKnownAs) != 1 || doc.AlsoKnownAs[0] != "at://alice2.test" {
		t.Fatalf("document after reopen: %+v, %v", doc, err)
	}
	if ops, err := c.AuditLog(ctx, did); err != nil || len(ops) != 2 {
		t.Fatalf("audit log: %d, %v", len(ops), err)
	}
}

// FuzzSubmit feeds arbitrary bodies to the directory, which reads them
// from the network: a refusal must never panic, and must keep nothing.
func FuzzSubmit(f *testing.F) {
	rot, _ := keys.GenerateK256()
	genesis := plc.Genesis([]string{rot.Public().DIDKey()}, rot.Public().DIDKey(), "alice.test", "http://localhost:2583")
	genesis.Sign(rot)
	good, _ := json.Marshal(genesis)
	f.Add(good)
	f.Add([]byte(`{"type":"plc_tombstone","prev":"x","sig":"y"}`))
	f.Add([]byte(`{}`))
	db, err := store.Open(filepath.Join(f.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	d := &Directory{DB: db}
	const did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := d.Submit(context.Background(), did, raw); err == nil {
			t.Fatalf("kept an operation that cannot be the genesis of %s: %s", did, raw)
		}
		if ops, _, err := d.log(did); err != nil || len(ops) != 0 {
			t.Fatalf("a refused operation left %d in the log (%v)", len(ops), err)
		}
	})
}
