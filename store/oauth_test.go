package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestOAuthSpentRefresh: a rotated refresh token is remembered as spent
// while its grant lives, and forgotten with it, so the record of spent
// tokens does not outgrow the grants.
func TestOAuthSpentRefresh(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	g := &OAuthGrant{ID: "g1", DID: "did:plc:a", Refresh: "r1", ExpiresAt: time.Now().Add(time.Hour)}
	err := db.Update(t.Context(), func(tx *Tx) error {
		if err := tx.PutOAuthGrant(g, ""); err != nil {
			return err
		}
		g.Refresh = "r2"
		if err := tx.PutOAuthGrant(g, "r1"); err != nil {
			return err
		}
		if _, err := tx.OAuthGrantByRefresh("r1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("spent token still live: %v", err)
		}
		if s, err := tx.OAuthGrantBySpent("r1"); err != nil || s.ID != "g1" {
			t.Errorf("spent token not recognised: %v", err)
		}
		return tx.DeleteOAuthGrant("g1")
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		if _, err := tx.OAuthGrantBySpent("r1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("spent token outlived its grant: %v", err)
		}
		for _, b := range [][]byte{bucketOAuthSpent, bucketOAuthSpentOf} {
			if k, _ := tx.bucket(b).Cursor().First(); k != nil {
				t.Errorf("%s keeps %q", b, k)
			}
		}
		return nil
	})
}

// TestOAuthSpentRefreshBounded: a grant refreshed many times remembers
// only its newest MaxSpentRefresh spent tokens, oldest out first.
func TestOAuthSpentRefreshBounded(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	const n = MaxSpentRefresh + 20
	g := &OAuthGrant{ID: "g1", DID: "did:plc:a", Refresh: "r0", ExpiresAt: time.Now().Add(time.Hour)}
	err := db.Update(t.Context(), func(tx *Tx) error {
		if err := tx.PutOAuthGrant(g, ""); err != nil {
			return err
		}
		for i := 1; i <= n; i++ {
			old := g.Refresh
			g.Refresh = fmt.Sprintf("r%d", i)
			if err := tx.PutOAuthGrant(g, old); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		for _, b := range [][]byte{bucketOAuthSpent, bucketOAuthSpentOf} {
			if got := tx.bucket(b).Stats().KeyN; got != MaxSpentRefresh {
				t.Errorf("%s keeps %d keys, want %d", b, got, MaxSpentRefresh)
			}
		}
		for i := range n {
			_, err := tx.OAuthGrantBySpent(fmt.Sprintf("r%d", i))
			if kept := i >= n-MaxSpentRefresh; kept != (err == nil) {
				t.Errorf("r%d: %v (kept: %v)", i, err, kept)
			}
		}
		return nil
	})
}
