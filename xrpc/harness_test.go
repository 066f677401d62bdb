package xrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

// fakePLC is a PLC directory that verifies every operation with package
// plc before accepting it, and keeps the log per DID.
type fakePLC struct {
	mu   sync.Mutex
	ops  map[string][]*plc.Operation
	fail bool
}

func (f *fakePLC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	did := strings.TrimPrefix(r.URL.Path, "/")
	did, suffix, _ := strings.Cut(did, "/")
	switch {
	case r.Method == http.MethodPost:
		if f.fail {
			http.Error(w, `{"message":"directory down"}`, http.StatusInternalServerError)
			return
		}
		var op plc.Operation
		if err := json.NewDecoder(r.Body).Decode(&op); err != nil {
			http.Error(w, `{"message":"bad json"}`, http.StatusBadRequest)
			return
		}
		if err := f.check(did, &op); err != nil {
			http.Error(w, `{"message":"`+err.Error()+`"}`, http.StatusBadRequest)
			return
		}
		f.ops[did] = append(f.ops[did], &op)
	case suffix == "" && len(f.ops[did]) > 0:
		json.NewEncoder(w).Encode(f.ops[did][len(f.ops[did])-1].State(did).Document())
	case suffix == "log/last":
		log := f.ops[did]
		if len(log) == 0 {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(log[len(log)-1])
	default:
		http.NotFound(w, r)
	}
}

func (f *fakePLC) check(did string, op *plc.Operation) error {
	log := f.ops[did]
	if len(log) == 0 {
		got, err := plc.DIDFromGenesis(op)
		if err != nil {
			return err
		}
		if got != did {
			return errString("genesis does not hash to " + did)
		}
		return op.VerifyWith(op.RotationKeys)
	}
	prev := log[len(log)-1]
	pc, err := prev.CID()
	if err != nil {
		return err
	}
	if op.Prev == nil || *op.Prev != pc.String() {
		return errString("prev does not chain")
	}
	return op.VerifyWith(prev.RotationKeys)
}

type errString string

func (e errString) Error() string { return string(e) }

type testEnv struct {
	t      *testing.T
	srv    *Server
	http   *httptest.Server
	plc    *fakePLC
	plcURL string
	db     *store.DB
	admin  string
}

func newEnv(t *testing.T, mutate ...func(*Config)) *testEnv {
	t.Helper()
	return newEnvWith(t, nil, mutate...)
}

// newEnvWith builds a test server whose account mail goes to mailer (nil:
// no mail server).
func newEnvWith(t *testing.T, mailer account.Mailer, mutate ...func(*Config)) *testEnv {
	t.Helper()
	fp := &fakePLC{ops: map[string][]*plc.Operation{}}
	plcSrv := httptest.NewServer(fp)
	t.Cleanup(plcSrv.Close)
	return newEnvOn(t, fp, plcSrv, mailer, mutate...)
}

// newEnvOn builds a test server on an existing PLC directory stand-in, so
// that two servers can see the same DIDs (a migration).
func newEnvOn(t *testing.T, fp *fakePLC, plcSrv *httptest.Server, mailer account.Mailer, mutate ...func(*Config)) *testEnv {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Version: "test", Hostname: "pds.test", PublicURL: "http://pds.test",
		HandleDomains: []string{".pds.test"}, PLCURL: plcSrv.URL, AdminPassword: "admin-secret",
		InviteRequired: false, Dev: true,
		HashPassword: func(p string) (string, error) { return auth.HashPasswordCost(p, 4) },
		LoginFloor:   time.Millisecond,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(context.Background(), cfg, Deps{
		DB: db, Lexicons: cat,
		PLC:      &plc.Client{BaseURL: plcSrv.URL, HTTP: plcSrv.Client()},
		Resolver: &resolve.Resolver{PLCURL: plcSrv.URL, Dev: true},
		Mailer:   mailer,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testEnv{t: t, srv: s, http: hs, plc: fp, plcURL: plcSrv.URL, db: db, admin: "admin-secret"}
}

type resp struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %s", r.Status, r.Body)
	}
	return m
}

func (r resp) errName(t *testing.T) string {
	t.Helper()
	n, _ := r.json(t)["error"].(string)
	return n
}

func (e *testEnv) do(method, nsid string, token string, params string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	u := e.http.URL + "/xrpc/" + nsid
	if params != "" {
		u += "?" + params
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Body: data, Header: res.Header}
}

func (e *testEnv) get(nsid, token, params string) resp { return e.do("GET", nsid, token, params, nil) }
func (e *testEnv) post(nsid, token string, body any) resp {
	return e.do("POST", nsid, token, "", body)
}

type testAccount struct {
	DID, Handle, Access, Refresh, Password string
}

func (e *testEnv) createAccount(name string) testAccount {
	e.t.Helper()
	pw := "password-" + name
	r := e.post("com.atproto.server.createAccount", "", map[string]any{
		"handle": name + ".pds.test", "email": name + "@example.com", "password": pw,
	})
	if r.Status != 200 {
		e.t.Fatalf("createAccount %s: %d %s", name, r.Status, r.Body)
	}
	m := r.json(e.t)
	return testAccount{DID: m["did"].(string), Handle: m["handle"].(string), Access: m["accessJwt"].(string), Refresh: m["refreshJwt"].(string), Password: pw}
}

func expectError(t *testing.T, r resp, status int, name string) {
	t.Helper()
	if r.Status != status || r.errName(t) != name {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, name)
	}
}
