package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
)

// The account page lets any account here manage itself. Every change is a
// call to the account service; the handlers only read the form, call it,
// and render the page again with the outcome.

// accountView is the content of account.html.
type accountView struct {
	CSRF, Error, Notice string
	// Step is a form waiting for a code: at sign-in "code"; signed in
	// "email", "two-factor" or "delete"; and "goodbye" after a deletion.
	Step       string
	Identifier string // kept on a failed sign-in

	Account        *store.Account
	Mail           bool
	Codes          []account.Code
	AppPasswords   []store.AppPassword
	NewAppPassword *account.NewAppPassword
	NewEmail       string
	TwoFactorOn    bool // the switch asked for at the two-factor step
	RecoveryKeys   []string
	// Apps are the connected OAuth apps; OAuthOn says to show the list.
	Apps    []ConnectedApp
	OAuthOn bool

	// signOutOthers ends the account's sign-ins in other browsers (after a
	// password change).
	signOutOthers bool
}

// pendingSignIn holds the credentials of a sign-in between its two steps:
// Authenticate needs the password again with the code, and keeping it here
// keeps it out of the page.
type pendingSignIn struct {
	ident, password string
	expires         time.Time
}

func (p *Pages) accountRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account", p.accountPage)
	mux.HandleFunc("POST /account/signin", p.post(p.signIn, false))
	mux.HandleFunc("POST /account/signout", p.post(p.signOut, false))
	mux.HandleFunc("POST /account/email/send-confirmation", p.signedIn(sendConfirmation))
	mux.HandleFunc("POST /account/email/confirm", p.signedIn(p.confirmEmail))
	mux.HandleFunc("POST /account/email", p.signedIn(p.changeEmail))
	mux.HandleFunc("POST /account/password", p.signedIn(p.changePassword))
	mux.HandleFunc("POST /account/two-factor", p.signedIn(p.twoFactor))
	mux.HandleFunc("POST /account/app-passwords", p.signedIn(createAppPassword))
	mux.HandleFunc("POST /account/app-passwords/revoke", p.signedIn(revokeAppPassword))
	mux.HandleFunc("POST /account/deactivate", p.signedIn(deactivate))
	mux.HandleFunc("POST /account/activate", p.signedIn(activate))
	mux.HandleFunc("POST /account/delete", p.signedIn(p.deleteAccount))
	mux.HandleFunc("POST /account/recovery-key", p.signedIn(addRecoveryKey))
	mux.HandleFunc("GET /account/reset", p.resetPage)
	mux.HandleFunc("POST /account/reset", p.post(p.requestReset, false))
	mux.HandleFunc("POST /account/reset/confirm", p.post(p.reset, false))
}

func (p *Pages) didOf(s *session) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return s.did
}

// guess runs fn as one password or code guess under the per-IP limit.
func (p *Pages) guess(r *http.Request, fn func() error) error {
	if !p.allowAttempt(r) {
		return errTooMany
	}
	err := fn()
	if errors.Is(err, account.ErrBadCredentials) || errors.Is(err, account.ErrInvalidToken) {
		p.failedAttempt(r)
	}
	return err
}

// sent tells where a fresh code went.
func sent(svc *account.Service, email string) string {
	if svc.MailConfigured() {
		return fmt.Sprintf("We sent a code to %s: use it within 15 minutes.", email)
	}
	return "A code is ready: this Hearth has no mail server, so it is shown under “Your codes” below."
}

func (p *Pages) accountPage(w http.ResponseWriter, r *http.Request) {
	s := p.current(w, r, true)
	p.showAccount(w, s, p.b.Accounts(), accountView{}, nil)
}

// showAccount renders the page for s: the sign-in form, or the signed-in
// account as it is now, with the outcome of what was just done.
func (p *Pages) showAccount(w http.ResponseWriter, s *session, svc *account.Service, v accountView, err error) {
	if err != nil {
		v.Error = sentence(p.log, err)
	}
	v.CSRF = s.csrf
	did := p.didOf(s)
	if did == "" || v.Step == "goodbye" {
		p.render(w, "account.html", v)
		return
	}
	a, gerr := svc.Get(did)
	if gerr != nil { // deleted or gone meanwhile
		p.mu.Lock()
		s.did = ""
		p.mu.Unlock()
		p.render(w, "account.html", accountView{CSRF: s.csrf, Error: sentence(p.log, errNotSignedIn)})
		return
	}
	v.Account, v.Mail = a, svc.MailConfigured()
	if !v.Mail {
		v.Codes, _ = svc.PendingCodes(did)
	}
	v.AppPasswords, _ = svc.AppPasswords(did)
	// The directory is asked at each view: bound it, so a directory that is
	// down costs the page two seconds, not the client's whole timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	v.RecoveryKeys, _ = svc.RecoveryKeys(ctx, did)
	cancel()
	v.Apps, v.OAuthOn = p.connectedApps(did)
	p.render(w, "account.html", v)
}

