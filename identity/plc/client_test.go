package plc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/keys"
)

// fakeDirectory is a PLC directory that checks every operation with this
// package before it keeps it: the genesis must hash to the DID and be
// signed by one of its own keys, every later operation must follow the last
// one and be signed by one of its rotation keys. Nullification is left out.
type fakeDirectory struct {
	mu   sync.Mutex
	logs map[string][]LogEntry
	// raw answers /log/last with this text instead, when set.
	raw map[string]string
}

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{logs: map[string][]LogEntry{}, raw: map[string]string{}}
}

func (f *fakeDirectory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	did, suffix, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	fail := func(code int, format string, args ...any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"message": fmt.Sprintf(format, args...)})
	}
	if r.Method == http.MethodPost {
		b, _ := io.ReadAll(r.Body)
		op, err := ParseOp(b)
		if err != nil {
			fail(http.StatusBadRequest, "%v", err)
			return
		}
		if err := f.accept(did, op); err != nil {
			fail(http.StatusBadRequest, "%v", err)
			return
		}
		return
	}
	if raw, ok := f.raw[did]; ok && suffix == "log/last" {
		fmt.Fprint(w, raw)
		return
	}
	log := f.logs[did]
	if len(log) == 0 {
		fail(http.StatusNotFound, "DID not registered: %s", did)
		return
	}
	last := log[len(log)-1].Operation
	if _, ok := last.(*Tombstone); ok && suffix != "log/audit" {
		fail(http.StatusGone, "DID not available: %s", did)
		return
	}
	var ops []Op
	for _, e := range log {
		ops = append(ops, e.Operation)
	}
	var v any
	switch suffix {
	case "":
		s, _ := stateAfter(did, last)
		v = s.Document()
	case "data":
		v, _ = stateAfter(did, last)
	case "log":
		v = ops
	case "log/audit":
		v = log
	case "log/last":
		v = last
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeDirectory) accept(did string, op Op) error {
	log := f.logs[did]
	var ops []Op
	for _, e := range log {
		ops = append(ops, e.Operation)
	}
	if _, err := VerifyLog(did, append(ops, op)); err != nil && !errors.Is(err, ErrTombstoned) {
		return err
	}
	c, _ := op.CID()
	f.logs[did] = append(log, LogEntry{DID: did, Operation: op, CID: c.String(), CreatedAt: time.Now().UTC().Format(time.RFC3339)})
	return nil
}

