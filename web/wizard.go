package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/hearth-pds/hearth/identity/account"
)

// ErrRestarting is what a backend answers while a wizard step's restart
// is still under way.
var ErrRestarting = errors.New("Hearth is restarting with its new settings")

func (p *Pages) wizardRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /setup", p.setupPage)
	mux.HandleFunc("POST /setup/unlock", p.post(p.unlock, false))
	mux.HandleFunc("POST /setup/address", p.post(p.address, true))
	mux.HandleFunc("POST /setup/trial", p.post(p.startTrial, true))
	mux.HandleFunc("POST /setup/internet", p.post(p.leaveTrial, false))
	mux.HandleFunc("POST /setup/owner", p.post(p.owner, true))
	mux.HandleFunc("POST /setup/check-handle", p.post(p.claimHandle, false))
}

// ownerForm is what the account step keeps of what was typed, passwords
// left out.
type ownerForm struct{ Name, Domain, Custom, Email string }

func (p *Pages) setupPage(w http.ResponseWriter, r *http.Request) {
	s := p.current(w, r, true)
	p.setupStep(w, r, s, map[string]any{"Error": r.URL.Query().Get("error")})
}

// setupStep renders the wizard at the step the server is at, with data
// added (an error, what was typed).
func (p *Pages) setupStep(w http.ResponseWriter, r *http.Request, s *session, data map[string]any) {
	data["CSRF"] = s.csrf
	data["Trial"] = p.b.Trial()
	if _, done := p.b.Owner(); done {
		data["Step"] = "done"
		data["PublicURL"] = p.b.PublicURL()
		st := p.b.Status(r.Context())
		data["Relays"] = st.Relays
		if o := ownerOf(st, p.b); o != nil {
			data["Owner"] = o
		}
		p.render(w, "setup.html", data)
		return
	}
	host, chosen := p.b.Hostname()
	if _, ok := data["Host"]; !ok {
		data["Host"] = host
	}
	switch {
	case !s.setup:
		data["Step"] = "code"
	case !chosen || r.URL.Query().Get("step") == "address" || data["Step"] == "address":
		data["Step"] = "address"
		if data["Host"] == "localhost" {
			data["Host"] = ""
		}
		if _, ok := data["TLS"]; !ok {
			data["TLS"] = p.b.TLS()
		}
		if q := r.URL.Query().Get("check"); q != "" {
			data["Report"] = p.b.CheckAddress(r.Context(), q)
			data["Host"] = q
		}
	default:
		data["Step"] = "owner"
		data["Domains"] = p.b.HandleDomains()
		if _, ok := data["Form"]; !ok {
			data["Form"] = ownerForm{}
		}
	}
	p.render(w, "setup.html", data)
}

func ownerOf(st Status, b Backend) *AccountStatus {
	did, _ := b.Owner()
	for i := range st.Accounts {
		if st.Accounts[i].DID == did {
			return &st.Accounts[i]
		}
	}
	return nil
}

func (p *Pages) unlock(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.allowAttempt(r) {
		p.setupStep(w, r, s, map[string]any{"Error": sentence(p.log, errTooMany)})
		return
	}
	if !p.b.CheckSetupCode(strings.TrimSpace(r.PostFormValue("code"))) {
		p.failedAttempt(r)
		p.setupStep(w, r, s, map[string]any{"Error": "That is not the setup code: copy it from Hearth's log (the line that says setup_code=), then try again."})
		return
	}
	p.mu.Lock()
	s.setup = true
	p.mu.Unlock()
	p.rotate(w, r, s)
	http.Redirect(w, r, "/setup", http.StatusSeeOther)
}

// restarting is the page shown while the server restarts with a setting:
// it reloads the wizard itself, once the new server answers.
func (p *Pages) restarting(w http.ResponseWriter, what string) {
	p.render(w, "restarting.html", map[string]any{"What": what})
}

func (p *Pages) address(w http.ResponseWriter, r *http.Request, s *session) {
	host := strings.ToLower(strings.TrimSpace(r.PostFormValue("hostname")))
	if r.PostFormValue("action") == "check" {
		http.Redirect(w, r, "/setup?step=address&check="+url.QueryEscape(host), http.StatusSeeOther)
		return
	}
	choice := tlsChoiceOf(r, p.b.TLS())
	again := func(err error) {
		p.setupStep(w, r, s, map[string]any{"Step": "address", "Host": host, "TLS": choice, "Error": err.Error()})
	}
	if !choice.Fixed {
		if err := p.b.SaveTLS(r.Context(), host, choice); err != nil {
			again(err)
			return
		}
	}
	if err := p.b.SaveHostname(r.Context(), host); err != nil {
		again(err)
		return
	}
	p.restarting(w, "its address, "+host)
}

// tlsChoiceOf is the HTTPS choice a form (the address step's or the HTTPS
// page's) makes, or cur when flag or environment fixed it.
func tlsChoiceOf(r *http.Request, cur TLSChoice) TLSChoice {
	if cur.Fixed {
		return cur
	}
	c := TLSChoice{Mode: r.PostFormValue("tls"), Cert: strings.TrimSpace(r.PostFormValue("tls_cert")),
		Key: strings.TrimSpace(r.PostFormValue("tls_key")), Failed: cur.Failed}
	if c.Mode == "" {
		c.Mode = "off"
	}
	return c
}