func (p *Pages) signIn(w http.ResponseWriter, r *http.Request, s *session) {
	svc := p.b.Accounts()
	f := r.PostFormValue
	in := account.SignInInput{Identifier: strings.TrimSpace(f("identifier")), Password: f("password"), PasswordOnly: true}
	v := accountView{Identifier: in.Identifier}
	if code := strings.TrimSpace(f("code")); code != "" || f("step") == "code" {
		p.mu.Lock()
		pend := s.pending
		p.mu.Unlock()
		if pend == nil || p.now().After(pend.expires) {
			p.showAccount(w, s, svc, v, errSignInExpired)
			return
		}
		in.Identifier, in.Password, in.AuthFactorToken = pend.ident, pend.password, code
		v.Step = "code"
	}
	var g *account.Grant
	err := p.guess(r, func() (err error) {
		g, err = svc.Authenticate(r.Context(), in)
		return err
	})
	switch {
	case errors.Is(err, account.ErrAuthFactorRequired):
		p.mu.Lock()
		s.pending = &pendingSignIn{ident: in.Identifier, password: in.Password, expires: p.now().Add(account.TokenTTL)}
		p.mu.Unlock()
		p.rotate(w, r, s) // keep the password for the code step
		v.Step = "code"
		if a, _ := svc.Lookup(in.Identifier); a != nil {
			v.Notice = sent(svc, a.Email)
		}
		p.showAccount(w, s, svc, v, nil)
	case err != nil:
		p.showAccount(w, s, svc, v, err)
	default:
		p.mu.Lock()
		s.did, s.pending = g.Account.DID, nil
		p.mu.Unlock()
		p.rotate(w, r, s)
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	}
}

// signOut ends the account sign-in only; an owner's status login stays.
func (p *Pages) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	p.mu.Lock()
	s.did, s.pending = "", nil
	p.mu.Unlock()
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// endSignIns signs did out of every session but keep.
func (p *Pages) endSignIns(did string, keep *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.sess {
		if s != keep && s.did == did {
			s.did, s.pending = "", nil
		}
	}
}

