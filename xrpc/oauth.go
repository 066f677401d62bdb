package xrpc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/xrpc/oauth"
)

// OAuth wiring: the authorization server (package xrpc/oauth) when
// Config.OAuth is on, DPoP tokens in authenticate, and allow — the one
// scope check of the resource server, asked by serveXRPC for each method
// (oauthNeeds), by record writes for each op, and by the proxy.

// ScopeOAuth marks an Auth that came from an OAuth access token.
const ScopeOAuth = "oauth"

func (s *Server) setupOAuth(ctx context.Context, d Deps) error {
	if !s.cfg.OAuth {
		return nil
	}
	f := d.Egress
	if f == nil {
		f = egress.New(egress.Options{AllowPrivate: s.cfg.Dev, Log: s.log})
	}
	var err error
	s.oauth, err = oauth.New(ctx, oauth.Config{Issuer: s.cfg.PublicURL, Dev: s.cfg.Dev}, oauth.Deps{
		DB: s.db, Accounts: s.accounts, Sets: oauth.CatalogSets(s.lex), Resolver: s.resolver, Log: s.log,
		HTTP: f.Client(egress.Use{MaxRedirects: 0, MaxBody: 64 << 10}),
		Now:  func() time.Time { return s.now() },
	})
	return err
}

// OAuth is the authorization server, or nil when OAuth is off.
func (s *Server) OAuth() *oauth.Server { return s.oauth }

func (s *Server) oauthRoutes(mux *http.ServeMux) {
	if s.oauth == nil {
		return
	}
	h := s.oauth.Handler()
	mux.Handle("/oauth/", h)
	mux.Handle("GET /.well-known/oauth-protected-resource", h)
	mux.Handle("GET /.well-known/oauth-authorization-server", h)
}

// oauthCaller authenticates an "Authorization: DPoP" request. handled is
// false when the request carries no DPoP token.
func (s *Server) oauthCaller(r *http.Request, level authLevel) (a *Auth, err error, handled bool) {
	if s.oauth == nil {
		return nil, nil, false
	}
	acc, err := s.oauth.Authenticate(r)
	if errors.Is(err, oauth.ErrNoToken) {
		return nil, nil, false
	}
	var re *oauth.ResourceError
	if errors.As(err, &re) {
		return nil, &Error{Status: re.Status, Name: re.Code, Message: re.Desc,
			Headers: map[string]string{"WWW-Authenticate": re.WWWAuth, "DPoP-Nonce": re.NonceHeader}}, true
	} else if err != nil {
		return nil, err, true
	}
	if level == authRefresh || level == authSignOut {
		return nil, errorf(http.StatusBadRequest, "InvalidToken", "OAuth sessions are refreshed and ended at /oauth/token and /oauth/revoke"), true
	}
	a = &Auth{DID: acc.DID, Scope: ScopeOAuth, RefreshID: acc.GrantID, OAuth: acc.Permissions}
	acct, err := s.accounts.Get(acc.DID)
	if err != nil {
		return nil, errorf(http.StatusForbidden, "AccountNotFound", "Account not found"), true
	}
	if acct.Status == account.StatusTakendown {
		return nil, errorf(http.StatusUnauthorized, "AccountTakedown", "Account has been taken down"), true
	}
	a.Account = acct
	return a, nil, true
}

// bearerOAuth refuses a DPoP-bound token sent as Bearer.
func (s *Server) bearerOAuth(tok string) error {
	if s.oauth != nil && s.oauth.IsAccessToken(tok) {
		return errorf(http.StatusBadRequest, "InvalidToken", "This token is DPoP-bound: send it as Authorization: DPoP with a proof")
	}
	return nil
}

// allow is the resource server's one scope check. Sessions of other
// kinds (passwords, app passwords, service tokens) are not OAuth and pass.
func (s *Server) allow(a *Auth, n oauth.Need) error {
	if a == nil || a.OAuth == nil || a.OAuth.Allows(n) {
		return nil
	}
	return errorf(http.StatusForbidden, "ScopeMissingError", "Missing required scope %q", n.String())
}

// needInHandler marks methods whose need depends on the body (record
// writes): the handler asks allow for each op.
var needInHandler = oauth.Need{Resource: "handler"}

