package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
)

// The OAuth sign-in and consent page (/oauth/authorize) and the account
// page's "Connected apps". The authorization server lives in xrpc/oauth;
// this page only calls the OAuth interface, which main.go adapts.

// OAuth is what the page needs of the authorization server.
type OAuth interface {
	// Pending loads the request the browser brings.
	Pending(ctx context.Context, clientID, requestURI string) (*OAuthRequest, error)
	// Remembered reports whether did asked to skip the consent for it.
	Remembered(id, did string) bool
	// Approve, Deny and Refuse end the request with the redirect back to
	// the app: a code, access_denied, or the error code given
	// (login_required, consent_required).
	Approve(ctx context.Context, id, did string, remember bool) (string, error)
	Deny(ctx context.Context, id string) (string, error)
	Refuse(ctx context.Context, id, code, desc string) (string, error)
	// DeviceAccounts lists the accounts that signed in on the browser
	// with the device cookie device; RememberDevice adds one after its
	// password, moving the accounts of the browser's previous cookie from
	// ("" if none) to its new one, device, and forgetting from.
	DeviceAccounts(device string) []DeviceAccount
	RememberDevice(ctx context.Context, from, device, did string) error
	// Grants lists the apps connected to did; RevokeGrant ends one.
	Grants(did string) ([]ConnectedApp, error)
	RevokeGrant(ctx context.Context, did, id string) error
}

// OAuthBackend is a Backend that serves OAuth (nil: OAuth is off).
type OAuthBackend interface{ OAuth() OAuth }

// OAuthRequest is an app asking for access.
type OAuthRequest struct {
	ID, ClientID, RequestURI         string
	ClientName, Domain, Logo, AppURL string
	RedirectOrigin, LoginHint        string
	Permissions                      []PermissionGroup
	// Prompt is none, login, consent, select_account or "".
	Prompt  string
	Created time.Time
}

// DeviceAccount is an account that signed in on this browser, and when.
type DeviceAccount struct {
	DID      string
	SignedIn time.Time
}

// PermissionGroup is a heading and its plain-words lines.
type PermissionGroup struct {
	Title string
	Lines []string
}

// ConnectedApp is a grant, as the account page lists it.
type ConnectedApp struct {
	ID, Name, Domain string
	Granted          time.Time
	Permissions      []PermissionGroup
}

type oauthView struct {
	CSRF, Error, Notice string
	Step                string // "choose", "signin", "code", "consent" or "error"
	Req                 *OAuthRequest
	Handle, Identifier  string
	Account             string          // consent: the DID approving
	Accounts            []deviceAccount // choose
	Other               string          // the "use another account" link
}

var errOAuthRequest = errors.New("unknown authorization request")

func (p *Pages) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /oauth/authorize", p.authorizePage)
	mux.HandleFunc("POST /oauth/authorize/signin", p.post(p.authorizeSignIn, false))
	mux.HandleFunc("POST /oauth/authorize/consent", p.post(p.authorizeConsent, false))
	mux.HandleFunc("POST /account/apps/revoke", p.signedIn(p.revokeApp))
}

func (p *Pages) oauth() OAuth {
	if b, ok := p.b.(OAuthBackend); ok {
		return b.OAuth()
	}
	return nil
}

// oauthRequest loads the request named by the query or the form.
func (p *Pages) oauthRequest(r *http.Request) (OAuth, *OAuthRequest, error) {
	o := p.oauth()
	if o == nil {
		return nil, nil, errOAuthRequest
	}
	get := r.URL.Query().Get
	if r.Method == http.MethodPost {
		get = r.PostFormValue
	}
	req, err := o.Pending(r.Context(), get("client_id"), get("request_uri"))
	if err != nil {
		return o, nil, err
	}
	return o, req, nil
}

func (p *Pages) showOAuth(w http.ResponseWriter, s *session, v oauthView, err error) {
	if err != nil {
		v.Error = sentence(p.log, err)
	}
	v.CSRF = s.csrf
	csp := "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data: https:; form-action 'self'"
	if v.Req != nil && v.Req.RedirectOrigin != "" {
		// The approval answers with a redirect to the app, which
		// form-action governs too.
		csp += " " + v.Req.RedirectOrigin
	}
	w.Header().Set("Content-Security-Policy", csp+"; frame-ancestors 'none'; base-uri 'none'")
	p.render(w, "oauth.html", v)
}

// authorizePage shows the step the request and this browser call for:
// the app's prompt and login_hint, and the accounts that signed in here
// (see oauth_device.go), decide between the chooser, the password and
// the consent; a remembered consent goes straight back to the app.
func (p *Pages) authorizePage(w http.ResponseWriter, r *http.Request) {
	s := p.current(w, r, true)
	o, req, err := p.oauthRequest(r)
	if o == nil {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.showOAuth(w, s, oauthView{Step: "error"}, err)
		return
	}
	accts := p.deviceAccounts(r, o, s, req)
	signIn := oauthView{Step: "signin", Req: req, Identifier: req.LoginHint}
	hinted := findAccount(accts, req.LoginHint)
	q := r.URL.Query()
	switch {
	case req.Prompt == "none": // never a page: the code or an error
		// Several accounts and no hint: login_required, as the
		// reference PDS answers (OIDC Core §3.1.2.6 would allow
		// account_selection_required, which it keeps for several
		// sessions matching the hint: impossible here, one per DID).
		a := hinted
		if a == nil && req.LoginHint == "" && len(accts) == 1 {
			a = &accts[0]
		}
		if a == nil || !a.Usable {
			p.refuse(w, r, s, o, req, "login_required", "The account holder must sign in")
			return
		}
		p.selected(w, r, s, o, req, a)
		return
	case q.Get("account") != "":
		if a := findAccount(accts, q.Get("account")); a != nil && a.Usable {
			p.selected(w, r, s, o, req, a)
			return
		} else if a != nil {
			signIn.Identifier = a.Handle
		}
	case q.Get("other") != "" || req.Prompt == "login":
	case req.Prompt != "select_account" && hinted != nil && hinted.Usable:
		p.selected(w, r, s, o, req, hinted)
		return
	case req.Prompt != "select_account" && req.LoginHint != "":
		// The hint names an account not signed in here, or whose
		// password is needed again: the sign-in form, filled.
	case len(accts) > 0:
		p.showOAuth(w, s, oauthView{Step: "choose", Req: req, Accounts: accts, Other: authorizeURL(req) + "&other=1"}, nil)
		return
	}
	p.showOAuth(w, s, signIn, nil)
}

