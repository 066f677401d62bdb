package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/keys"
)

func TestResolveDIDAndDocument(t *testing.T) {
	k, _ := keys.GenerateK256()
	hits := 0
	plc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path != "/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"id":          "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
			"alsoKnownAs": []string{"at://alice.test"},
			"verificationMethod": []map[string]string{{"id": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#atproto", "type": "Multikey",
				"controller": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "publicKeyMultibase": k.Public().Multibase()}},
			"service": []map[string]string{{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://pds.example.com"}},
		})
	}))
	defer plc.Close()
	now := time.Unix(1000, 0)
	r := &Resolver{PLCURL: plc.URL, Now: func() time.Time { return now }, TTL: time.Minute}
	doc, err := r.ResolveDID(context.Background(), "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := doc.Handle(); h != "alice.test" {
		t.Fatalf("handle %q", h)
	}
	if ep, _ := doc.PDSEndpoint(); ep != "https://pds.example.com" {
		t.Fatalf("endpoint %q", ep)
	}
	if sk, err := doc.SigningKey(); err != nil || !sk.Equal(k.Public()) {
		t.Fatalf("signing key: %v", err)
	}
	r.ResolveDID(context.Background(), "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
	if hits != 1 {
		t.Fatalf("%d directory hits, want 1 (cached)", hits)
	}
	now = now.Add(2 * time.Minute)
	r.ResolveDID(context.Background(), "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
	if hits != 2 {
		t.Fatalf("%d hits after expiry, want 2", hits)
	}
	if _, err := r.ResolveDID(context.Background(), "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown DID: %v", err)
	}
	if _, err := r.ResolveDID(context.Background(), "did:example:x"); err == nil {
		t.Fatal("unsupported method resolved")
	}
}

func TestResolveHandle(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/atproto-did" {
			w.Write([]byte("did:plc:cccccccccccccccccccccccc\n"))
		}
	}))
	defer web.Close()
	txt := map[string][]string{
		"_atproto.dns.test":      {"did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"},
		"_atproto.conflict.test": {"did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did=did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"},
	}
	host := strings.TrimPrefix(web.URL, "http://")
	r := &Resolver{
		Dev: true,
		LookupTXT: func(_ context.Context, name string) ([]string, error) {
			if v, ok := txt[name]; ok {
				return v, nil
			}
			return nil, errors.New("no such host")
		},
		HTTP: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, host)
		}}},
	}
	if did, err := r.ResolveHandle(context.Background(), "dns.test"); err != nil || did != "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Fatalf("TXT: %q %v", did, err)
	}
	if _, err := r.ResolveHandle(context.Background(), "conflict.test"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("conflicting TXT: %v", err)
	}
	if did, err := r.ResolveHandle(context.Background(), "web.test"); err != nil || did != "did:plc:cccccccccccccccccccccccc" {
		t.Fatalf("well-known: %q %v", did, err)
	}
	if _, err := r.ResolveHandle(context.Background(), "not a handle"); err == nil {
		t.Fatal("bad handle resolved")
	}
}
