package xrpc

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
)

// outbox is a Mailer that keeps what it is given.
type outbox struct {
	mu      sync.Mutex
	letters []account.Letter
}

func (o *outbox) Configured() bool { return true }

func (o *outbox) Queue(tx *store.Tx, l account.Letter) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.letters = append(o.letters, l)
	return nil
}

// last is the newest token mailed for purpose.
func (o *outbox) last(t *testing.T, purpose string) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.letters) - 1; i >= 0; i-- {
		if o.letters[i].Purpose == purpose {
			return o.letters[i].Token
		}
	}
	t.Fatalf("no %s mail", purpose)
	return ""
}

// token reads the live token of did for purpose from the data file (what
// the account page shows when there is no mail server).
func (e *testEnv) token(did, purpose string) string {
	e.t.Helper()
	var tok string
	e.db.View(func(tx *store.Tx) error {
		t, err := tx.EmailToken(did, purpose)
		if err != nil {
			e.t.Fatalf("no %s token: %v", purpose, err)
		}
		tok = t.Token
		return nil
	})
	return tok
}

// accountEvents returns the #account frames of did in the log.
func (e *testEnv) accountEvents(did string) [][]byte {
	var out [][]byte
	e.db.View(func(tx *store.Tx) error {
		return tx.Events(0, func(ev store.Event) error {
			if ev.DID == did && bytes.Contains(ev.Frame, []byte("#account")) {
				out = append(out, bytes.Clone(ev.Frame))
			}
			return nil
		})
	})
	return out
}

func okStatus(t *testing.T, r resp, what string) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
}

func TestEmailConfirmation(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("carla")
	const srv = "com.atproto.server."
	okStatus(t, e.post(srv+"requestEmailConfirmation", a.Access, nil), "request")
	tok := e.token(a.DID, account.PurposeConfirmEmail)
	if len(tok) != 11 || tok[5] != '-' {
		t.Fatalf("token shape %q", tok)
	}
	confirm := func(email, token string) resp {
		return e.post(srv+"confirmEmail", a.Access, map[string]any{"email": email, "token": token})
	}
	expectError(t, confirm("carla@example.com", "AAAAA-AAAAA"), 400, "InvalidToken")
	expectError(t, confirm("other@example.com", tok), 400, "InvalidEmail")
	// A refusal leaves the token usable.
	okStatus(t, confirm("carla@example.com", tok), "confirm")
	expectError(t, confirm("carla@example.com", tok), 400, "InvalidToken") // single use
	if s := e.get(srv+"getSession", a.Access, "").json(t); s["emailConfirmed"] != true {
		t.Fatalf("session %v", s)
	}

	// Expired.
	okStatus(t, e.post(srv+"requestEmailConfirmation", a.Access, nil), "request again")
	tok = e.token(a.DID, account.PurposeConfirmEmail)
	e.srv.now = func() time.Time { return time.Now().Add(account.TokenTTL + time.Minute) }
	r := e.post(srv+"confirmEmail", a.Access, map[string]any{"email": "carla@example.com", "token": tok})
	e.srv.now = time.Now
	if r.Status != 400 || r.errName(t) != "ExpiredToken" && r.errName(t) != "ExpiredToken" {
		t.Fatalf("expired: %d %s", r.Status, r.Body)
	}
}

func TestTokensAreBoundToPurposeAndAccount(t *testing.T) {
	e := newEnv(t)
	a, b := e.createAccount("dora"), e.createAccount("ella")
	const srv = "com.atproto.server."
	okStatus(t, e.post(srv+"requestAccountDelete", a.Access, nil), "request delete")
	del := e.token(a.DID, account.PurposeDeleteAccount)
	// The delete code confirms nothing else, and nobody else's account.
	expectError(t, e.post(srv+"confirmEmail", a.Access, map[string]any{"email": "dora@example.com", "token": del}), 400, "InvalidToken")
	expectError(t, e.post(srv+"resetPassword", "", map[string]any{"token": del, "password": "new-password"}), 400, "InvalidToken")
	expectError(t, e.post(srv+"deleteAccount", "", map[string]any{"did": b.DID, "password": b.Password, "token": del}), 400, "InvalidToken")
	expectError(t, e.post(srv+"deleteAccount", "", map[string]any{"did": a.DID, "password": "wrong", "token": del}), 401, "AuthenticationRequired")
	// Both accounts are untouched and the code still works for its purpose.
	okStatus(t, e.get(srv+"getSession", b.Access, ""), "b still there")
	okStatus(t, e.post(srv+"deleteAccount", "", map[string]any{"did": a.DID, "password": a.Password, "token": del}), "delete")
}

