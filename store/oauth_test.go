package store

import (
	"errors"
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
