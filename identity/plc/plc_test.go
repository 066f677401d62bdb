package plc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo/dagcbor"
)

func TestGenesisAndUpdate(t *testing.T) {
	rot, _ := keys.GenerateK256()
	sig, _ := keys.GenerateK256()
	op := Genesis([]string{rot.Public().DIDKey()}, sig.Public().DIDKey(), "alice.example.com", "https://pds.example.com")
	if _, err := DIDFromGenesis(op); err == nil {
		t.Fatal("unsigned genesis gave a DID")
	}
	if err := op.Sign(rot); err != nil {
		t.Fatal(err)
	}
	did, err := DIDFromGenesis(op)
	if err != nil || !strings.HasPrefix(did, "did:plc:") || len(did) != 32 {
		t.Fatalf("DID %q, %v", did, err)
	}
	if err := op.VerifyWith(op.RotationKeys); err != nil {
		t.Fatal(err)
	}
	other, _ := keys.GenerateK256()
	if err := op.VerifyWith([]string{other.Public().DIDKey()}); !errors.Is(err, ErrSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	// prev is an explicit null in the signed bytes.
	b, _ := dagcbor.Marshal(op)
	v, _ := dagcbor.Decode(b)
	if m := v.(map[string]any); m["prev"] != nil {
		t.Fatalf("prev = %v", m["prev"])
	} else if _, ok := m["prev"]; !ok {
		t.Fatal("prev omitted")
	}
	tampered := *op
	tampered.AlsoKnownAs = []string{"at://mallory.example.com"}
	if err := tampered.VerifyWith(op.RotationKeys); err == nil {
		t.Fatal("tampered operation verified")
	}
	next, err := UpdateHandle(op, "alice2.example.com")
	if err != nil {
		t.Fatal(err)
	}
	next.Sign(rot)
	if err := next.VerifyWith(op.RotationKeys); err != nil {
		t.Fatal(err)
	}
	pc, _ := op.CID()
	if next.Prev == nil || *next.Prev != pc.String() || next.AlsoKnownAs[0] != "at://alice2.example.com" || next.VerificationMethods["atproto"] != sig.Public().DIDKey() {
		t.Fatalf("update: %+v", next)
	}
}

func TestCheckPublishable(t *testing.T) {
	cases := []struct {
		dir, pds string
		ok       bool
	}{
		{"https://plc.directory", "https://pds.example.com", true},
		{"https://plc.directory", "http://localhost:2583", false},
		{"https://plc.directory", "http://127.0.0.1:2583", false},
		{"https://plc.directory", "https://192.168.1.20", false},
		{"https://plc.directory", "https://10.0.0.5", false},
		{"https://plc.directory", "https://[::1]:2583", false},
		{"https://plc.directory", "https://[fd00::1]", false},
		{"https://plc.directory", "https://pds.test", false},
		{"http://127.0.0.1:2582", "http://localhost:2583", true},
		{"http://localhost:2582", "http://192.168.1.2", true},
	}
	for _, c := range cases {
		if err := CheckPublishable(c.dir, c.pds); (err == nil) != c.ok {
			t.Errorf("CheckPublishable(%s, %s) = %v", c.dir, c.pds, err)
		}
	}
}

func TestClient(t *testing.T) {
	var got []*Operation
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST":
			var op Operation
			json.NewDecoder(r.Body).Decode(&op)
			did := strings.TrimPrefix(r.URL.Path, "/")
			if d, err := DIDFromGenesis(&op); err != nil || d != did || op.VerifyWith(op.RotationKeys) != nil {
				w.WriteHeader(400)
				w.Write([]byte(`{"message":"invalid operation"}`))
				return
			}
			got = append(got, &op)
		case strings.HasSuffix(r.URL.Path, "/log/last"):
			json.NewEncoder(w).Encode(got[len(got)-1])
		}
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	rot, _ := keys.GenerateK256()
	op := Genesis([]string{rot.Public().DIDKey()}, rot.Public().DIDKey(), "a.test", "http://localhost:2583")
	op.Sign(rot)
	did, _ := DIDFromGenesis(op)
	if err := c.Submit(context.Background(), did, op); err != nil {
		t.Fatal(err)
	}
	if err := c.Submit(context.Background(), "did:plc:wrongwrongwrongwrongwron", op); err == nil || !strings.Contains(err.Error(), "invalid operation") {
		t.Fatalf("refused op: %v", err)
	}
	last, err := c.LastOp(context.Background(), did)
	if err != nil || last.Sig != op.Sig {
		t.Fatalf("LastOp: %v", err)
	}
	public := &Client{BaseURL: "https://plc.directory"}
	if err := public.Submit(context.Background(), did, op); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("local endpoint to the public directory: %v", err)
	}
}

func FuzzOperationJSON(f *testing.F) {
	rot, _ := keys.GenerateK256()
	op := Genesis([]string{rot.Public().DIDKey()}, rot.Public().DIDKey(), "a.test", "https://x.example")
	op.Sign(rot)
	b, _ := json.Marshal(op)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var op Operation
		if json.Unmarshal(data, &op) != nil {
			return
		}
		_ = op.VerifyWith(op.RotationKeys)
		DIDFromGenesis(&op)
		op.CID()
	})
}