// selected goes on with the account a: back to the app if it remembered
// its consent (unless the app asks for the consent again), else the
// consent step.
func (p *Pages) selected(w http.ResponseWriter, r *http.Request, s *session, o OAuth, req *OAuthRequest, a *deviceAccount) {
	if req.Prompt != "consent" && o.Remembered(req.ID, a.DID) {
		if to, err := o.Approve(r.Context(), req.ID, a.DID, true); err == nil {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
	}
	if req.Prompt == "none" {
		p.refuse(w, r, s, o, req, "consent_required", "The account holder must approve the app")
		return
	}
	p.showOAuth(w, s, oauthView{Step: "consent", Req: req, Handle: a.Handle, Account: a.DID,
		Other: authorizeURL(req) + "&other=1"}, nil)
}

// refuse sends the app an error without showing anything (prompt=none).
func (p *Pages) refuse(w http.ResponseWriter, r *http.Request, s *session, o OAuth, req *OAuthRequest, code, desc string) {
	to, err := o.Refuse(r.Context(), req.ID, code, desc)
	if err != nil {
		p.showOAuth(w, s, oauthView{Step: "error"}, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// authorizeSignIn is the sign-in step: password, then the mailed code
// when the account has two-factor sign-in on.
func (p *Pages) authorizeSignIn(w http.ResponseWriter, r *http.Request, s *session) {
	_, req, err := p.oauthRequest(r)
	if err != nil {
		p.showOAuth(w, s, oauthView{Step: "error"}, err)
		return
	}
	svc, f := p.b.Accounts(), r.PostFormValue
	in := account.SignInInput{Identifier: strings.TrimSpace(f("identifier")), Password: f("password"), PasswordOnly: true}
	v := oauthView{Step: "signin", Req: req, Identifier: in.Identifier}
	if f("step") == "code" {
		p.mu.Lock()
		pend := s.pending
		p.mu.Unlock()
		if pend == nil || p.now().After(pend.expires) {
			p.showOAuth(w, s, v, errSignInExpired)
			return
		}
		in.Identifier, in.Password, in.AuthFactorToken = pend.ident, pend.password, strings.TrimSpace(f("code"))
		v.Step = "code"
	}
	var g *account.Grant
	err = p.guess(r, func() (err error) {
		g, err = svc.Authenticate(r.Context(), in)
		return err
	})
	switch {
	case errors.Is(err, account.ErrAuthFactorRequired):
		p.mu.Lock()
		s.pending = &pendingSignIn{ident: in.Identifier, password: in.Password, expires: p.now().Add(account.TokenTTL)}
		p.mu.Unlock()
		p.rotate(w, r, s)
		v.Step = "code"
		if a, _ := svc.Lookup(in.Identifier); a != nil {
			v.Notice = sent(svc, a.Email)
		}
		p.showOAuth(w, s, v, nil)
	case err != nil:
		p.showOAuth(w, s, v, err)
	default:
		p.mu.Lock()
		s.did, s.pending = g.Account.DID, nil
		p.mu.Unlock()
		p.rotate(w, r, s)
		if err := p.rememberDevice(w, r, g.Account.DID); err != nil {
			p.log.Error("oauth: remembering the sign-in on this browser", "err", err)
		}
		http.Redirect(w, r, authorizeURL(req)+"&"+url.Values{"account": {g.Account.DID}}.Encode(), http.StatusSeeOther)
	}
}

func authorizeURL(req *OAuthRequest) string {
	return "/oauth/authorize?" + url.Values{"client_id": {req.ClientID}, "request_uri": {req.RequestURI}}.Encode()
}

// authorizeConsent approves or declines, and sends the browser to the app.
func (p *Pages) authorizeConsent(w http.ResponseWriter, r *http.Request, s *session) {
	o, req, err := p.oauthRequest(r)
	if err != nil {
		p.showOAuth(w, s, oauthView{Step: "error"}, err)
		return
	}
	a := findAccount(p.deviceAccounts(r, o, s, req), r.PostFormValue("account"))
	var to string
	switch {
	case r.PostFormValue("decision") == "deny":
		to, err = o.Deny(r.Context(), req.ID)
	case a == nil || !a.Usable:
		err = errNotSignedIn
	default:
		to, err = o.Approve(r.Context(), req.ID, a.DID, r.PostFormValue("remember") != "")
	}
	if err != nil {
		p.showOAuth(w, s, oauthView{Step: "signin", Req: req}, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (p *Pages) revokeApp(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	o := p.oauth()
	if o == nil {
		return nil
	}
	if err := o.RevokeGrant(r.Context(), a.DID, r.PostFormValue("id")); err != nil {
		return err
	}
	v.Notice = "The app is disconnected: it can no longer act for you."
	return nil
}

// connectedApps fills the account page's list.
func (p *Pages) connectedApps(did string) ([]ConnectedApp, bool) {
	o := p.oauth()
	if o == nil {
		return nil, false
	}
	apps, _ := o.Grants(did)
	return apps, true
}
