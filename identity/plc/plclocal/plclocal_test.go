package plclocal

import (
	"context"
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