func TestClientWithDirectory(t *testing.T) {
	dir := newFakeDirectory()
	srv := httptest.NewServer(dir)
	defer srv.Close()
	c := &Client{BaseURL: srv.URL + "/", HTTP: srv.Client()}
	ctx := context.Background()

	rot := newKey(t, keys.GenerateK256)
	signing := newKey(t, keys.GenerateP256)
	// A local directory takes a local PDS: that is what it is for.
	genesis := Genesis([]string{rot.Public().DIDKey()}, signing.Public().DIDKey(), "alice.test", "http://localhost:2583")
	if err := genesis.Sign(rot); err != nil {
		t.Fatal(err)
	}
	did, _ := DIDFromGenesis(genesis)
	if err := c.Submit(ctx, did, genesis); err != nil {
		t.Fatal(err)
	}

	// Refusals carry the directory's message.
	var se *StatusError
	err := c.Submit(ctx, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", genesis)
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(se.Message, "genesis operation is that of "+did) {
		t.Fatalf("wrong DID: %v", err)
	}

	doc, err := c.Document(ctx, did)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := doc.SigningKey(); err != nil || !k.Equal(signing.Public()) {
		t.Fatalf("document signing key %v, %v", k, err)
	}
	if ep, _ := doc.PDSEndpoint(); ep != "http://localhost:2583" {
		t.Fatalf("document PDS %q", ep)
	}
	data, err := c.Data(ctx, did)
	if err != nil || data.AlsoKnownAs[0] != "at://alice.test" {
		t.Fatalf("Data = %+v, %v", data, err)
	}
	last, err := c.LastOp(ctx, did)
	if err != nil || last.Sig != genesis.Sig {
		t.Fatalf("LastOp = %+v, %v", last, err)
	}

	// A handle change, the way xrpc did it and the way NextOp does it.
	upd, err := UpdateHandle(last, "alice2.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := upd.Sign(rot); err != nil {
		t.Fatal(err)
	}
	if err := c.Submit(ctx, did, upd); err != nil {
		t.Fatal(err)
	}
	next, err := c.NextOp(ctx, did)
	if err != nil {
		t.Fatal(err)
	}
	next.SetHandle("alice3.test")
	next.SetPDS("http://127.0.0.1:2583")
	if err := next.Sign(signing); err != nil {
		t.Fatal(err)
	}
	if err := c.Submit(ctx, did, next); !errors.As(err, &se) {
		t.Fatalf("signed by the repo key, not a rotation key: %v", err)
	}
	if err := next.Sign(rot); err != nil {
		t.Fatal(err)
	}
	if err := c.Submit(ctx, did, next); err != nil {
		t.Fatal(err)
	}

	ops, err := c.Log(ctx, did)
	if err != nil || len(ops) != 3 {
		t.Fatalf("Log = %d ops, %v", len(ops), err)
	}
	s, err := VerifyLog(did, ops)
	if err != nil || s.AlsoKnownAs[0] != "at://alice3.test" || s.Services[ServicePDS].Endpoint != "http://127.0.0.1:2583" {
		t.Fatalf("VerifyLog = %+v, %v", s, err)
	}
	audit, err := c.AuditLog(ctx, did)
	if err != nil || len(audit) != 3 || audit[2].Operation.(*Operation).Sig != next.Sig {
		t.Fatalf("AuditLog = %+v, %v", audit, err)
	}

	// Tombstone: the DID is gone, and says so.
	prev, _ := next.CID()
	tomb := NewTombstone(prev.String())
	if err := tomb.Sign(rot); err != nil {
		t.Fatal(err)
	}
	if err := c.Submit(ctx, did, tomb); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Data(ctx, did); !errors.Is(err, ErrTombstoned) {
		t.Fatalf("Data of a tombstoned DID: %v", err)
	}
	if _, err := c.Document(ctx, "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown DID: %v", err)
	}
}

func TestNextOpAfterLegacyCreate(t *testing.T) {
	dir := newFakeDirectory()
	srv := httptest.NewServer(dir)
	defer srv.Close()
	entry := loadLog(t, "legacy_create.json")[0]
	dir.raw[entry.DID] = string(mustJSON(t, entry.Operation))
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	if _, err := c.LastOp(context.Background(), entry.DID); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("LastOp of a legacy create: %v", err)
	}
	next, err := c.NextOp(context.Background(), entry.DID)
	if err != nil {
		t.Fatal(err)
	}
	if next.PrevCID() != entry.CID || next.AlsoKnownAs[0] != "at://paul.bsky.social" || len(next.RotationKeys) != 2 {
		t.Fatalf("next %+v", next)
	}
}

// refuseTransport fails the test if a request is made.
type refuseTransport struct{ t *testing.T }

func (rt refuseTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.t.Errorf("unexpected request to %s", r.URL)
	return nil, errors.New("no requests expected")
}

func TestSubmitRefusesLocally(t *testing.T) {
	rot := newKey(t, keys.GenerateK256)
	public := &Client{BaseURL: "https://plc.directory", HTTP: &http.Client{Transport: refuseTransport{t}}}
	ctx := context.Background()

	local := Genesis([]string{rot.Public().DIDKey()}, rot.Public().DIDKey(), "alice.test", "http://localhost:2583")
	local.Sign(rot)
	did, _ := DIDFromGenesis(local)
	if err := public.Submit(ctx, did, local); !errors.Is(err, ErrUnpublishable) {
		t.Fatalf("local PDS to the public directory: %v", err)
	}
	other := Genesis([]string{rot.Public().DIDKey()}, rot.Public().DIDKey(), "alice.example.com", "https://pds.example.com")
	other.Services["atproto_labeler"] = Service{Type: "AtprotoLabeler", Endpoint: "https://192.168.1.4"}
	other.Sign(rot)
	did, _ = DIDFromGenesis(other)
	if err := public.Submit(ctx, did, other); !errors.Is(err, ErrUnpublishable) {
		t.Fatalf("local labeler to the public directory: %v", err)
	}

	unsigned := Genesis([]string{rot.Public().DIDKey()}, rot.Public().DIDKey(), "alice.example.com", "https://pds.example.com")
	if err := public.Submit(ctx, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", unsigned); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("unsigned: %v", err)
	}
	legacy := loadLog(t, "legacy_create.json")[0]
	if err := public.Submit(ctx, legacy.DID, legacy.Operation); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("legacy create: %v", err)
	}
	unsigned.Sign(rot)
	for _, bad := range []string{"did:plc:../../admin", "did:web:example.com", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/log"} {
		if err := public.Submit(ctx, bad, unsigned); err == nil {
			t.Fatalf("Submit to %q", bad)
		}
		if _, err := public.Data(ctx, bad); err == nil {
			t.Fatalf("Data of %q", bad)
		}
	}
}

