package web

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/identity/clientip"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

// SessionTTL is how long a login lasts.
const SessionTTL = 12 * time.Hour

const csp = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Pages serves the wizard and the status page.
type Pages struct {
	b     Backend
	log   *slog.Logger
	tmpl  *template.Template
	now   func() time.Time
	mu    sync.Mutex
	sess  map[string]*session
	anon  []string               // ids of kept sessions that were anonymous, oldest first
	swept time.Time              // when expired sessions were last swept
	key   []byte                 // signs anonymous cookies; new at each start
	fails map[string][]time.Time // login attempts per IP
}

type session struct {
	id      string // the key in Pages.sess; "" while anonymous (see session.go)
	csrf    string
	setup   bool // unlocked by the setup code
	owner   bool // logged in to the status page
	expires time.Time
	// did is the account signed in at /account. It is apart from owner:
	// any account may manage itself, only the owner sees the status page.
	did string
	// pending is a sign-in waiting for its mailed code.
	pending *pendingSignIn
	// move is the DID of the move this browser started at /move.
	move string
}

// New builds the pages over b.
func New(b Backend, log *slog.Logger) *Pages {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	funcs := template.FuncMap{
		"bytes": humanBytes,
		"ago":   func(t time.Time) string { return agoWords(time.Since(t)) },
		"when":  when,
		"count": countWords,
		"counted": func(n int, what string) string {
			return strings.Replace(plural(n, what), fmt.Sprint(n), countWords(n), 1)
		},
		"trial":    func() bool { return b.Trial() },
		"chart":    chart,
		"activity": activity,
		"cards":    cards,
		"purpose":  purposeWords,
		"until":    func(t time.Time) string { return time.Until(t).Round(time.Minute).String() },
	}
	t := template.Must(template.New("").Funcs(funcs).ParseFS(templatesFS, "templates/*.html"))
	key := make([]byte, 32)
	rand.Read(key)
	return &Pages{b: b, log: log, tmpl: t, now: time.Now, sess: map[string]*session{}, key: key, fails: map[string][]time.Time{}}
}

// Handler routes the pages.
func (p *Pages) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", p.home)
	mux.HandleFunc("GET /favicon.ico", favicon)
	p.wizardRoutes(mux)
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.post(p.login, false))
	mux.HandleFunc("POST /logout", p.post(p.logout, false))
	mux.HandleFunc("GET /status/backup", p.backup)
	mux.HandleFunc("GET /status/repo", p.repoCAR)
	p.adminRoutes(mux)
	p.accountRoutes(mux)
	p.moveRoutes(mux)
	p.oauthRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		mux.ServeHTTP(w, r)
	})
}

func token() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameOrigin refuses cross-site form posts (in addition to the CSRF token).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == "" // a missing Origin is an old browser or a script
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

type postFunc func(w http.ResponseWriter, r *http.Request, s *session)

// post wraps a form handler: same-origin, a valid CSRF token, and (for the
// wizard) an unlocked setup session while setup is still open.
func (p *Pages) post(fn postFunc, needSetup bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if !sameOrigin(r) {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		s := p.current(w, r, false)
		if s == nil || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
			http.Error(w, "missing or stale form token: reload the page and try again", http.StatusForbidden)
			return
		}
		if needSetup {
			if _, done := p.b.Owner(); done || !s.setup {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
		}
		fn(w, r, s)
	}
}

func (p *Pages) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := p.tmpl.ExecuteTemplate(w, name, data); err != nil {
		p.log.Error("render page", "page", name, "err", err)
	}
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	if _, done := p.b.Owner(); !done {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/status", http.StatusSeeOther)
}

// clientIP is the client's address, as clientip decided it.
func clientIP(r *http.Request) string { return clientip.Addr(r) }

// allowAttempt limits password and setup-code guesses: 10 per 5 minutes per IP.
func (p *Pages) allowAttempt(r *http.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ip, now := clientIP(r), p.now()
	var keep []time.Time
	for _, t := range p.fails[ip] {
		if now.Sub(t) < 5*time.Minute {
			keep = append(keep, t)
		}
	}
	p.fails[ip] = keep
	return len(keep) < 10
}

func (p *Pages) failedAttempt(r *http.Request) {
	p.mu.Lock()
	p.fails[clientIP(r)] = append(p.fails[clientIP(r)], p.now())
	p.mu.Unlock()
}

func (p *Pages) loginPage(w http.ResponseWriter, r *http.Request) {
	s := p.current(w, r, true)
	p.render(w, "login.html", map[string]any{"CSRF": s.csrf, "Error": r.URL.Query().Get("error")})
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.allowAttempt(r) {
		back(w, r, "/login", "Too many attempts from here: wait a few minutes, then try again.")
		return
	}
	id := strings.TrimSpace(r.PostFormValue("identifier"))
	if !p.b.Login(r.Context(), id, r.PostFormValue("password")) {
		p.failedAttempt(r)
		msg := "Wrong handle or password: check both and try again, or reset your password on the account page."
		if id == "admin" {
			msg = "That is not the admin password: it is HEARTH_ADMIN_PASSWORD when set, else the file admin-password in Hearth's data folder."
		}
		p.render(w, "login.html", map[string]any{"CSRF": s.csrf, "Error": msg, "Identifier": id})
		return
	}
	p.mu.Lock()
	s.owner = true
	p.mu.Unlock()
	p.rotate(w, r, s)
	http.Redirect(w, r, "/status", http.StatusSeeOther)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request, s *session) {
	p.mu.Lock()
	s.owner, s.setup = false, false
	s.expires = p.now()
	p.mu.Unlock()
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (p *Pages) owned(w http.ResponseWriter, r *http.Request) *session {
	s := p.current(w, r, false)
	if s == nil || !s.owner {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return s
}

func (p *Pages) backup(w http.ResponseWriter, r *http.Request) {
	if p.owned(w, r) == nil {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=hearth-%s.db", p.now().UTC().Format("20060102-150405")))
	if _, err := p.b.Backup(w); err != nil {
		p.log.Error("backup failed", "err", err)
	}
}

func (p *Pages) repoCAR(w http.ResponseWriter, r *http.Request) {
	if p.owned(w, r) == nil {
		return
	}
	did := r.URL.Query().Get("did")
	name := strings.ReplaceAll(did, ":", "-")
	for _, a := range p.b.Status(r.Context()).Accounts {
		if a.DID == did && a.Handle != "" {
			name = a.Handle
		}
	}
	w.Header().Set("Content-Type", "application/vnd.ipld.car")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%s-repo-%s.car", safeName(name), p.now().UTC().Format("20060102")))
	if err := p.b.ExportRepo(r.Context(), did, w); err != nil {
		p.log.Info("repo download refused", "did", did, "err", err)
		http.Error(w, "There is no such repository here: go back to the status page and use its download link.", http.StatusNotFound)
	}
}

func humanBytes(n any) string {
	var v float64
	switch x := n.(type) {
	case int:
		v = float64(x)
	case int64:
		v = float64(x)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