func TestPasswordResetEndsSessions(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("fiona")
	const srv = "com.atproto.server."
	okStatus(t, e.post(srv+"requestPasswordReset", "", map[string]any{"email": "FIONA@example.com"}), "request")
	// An unknown address answers the same.
	okStatus(t, e.post(srv+"requestPasswordReset", "", map[string]any{"email": "nobody@example.com"}), "unknown")
	tok := e.token(a.DID, account.PurposeResetPassword)
	expectError(t, e.post(srv+"resetPassword", "", map[string]any{"token": "ZZZZZ-ZZZZZ", "password": "x-new"}), 400, "InvalidToken")
	okStatus(t, e.post(srv+"resetPassword", "", map[string]any{"token": tok, "password": "brand-new-pw"}), "reset")
	expectError(t, e.post(srv+"resetPassword", "", map[string]any{"token": tok, "password": "again"}), 400, "InvalidToken")
	// Every session is over: the access token already out and the refresh token.
	expectError(t, e.get(srv+"getSession", a.Access, ""), 400, "ExpiredToken")
	expectError(t, e.post(srv+"refreshSession", a.Refresh, nil), 400, "ExpiredToken")
	expectError(t, e.post(srv+"createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password}), 401, "AuthenticationRequired")
	okStatus(t, e.post(srv+"createSession", "", map[string]any{"identifier": a.Handle, "password": "brand-new-pw"}), "new password")
}

func TestEmailUpdateAndTwoFactor(t *testing.T) {
	box := &outbox{}
	e := newEnvWith(t, box)
	a := e.createAccount("gina")
	const srv = "com.atproto.server."
	// Unconfirmed: no token needed, and two-factor cannot be turned on.
	if r := e.post(srv+"requestEmailUpdate", a.Access, nil).json(t); r["tokenRequired"] != false {
		t.Fatalf("tokenRequired %v", r)
	}
	expectError(t, e.post(srv+"updateEmail", a.Access, map[string]any{"email": "gina@example.com", "emailAuthFactor": true}), 400, "InvalidRequest")
	okStatus(t, e.post(srv+"requestEmailConfirmation", a.Access, nil), "request confirm")
	okStatus(t, e.post(srv+"confirmEmail", a.Access, map[string]any{"email": "gina@example.com", "token": box.last(t, account.PurposeConfirmEmail)}), "confirm")

	// Confirmed: the change needs the mailed token.
	if r := e.post(srv+"requestEmailUpdate", a.Access, nil).json(t); r["tokenRequired"] != true {
		t.Fatalf("tokenRequired %v", r)
	}
	expectError(t, e.post(srv+"updateEmail", a.Access, map[string]any{"email": "gina@example.com", "emailAuthFactor": true}), 400, "TokenRequired")
	on := map[string]any{"email": "gina@example.com", "emailAuthFactor": true, "token": box.last(t, account.PurposeUpdateEmail)}
	okStatus(t, e.post(srv+"updateEmail", a.Access, on), "factor on")
	if s := e.get(srv+"getSession", a.Access, "").json(t); s["emailAuthFactor"] != true {
		t.Fatalf("session %v", s)
	}

	// Sign-in now asks for the mailed code; app passwords do not.
	login := map[string]any{"identifier": a.Handle, "password": a.Password}
	expectError(t, e.post(srv+"createSession", "", login), 401, "AuthFactorTokenRequired")
	code := box.last(t, account.PurposeSignIn)
	login["authFactorToken"] = "WRONG-CODE0"
	expectError(t, e.post(srv+"createSession", "", login), 400, "InvalidToken")
	login["authFactorToken"] = code
	s := e.post(srv+"createSession", "", login)
	okStatus(t, s, "login with code")
	if s.json(t)["emailAuthFactor"] != true {
		t.Fatalf("createSession %s", s.Body)
	}
	expectError(t, e.post(srv+"createSession", "", login), 400, "InvalidToken") // single use
	ap := e.post(srv+"createAppPassword", a.Access, map[string]any{"name": "phone"}).json(t)
	okStatus(t, e.post(srv+"createSession", "", map[string]any{"identifier": a.Handle, "password": ap["password"]}), "app password login")

	// Changing the address un-confirms it and turns the factor off.
	okStatus(t, e.post(srv+"requestEmailUpdate", a.Access, nil), "request update")
	okStatus(t, e.post(srv+"updateEmail", a.Access, map[string]any{"email": "gina2@example.com", "token": box.last(t, account.PurposeUpdateEmail)}), "change")
	got := e.get(srv+"getSession", a.Access, "").json(t)
	if got["email"] != "gina2@example.com" || got["emailConfirmed"] != false || got["emailAuthFactor"] != false {
		t.Fatalf("after change %v", got)
	}
	// App-password sessions may not touch the email.
	appS := e.post(srv+"createSession", "", map[string]any{"identifier": a.Handle, "password": ap["password"]}).json(t)
	expectError(t, e.post(srv+"requestEmailUpdate", appS["accessJwt"].(string), nil), 400, "InvalidToken")
}

func TestDeactivateActivate(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("hana")
	const srv = "com.atproto.server."
	post := map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": map[string]any{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-01-01T00:00:00Z"}}
	okStatus(t, e.post(srv+"deactivateAccount", a.Access, map[string]any{}), "deactivate")
	expectError(t, e.post("com.atproto.repo.createRecord", a.Access, post), 401, "AccountDeactivated")
	expectError(t, e.get("com.atproto.sync.getRepo", "", "did="+a.DID), 400, "RepoDeactivated")
	st := e.get("com.atproto.sync.getRepoStatus", "", "did="+a.DID).json(t)
	if st["active"] != false || st["status"] != "deactivated" {
		t.Fatalf("repo status %v", st)
	}
	if s := e.get(srv+"checkAccountStatus", a.Access, "").json(t); s["activated"] != false {
		t.Fatalf("checkAccountStatus %v", s)
	}
	// The owner can still sign in.
	okStatus(t, e.post(srv+"createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password}), "login while deactivated")
	okStatus(t, e.post(srv+"activateAccount", a.Access, nil), "activate")
	okStatus(t, e.post("com.atproto.repo.createRecord", a.Access, post), "write after activate")
	evs := e.accountEvents(a.DID)
	if len(evs) != 3 || !bytes.Contains(evs[1], []byte("deactivated")) || bytes.Contains(evs[2], []byte("deactivated")) {
		t.Fatalf("#account events: %q", evs)
	}
}

func TestDeleteAccount(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("iris")
	other := e.createAccount("jade")
	const srv = "com.atproto.server."
	okStatus(t, e.post(srv+"requestAccountDelete", a.Access, nil), "request")
	tok := e.token(a.DID, account.PurposeDeleteAccount)
	okStatus(t, e.post(srv+"deleteAccount", "", map[string]any{"did": a.DID, "password": a.Password, "token": tok}), "delete")
	expectError(t, e.post(srv+"createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password}), 401, "AuthenticationRequired")
	expectError(t, e.get(srv+"getSession", a.Access, ""), 403, "AccountNotFound")
	expectError(t, e.get("com.atproto.sync.getRepo", "", "did="+a.DID), 404, "RepoNotFound")
	// Only the deletion is left of its events; the other account is untouched.
	var left []string
	e.db.View(func(tx *store.Tx) error {
		return tx.Events(0, func(ev store.Event) error {
			if ev.DID == a.DID {
				left = append(left, string(ev.Frame))
			}
			return nil
		})
	})
	if len(left) != 1 || !bytes.Contains([]byte(left[0]), []byte("deleted")) {
		t.Fatalf("events left: %q", left)
	}
	okStatus(t, e.get(srv+"getSession", other.Access, ""), "other account")
	// The handle is free again.
	r := e.post(srv+"createAccount", "", map[string]any{"handle": "iris.pds.test", "email": "iris2@example.com", "password": "pw-iris-2"})
	okStatus(t, r, "handle reused")
}

func TestPDSMethodsAreNeverProxied(t *testing.T) {
	var hits int
	var mu sync.Mutex
	appview := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		w.Write([]byte("{}"))
	}))
	defer appview.Close()
	e := newEnv(t)
	a := e.createAccount("kara")
	for _, m := range []string{"com.atproto.server.notAMethod", "com.atproto.admin.whatever", "com.atproto.sync.getHostStatus", "com.atproto.identity.someday"} {
		expectError(t, e.get(m, a.Access, ""), 501, "MethodNotImplemented")
		expectError(t, e.post(m, a.Access, map[string]any{}), 501, "MethodNotImplemented")
	}
	if hits != 0 {
		t.Fatalf("%d requests reached another service", hits)
	}
	// Protected methods get no service token, whatever the session.
	for _, lxm := range []string{"com.atproto.server.updateEmail", "com.atproto.identity.signPlcOperation", "com.atproto.server.deactivateAccount"} {
		expectError(t, e.get("com.atproto.server.getServiceAuth", a.Access, "aud=did:web:example.com&lxm="+lxm), 400, "InvalidRequest")
	}
}

// replay reads the firehose from cursor 0 until it falls quiet and returns
// the frames that mention did.
func (e *testEnv) replay(did string) [][]byte {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(e.http.URL, "http", "ws", 1)+"/xrpc/com.atproto.sync.subscribeRepos?cursor=0", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.CloseNow()
	var out [][]byte
	for {
		rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, f, err := c.Read(rctx)
		rcancel()
		if err != nil {
			return out
		}
		if bytes.Contains(f, []byte(did)) {
			out = append(out, f)
		}
	}
}

// A replay after a deletion holds only the deletion, also when the earlier
// frames were in the stream's memory.
func TestDeletedAccountIsNotReplayed(t *testing.T) {
	e := newEnv(t)
	e.createAccount("mona") // earlier events of another account are kept
	a := e.createAccount("lena")
	if n := len(e.replay(a.DID)); n < 4 {
		t.Fatalf("replay before deletion: %d frames", n)
	}
	okStatus(t, e.post("com.atproto.server.requestAccountDelete", a.Access, nil), "request")
	tok := e.token(a.DID, account.PurposeDeleteAccount)
	okStatus(t, e.post("com.atproto.server.deleteAccount", "", map[string]any{"did": a.DID, "password": a.Password, "token": tok}), "delete")
	got := e.replay(a.DID)
	if len(got) != 1 || !bytes.Contains(got[0], []byte("deleted")) {
		t.Fatalf("replay after deletion: %d frames", len(got))
	}
}
