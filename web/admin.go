package web

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
)

// The status page holds the admin's powers over the accounts here, for
// the owner or the admin login: take down and lift, reset a password,
// delete, and the invite codes. Each is a call to the account service;
// the handlers read the form, call it, and render the page again.

// statusView is the content of status.html.
type statusView struct {
	CSRF, Error, Notice string
	S                   Status
	PublicURL           string
	Owner               string // the owner's DID: no takedown or delete for it
	Invites             []store.InviteCode
	Invite              string         // a code just made
	NewPassword         *shownPassword // a password just set, shown once
	Confirm             *AccountStatus // an account whose deletion waits for its handle
	TLS                 TLSChoice      // the HTTPS choice, to name it and a failure of it
}

// shownPassword is a password the admin set, to pass on.
type shownPassword struct{ Handle, Password string }

func (p *Pages) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /status", p.status)
	mux.HandleFunc("POST /status/invite", p.admin(p.invite))
	mux.HandleFunc("POST /status/invite/disable", p.admin(disableInvite))
	mux.HandleFunc("POST /status/takedown", p.admin(p.takedown))
	mux.HandleFunc("POST /status/password", p.admin(resetPassword))
	mux.HandleFunc("POST /status/delete", p.admin(p.remove))
	mux.HandleFunc("POST /status/crawl", p.admin(p.crawl))
	p.httpsRoutes(mux)
}

func (p *Pages) status(w http.ResponseWriter, r *http.Request) {
	s := p.owned(w, r)
	if s == nil {
		return
	}
	p.showStatus(w, r, s, statusView{}, nil)
}

// showStatus renders the status page as it is now, with the outcome of
// what was just done.
func (p *Pages) showStatus(w http.ResponseWriter, r *http.Request, s *session, v statusView, err error) {
	if err != nil {
		v.Error = sentence(p.log, err)
	}
	v.CSRF, v.S, v.PublicURL = s.csrf, p.b.Status(r.Context()), p.b.PublicURL()
	v.Owner, _ = p.b.Owner()
	v.TLS = p.b.TLS()
	if svc := p.b.Accounts(); svc != nil {
		v.Invites, _, _ = svc.InviteCodes("recent", 100, "")
	}
	p.render(w, "status.html", v)
}

// adminFunc is one of the admin's changes. It fills v with what to show,
// and returns the refusal, if any.
type adminFunc func(r *http.Request, svc *account.Service, v *statusView) error

// admin wraps an adminFunc as a checked form post that needs the status
// login.
func (p *Pages) admin(fn adminFunc) http.HandlerFunc {
	return p.ownerPost(func(w http.ResponseWriter, r *http.Request, s *session) {
		var v statusView
		err := fn(r, p.b.Accounts(), &v)
		p.showStatus(w, r, s, v, err)
	})
}

func (p *Pages) invite(r *http.Request, _ *account.Service, v *statusView) error {
	code, err := p.b.CreateInvite(r.Context())
	v.Invite = code
	return err
}

func disableInvite(r *http.Request, svc *account.Service, v *statusView) error {
	code := r.PostFormValue("code")
	if err := svc.DisableInviteCodes(r.Context(), []string{code}, nil); err != nil {
		return err
	}
	v.Notice = fmt.Sprintf("The invite code %s is disabled: nobody can sign up with it now.", code)
	return nil
}

// target is the account the form names, refused when it is the owner's
// and the change would lock the owner out.
func (p *Pages) target(r *http.Request, svc *account.Service, spareOwner bool) (*store.Account, error) {
	did := r.PostFormValue("did")
	if owner, _ := p.b.Owner(); spareOwner && did == owner {
		return nil, errOwnerAccount
	}
	return svc.Get(did)
}

func (p *Pages) takedown(r *http.Request, svc *account.Service, v *statusView) error {
	applied := r.PostFormValue("applied") == "true"
	a, err := p.target(r, svc, applied)
	if err != nil {
		return err
	}
	subj := account.Subject{Kind: account.SubjectRepo, DID: a.DID}
	if _, err := svc.SetTakedown(r.Context(), subj, applied, "status-page"); err != nil {
		return err
	}
	if applied {
		p.endSignIns(a.DID, nil)
		v.Notice = fmt.Sprintf("@%s is taken down: it cannot sign in or write, its repository is hidden, and relays are told.", a.Handle)
	} else {
		v.Notice = fmt.Sprintf("The takedown of @%s is lifted: it is active again.", a.Handle)
	}
	return nil
}

func resetPassword(r *http.Request, svc *account.Service, v *statusView) error {
	a, err := svc.Get(r.PostFormValue("did"))
	if err != nil {
		return err
	}
	pw := newPassword()
	if err := svc.SetPassword(r.Context(), a.DID, pw); err != nil {
		return err
	}
	v.NewPassword = &shownPassword{Handle: a.Handle, Password: pw}
	return nil
}

// remove asks for the account's handle, then deletes it for good.
func (p *Pages) remove(r *http.Request, svc *account.Service, v *statusView) error {
	a, err := p.target(r, svc, true)
	if err != nil {
		return err
	}
	typed := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("handle")), "@")
	if r.PostFormValue("step") != "confirm" || !strings.EqualFold(typed, a.Handle) {
		v.Confirm = &AccountStatus{DID: a.DID, Handle: a.Handle}
		if r.PostFormValue("step") == "confirm" {
			return errHandleMismatch
		}
		return nil
	}
	if err := svc.Remove(r.Context(), a.DID); err != nil {
		return err
	}
	p.endSignIns(a.DID, nil)
	v.Notice = fmt.Sprintf("@%s is deleted: its repository, blobs and sign-ins are gone, and relays are told.", a.Handle)
	return nil
}

func (p *Pages) crawl(r *http.Request, _ *account.Service, v *statusView) error {
	if err := p.b.RequestCrawl(r.Context()); err != nil {
		return fmt.Errorf("%w: %w", errRelays, err)
	}
	v.Notice = "The relays took the request: they will crawl this server shortly."
	return nil
}

// newPassword is 20 letters and digits without look-alikes, in groups of
// five: about 112 bits.
func newPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679" // 49 symbols
	var out strings.Builder
	for i := 0; i < 20; i++ {
		if i > 0 && i%5 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(alphabet[randIndex(len(alphabet))])
	}
	return out.String()
}

// randIndex is uniform in [0, n) for n < 256.
func randIndex(n int) int {
	limit := 256 - 256%n
	var c [1]byte
	for {
		rand.Read(c[:])
		if int(c[0]) < limit {
			return int(c[0]) % n
		}
	}
}