func (p *Pages) startTrial(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.b.StartTrial(r.Context()); err != nil {
		p.setupStep(w, r, s, map[string]any{"Error": sentence(p.log, err)})
		return
	}
	p.restarting(w, "a trial on this computer")
}

// leaveTrial takes the Internet path: the owner of a trial (or a wizard
// still in it) starts the wizard again at the address step.
func (p *Pages) leaveTrial(w http.ResponseWriter, r *http.Request, s *session) {
	p.mu.Lock()
	ok := s.owner || s.setup
	p.mu.Unlock()
	if !ok || !p.b.Trial() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := p.b.LeaveTrial(r.Context()); err != nil {
		p.setupStep(w, r, s, map[string]any{"Error": sentence(p.log, err)})
		return
	}
	p.mu.Lock()
	s.setup, s.owner = true, false
	p.mu.Unlock()
	p.restarting(w, "no trial: next, its Internet address")
}

// handleName is what the handle field takes: the pattern attribute says
// the same, in a syntax browsers' v-flag regular expressions accept.
var handleName = regexp.MustCompile(`^[a-z0-9][a-z0-9\-]{1,16}[a-z0-9]$`)

func (p *Pages) owner(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostFormValue
	form := ownerForm{
		Name:   strings.ToLower(strings.TrimSpace(f("name"))),
		Domain: f("domain"),
		Custom: strings.ToLower(strings.TrimSpace(f("custom"))),
		Email:  strings.TrimSpace(f("email")),
	}
	again := func(msg string) {
		p.setupStep(w, r, s, map[string]any{"Form": form, "Error": msg})
	}
	pw := f("password")
	switch {
	case !handleName.MatchString(form.Name):
		again("A handle takes 3 to 18 lower-case letters, digits and hyphens, not starting or ending with a hyphen: change it and try again.")
		return
	case len(pw) < 8:
		again("Choose a password of at least 8 characters, and type it in both boxes.")
		return
	case pw != f("password2"):
		again("The two passwords differ: type the same one in both boxes.")
		return
	}
	did, err := p.b.CreateOwner(r.Context(), form.Name+form.Domain, form.Email, pw)
	if err != nil {
		again(wizardSentence(p, err))
		return
	}
	p.mu.Lock()
	s.owner = true
	p.mu.Unlock()
	p.rotate(w, r, s)
	if form.Custom != "" {
		p.render(w, "setup.html", map[string]any{"Step": "custom", "CSRF": s.csrf, "DID": did, "Custom": form.Custom, "Trial": p.b.Trial()})
		return
	}
	http.Redirect(w, r, "/setup", http.StatusSeeOther)
}

// wizardSentence says what went wrong making the owner, and what to do.
func wizardSentence(p *Pages, err error) string {
	switch {
	case errors.Is(err, ErrRestarting):
		return "Hearth is still restarting with its new address: wait a few seconds, then press Create my account again."
	case errors.Is(err, account.ErrUpstream):
		p.log.Warn("wizard: creating the owner failed", "err", err)
		if p.b.Trial() {
			return "The trial's own PLC directory did not take the new account: look at Hearth's log, then try again."
		}
		return "The PLC directory, where every new account gets its identity, did not take this one: check that this machine reaches the Internet, then try again, or go back and try Hearth on this computer first."
	case errors.Is(err, account.ErrUnsupportedDomain), errors.Is(err, account.ErrInvalidHandle):
		p.log.Info("wizard: handle refused", "err", err)
		return "That handle cannot be used here: pick a name of 3 to 18 letters, digits or hyphens, under one of the offered domains."
	case errors.Is(err, account.ErrHandleTaken):
		return "That handle is taken already: choose another name."
	}
	return sentence(p.log, err)
}

// claimHandle runs after the owner exists, so it needs the owner's session.
func (p *Pages) claimHandle(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.owner {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	did, _ := p.b.Owner()
	custom := strings.ToLower(strings.TrimSpace(r.PostFormValue("custom")))
	data := map[string]any{"Step": "custom", "CSRF": s.csrf, "DID": did, "Custom": custom, "Trial": p.b.Trial()}
	if err := p.b.ClaimHandle(r.Context(), did, custom); err != nil {
		p.log.Info("wizard: custom handle not claimed yet", "handle", custom, "err", err)
		data["Error"] = "The DNS record is not there yet: add it as shown, wait a few minutes, then check again, or skip this for now."
		p.render(w, "setup.html", data)
		return
	}
	http.Redirect(w, r, "/setup", http.StatusSeeOther)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeName.ReplaceAllString(s, "-") }

// faviconSVG is Hearth's mark: a flame on a round hearth.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="#c2410c"/>` +
	`<path d="M16 6c1 5 6 7 6 13a6 6 0 0 1-12 0c0-3 2-5 3-7 0 2 1 3 2 3 0-3-1-6 1-9z" fill="#fff7ed"/></svg>`

func favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write([]byte(faviconSVG))
}

// back redirects to path with msg as its error.
func back(w http.ResponseWriter, r *http.Request, path, msg string) {
	if msg != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "error=" + url.QueryEscape(msg)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}
