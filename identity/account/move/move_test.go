package move_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/account/move"
	"github.com/hearth-pds/hearth/store"
)

const miraPassword = "mira's old password"

// twoFactor turns the old host's sign-in codes on for did.
func (w *world) twoFactor(did string) {
	w.t.Helper()
	err := w.oldDB.Update(context.Background(), func(tx *store.Tx) error {
		a, err := tx.Account(did)
		if err != nil {
			return err
		}
		b := *a
		b.EmailAuthFactor = true
		return tx.PutAccount(a, &b)
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

func TestMoveFromAnotherHearth(t *testing.T) {
	w := newWorld(t)
	did, _ := w.oldAccount("mira", miraPassword)
	w.twoFactor(did)

	// The first runner stops right after the repository is imported, as a
	// restart would stop it.
	ctx1, stop1 := context.WithCancel(context.Background())
	r1 := w.runner(ctx1, func(_ string, done move.Step) {
		if done == move.StepRepo {
			stop1()
		}
	})
	in := move.Input{Old: "@Mira.old.test", Password: miraPassword, Handle: "mira.new.test", NoInvite: true}
	got, err := r1.Start(context.Background(), in)
	if err != nil || got != did {
		t.Fatalf("start: %q %v", got, err)
	}
	p := until(t, r1, did, "the sign-in code", func(p *move.Progress) bool { return p.Wait == move.WaitTwoFactor })
	if p.Access != "" || p.Step != move.StepSignIn {
		t.Fatalf("waiting for the code: %+v", p.State)
	}
	if _, err := w.svc.Get(did); err == nil {
		t.Fatal("an account was made before the old host let us in")
	}
	if err := r1.Answer(context.Background(), did, "WRONG-CODE"); !errors.Is(err, move.ErrCode) {
		t.Fatalf("wrong sign-in code: %v", err)
	}
	if err := r1.Answer(context.Background(), did, w.mail.last(t, account.PurposeSignIn)); err != nil {
		t.Fatalf("sign-in code: %v", err)
	}
	r1.Wait()
	p, _ = r1.Progress(did)
	if p.Step != move.StepBlobs || p.Records != 2 || p.OldRecords != 2 || p.Error != "" {
		t.Fatalf("after the stop: %+v", p.State)
	}
	var stored move.State
	w.svc.DB.View(func(tx *store.Tx) error { return jsonInto(tx.Move(did), &stored) })
	if stored.Access == "" || stored.Refresh == "" {
		t.Fatal("the old host's tokens are not stored for the resume")
	}

	// A new runner on the same data file carries on, up to the PLC code.
	ctx2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	r2 := w.runner(ctx2, nil)
	r2.Resume()
	p = until(t, r2, did, "the PLC code", func(p *move.Progress) bool { return p.Wait == move.WaitPLCCode })
	if p.BlobsDone != 1 || p.Blobs != 1 || p.Step != move.StepPLCSign || p.Percent <= 0 || p.Percent >= 100 {
		t.Fatalf("waiting for the PLC code: %+v", p)
	}
	if err := r2.Answer(context.Background(), did, "WRONG-CODE"); err != nil {
		t.Fatal(err)
	}
	p = until(t, r2, did, "the refusal of a wrong code", func(p *move.Progress) bool { return p.Wait == move.WaitPLCCode && !p.Running })
	if p.Error == "" {
		t.Fatalf("a wrong PLC code said nothing: %+v", p.State)
	}
	if err := r2.Answer(context.Background(), did, w.mail.last(t, account.PurposePLCOperation)); err != nil {
		t.Fatal(err)
	}
	p = until(t, r2, did, "the end", func(p *move.Progress) bool { return p.Done() || p.Error != "" })
	if p.Error != "" || p.Check == nil || !p.Check.OK() || p.Percent != 100 {
		t.Fatalf("the end: %+v %+v", p.State, p.Check)
	}
	c := p.Check
	if c.NewRecords != 2 || c.OldRecords != 2 || c.ImportedBlobs != 1 || !c.Preferences || !c.OldDeactivated || !c.CrawlRequested || w.crawled != 1 {
		t.Fatalf("check %+v, crawled %d", c, w.crawled)
	}
	stored = move.State{}
	w.svc.DB.View(func(tx *store.Tx) error { return jsonInto(tx.Move(did), &stored) })
	if stored.Access != "" || stored.Refresh != "" {
		t.Fatal("the old host's tokens outlive the move")
	}
	a, err := w.svc.Get(did)
	if err != nil || !a.Active() || a.Handle != "mira.new.test" {
		t.Fatalf("the account here: %+v %v", a, err)
	}
	if !w.svc.CheckPassword(did, miraPassword) {
		t.Fatal("the old password does not sign in here")
	}
	old, _ := w.old.Accounts().Get(did)
	if old.Status != account.StatusDeactivated {
		t.Fatalf("the old account is %q", old.Status)
	}
	// Starting again for a moved account says so.
	if _, err := r2.Start(context.Background(), in); !errors.Is(err, move.ErrAlreadyHere) {
		t.Fatalf("second start: %v", err)
	}
}

func TestMoveRefusesBadInput(t *testing.T) {
	w := newWorld(t)
	did, _ := w.oldAccount("otto", "otto's password")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := w.runner(ctx, nil)
	cases := []struct {
		name string
		in   move.Input
		want error
	}{
		{"wrong password", move.Input{Old: "otto.old.test", Password: "nope", Handle: "otto.new.test"}, move.ErrOldPassword},
		{"unknown handle", move.Input{Old: "nobody.old.test", Password: "x", Handle: "otto.new.test"}, move.ErrUnknown},
		{"no password", move.Input{Old: "otto.old.test", Handle: "otto.new.test"}, move.ErrInput},
		{"other host", move.Input{Old: "otto.old.test", Host: "https://elsewhere.example", Password: "otto's password"}, move.ErrInput},
		{"bad handle", move.Input{Old: "otto.old.test", Password: "otto's password", Handle: "x.new.test"}, account.ErrInvalidHandle},
	}
	for _, c := range cases {
		_, err := r.Start(context.Background(), c.in)
		var me *move.Error
		var ae *account.Error
		if !errors.Is(err, c.want) || (!errors.As(err, &me) && !errors.As(err, &ae)) || err.Error() == "" {
			t.Errorf("%s: %v, want %v with a sentence", c.name, err, c.want)
		}
		if _, err := w.svc.Get(did); err == nil {
			t.Fatalf("%s: an account was made here", c.name)
		}
		if _, err := r.Progress(did); !errors.Is(err, move.ErrNoMove) {
			t.Fatalf("%s: a move was stored: %v", c.name, err)
		}
	}
}

func TestMoveKeepsItsOwnDomain(t *testing.T) {
	w := newWorld(t)
	did, _ := w.oldAccount("kai", "kai's password")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := w.runner(ctx, nil)
	if _, err := r.Start(context.Background(), move.Input{Old: did, Password: "kai's password", NoInvite: true}); err != nil {
		t.Fatal(err)
	}
	until(t, r, did, "the PLC code", func(p *move.Progress) bool { return p.Wait == move.WaitPLCCode })
	if err := r.Answer(context.Background(), did, w.mail.last(t, account.PurposePLCOperation)); err != nil {
		t.Fatal(err)
	}
	p := until(t, r, did, "the end", func(p *move.Progress) bool { return p.Done() || p.Error != "" })
	if p.Error != "" || !p.Check.OK() {
		t.Fatalf("%+v", p.State)
	}
	if a, _ := w.svc.Get(did); a == nil || a.Handle != "kai.old.test" || a.Email != "kai@example.com" {
		t.Fatalf("the account here: %+v", a)
	}
}

// A handle that resolves nowhere moves when the old host's address is
// typed ("My handle cannot be found"): the old host names the DID, whose
// document must name that host.
func TestMoveAsksTheTypedHostForTheHandle(t *testing.T) {
	w := newWorld(t)
	did, _ := w.oldAccount("una", "una's password")
	w.txtMu.Lock()
	delete(w.txt, "una.old.test")
	w.txtMu.Unlock()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := w.runner(ctx, nil)
	in := move.Input{Old: "una.old.test", Password: "una's password", Handle: "una.new.test", NoInvite: true}
	if _, err := r.Start(context.Background(), in); !errors.Is(err, move.ErrUnknown) {
		t.Fatalf("without a host: %v", err)
	}
	in.Host = w.oldURL + "/"
	got, err := r.Start(context.Background(), in)
	if err != nil || got != did {
		t.Fatalf("with the host: %q %v", got, err)
	}
	until(t, r, did, "the PLC code", func(p *move.Progress) bool { return p.Wait == move.WaitPLCCode || p.Error != "" })
}
