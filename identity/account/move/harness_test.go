package move_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/account/move"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/identity/plc/plctest"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

// letters is the old host's mail server: it keeps the codes.
type letters struct {
	mu  sync.Mutex
	got []account.Letter
}

func (l *letters) Configured() bool { return true }
func (l *letters) Queue(_ *store.Tx, x account.Letter) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, x)
	return nil
}

func (l *letters) last(t *testing.T, purpose string) string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.got) - 1; i >= 0; i-- {
		if l.got[i].Purpose == purpose {
			return l.got[i].Token
		}
	}
	t.Fatalf("no %s mail", purpose)
	return ""
}

// world is a PLC directory, an old Hearth over HTTP, and the new side: an
// account service on a second data file.
type world struct {
	t       *testing.T
	plcURL  string
	old     *xrpc.Server
	oldURL  string
	oldDB   *store.DB
	mail    *letters
	txt     map[string]string // handle → DID, the DNS stand-in
	txtMu   sync.Mutex
	svc     *account.Service
	blobs   *blob.Store
	crawled int
}

func openDB(t *testing.T) *store.DB {
	db, err := store.Open(filepath.Join(t.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func cheapHash(p string) (string, error) { return auth.HashPasswordCost(p, 4) }

func newWorld(t *testing.T) *world {
	t.Helper()
	plcSrv := httptest.NewServer(plctest.New())
	t.Cleanup(plcSrv.Close)
	w := &world{t: t, plcURL: plcSrv.URL, mail: &letters{}, txt: map[string]string{}}
	var h http.Handler = http.NotFoundHandler()
	hs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(hs.Close)
	w.oldURL, w.oldDB = hs.URL, openDB(t)
	cat, err := lexicon.Default()
	if err != nil {
		t.Fatal(err)
	}
	w.old, err = xrpc.New(context.Background(), xrpc.Config{
		Version: "test", Hostname: "old.test", PublicURL: hs.URL, HandleDomains: []string{".old.test"},
		PLCURL: plcSrv.URL, Dev: true, HashPassword: cheapHash, LoginFloor: time.Millisecond,
	}, xrpc.Deps{
		DB: w.oldDB, Lexicons: cat, PLC: &plc.Client{BaseURL: plcSrv.URL, HTTP: plcSrv.Client()},
		Resolver: &resolve.Resolver{PLCURL: plcSrv.URL, Dev: true}, Mailer: w.mail,
	})
	if err != nil {
		t.Fatal(err)
	}
	h = w.old.Handler()
	t.Cleanup(w.old.Wait)
	rot, err := keys.GenerateK256()
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	w.svc = account.New(account.Config{
		ServiceDID: "did:web:new.test", Hostname: "new.test", PublicURL: "http://new.test",
		HandleDomains: []string{".new.test"}, Dev: true, LoginFloor: time.Millisecond, HashPassword: cheapHash,
	}, account.Deps{
		DB: db, Writer: &repo.Writer{Clock: syntax.NewTIDClock(0)}, Events: &stream.Emitter{},
		PLC: &plc.Client{BaseURL: plcSrv.URL, HTTP: plcSrv.Client()}, Rotation: rot,
		JWTKey: auth.HS256("test secret, thirty-two bytes ok"), Resolver: w.resolver(),
	})
	w.blobs = &blob.Store{DB: db}
	return w
}

func (w *world) resolver() *resolve.Resolver {
	return &resolve.Resolver{PLCURL: w.plcURL, Dev: true, LookupTXT: func(_ context.Context, name string) ([]string, error) {
		w.txtMu.Lock()
		defer w.txtMu.Unlock()
		if did, ok := w.txt[strings.TrimPrefix(name, "_atproto.")]; ok {
			return []string{"did=" + did}, nil
		}
		return nil, &net404{}
	}}
}

type net404 struct{}

func (*net404) Error() string { return "no such host" }

// runner is a Runner over the new side, under ctx.
func (w *world) runner(ctx context.Context, after func(string, move.Step)) *move.Runner {
	return move.New(ctx, move.Deps{
		Accounts: w.svc, Blobs: w.blobs, Resolver: w.resolver(),
		Egress: egress.New(egress.Options{AllowPrivate: true}),
		Crawl:  func() { w.crawled++ }, AfterStep: after,
	})
}

// call is one XRPC call to the old host.
func (w *world) call(method, nsid, token string, body any, ctype string) map[string]any {
	w.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, _ := http.NewRequest(method, w.oldURL+"/xrpc/"+nsid, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		w.t.Fatalf("%s: %d %s", nsid, res.StatusCode, raw)
	}
	json.Unmarshal(raw, &out)
	return out
}

// oldAccount makes mira on the old host: two posts, one with an image,
// and a preference. It returns the DID.
func (w *world) oldAccount(name, password string) (did, access string) {
	w.t.Helper()
	cr := w.call("POST", "com.atproto.server.createAccount", "", map[string]any{
		"handle": name + ".old.test", "email": name + "@example.com", "password": password}, "")
	did, access = cr["did"].(string), cr["accessJwt"].(string)
	w.txtMu.Lock()
	w.txt[name+".old.test"] = did
	w.txtMu.Unlock()
	post := func(rec map[string]any) {
		w.call("POST", "com.atproto.repo.createRecord", access, map[string]any{"repo": did, "collection": "app.bsky.feed.post", "record": rec}, "")
	}
	post(map[string]any{"$type": "app.bsky.feed.post", "text": "one", "createdAt": "2026-01-01T00:00:00Z"})
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 3, 3)))
	up := w.call("POST", "com.atproto.repo.uploadBlob", access, img.Bytes(), "image/png")
	post(map[string]any{"$type": "app.bsky.feed.post", "text": "look", "createdAt": "2026-01-01T00:00:00Z",
		"embed": map[string]any{"$type": "app.bsky.embed.images", "images": []any{map[string]any{"alt": "grey", "image": up["blob"]}}}})
	w.call("POST", "app.bsky.actor.putPreferences", access, map[string]any{"preferences": []any{
		map[string]any{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": true}}}, "")
	return did, access
}

// until polls the move of did until ok holds.
func until(t *testing.T, r *move.Runner, did, what string, ok func(p *move.Progress) bool) *move.Progress {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := r.Progress(did)
		if err == nil && ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %+v %v", what, p, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func jsonInto(raw []byte, v any) error { return json.Unmarshal(raw, v) }
