package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hearth-pds/hearth/identity/account/move"
)

// The move page brings an account here from another host: a form, then a
// page that follows the runner (it reloads itself every two seconds while
// the runner works) and asks for what it waits for. Each handler reads the
// form, calls the runner once, and shows the page again.

// moveView is the content of move.html.
type moveView struct {
	CSRF, Error, PublicURL string
	Enabled                bool // a runner is there
	Owner                  bool // no invite needed
	InviteRequired         bool
	Domains                []string
	Form                   moveForm // kept on a refusal (never the password)
	P                      *move.Progress
	Refresh                bool
	Mail                   bool // this server mails its codes (for "Move away")
}

type moveForm struct{ Old, Host, Name, Domain, Email, Invite string }

func (p *Pages) moveRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /move", p.movePage)
	mux.HandleFunc("POST /move/start", p.post(p.startMove, false))
	mux.HandleFunc("POST /move/answer", p.post(p.moveAction(answerMove), false))
	mux.HandleFunc("POST /move/retry", p.post(p.moveAction(retryMove), false))
	mux.HandleFunc("POST /move/forget", p.post(p.forgetMove, false))
}

func (p *Pages) movePage(w http.ResponseWriter, r *http.Request) {
	s := p.current(w, r, true)
	p.showMove(w, r, s, moveView{}, nil)
}

// showMove renders the form, or the move this browser started.
func (p *Pages) showMove(w http.ResponseWriter, r *http.Request, s *session, v moveView, err error) {
	if err != nil {
		v.Error = sentence(p.log, err)
	}
	svc := p.b.Accounts()
	cfg := svc.Config()
	p.mu.Lock()
	v.CSRF, v.Owner = s.csrf, s.owner
	did := s.move
	p.mu.Unlock()
	v.InviteRequired, v.Domains, v.PublicURL, v.Mail = cfg.InviteRequired, cfg.HandleDomains, p.b.PublicURL(), svc.MailConfigured()
	mover := p.b.Mover()
	v.Enabled = mover != nil
	if mover != nil && did != "" {
		if prog, perr := mover.Progress(did); perr == nil {
			v.P = prog
			v.Refresh = !prog.Done() && prog.Error == "" && prog.Wait == ""
		}
	}
	p.render(w, "move.html", v)
}

func (p *Pages) startMove(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostFormValue
	v := moveView{Form: moveForm{Old: strings.TrimSpace(f("old")), Host: strings.TrimSpace(f("host")),
		Name: strings.TrimSpace(f("name")), Domain: f("domain"), Email: strings.TrimSpace(f("email")), Invite: strings.TrimSpace(f("invite"))}}
	mover := p.b.Mover()
	if mover == nil {
		p.showMove(w, r, s, v, nil)
		return
	}
	in := move.Input{Old: v.Form.Old, Host: v.Form.Host, Password: f("password"), Email: v.Form.Email, InviteCode: v.Form.Invite}
	if f("keep") != "on" {
		in.Handle = strings.ToLower(v.Form.Name) + v.Form.Domain
	}
	p.mu.Lock()
	in.NoInvite = s.owner
	p.mu.Unlock()
	var did string
	err := p.moveGuess(r, func() (err error) {
		did, err = mover.Start(r.Context(), in)
		return err
	})
	if err != nil {
		p.showMove(w, r, s, v, err)
		return
	}
	// Signing in to the old host is a step up: keep this browser's
	// session from now on, under a new id.
	if s.id == "" {
		p.rotate(w, r, s)
	}
	p.mu.Lock()
	s.move = did
	p.mu.Unlock()
	http.Redirect(w, r, "/move", http.StatusSeeOther)
}

// moveGuess runs fn as one guess of the old password or a code under the
// per-IP limit of the pages.
func (p *Pages) moveGuess(r *http.Request, fn func() error) error {
	err := p.guess(r, fn)
	if errors.Is(err, move.ErrOldPassword) || errors.Is(err, move.ErrCode) {
		p.failedAttempt(r)
	}
	return err
}

// moveFunc is one action on the browser's move.
type moveFunc func(r *http.Request, m *move.Runner, did string) error

func answerMove(r *http.Request, m *move.Runner, did string) error {
	return m.Answer(r.Context(), did, r.PostFormValue("code"))
}

func retryMove(r *http.Request, m *move.Runner, did string) error { return m.Retry(r.Context(), did) }

// moveAction wraps a moveFunc: the browser's move, then the page again.
func (p *Pages) moveAction(fn moveFunc) postFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		p.mu.Lock()
		did := s.move
		p.mu.Unlock()
		mover := p.b.Mover()
		if mover == nil || did == "" {
			http.Redirect(w, r, "/move", http.StatusSeeOther)
			return
		}
		if err := p.moveGuess(r, func() error { return fn(r, mover, did) }); err != nil {
			p.showMove(w, r, s, moveView{}, err)
			return
		}
		http.Redirect(w, r, "/move", http.StatusSeeOther)
	}
}

// forgetMove lets the browser start over; the runner drops the move too
// when nothing of it is here yet, or it has ended.
func (p *Pages) forgetMove(w http.ResponseWriter, r *http.Request, s *session) {
	p.mu.Lock()
	did := s.move
	p.mu.Unlock()
	if mover := p.b.Mover(); mover != nil && did != "" {
		if err := mover.Forget(r.Context(), did); err != nil {
			p.showMove(w, r, s, moveView{}, err)
			return
		}
	}
	p.mu.Lock()
	s.move = ""
	p.mu.Unlock()
	http.Redirect(w, r, "/move", http.StatusSeeOther)
}
