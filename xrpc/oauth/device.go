package oauth

import (
	"context"
	"slices"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// Device sessions, as the reference PDS keeps them: the sign-in page
// gives each browser a long-lived random cookie, and the accounts that
// signed in on it are remembered (by the cookie's hash), so that the next
// app's sign-in offers them in a chooser (package web decides when the
// password is asked again). After deviceKeep a sign-in is forgotten.
const (
	deviceKeep        = 90 * 24 * time.Hour
	maxDeviceAccounts = 10
)

// DeviceAccount is an account that signed in on a browser, and when.
type DeviceAccount struct {
	DID      string
	SignedIn time.Time
}

// DeviceAccounts lists the accounts that signed in on the browser whose
// device cookie is device, most recent first.
func (s *Server) DeviceAccounts(device string) []DeviceAccount {
	if device == "" {
		return nil
	}
	var got []store.OAuthDeviceAccount
	s.d.DB.View(func(tx *store.Tx) error {
		got = tx.OAuthDeviceAccounts(secretKey(device))
		return nil
	})
	cutoff := s.d.Now().Add(-deviceKeep)
	out := make([]DeviceAccount, 0, len(got))
	for _, a := range got {
		if a.SignedIn.After(cutoff) {
			out = append(out, DeviceAccount{DID: a.DID, SignedIn: a.SignedIn})
		}
	}
	slices.SortFunc(out, func(a, b DeviceAccount) int { return b.SignedIn.Compare(a.SignedIn) })
	return out
}

// RememberDevice records that did signed in with its password now on the
// browser that brought the device cookie from ("" if none) and is given
// the new one device. The accounts remembered under from move to device
// and from is forgotten: each password sign-in changes the cookie, so a
// value planted in the browser beforehand (a sibling domain, plain HTTP)
// is worthless after it. A browser keeps at most maxDeviceAccounts; the
// oldest goes.
func (s *Server) RememberDevice(ctx context.Context, from, device, did string) error {
	key := secretKey(device)
	return s.d.DB.Update(ctx, func(tx *store.Tx) error {
		if from != "" && from != device {
			old := secretKey(from)
			for _, a := range tx.OAuthDeviceAccounts(old) {
				if err := tx.PutOAuthDeviceAccount(key, a.DID, a.SignedIn); err != nil {
					return err
				}
				if err := tx.DeleteOAuthDeviceAccount(old, a.DID); err != nil {
					return err
				}
			}
		}
		if err := tx.PutOAuthDeviceAccount(key, did, s.d.Now()); err != nil {
			return err
		}
		as := tx.OAuthDeviceAccounts(key)
		for len(as) > maxDeviceAccounts {
			oldest := 0
			for i, a := range as {
				if a.SignedIn.Before(as[oldest].SignedIn) {
					oldest = i
				}
			}
			if err := tx.DeleteOAuthDeviceAccount(key, as[oldest].DID); err != nil {
				return err
			}
			as = append(as[:oldest], as[oldest+1:]...)
		}
		return nil
	})
}