func TestClientAnswers(t *testing.T) {
	const did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	var answer func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w) }))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
		check  func(err error) bool
	}{
		{"plain text refusal", func(w http.ResponseWriter) { http.Error(w, "busy", http.StatusServiceUnavailable) },
			func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.Status == 503 && se.Message == "busy"
			}},
		{"not JSON", func(w http.ResponseWriter) { fmt.Fprint(w, "<html>") }, func(err error) bool { return err != nil }},
		{"data of another DID", func(w http.ResponseWriter) { fmt.Fprint(w, `{"did":"did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"}`) },
			func(err error) bool { return errors.Is(err, ErrInvalidOp) }},
		{"too big", func(w http.ResponseWriter) {
			fmt.Fprintf(w, `{"did":%q,"x":"%s"}`, did, strings.Repeat("a", maxAnswer))
		},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "over") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer = tt.answer
			if _, err := c.Data(context.Background(), did); !tt.check(err) {
				t.Fatalf("Data: %v", err)
			}
		})
	}
}

func TestCheckPublishable(t *testing.T) {
	tests := []struct {
		dir, endpoint string
		ok            bool
	}{
		{"https://plc.directory", "https://pds.example.com", true},
		{"https://plc.directory", "https://pds.example.com:8443/", true},
		{"https://plc.directory", "https://203.0.113.9", true},
		{"https://plc.directory", "http://pds.example.com", false},
		{"https://plc.directory", "http://localhost:2583", false},
		{"https://plc.directory", "https://localhost", false},
		{"https://plc.directory", "https://LocalHost.", false},
		{"https://plc.directory", "https://pds.localhost", false},
		{"https://plc.directory", "http://127.0.0.1:2583", false},
		{"https://plc.directory", "https://127.1.2.3", false},
		{"https://plc.directory", "https://10.0.0.5", false},
		{"https://plc.directory", "https://172.20.1.1", false},
		{"https://plc.directory", "https://192.168.1.20", false},
		{"https://plc.directory", "https://100.100.1.1", false},
		{"https://plc.directory", "https://169.254.1.1", false},
		{"https://plc.directory", "https://0.0.0.0", false},
		{"https://plc.directory", "https://[::1]:2583", false},
		{"https://plc.directory", "https://[fd00::1]", false},
		{"https://plc.directory", "https://[fe80::1]", false},
		{"https://plc.directory", "https://[::ffff:10.0.0.1]", false},
		{"https://plc.directory", "https://raspberrypi", false},
		{"https://plc.directory", "https://hearth.local", false},
		{"https://plc.directory", "https://hearth.lan", false},
		{"https://plc.directory", "https://pds.test", false},
		{"https://plc.directory", "pds.example.com", false},
		{"https://plc.directory", "", false},
		{"https://plc.directory/", "https://user@localhost", false},
		{"https://plc.example.com/mirror", "http://192.168.0.2", false},
		{"http://localhost:2582", "http://localhost:2583", true},
		{"http://127.0.0.1:2582", "http://192.168.1.2", true},
		{"http://[::1]:2582", "http://localhost:2583", true},
		{"http://10.0.0.2", "http://10.0.0.3", true},
		{"http://plc.test", "http://pds.test", true},
		{"not a url", "https://pds.example.com", false},
	}
	for _, tt := range tests {
		err := CheckPublishable(tt.dir, tt.endpoint)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrUnpublishable)) {
			t.Errorf("CheckPublishable(%q, %q) = %v", tt.dir, tt.endpoint, err)
		}
	}
}

// The default client keeps the address guard on: a directory on loopback
// is refused before any request is made.
func TestDefaultClientRefusesLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	if _, err := c.Data(context.Background(), "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"); !errors.Is(err, egress.ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the directory was reached")
	}
}
