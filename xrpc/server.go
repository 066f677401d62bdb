package xrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/clientip"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/mst"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
	"github.com/hearth-pds/hearth/xrpc/oauth"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

// Body limits, as the reference PDS sets them.
const (
	maxJSONBody  = 150 << 10
	maxWriteBody = 1 << 20
	// applyWrites carries up to 200 records.
	maxBatchBody = 4 << 20
	// maxProxiedBody caps a service's answer we relay, so that a hostile
	// or broken service cannot stream without end through us.
	maxProxiedBody = 16 << 20
)

// Config is what the server needs to know about its deployment.
type Config struct {
	Version        string
	Hostname       string
	PublicURL      string
	HandleDomains  []string
	PLCURL         string
	AdminPassword  string
	InviteRequired bool
	Dev            bool
	// PrivacyPolicyURL, TermsOfServiceURL and ContactEmail are offered in
	// describeServer; empty ones are left out.
	PrivacyPolicyURL, TermsOfServiceURL, ContactEmail string
	// AppView, Chat and ReportService are "did#service_id" references of
	// the services methods go to when no atproto-proxy header names one.
	AppView, Chat, ReportService string
	// BlobLimit is the largest blob accepted (default 100 MB).
	BlobLimit int64
	// LoginFloor is the constant duration of a login answer (default 350 ms).
	LoginFloor time.Duration
	// NoRateLimits turns the rate limits off (load tests, private rigs).
	NoRateLimits bool
	// MaxSubscribers and MaxSubscribersPerIP cap firehose subscribers in
	// all and per address (loopback exempt); 0 is no cap.
	MaxSubscribers, MaxSubscribersPerIP int
	// PasswordHashing may be set by tests to a cheaper hash.
	HashPassword func(string) (string, error)
	// OAuth turns the authorization server on (HEARTH_OAUTH).
	OAuth bool
}

// Server serves XRPC. Create it with New.
type Server struct {
	cfg        Config
	db         *store.DB
	log        *slog.Logger
	writer     *repo.Writer
	clock      *syntax.TIDClock
	lex        *lexicon.Catalog
	plc        *plc.Client
	resolver   *resolve.Resolver
	rotation   keys.PrivateKey
	accounts   *account.Service
	serviceDID string
	methods    map[string]method
	blobs      *blob.Store
	proxyHTTP  *http.Client
	proxyLimit int64 // largest proxied answer
	events     *stream.Emitter
	firehose   *stream.Server
	limits     *limiter
	keys       signingKeys // parsed repo keys, per account
	now        func() time.Time
	metrics    Metrics
	oauth      *oauth.Server // nil when OAuth is off

	// inflight lets Shutdown wait for writes that have started.
	inflight sync.WaitGroup
}

// Deps are the collaborators New wires together.
type Deps struct {
	DB       *store.DB
	Log      *slog.Logger
	Lexicons *lexicon.Catalog
	PLC      *plc.Client
	Resolver *resolve.Resolver
	Now      func() time.Time
	// OnEvent is called after each transaction that appended events
	// (the relay crawler uses it to notice activity).
	OnEvent func()
	// Mailer queues account mail; nil means no mail server.
	Mailer account.Mailer
	// Egress makes the guarded clients (OAuth client metadata); nil: a
	// factory of the server's own.
	Egress *egress.Factory
}

