package xrpc

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// Methods no session may reach through a service token or the proxy (the
// account, email, password, identity and PLC management that belongs to the
// PDS), and those that need a privileged app password, as in the reference.
var (
	protectedMethods = map[string]bool{
		"com.atproto.admin.sendEmail": true, "com.atproto.identity.requestPlcOperationSignature": true,
		"com.atproto.identity.signPlcOperation": true, "com.atproto.identity.updateHandle": true,
		"com.atproto.server.activateAccount": true, "com.atproto.server.confirmEmail": true,
		"com.atproto.server.createAppPassword": true, "com.atproto.server.deactivateAccount": true,
		"com.atproto.server.getAccountInviteCodes": true, "com.atproto.server.getSession": true,
		"com.atproto.server.listAppPasswords": true, "com.atproto.server.requestAccountDelete": true,
		"com.atproto.server.requestEmailConfirmation": true, "com.atproto.server.requestEmailUpdate": true,
		"com.atproto.server.revokeAppPassword": true, "com.atproto.server.updateEmail": true,
		"com.atproto.server.deleteAccount": true, "com.atproto.server.requestPasswordReset": true,
		"com.atproto.server.resetPassword": true, "com.atproto.server.createSession": true,
		"com.atproto.server.refreshSession": true, "com.atproto.server.deleteSession": true,
		"com.atproto.identity.submitPlcOperation": true, "com.atproto.server.getServiceAuth": true,
	}
	privilegedPrefixes = []string{"chat.bsky.", "com.atproto.server.createAccount"}
)

func privileged(nsid string) bool {
	for _, p := range privilegedPrefixes {
		if strings.HasPrefix(nsid, p) {
			return true
		}
	}
	return false
}

// serviceToken mints a service-auth JWT for acct: signed with the account's
// repo key (ES256K or ES256), short-lived, bound to one audience and method.
func (s *Server) serviceToken(acct *store.Account, aud, lxm string, exp time.Time) (string, error) {
	key, err := s.keys.get(acct)
	if err != nil {
		return "", fmt.Errorf("signing key of %s: %w", acct.DID, err)
	}
	now := s.now()
	return auth.Encode(auth.Header{Alg: key.Algorithm(), Typ: "JWT"}, auth.Claims{
		Iss: acct.DID, Aud: aud, Lxm: lxm, Iat: now.Unix(), Exp: exp.Unix(), Jti: auth.RandomToken(16),
	}, key.Sign)
}

// checkScopeFor refuses a protected method to every session, and what an
// app-password session may not do with nsid.
func checkScopeFor(a *Auth, nsid string) error {
	if protectedMethods[nsid] {
		return errorf(http.StatusBadRequest, "InvalidRequest", "cannot request a service auth token for the protected method %s", nsid)
	}
	if !a.AppPassword() {
		return nil
	}
	if privileged(nsid) && a.Scope != account.ScopeAppPassPrivate {
		return errorf(http.StatusBadRequest, "InvalidToken", "Bad token scope: %s needs a privileged app password", nsid)
	}
	return nil
}

func (s *Server) getServiceAuth(w http.ResponseWriter, r *http.Request, a *Auth) error {
	q := r.URL.Query()
	aud := q.Get("aud")
	if _, err := identity.ParseDID(strings.Split(aud, "#")[0]); err != nil {
		return invalidRequest("aud must be a DID")
	}
	lxm := q.Get("lxm")
	if a.Takendown && lxm != account.LxmCreateAccount {
		return errorf(http.StatusUnauthorized, "AccountTakedown", "A taken-down account may only ask for a token to move away (lxm %s)", account.LxmCreateAccount)
	}
	if lxm != "" {
		if _, err := syntax.ParseNSID(lxm); err != nil {
			return invalidRequest("lxm must be an NSID")
		}
		if err := checkScopeFor(a, lxm); err != nil {
			return err
		}
	} else if a.AppPassword() {
		return errorf(http.StatusBadRequest, "InvalidRequest", "app-password sessions must name a method (lxm)")
	}
	now := s.now()
	exp := now.Add(time.Minute)
	if e := q.Get("exp"); e != "" {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return invalidRequest("exp must be seconds since the epoch")
		}
		exp = time.Unix(n, 0)
		switch {
		case !exp.After(now):
			return errorf(http.StatusBadRequest, "BadExpiration", "expiration is in the past")
		case exp.Sub(now) > time.Hour:
			return errorf(http.StatusBadRequest, "BadExpiration", "expiration is more than an hour away")
		case lxm == "" && exp.Sub(now) > time.Minute:
			return errorf(http.StatusBadRequest, "BadExpiration", "a token without lxm lives at most a minute")
		}
	}
	acct, err := s.loadAccount(a.DID)
	if err != nil {
		return err
	}
	tok, err := s.serviceToken(acct, aud, lxm, exp)
	if err != nil {
		return err
	}
	return ok(w, map[string]string{"token": tok})
}
