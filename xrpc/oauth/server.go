package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/store"
)

// Lifetimes, as the atproto OAuth profile asks: short access tokens, and
// sessions whose refresh tokens rotate at each use, capped at two weeks
// for public clients and 180 days for confidential ones.
const (
	AccessTTL          = 15 * time.Minute
	PublicSessionTTL   = 14 * 24 * time.Hour
	ConfidentialTTL    = 180 * 24 * time.Hour
	RequestTTL         = 15 * time.Minute // a pushed request, sign-in and consent included
	CodeTTL            = time.Minute
	requestURIPrefix   = "urn:ietf:params:oauth:request_uri:"
	assertionType      = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	signingKeyMetaName = "oauth-signing-key"
)

// Config is what the authorization server knows of its deployment.
type Config struct {
	// Issuer is the public URL of this PDS, without a trailing slash; it
	// is both the issuer and the protected resource.
	Issuer string
	// Dev allows client_id URLs over http.
	Dev bool
}

// Deps are the server's collaborators.
type Deps struct {
	DB       *store.DB
	Accounts *account.Service
	// HTTP fetches client metadata and key sets. It must come from the
	// egress factory and follow no redirects.
	HTTP *http.Client
	Sets SetResolver
	// Resolver finds DID documents, and its LookupTXT the DNS records,
	// for permission sets resolved over the network; nil: only the
	// embedded sets (Sets) resolve.
	Resolver *resolve.Resolver
	Log      *slog.Logger
	Now      func() time.Time
}

// Server is the authorization server and the resource server's token
// check. Create it with New.
type Server struct {
	cfg     Config
	d       Deps
	key     keys.PrivateKey
	kid     string
	dpop    *dpop
	clients *clients
	sets    *publishedSets // nil: no network resolution
}

// New loads (or makes, on first start) the key that signs access tokens.
func New(ctx context.Context, cfg Config, d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, d: d, dpop: newDPoP(d.Now)}
	s.cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	s.clients = &clients{http: d.HTTP, allowHTTP: cfg.Dev, now: d.Now, cache: map[string]cachedClient{}}
	if d.Resolver != nil {
		s.sets = &publishedSets{dids: d.Resolver, http: d.HTTP, allowHTTP: cfg.Dev, now: d.Now, cache: map[string]cachedSet{}}
	}
	err := d.DB.Update(ctx, func(tx *store.Tx) error {
		raw := tx.Meta(signingKeyMetaName)
		if raw == nil {
			k, err := keys.GenerateP256()
			if err != nil {
				return err
			}
			raw = []byte(keys.MarshalPrivate(k))
			if err := tx.SetMeta(signingKeyMetaName, raw); err != nil {
				return err
			}
		}
		k, err := keys.ParsePrivateString(string(raw))
		if err != nil {
			return fmt.Errorf("oauth: stored signing key: %w", err)
		}
		s.key = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.kid = sha256b64(s.key.Public().DIDKey())[:16]
	return s, nil
}

// Issuer is the issuer URL.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// Handler serves the metadata and the endpoints a client calls directly;
// /oauth/authorize is the sign-in page's (see Pending and Approve).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-protected-resource", s.resourceMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.serverMetadata)
	mux.HandleFunc("GET /oauth/jwks", s.jwks)
	mux.HandleFunc("POST /oauth/par", s.endpoint(s.par))
	mux.HandleFunc("POST /oauth/token", s.endpoint(s.token))
	mux.HandleFunc("POST /oauth/revoke", s.endpoint(s.revoke))
	return mux
}

// endpoint wraps a form endpoint: bounded body, a fresh nonce on every
// answer, and errors in OAuth's words.
func (s *Server) endpoint(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		w.Header().Set("DPoP-Nonce", s.dpop.Nonce())
		w.Header().Set("Cache-Control", "no-store")
		if err := r.ParseForm(); err != nil {
			writeError(w, invalidRequest("the body must be a form"))
			return
		}
		if err := fn(w, r); err != nil {
			if e, ok := err.(*Error); !ok || e.Status >= 500 {
				s.d.Log.Error("oauth endpoint failed", "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
		}
	}
}

func (s *Server) resourceMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"resource":                 s.cfg.Issuer,
		"authorization_servers":    []string{s.cfg.Issuer},
		"scopes_supported":         []string{},
		"bearer_methods_supported": []string{"header"},
		"resource_documentation":   "https://atproto.com",
	})
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	is := s.cfg.Issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                           is,
		"authorization_endpoint":                           is + "/oauth/authorize",
		"token_endpoint":                                   is + "/oauth/token",
		"revocation_endpoint":                              is + "/oauth/revoke",
		"pushed_authorization_request_endpoint":            is + "/oauth/par",
		"jwks_uri":                                         is + "/oauth/jwks",
		"require_pushed_authorization_requests":            true,
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query", "fragment"},
		"grant_types_supported":                            []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"dpop_signing_alg_values_supported":                []string{"ES256"},
		"token_endpoint_auth_methods_supported":            []string{"none", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                                 []string{ScopeAtproto, ScopeGeneric, ScopeChat, ScopeEmail},
		"subject_types_supported":                          []string{"public"},
		"authorization_response_iss_parameter_supported":   true,
		"client_id_metadata_document_supported":            true,
		"request_parameter_supported":                      false,
		"request_uri_parameter_supported":                  true,
		"require_request_uri_registration":                 true,
		"protected_resources":                              []string{is},
	})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	u := s.key.Public().UncompressedBytes()
	writeJSON(w, http.StatusOK, map[string]any{"keys": []JWK{{
		Kty: "EC", Crv: "P-256", X: b64.EncodeToString(u[1:33]), Y: b64.EncodeToString(u[33:]),
		Kid: s.kid, Alg: "ES256", Use: "sig",
	}}})
}

// permissions is what a stored grant or request allows: its expansion
// when it has one, else its scope read with the embedded sets.
func (s *Server) permissions(scope, expanded string) *Permissions {
	if expanded != "" {
		return ParseExpanded(expanded)
	}
	return ParseScope(scope, s.d.Sets)
}

// randomID is a random URL-safe string of n bytes.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return b64.EncodeToString(b)
}

// secretKey is the store key of a secret: its SHA-256 in hex.
func secretKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
