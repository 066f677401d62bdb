package store

import (
	"context"
	"errors"
	"testing"
)

// TestAccountCacheNeverStale reads an account after each kind of change:
// a committed one, one rolled back, a caller changing its copy, a
// deletion. Every read must match the file.
func TestAccountCacheNeverStale(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	read := func() (*Account, error) {
		var a *Account
		err := db.View(func(tx *Tx) error {
			var err error
			a, err = tx.Account("did:plc:a")
			return err
		})
		return a, err
	}
	setHandle := func(h string, fail bool) error {
		return db.Update(ctx, func(tx *Tx) error {
			a, err := tx.Account("did:plc:a")
			if err != nil {
				return err
			}
			old := *a
			a.Handle = h
			if err := tx.PutAccount(&old, a); err != nil {
				return err
			}
			if _, err := tx.Account("did:plc:a"); err != nil { // fills the cache with the uncommitted bytes
				return err
			}
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
	}
	if err := db.Update(ctx, func(tx *Tx) error {
		return tx.CreateAccount(&Account{DID: "did:plc:a", Handle: "a.test"})
	}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		change func() error
		handle string // "" when the account is gone
	}{
		{"first read", func() error { return nil }, "a.test"},
		{"second read", func() error { return nil }, "a.test"},
		{"caller changes its copy", func() error {
			a, err := read()
			if err == nil {
				a.Handle, a.Status = "changed.test", "takendown"
			}
			return err
		}, "a.test"},
		{"committed change", func() error { return setHandle("b.test", false) }, "b.test"},
		{"rolled-back change", func() error {
			if err := setHandle("c.test", true); err == nil {
				return errors.New("roll back not reported")
			}
			return nil
		}, "b.test"},
		{"deleted", func() error {
			return db.Update(ctx, func(tx *Tx) error { return tx.DeleteAccount("did:plc:a") })
		}, ""},
	}
	for _, st := range steps {
		if err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		a, err := read()
		switch {
		case st.handle == "" && !errors.Is(err, ErrNotFound):
			t.Fatalf("%s: read = %v, %v; want not found", st.name, a, err)
		case st.handle != "" && (err != nil || a.Handle != st.handle || a.Status != ""):
			t.Fatalf("%s: read = %+v, %v; want handle %s, active", st.name, a, err, st.handle)
		}
	}
}
