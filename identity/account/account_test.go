package account

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/identity/plc/plctest"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// events records what would go on the firehose.
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(s string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, s)
	return nil
}
func (e *events) Identity(tx *store.Tx, did, handle string) error { return e.add("identity") }
func (e *events) Account(tx *store.Tx, did string, active bool, status string) error {
	return e.add("account:" + status)
}
func (e *events) Commit(tx *store.Tx, c *repo.Commit) error { return e.add("commit") }
func (e *events) Remove(tx *store.Tx, did string) error     { return e.add("remove") }
func (e *events) Sync(tx *store.Tx, did string, c cid.CID, b []byte, rev string) error {
	return e.add("sync")
}

// letters is a configured Mailer that keeps what it is given.
type letters struct{ got []Letter }

func (l *letters) Configured() bool { return true }
func (l *letters) Queue(tx *store.Tx, x Letter) error {
	l.got = append(l.got, x)
	return nil
}

type fixture struct {
	t     *testing.T
	svc   *Service
	clock time.Time
	mail  *letters
	ev    *events
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	plcSrv := httptest.NewServer(plctest.New())
	t.Cleanup(plcSrv.Close)
	db, err := store.Open(filepath.Join(t.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rot, err := keys.GenerateK256()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, clock: time.Now(), mail: &letters{}, ev: &events{}}
	f.svc = New(Config{
		ServiceDID: "did:web:pds.test", Hostname: "pds.test", PublicURL: "http://pds.test",
		HandleDomains: []string{".pds.test"}, Dev: true, LoginFloor: time.Microsecond,
		HashPassword: func(p string) (string, error) { return auth.HashPasswordCost(p, 4) },
	}, Deps{
		DB: db, Writer: &repo.Writer{Clock: syntax.NewTIDClock(1)}, Events: f.ev,
		PLC: &plc.Client{BaseURL: plcSrv.URL, HTTP: plcSrv.Client()}, Mailer: f.mail, Rotation: rot, JWTKey: auth.HS256("secret"),
		Resolver: &resolve.Resolver{PLCURL: plcSrv.URL, Dev: true},
		Now:      func() time.Time { return f.clock },
	})
	return f
}

func (f *fixture) create(name string) *Session {
	f.t.Helper()
	s, err := f.svc.Create(context.Background(), CreateInput{Handle: name + ".pds.test", Email: name + "@example.com", Password: "pw-" + name})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// snapshot is everything a refusal must leave alone: the account record
// and its live tokens.
func (f *fixture) snapshot(did string) string {
	var out []byte
	f.svc.DB.View(func(tx *store.Tx) error {
		a, _ := tx.Account(did)
		toks, _ := tx.EmailTokensOf(did)
		out, _ = json.Marshal([]any{a, toks})
		return nil
	})
	return string(out)
}

func (f *fixture) lastToken(purpose string) string {
	for i := len(f.mail.got) - 1; i >= 0; i-- {
		if f.mail.got[i].Purpose == purpose {
			return f.mail.got[i].Token
		}
	}
	f.t.Fatalf("no %s mail", purpose)
	return ""
}

func TestTokenRefusalsChangeNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, b := f.create("anna"), f.create("bert")
	did := a.Account.DID
	// Every purpose's token of anna, and a delete token of bert.
	for _, req := range []func() error{
		func() error { return f.svc.RequestEmailConfirmation(ctx, did) },
		func() error { return f.svc.RequestPasswordReset(ctx, "anna@example.com") },
		func() error { return f.svc.RequestDelete(ctx, did) },
		func() error { return f.svc.RequestDelete(ctx, b.Account.DID) },
	} {
		if err := req(); err != nil {
			t.Fatal(err)
		}
	}
	confirm := f.lastToken(PurposeConfirmEmail)
	reset := f.lastToken(PurposeResetPassword)
	bertDelete := f.lastToken(PurposeDeleteAccount)

	ops := map[string]func(token string) error{
		"confirmEmail":  func(tok string) error { return f.svc.ConfirmEmail(ctx, did, "anna@example.com", tok) },
		"resetPassword": func(tok string) error { return f.svc.ResetPassword(ctx, tok, "new-password") },
		"deleteAccount": func(tok string) error { return f.svc.Delete(ctx, did, "pw-anna", tok) },
	}
	tests := []struct {
		name, op, token string
		want            error
	}{
		{"wrong", "confirmEmail", "AAAAA-AAAAA", ErrInvalidToken},
		{"empty", "confirmEmail", "", ErrTokenRequired},
		{"wrong purpose", "confirmEmail", reset, ErrInvalidToken},
		{"wrong purpose", "resetPassword", confirm, ErrInvalidToken},
		{"wrong account", "deleteAccount", bertDelete, ErrInvalidToken},
		{"wrong purpose", "deleteAccount", confirm, ErrInvalidToken},
		{"wrong", "resetPassword", "ZZZZZ-ZZZZZ", ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.name, func(t *testing.T) {
			before, beforeB := f.snapshot(did), f.snapshot(b.Account.DID)
			err := ops[tt.op](tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if f.snapshot(did) != before || f.snapshot(b.Account.DID) != beforeB {
				t.Fatal("a refused token changed stored state")
			}
		})
	}

	// Expired: refused, and nothing changes.
	f.clock = f.clock.Add(TokenTTL + time.Second)
	before := f.snapshot(did)
	if err := ops["confirmEmail"](confirm); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("expired: %v", err)
	}
	if f.snapshot(did) != before {
		t.Fatal("an expired token changed stored state")
	}
	f.clock = f.clock.Add(-TokenTTL - time.Second)

	// Lower case and spaces are what people type; then the token is spent.
	if err := ops["confirmEmail"](" " + toLower(confirm) + " "); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if err := ops["confirmEmail"](confirm); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("reused: %v", err)
	}
	// A new request replaces the live token: the old one stops working.
	f.svc.RequestPasswordReset(ctx, "anna@example.com")
	if err := ops["resetPassword"](reset); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("replaced token: %v", err)
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestSecondFactor(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create("cora")
	did := a.Account.DID
	f.svc.RequestEmailConfirmation(ctx, did)
	if err := f.svc.ConfirmEmail(ctx, did, "cora@example.com", f.lastToken(PurposeConfirmEmail)); err != nil {
		t.Fatal(err)
	}
	on := true
	f.svc.RequestEmailUpdate(ctx, did)
	if err := f.svc.UpdateEmail(ctx, did, UpdateEmailInput{Email: "cora@example.com", EmailAuthFactor: &on, Token: f.lastToken(PurposeUpdateEmail)}); err != nil {
		t.Fatal(err)
	}
	in := SignInInput{Identifier: "cora.pds.test", Password: "pw-cora"}
	if _, err := f.svc.SignIn(ctx, in); !errors.Is(err, ErrAuthFactorRequired) {
		t.Fatalf("without code: %v", err)
	}
	code := f.lastToken(PurposeSignIn)
	in.AuthFactorToken = "WRONG-WRONG"
	if _, err := f.svc.SignIn(ctx, in); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("wrong code: %v", err)
	}
	in.AuthFactorToken = code
	if _, err := f.svc.SignIn(ctx, in); err != nil {
		t.Fatalf("with code: %v", err)
	}
	// A wrong password never reaches the code step, and sends no mail.
	n := len(f.mail.got)
	if _, err := f.svc.SignIn(ctx, SignInInput{Identifier: "cora.pds.test", Password: "nope"}); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if len(f.mail.got) != n {
		t.Fatal("a wrong password sent a sign-in code")
	}
}