// New builds a server, creating the server secrets (JWT secret, PLC
// rotation key) on first start.
func New(ctx context.Context, cfg Config, d Deps) (*Server, error) {
	s := &Server{
		cfg:        cfg,
		db:         d.DB,
		log:        d.Log,
		lex:        d.Lexicons,
		plc:        d.PLC,
		resolver:   d.Resolver,
		serviceDID: "did:web:" + cfg.Hostname,
		now:        d.Now,
		limits:     newLimiter(),
	}
	s.limits.off = cfg.NoRateLimits
	s.proxyHTTP = s.proxyClient()
	s.proxyLimit = maxProxiedBody
	s.blobs = &blob.Store{DB: d.DB, Limit: cfg.BlobLimit, Now: d.Now}
	if s.blobs.Limit <= 0 {
		s.blobs.Limit = blob.DefaultLimit
	}
	if s.cfg.LoginFloor <= 0 {
		s.cfg.LoginFloor = 350 * time.Millisecond
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.HashPassword == nil {
		s.cfg.HashPassword = auth.HashPassword
	}
	s.firehose = stream.NewServer(d.DB, stream.Options{
		Log: s.log, MaxSubscribers: cfg.MaxSubscribers, MaxSubscribersPerIP: cfg.MaxSubscribersPerIP,
	})
	s.events = &stream.Emitter{Publish: s.firehose.Publish, Notify: d.OnEvent, Forget: s.firehose.Forget, Now: s.now}
	s.clock = syntax.NewTIDClock(uint(time.Now().UnixNano() % 1024))
	// 1024 nodes, about 1 MiB: the upper layers of every repository here
	// and the recent paths below them.
	s.writer = &repo.Writer{Clock: s.clock, Nodes: mst.NewCache(1024)}
	jwtKey, err := s.loadSecrets(ctx)
	if err != nil {
		return nil, err
	}
	s.accounts = account.New(account.Config{
		ServiceDID: s.serviceDID, Hostname: cfg.Hostname, PublicURL: cfg.PublicURL,
		HandleDomains: cfg.HandleDomains, InviteRequired: cfg.InviteRequired, Dev: cfg.Dev,
		LoginFloor: s.cfg.LoginFloor, HashPassword: s.cfg.HashPassword,
	}, account.Deps{
		DB: d.DB, Writer: s.writer, Events: s.events, PLC: d.PLC, Resolver: d.Resolver, Mailer: d.Mailer,
		Rotation: s.rotation, JWTKey: jwtKey, Log: s.log,
		// Through s.now, so that tests moving the clock move it here too.
		Now: func() time.Time { return s.now() },
	})
	s.routes()
	if err := s.setupOAuth(ctx, d); err != nil {
		return nil, err
	}
	return s, nil
}

// ServiceDID is the did:web of this PDS.
func (s *Server) ServiceDID() string { return s.serviceDID }

func (s *Server) loadSecrets(ctx context.Context) (jwtKey auth.HS256, err error) {
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		secret := tx.Meta("jwt-secret")
		if secret == nil {
			secret = []byte(auth.RandomToken(32))
			if err := tx.SetMeta("jwt-secret", secret); err != nil {
				return err
			}
		}
		jwtKey = auth.HS256(append([]byte(nil), secret...))
		rk := tx.Meta("plc-rotation-key")
		if rk == nil {
			k, err := keys.GenerateK256()
			if err != nil {
				return err
			}
			rk = []byte(keys.MarshalPrivate(k))
			if err := tx.SetMeta("plc-rotation-key", rk); err != nil {
				return err
			}
		}
		k, err := keys.ParsePrivateString(string(rk))
		if err != nil {
			return fmt.Errorf("xrpc: stored rotation key: %w", err)
		}
		s.rotation = k
		return nil
	})
	return jwtKey, err
}

// Handler kinds and auth levels.
type kind int

const (
	query kind = iota
	procedure
)

type authLevel int

const (
	authNone            authLevel = iota
	authOptional                  // a token, if present, must be valid
	authPublic                    // anyone; a valid token of the owner is noticed, a bad one ignored
	authAccess                    // any access token, app passwords included
	authFull                      // access token of a full (non-app-password) session
	authRefresh                   // a refresh token
	authSignOut                   // a refresh token, expired or not
	authAdmin                     // admin Basic auth
	authAccessOrService           // authAccess, or a service token for this method from another host
)

type handlerFunc func(w http.ResponseWriter, r *http.Request, a *Auth) error

type method struct {
	kind kind
	auth authLevel
	// takendown lets a taken-down account's narrow session call it.
	takendown bool
	// limit is the body limit for procedures.
	limit int64
	fn    handlerFunc
}

func (s *Server) handle(nsid string, k kind, a authLevel, fn handlerFunc) {
	limit := int64(maxJSONBody)
	s.methods[nsid] = method{kind: k, auth: a, limit: limit, fn: fn}
}

// allowTakendown opens methods to a taken-down account's narrow session.
func (s *Server) allowTakendown(nsids ...string) {
	for _, n := range nsids {
		m := s.methods[n]
		m.takendown = true
		s.methods[n] = m
	}
}

func (s *Server) setLimit(nsid string, limit int64) {
	m := s.methods[nsid]
	m.limit = limit
	s.methods[nsid] = m
}

// Handler returns the HTTP handler for everything Hearth serves.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /xrpc/com.atproto.sync.subscribeRepos", s.firehose)
	mux.HandleFunc("/xrpc/{nsid}", s.serveXRPC)
	mux.HandleFunc("GET /.well-known/atproto-did", s.serveAtprotoDID)
	mux.HandleFunc("GET /.well-known/did.json", s.serveDIDJSON)
	s.oauthRoutes(mux)
	return s.middleware(mux)
}