// accountFunc is one change to the signed-in account a. It fills v with
// what to show beside the account, and returns the refusal, if any.
type accountFunc func(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error

// signedIn wraps an accountFunc as a checked form post that needs an
// account sign-in.
func (p *Pages) signedIn(fn accountFunc) http.HandlerFunc {
	return p.post(func(w http.ResponseWriter, r *http.Request, s *session) {
		svc := p.b.Accounts()
		did := p.didOf(s)
		if did == "" {
			p.showAccount(w, s, svc, accountView{}, errNotSignedIn)
			return
		}
		a, err := svc.Get(did)
		if err != nil {
			p.showAccount(w, s, svc, accountView{}, err) // showAccount signs out
			return
		}
		var v accountView
		err = fn(r, svc, a, &v)
		if err == nil && v.Step == "goodbye" {
			p.endSignIns(did, nil)
		}
		if err == nil && v.signOutOthers {
			p.endSignIns(did, s)
		}
		p.showAccount(w, s, svc, v, err)
	}, false)
}

func sendConfirmation(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	if err := svc.RequestEmailConfirmation(r.Context(), a.DID); err != nil {
		return err
	}
	v.Notice = sent(svc, a.Email)
	return nil
}

func (p *Pages) confirmEmail(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	err := p.guess(r, func() error {
		return svc.ConfirmEmail(r.Context(), a.DID, a.Email, r.PostFormValue("code"))
	})
	if err == nil {
		v.Notice = "Your email address is confirmed."
	}
	return err
}

// codeStep reports whether the form is the second step of a change, the
// one that carries the mailed code.
func codeStep(r *http.Request) bool {
	return r.PostFormValue("step") == "code" || strings.TrimSpace(r.PostFormValue("code")) != ""
}

// changeEmail asks the current address to approve the change when it is
// confirmed, then changes it with the code.
func (p *Pages) changeEmail(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	v.NewEmail = strings.TrimSpace(r.PostFormValue("email"))
	if !codeStep(r) {
		required, err := svc.RequestEmailUpdate(r.Context(), a.DID)
		if err != nil {
			return err
		}
		if required {
			v.Step, v.Notice = "email", sent(svc, a.Email)
			return nil
		}
	}
	err := p.guess(r, func() error {
		return svc.UpdateEmail(r.Context(), a.DID, account.UpdateEmailInput{Email: v.NewEmail, Token: r.PostFormValue("code")})
	})
	if err != nil {
		if codeStep(r) {
			v.Step = "email"
		}
		return err
	}
	v.Notice = fmt.Sprintf("Your email address is now %s. Confirm it with the button below.", v.NewEmail)
	v.NewEmail = ""
	return nil
}

func (p *Pages) changePassword(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	f := r.PostFormValue
	if f("new") != f("new2") {
		return errPasswordsDiffer
	}
	err := p.guess(r, func() error { return svc.ChangePassword(r.Context(), a.DID, f("current"), f("new")) })
	if err == nil {
		v.Notice = "Your password is changed. Apps signed in with the old one must sign in again."
		v.signOutOthers = true
	}
	return err
}

// twoFactor turns sign-in codes on or off. Both need a code mailed to the
// confirmed address, as any change of the email settings does.
func (p *Pages) twoFactor(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	on := r.PostFormValue("on") == "true"
	v.TwoFactorOn = on
	if on && !svc.MailConfigured() {
		return errMailNotAvailable
	}
	if !codeStep(r) {
		required, err := svc.RequestEmailUpdate(r.Context(), a.DID)
		if err != nil {
			return err
		}
		if required {
			v.Step, v.Notice = "two-factor", sent(svc, a.Email)
			return nil
		}
	}
	err := p.guess(r, func() error {
		return svc.UpdateEmail(r.Context(), a.DID, account.UpdateEmailInput{Email: a.Email, EmailAuthFactor: &on, Token: r.PostFormValue("code")})
	})
	if err != nil {
		if codeStep(r) {
			v.Step = "two-factor"
		}
		return err
	}
	if on {
		v.Notice = "Sign-in codes are on: each sign-in with your password now also asks for a code we mail you."
	} else {
		v.Notice = "Sign-in codes are off: your password alone signs you in."
	}
	return nil
}

func createAppPassword(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	ap, err := svc.CreateAppPassword(r.Context(), a.DID, r.PostFormValue("name"), r.PostFormValue("privileged") == "on")
	v.NewAppPassword = ap
	return err
}

func revokeAppPassword(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	name := r.PostFormValue("name")
	err := svc.RevokeAppPassword(r.Context(), a.DID, name)
	if err == nil {
		v.Notice = fmt.Sprintf("The app password “%s” is revoked: apps that used it are signed out.", name)
	}
	return err
}

// addRecoveryKey adds a rotation key the person holds (pasted, or made in
// their browser: the private half never reaches this server).
func addRecoveryKey(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	err := svc.AddRecoveryKey(r.Context(), a.DID, r.PostFormValue("key"))
	if err == nil {
		v.Notice = "Your recovery key is in your identity, above this server's. Keep its private half safe and offline."
	}
	return err
}

func deactivate(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	err := svc.Deactivate(r.Context(), a.DID, nil)
	if err == nil {
		v.Notice = "Your account is deactivated: nothing is deleted, and you can reactivate it here at any time."
	}
	return err
}

func activate(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	err := svc.Activate(r.Context(), a.DID)
	if err == nil {
		v.Notice = "Your account is active again."
	}
	return err
}

// deleteAccount sends the deletion code, then deletes with the password and
// that code.
func (p *Pages) deleteAccount(r *http.Request, svc *account.Service, a *store.Account, v *accountView) error {
	if !codeStep(r) {
		if err := svc.RequestDelete(r.Context(), a.DID); err != nil {
			return err
		}
		v.Step, v.Notice = "delete", sent(svc, a.Email)
		return nil
	}
	err := p.guess(r, func() error {
		return svc.Delete(r.Context(), a.DID, r.PostFormValue("password"), r.PostFormValue("code"))
	})
	if err != nil {
		v.Step = "delete"
		return err
	}
	v.Step = "goodbye"
	return nil
}

// resetView is the content of reset.html.
type resetView struct {
	CSRF, Error, Email string
	Step               string // "", "code" or "done"
	Mail               bool
}

func (p *Pages) resetPage(w http.ResponseWriter, r *http.Request) {
	s := p.current(w, r, true)
	p.render(w, "reset.html", resetView{CSRF: s.csrf, Mail: p.b.Accounts().MailConfigured()})
}

// requestReset counts as an attempt: each one may send a mail.
func (p *Pages) requestReset(w http.ResponseWriter, r *http.Request, s *session) {
	svc := p.b.Accounts()
	v := resetView{CSRF: s.csrf, Email: strings.TrimSpace(r.PostFormValue("email")), Mail: svc.MailConfigured()}
	if !p.allowAttempt(r) {
		v.Error = sentence(p.log, errTooMany)
		p.render(w, "reset.html", v)
		return
	}
	p.failedAttempt(r)
	if err := svc.RequestPasswordReset(r.Context(), v.Email); err != nil {
		v.Error = sentence(p.log, err)
	} else {
		v.Step = "code"
	}
	p.render(w, "reset.html", v)
}

func (p *Pages) reset(w http.ResponseWriter, r *http.Request, s *session) {
	svc := p.b.Accounts()
	f := r.PostFormValue
	v := resetView{CSRF: s.csrf, Step: "code", Email: f("email"), Mail: svc.MailConfigured()}
	var err error
	if f("new") != f("new2") {
		err = errPasswordsDiffer
	} else {
		err = p.guess(r, func() error { return svc.ResetPassword(r.Context(), f("code"), f("new")) })
	}
	if err != nil {
		v.Error = sentence(p.log, err)
	} else {
		v.Step = "done"
	}
	p.render(w, "reset.html", v)
}
