package web

import (
	"net/http"
)

// The HTTPS page changes, after setup, the choice the address step made:
// the same three ways, checked and stored by the same Backend code, and
// applied by the same in-process restart. A mode set by flag or
// environment is only described: the environment decides.

// httpsView is the content of https.html.
type httpsView struct {
	CSRF, Error string
	Host        string
	TLS         TLSChoice // the stored choice, or what was just typed
	Now         TLSChoice // the stored choice, as it runs now
	Trial       bool
	TLSForm     string // the form the choice's inputs belong to
}

func (p *Pages) httpsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /status/https", p.httpsPage)
	mux.HandleFunc("POST /status/https", p.ownerPost(p.saveHTTPS))
}

func (p *Pages) httpsPage(w http.ResponseWriter, r *http.Request) {
	s := p.owned(w, r)
	if s == nil {
		return
	}
	p.showHTTPS(w, s, httpsView{}, nil)
}

// showHTTPS renders the page with v.TLS (what was typed), or the stored
// choice when v has none.
func (p *Pages) showHTTPS(w http.ResponseWriter, s *session, v httpsView, err error) {
	if err != nil {
		v.Error = err.Error()
	}
	v.CSRF, v.Now, v.Trial, v.TLSForm = s.csrf, p.b.TLS(), p.b.Trial(), "https-form"
	v.Host, _ = p.b.Hostname()
	if v.TLS.Mode == "" {
		v.TLS = v.Now
	}
	p.render(w, "https.html", v)
}

func (p *Pages) saveHTTPS(w http.ResponseWriter, r *http.Request, s *session) {
	cur := p.b.TLS()
	if cur.Fixed || p.b.Trial() {
		p.showHTTPS(w, s, httpsView{}, nil) // the page says why there is no form
		return
	}
	c := tlsChoiceOf(r, cur)
	if err := p.b.ApplyTLS(r.Context(), c); err != nil {
		p.showHTTPS(w, s, httpsView{TLS: c}, err)
		return
	}
	p.render(w, "https-restarting.html", c)
}

// ownerPost wraps a form handler as a checked form post that needs the
// status login (the owner's or the admin's).
func (p *Pages) ownerPost(fn postFunc) http.HandlerFunc {
	return p.post(func(w http.ResponseWriter, r *http.Request, s *session) {
		p.mu.Lock()
		owner := s.owner
		p.mu.Unlock()
		if !owner {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		fn(w, r, s)
	}, false)
}
