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
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/identity/plc/plctest"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

type testEnv struct {
	t      *testing.T
	srv    *Server
	http   *httptest.Server
	plc    *plctest.Directory
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
	fp := plctest.New()
	plcSrv := httptest.NewServer(fp)
	t.Cleanup(plcSrv.Close)
	return newEnvOn(t, fp, plcSrv, mailer, mutate...)
}

// newEnvOn builds a test server on an existing PLC directory stand-in, so
// that two servers can see the same DIDs (a migration).
func newEnvOn(t *testing.T, fp *plctest.Directory, plcSrv *httptest.Server, mailer account.Mailer, mutate ...func(*Config)) *testEnv {
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