func TestRefreshReplayRevokesDescendants(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := f.create("dana")
	id := func(tok string) string {
		c, err := f.svc.Verify(tok, true)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	a := id(s.Refresh)
	s2, err := f.svc.Refresh(ctx, a) // A → B
	if err != nil {
		t.Fatal(err)
	}
	s3, err := f.svc.Refresh(ctx, id(s2.Refresh)) // B → C
	if err != nil {
		t.Fatal(err)
	}
	f.clock = f.clock.Add(RefreshGrace + time.Minute)
	if _, err := f.svc.Refresh(ctx, a); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("replay of A: %v", err)
	}
	if _, err := f.svc.Refresh(ctx, id(s3.Refresh)); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("C survived the replay of A: %v", err)
	}
	c, _ := f.svc.Verify(s3.Access, false)
	if _, err := f.svc.Current(c); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("C's access token survived: %v", err)
	}
}

func TestLifecycleEvents(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := f.create("edna")
	did := s.Account.DID
	f.ev.got = nil
	if err := f.svc.Deactivate(ctx, did, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Deactivate(ctx, did, nil); err != nil { // again: no second event
		t.Fatal(err)
	}
	if err := f.svc.Activate(ctx, did); err != nil {
		t.Fatal(err)
	}
	want := []string{"account:deactivated", "account:", "identity", "sync"}
	if !reflect.DeepEqual(f.ev.got, want) {
		t.Fatalf("events %v, want %v", f.ev.got, want)
	}
	// A deactivation with deleteAfter in the past is swept.
	past := f.clock.Add(-time.Minute)
	f.svc.Deactivate(ctx, did, &past)
	if n, err := f.svc.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v", n, err)
	}
	if _, err := f.svc.Get(did); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after sweep: %v", err)
	}
}