// oauthNeeds is what each method Hearth serves needs of an OAuth session.
// Methods missing here are refused to OAuth sessions; methods that need no
// token at all never reach the check.
var oauthNeeds = map[string]func(s *Server, r *http.Request) oauth.Need{
	"com.atproto.server.getSession":         any_,
	"com.atproto.server.checkAccountStatus": any_,
	"com.atproto.server.describeServer":     any_,
	"com.atproto.repo.getRecord":            any_,
	"com.atproto.repo.listRecords":          any_,
	"com.atproto.repo.describeRepo":         any_,
	"com.atproto.repo.listMissingBlobs":     any_,
	"com.atproto.repo.createRecord":         inHandler,
	"com.atproto.repo.putRecord":            inHandler,
	"com.atproto.repo.deleteRecord":         inHandler,
	"com.atproto.repo.applyWrites":          inHandler,
	"com.atproto.repo.uploadBlob": func(_ *Server, r *http.Request) oauth.Need {
		return oauth.Need{Resource: oauth.ResBlob, MIME: r.Header.Get("Content-Type")}
	},
	"com.atproto.repo.importRepo":                       acct("repo", "manage"),
	"com.atproto.server.requestEmailConfirmation":       acct("email", "manage"),
	"com.atproto.server.confirmEmail":                   acct("email", "manage"),
	"com.atproto.server.requestEmailUpdate":             acct("email", "manage"),
	"com.atproto.server.updateEmail":                    acct("email", "manage"),
	"com.atproto.server.deactivateAccount":              acct("status", "manage"),
	"com.atproto.server.activateAccount":                acct("status", "manage"),
	"com.atproto.identity.updateHandle":                 ident("handle"),
	"com.atproto.identity.getRecommendedDidCredentials": ident("*"),
	"com.atproto.identity.requestPlcOperationSignature": ident("*"),
	"com.atproto.identity.signPlcOperation":             ident("*"),
	"com.atproto.identity.submitPlcOperation":           ident("*"),
	"com.atproto.server.getServiceAuth": func(_ *Server, r *http.Request) oauth.Need {
		q := r.URL.Query()
		return oauth.Need{Resource: oauth.ResRPC, Lxm: q.Get("lxm"), Aud: q.Get("aud")}
	},
	"app.bsky.actor.getPreferences": appView("app.bsky.actor.getPreferences"),
	"app.bsky.actor.putPreferences": appView("app.bsky.actor.putPreferences"),
}

func any_(*Server, *http.Request) oauth.Need      { return oauth.Need{Resource: oauth.ResAny} }
func inHandler(*Server, *http.Request) oauth.Need { return needInHandler }

func acct(attr, action string) func(*Server, *http.Request) oauth.Need {
	return func(*Server, *http.Request) oauth.Need {
		return oauth.Need{Resource: oauth.ResAccount, Attr: attr, Action: action}
	}
}

func ident(attr string) func(*Server, *http.Request) oauth.Need {
	return func(*Server, *http.Request) oauth.Need { return oauth.Need{Resource: oauth.ResIdentity, Attr: attr} }
}

// appView is a method Hearth answers itself on the AppView's behalf
// (preferences): it needs the rpc permission for the AppView.
func appView(lxm string) func(*Server, *http.Request) oauth.Need {
	return func(s *Server, _ *http.Request) oauth.Need {
		return oauth.Need{Resource: oauth.ResRPC, Lxm: lxm, Aud: s.cfg.AppView}
	}
}

// allowMethod checks an OAuth session against the method's need.
func (s *Server) allowMethod(a *Auth, r *http.Request, nsid string) error {
	if a == nil || a.OAuth == nil {
		return nil
	}
	need, ok := oauthNeeds[nsid]
	if !ok {
		return errorf(http.StatusForbidden, "ScopeMissingError", "OAuth sessions may not call %s", nsid)
	}
	n := need(s, r)
	if n == needInHandler {
		return nil
	}
	return s.allow(a, n)
}

// allowOps checks each write of a batch.
func (s *Server) allowOps(a *Auth, ops []repo.Op) error {
	for _, op := range ops {
		action := "create"
		switch op.Action {
		case repo.Update:
			action = "update"
		case repo.Delete:
			action = "delete"
		}
		if err := s.allow(a, oauth.Need{Resource: oauth.ResRepo, Collection: op.Collection, Action: action}); err != nil {
			return err
		}
	}
	return nil
}

// proxyNeed is what forwarding nsid needs: rpc to the service it goes to.
func (s *Server) proxyNeed(r *http.Request, nsid string) oauth.Need {
	ref := r.Header.Get("Atproto-Proxy")
	if ref == "" {
		ref = s.defaultService(nsid)
	}
	return oauth.Need{Resource: oauth.ResRPC, Lxm: nsid, Aud: ref}
}

type authKey struct{}

// withAuth keeps the caller in the request, for checks deep in a handler.
func withAuth(r *http.Request, a *Auth) *http.Request {
	if a == nil || a.OAuth == nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), authKey{}, a))
}

func authOf(r *http.Request) *Auth {
	a, _ := r.Context().Value(authKey{}).(*Auth)
	return a
}

// hideEmail drops the email from a session view unless the caller may
// read it (an OAuth session needs account:email or transition:email).
func hideEmail(s *Server, a *Auth, v map[string]any) map[string]any {
	if s.allow(a, oauth.Need{Resource: oauth.ResAccount, Attr: "email", Action: "read"}) != nil {
		delete(v, "email")
		delete(v, "emailConfirmed")
		delete(v, "emailAuthFactor")
	}
	return v
}