// Wait blocks until in-flight writes have finished and closes the event
// stream; call it after the HTTP server stops accepting requests.
func (s *Server) Wait() {
	s.inflight.Wait()
	s.firehose.Close()
}

// Blobs is the blob store, for background sweeping.
func (s *Server) Blobs() *blob.Store { return s.blobs }

// Subscribers is the number of connected firehose consumers.
func (s *Server) Subscribers() int { return s.firehose.Subscribers() }

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h := w.Header()
		// Browsers call XRPC from any origin (web clients); credentials are
		// bearer tokens, never cookies, so a wildcard origin is safe.
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
			// "*" does not cover Authorization, which every signed-in web
			// client sends: echo what the browser asks for.
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
			} else {
				h.Set("Access-Control-Allow-Headers", "*")
			}
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "*")
		// A DPoP caller gets the current nonce on every answer, successful
		// ones too (RFC 9449 §8.2), so a rotation costs it no refused call.
		if s.oauth != nil && strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "dpop ") {
			h.Set("DPoP-Nonce", s.oauth.Nonce())
		}
		defer func() {
			p := recover()
			// http.ErrAbortHandler is a deliberate abort (a proxied answer
			// cut short): it goes on up, for net/http to drop the connection.
			if p != nil && p != http.ErrAbortHandler {
				s.log.Error("panic in handler", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 200 && !sw.wrote {
					writeError(sw, internal())
				}
			}
			took := s.now().Sub(start)
			s.metrics.observe(r, sw.status, took)
			// Typed attributes: the line is written for every request, and
			// boxing each value in an any cost allocations on the write path.
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Float64("dur_ms", float64(took.Microseconds())/1000), slog.String("ip", clientIP(r)))
			if p == http.ErrAbortHandler {
				panic(p)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) serveXRPC(w http.ResponseWriter, r *http.Request) {
	nsid := r.PathValue("nsid")
	if nsid == "_health" {
		writeJSON(w, http.StatusOK, map[string]string{"version": s.cfg.Version})
		return
	}
	m, ok := s.methods[nsid]
	if !ok {
		if e := s.limits.global(clientIP(r), s.now()); e != nil {
			writeError(w, e)
			return
		}
		s.proxy(w, r, nsid)
		return
	}
	switch {
	case m.kind == query && r.Method != http.MethodGet && r.Method != http.MethodHead:
		writeError(w, errorf(http.StatusMethodNotAllowed, "InvalidRequest", "%s is a query: use GET", nsid))
		return
	case m.kind == procedure && r.Method != http.MethodPost:
		writeError(w, errorf(http.StatusMethodNotAllowed, "InvalidRequest", "%s is a procedure: use POST", nsid))
		return
	}
	if e := s.limits.global(clientIP(r), s.now()); e != nil {
		writeError(w, e)
		return
	}
	a, err := s.authenticate(r, m.auth)
	if tok, has := bearer(r); err != nil && has && m.auth == authAccessOrService {
		a, err = s.serviceCaller(r, tok, nsid)
	}
	if err == nil {
		err = s.allowMethod(a, r, nsid)
	}
	if err == nil && a != nil && a.Takendown && !m.takendown {
		err = errorf(http.StatusUnauthorized, "AccountTakedown", "Account has been taken down")
	}
	if err != nil {
		xe, _ := asXRPC(err)
		writeError(w, xe)
		return
	}
	r = withAuth(r, a)
	if m.kind == procedure {
		r.Body = http.MaxBytesReader(w, r.Body, m.limit)
		s.inflight.Add(1)
		defer s.inflight.Done()
	}
	if err := m.fn(w, r, a); err != nil {
		xe, known := asXRPC(err)
		if !known {
			s.log.Error("handler failed", "nsid", nsid, "err", err)
		}
		writeError(w, xe)
	}
}

// decodeJSON reads a JSON request body into v.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return invalidRequest("wrong content type %q: want application/json", ct)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := asXRPC(err); ok {
			return err
		}
		return invalidRequest("could not read the request body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalidRequest("request body is not valid JSON: %v", err)
	}
	return nil
}

// decodeOptionalJSON is decodeJSON for procedures whose input is optional:
// an empty body is no input.
func decodeOptionalJSON(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := asXRPC(err); ok {
			return err
		}
		return invalidRequest("could not read the request body")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalidRequest("request body is not valid JSON: %v", err)
	}
	return nil
}

func ok(w http.ResponseWriter, v any) error {
	writeJSON(w, http.StatusOK, v)
	return nil
}

// clientIP is the client's address, as clientip decided it.
func clientIP(r *http.Request) string { return clientip.Addr(r) }

var errShutdown = errors.New("xrpc: shutting down")
