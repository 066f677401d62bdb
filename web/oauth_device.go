package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/clientip"
)

// The account chooser of the OAuth sign-in page. Each password sign-in
// to an app gives the browser a new long-lived random device cookie, and
// the authorization server remembers which accounts signed in with it
// (and its previous ones), and when. The chooser shows only those (and the account signed in to this
// browser's pages, if any): never a list of the server's accounts. An
// account whose password is older than DeviceSessionTTL, or older than
// the request when the app asked prompt=login, needs its password again.

const (
	deviceCookie = "hearth_device"
	// DeviceSessionTTL is how long a password lets an account be picked
	// from the chooser with a tap (the authorization server keeps the
	// sign-in longer, to offer the account with its password).
	DeviceSessionTTL = 7 * 24 * time.Hour
	deviceCookieTTL  = 90 * 24 * time.Hour
)

// deviceAccount is one account of the chooser.
type deviceAccount struct {
	DID, Handle string
	// Usable: may approve without typing its password.
	Usable bool
}

func deviceID(r *http.Request) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil || len(c.Value) < 32 || len(c.Value) > 64 {
		return ""
	}
	return c.Value
}

// deviceAccounts lists the accounts this browser may choose from for req.
func (p *Pages) deviceAccounts(r *http.Request, o OAuth, s *session, req *OAuthRequest) []deviceAccount {
	var out []deviceAccount
	svc := p.b.Accounts()
	add := func(did string, usable bool) {
		for i := range out {
			if out[i].DID == did {
				out[i].Usable = out[i].Usable || usable
				return
			}
		}
		a, err := svc.Get(did)
		if err != nil || a.Status == account.StatusTakendown {
			return
		}
		out = append(out, deviceAccount{DID: did, Handle: a.Handle, Usable: usable})
	}
	now := p.now()
	for _, a := range o.DeviceAccounts(deviceID(r)) {
		fresh := now.Sub(a.SignedIn) < DeviceSessionTTL
		if req.Prompt == "login" {
			fresh = fresh && !a.SignedIn.Before(req.Created)
		}
		add(a.DID, fresh)
	}
	if did := p.didOf(s); did != "" {
		add(did, req.Prompt != "login")
	}
	return out
}

// findAccount is the account of accts that id (a DID or a handle, with or
// without its @) names, or nil.
func findAccount(accts []deviceAccount, id string) *deviceAccount {
	id = strings.TrimPrefix(strings.TrimSpace(id), "@")
	if id == "" {
		return nil
	}
	for i := range accts {
		if accts[i].DID == id || strings.EqualFold(accts[i].Handle, id) {
			return &accts[i]
		}
	}
	return nil
}

// rememberDevice records that did just signed in with its password on
// this browser, under a new device cookie: the browser's accounts move
// to it from the cookie it brought. Never reusing the value brought is
// what makes a cookie planted by someone else (a sibling subdomain, an
// http:// answer on the way) useless: without this, whoever knows it
// could pick the account from the chooser for DeviceSessionTTL.
func (p *Pages) rememberDevice(w http.ResponseWriter, r *http.Request, did string) error {
	o := p.oauth()
	if o == nil {
		return nil
	}
	id := token() + token()
	if err := o.RememberDevice(r.Context(), deviceID(r), id, did); err != nil {
		return err
	}
	// Lax, unlike the page session: the app sends the browser here with a
	// cross-site navigation, and the chooser must see the cookie then.
	// No __Host- prefix: it requires Path=/, and this cookie is for the
	// sign-in page only (and it would need Secure, which http dev lacks).
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookie, Value: id, Path: "/oauth/authorize", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: clientip.Secure(r), MaxAge: int(deviceCookieTTL.Seconds()),
	})
	return nil
}
