package xrpc

import (
	"net/http"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
)

func TestDeleteSessionAcceptsExpiredRefreshToken(t *testing.T) {
	e := newEnv(t)
	a := e.createAccount("otto")
	login := func() map[string]any {
		return e.post("com.atproto.server.createSession", "", map[string]any{"identifier": a.Handle, "password": a.Password}).json(t)
	}
	past := time.Now().Add(-account.RefreshTTL - time.Hour)
	forged, err := auth.Encode(auth.Header{Alg: "HS256", Typ: "refresh+jwt"}, auth.Claims{
		Scope: account.ScopeRefresh, Sub: a.DID, Aud: e.srv.serviceDID, Jti: "x", Iat: past.Unix(), Exp: past.Add(time.Hour).Unix(),
	}, auth.HS256("not the server's secret").Sign)
	if err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(account.RefreshTTL + time.Hour) }
	for _, tc := range []struct {
		name   string
		token  func() string
		now    func() time.Time
		status int
		xname  string
	}{
		{"live refresh token", func() string { return login()["refreshJwt"].(string) }, time.Now, 200, ""},
		{"expired refresh token", func() string { return login()["refreshJwt"].(string) }, later, 200, ""},
		{"expired access token", func() string { return login()["accessJwt"].(string) }, later, 400, "InvalidToken"},
		{"expired, forged", func() string { return forged }, time.Now, 400, "InvalidToken"},
		{"none", func() string { return "" }, time.Now, 401, "AuthMissing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token()
			e.srv.now = tc.now
			r := e.post("com.atproto.server.deleteSession", tok, nil)
			e.srv.now = time.Now
			if tc.status != 200 {
				expectError(t, r, tc.status, tc.xname)
				return
			}
			if r.Status != 200 {
				t.Fatalf("deleteSession: %d %s", r.Status, r.Body)
			}
			// The session is gone: its token, in date again, is refused.
			expectError(t, e.post("com.atproto.server.refreshSession", tok, nil), http.StatusBadRequest, "ExpiredToken")
		})
	}
}
