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
		"bytes":   humanBytes,
		"ago":     func(t time.Time) string { return time.Since(t).Round(time.Second).String() },
		"chart":   chart,
		"purpose": purposeWords,
		"until":   func(t time.Time) string { return time.Until(t).Round(time.Minute).String() },
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
	mux.HandleFunc("GET /setup", p.setupPage)
	mux.HandleFunc("POST /setup/unlock", p.post(p.unlock, false))
	mux.HandleFunc("POST /setup/address", p.post(p.address, true))
	mux.HandleFunc("POST /setup/owner", p.post(p.owner, true))
	mux.HandleFunc("POST /setup/check-handle", p.post(p.claimHandle, false))
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

func (p *Pages) setupPage(w http.ResponseWriter, r *http.Request) {
	s := p.current(w, r, true)
	data := map[string]any{"CSRF": s.csrf}
	if _, done := p.b.Owner(); done {
		data["Step"] = "done"
		data["PublicURL"] = p.b.PublicURL()
		data["Relays"] = p.b.Status(r.Context()).Relays
		p.render(w, "setup.html", data)
		return
	}
	host, chosen := p.b.Hostname()
	data["Host"] = host
	switch {
	case !s.setup:
		data["Step"] = "code"
	case !chosen || r.URL.Query().Get("step") == "address":
		data["Step"] = "address"
		if q := r.URL.Query().Get("check"); q != "" {
			rep := p.b.CheckAddress(r.Context(), q)
			data["Report"] = rep
			data["Host"] = q
		}
	default:
		data["Step"] = "owner"
		data["Domains"] = p.b.HandleDomains()
	}
	data["Error"] = r.URL.Query().Get("error")
	p.render(w, "setup.html", data)
}

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

func (p *Pages) unlock(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.allowAttempt(r) {
		back(w, r, "/setup", "Too many attempts: wait a few minutes.")
		return
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	want := p.b.SetupCode()
	if want == "" || subtle.ConstantTimeCompare([]byte(code), []byte(want)) != 1 {
		p.failedAttempt(r)
		back(w, r, "/setup", "That is not the setup code. It is printed in Hearth's log when it starts.")
		return
	}
	p.mu.Lock()
	s.setup = true
	p.mu.Unlock()
	p.rotate(w, r, s)
	http.Redirect(w, r, "/setup", http.StatusSeeOther)
}

func (p *Pages) address(w http.ResponseWriter, r *http.Request, s *session) {
	host := strings.ToLower(strings.TrimSpace(r.PostFormValue("hostname")))
	if r.PostFormValue("action") == "check" {
		http.Redirect(w, r, "/setup?step=address&check="+url.QueryEscape(host), http.StatusSeeOther)
		return
	}
	if err := p.b.SaveHostname(r.Context(), host); err != nil {
		back(w, r, "/setup?step=address", err.Error())
		return
	}
	http.Redirect(w, r, "/setup", http.StatusSeeOther)
}

func (p *Pages) owner(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostFormValue
	pw := f("password")
	if len(pw) < 8 {
		back(w, r, "/setup", "Choose a password of at least 8 characters.")
		return
	}
	if pw != f("password2") {
		back(w, r, "/setup", "The two passwords differ.")
		return
	}
	name := strings.ToLower(strings.TrimSpace(f("name")))
	handle := name + f("domain")
	custom := strings.ToLower(strings.TrimSpace(f("custom")))
	did, err := p.b.CreateOwner(r.Context(), handle, strings.TrimSpace(f("email")), pw)
	if err != nil {
		back(w, r, "/setup", err.Error())
		return
	}
	p.mu.Lock()
	s.owner = true
	p.mu.Unlock()
	p.rotate(w, r, s)
	if custom != "" {
		p.render(w, "setup.html", map[string]any{"Step": "custom", "CSRF": s.csrf, "DID": did, "Custom": custom})
		return
	}
	http.Redirect(w, r, "/setup", http.StatusSeeOther)
}

// claimHandle runs after the owner exists, so it needs the owner's session.
func (p *Pages) claimHandle(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.owner {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	did, _ := p.b.Owner()
	custom := strings.ToLower(strings.TrimSpace(r.PostFormValue("custom")))
	data := map[string]any{"Step": "custom", "CSRF": s.csrf, "DID": did, "Custom": custom}
	if err := p.b.ClaimHandle(r.Context(), did, custom); err != nil {
		data["Error"] = err.Error()
		p.render(w, "setup.html", data)
		return
	}
	http.Redirect(w, r, "/setup", http.StatusSeeOther)
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
		back(w, r, "/login", "Too many attempts: wait a few minutes.")
		return
	}
	if !p.b.Login(r.Context(), strings.TrimSpace(r.PostFormValue("identifier")), r.PostFormValue("password")) {
		p.failedAttempt(r)
		back(w, r, "/login", "Wrong handle or password.")
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
	w.Header().Set("Content-Type", "application/vnd.ipld.car")
	w.Header().Set("Content-Disposition", "attachment; filename=repo.car")
	if err := p.b.ExportRepo(r.Context(), did, w); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
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

// chart draws records and file size over time as inline SVG lines, each
// scaled to its own maximum.
func chart(samples []Sample) template.HTML {
	if len(samples) < 2 {
		return template.HTML(`<p class="muted">The chart fills in as Hearth keeps hourly samples.</p>`)
	}
	const w, h = 600.0, 120.0
	t0, t1 := samples[0].Time, samples[len(samples)-1].Time
	span := max(t1.Sub(t0).Seconds(), 1)
	maxR, maxB := 1, int64(1)
	for _, s := range samples {
		maxR, maxB = max(maxR, s.Records), max(maxB, s.FileBytes)
	}
	var recs, size strings.Builder
	for _, s := range samples {
		x := w * s.Time.Sub(t0).Seconds() / span
		fmt.Fprintf(&recs, "%.1f,%.1f ", x, h-h*float64(s.Records)/float64(maxR))
		fmt.Fprintf(&size, "%.1f,%.1f ", x, h-h*float64(s.FileBytes)/float64(maxB))
	}
	return template.HTML(fmt.Sprintf(`<svg viewBox="0 0 600 120" role="img" aria-label="records (up to %d) and data file size (up to %s) over time">`+
		`<polyline fill="none" stroke="currentColor" stroke-width="2" points="%s"/>`+
		`<polyline fill="none" stroke="#2563eb" stroke-width="2" stroke-dasharray="4 3" points="%s"/></svg>`+
		`<p class="muted">Solid: records (max %d). Dashed: data file (max %s).</p>`,
		maxR, humanBytes(maxB), recs.String(), size.String(), maxR, humanBytes(maxB)))
}
