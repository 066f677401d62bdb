package web

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hearth-pds/hearth/identity/account/move"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/store"
)

// moveEnv is the account env with a real runner whose handle lookups
// find nothing.
func moveEnv(t *testing.T) *accountEnv {
	e := newAccountEnv(t, nil)
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	e.pages.b.(*fakeBackend).mover = move.New(ctx, move.Deps{
		Accounts: e.svc, Egress: egress.New(egress.Options{AllowPrivate: true}),
		Resolver: &resolve.Resolver{Dev: true, LookupTXT: func(context.Context, string) ([]string, error) {
			return nil, errors.New("no such host")
		}},
	})
	return e
}

// showing stores st as the move this browser follows.
func (e *accountEnv) showing(st move.State) {
	e.t.Helper()
	raw, _ := json.Marshal(st)
	if err := e.svc.DB.Update(context.Background(), func(tx *store.Tx) error { return tx.PutMove(st.DID, raw) }); err != nil {
		e.t.Fatal(err)
	}
	e.pages.mu.Lock()
	s := e.pages.sess[e.cookie()]
	if s == nil { // an anonymous browser: keep its session, as startMove does
		s = e.pages.anonymous(e.cookie())
		s.id, s.expires = e.cookie(), e.pages.now().Add(SessionTTL)
		e.pages.sess[s.id] = s
	}
	s.move = st.DID
	e.pages.mu.Unlock()
}

func TestMovePageWithoutRunner(t *testing.T) {
	e := newAccountEnv(t, nil)
	_, body := e.get("/move")
	must(t, "no runner", body, "not available", "Move away")
}

func TestMovePageForm(t *testing.T) {
	e := moveEnv(t)
	_, body := e.get("/move")
	must(t, "form", body, `action="/move/start"`, "Your handle there", ".pds.test", "Move away", "Your codes")
	body = e.form("/move/start", "old", "nobody.example.test", "password", "pw", "name", "mira", "domain", ".pds.test")
	must(t, "unknown handle", body, "No account answers to the handle nobody.example.test", `value="nobody.example.test"`, `value="mira"`)
	if strings.Contains(body, `value="pw"`) {
		t.Fatal("the password came back in the page")
	}
	_, body = e.get("/account")
	must(t, "account page link", body, `href="/move"`)
}

func TestMovePageProgress(t *testing.T) {
	e := moveEnv(t)
	e.get("/move")
	const did = "did:plc:abcdefghijklmnopqrstuvwx"
	st := move.State{DID: did, OldHandle: "mira.bsky.social", OldHost: "https://bsky.social", Handle: "mira.pds.test",
		Step: move.StepBlobs, Records: 40, OldRecords: 40, Blobs: 10, BlobsDone: 3, Access: "secret-access"}
	e.showing(st)
	_, body := e.get("/move")
	must(t, "running", body, `http-equiv="refresh"`, "<progress", "3 of 10", "Records copied: <strong>40</strong>", "✓")
	if strings.Contains(body, "secret-access") {
		t.Fatal("the old host's token is on the page")
	}

	st.Step, st.Wait = move.StepPLCSign, move.WaitPLCCode
	e.showing(st)
	_, body = e.get("/move")
	must(t, "waiting for the PLC code", body, `action="/move/answer"`, "Confirmation code")
	if strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatal("a page waiting for a code reloads itself")
	}

	st.Step, st.Wait, st.Error = move.StepRepo, "", "Your old host did not answer in time: try again in a minute."
	e.showing(st)
	_, body = e.get("/move")
	must(t, "failed", body, "did not answer in time", `action="/move/retry"`)

	st.Step, st.Error = move.StepDone, ""
	st.Check = &move.Check{OldRecords: 40, NewRecords: 40, ExpectedBlobs: 10, ImportedBlobs: 10, ValidDID: true, Activated: true, OldDeactivated: true}
	e.showing(st)
	_, body = e.get("/move")
	must(t, "done", body, "Your account lives here now", "40 here, 40 on your old host", "10 of 10", "Close this move")
	body = e.form("/move/forget")
	must(t, "closed", body, `action="/move/start"`)
}
