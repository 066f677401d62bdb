package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Client metadata limits.
const (
	maxMetadata     = 64 << 10
	metadataTimeout = 5 * time.Second
	clientCacheTTL  = 10 * time.Minute
	maxCachedClient = 1000
)

// Client is a validated client-metadata document.
type Client struct {
	ID              string   `json:"client_id"`
	Name            string   `json:"client_name,omitempty"`
	URI             string   `json:"client_uri,omitempty"`
	LogoURI         string   `json:"logo_uri,omitempty"`
	PolicyURI       string   `json:"policy_uri,omitempty"`
	TosURI          string   `json:"tos_uri,omitempty"`
	RedirectURIs    []string `json:"redirect_uris"`
	Scope           string   `json:"scope"`
	GrantTypes      []string `json:"grant_types"`
	ResponseTypes   []string `json:"response_types"`
	ApplicationType string   `json:"application_type,omitempty"`
	AuthMethod      string   `json:"token_endpoint_auth_method,omitempty"`
	AuthSigningAlg  string   `json:"token_endpoint_auth_signing_alg,omitempty"`
	DPoPBound       bool     `json:"dpop_bound_access_tokens"`
	JWKS            *struct {
		Keys []JWK `json:"keys"`
	} `json:"jwks,omitempty"`
	JWKSURI string `json:"jwks_uri,omitempty"`

	// Loopback marks a development client (client_id http://localhost…).
	Loopback bool `json:"-"`
}

// Confidential reports whether the client authenticates with a key.
func (c *Client) Confidential() bool { return c.AuthMethod == "private_key_jwt" }

// Domain is the host people should read as the app's identity.
func (c *Client) Domain() string {
	if u, err := url.Parse(c.ID); err == nil {
		return u.Hostname()
	}
	return ""
}

type cachedClient struct {
	c   *Client
	exp time.Time
}

// clients fetches, validates and caches client metadata.
type clients struct {
	http      *http.Client
	allowHTTP bool // dev mode: http client ids on any host
	now       func() time.Time

	mu    sync.Mutex
	cache map[string]cachedClient
}

// get returns the validated metadata of the client id.
func (cs *clients) get(ctx context.Context, id string) (*Client, error) {
	if strings.HasPrefix(id, "http://localhost") {
		return loopbackClient(id)
	}
	now := cs.now()
	cs.mu.Lock()
	if c, ok := cs.cache[id]; ok && now.Before(c.exp) {
		cs.mu.Unlock()
		return c.c, nil
	}
	cs.mu.Unlock()
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil ||
		!(u.Scheme == "https" || (cs.allowHTTP && u.Scheme == "http")) {
		return nil, invalidClient("client_id must be an https URL")
	}
	body, err := cs.fetch(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := ParseClientMetadata(id, body)
	if err != nil {
		return nil, err
	}
	cs.mu.Lock()
	if len(cs.cache) >= maxCachedClient {
		clear(cs.cache)
	}
	cs.cache[id] = cachedClient{c, now.Add(clientCacheTTL)}
	cs.mu.Unlock()
	return c, nil
}

// fetch reads a document through the guarded client: no redirects, a
// size and a time limit. The detail of a failure stays out of the answer.
func (cs *clients) fetch(ctx context.Context, u string) ([]byte, error) {
	body, err := fetchJSON(ctx, cs.http, u, maxMetadata)
	if err != nil {
		return nil, invalidClient("could not fetch the client metadata: %v", err)
	}
	return body, nil
}

// Why a fetchJSON failed, in words safe to show whoever chose the URL.
var (
	errFetch       = errors.New("no answer")
	errFetchStatus = errors.New("not found")
	errFetchType   = errors.New("not application/json")
	errFetchSize   = errors.New("too large or cut short")
)

// fetchJSON GETs a JSON document of at most limit bytes within
// metadataTimeout through hc (a guarded egress client).
func fetchJSON(ctx context.Context, hc *http.Client, u string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	return fetchBody(ctx, hc, u, "application/json", true, limit)
}

// fetchBody GETs u through hc and reads at most limit bytes of a 200
// answer. With mustMatch the answer's media type must be accept.
func fetchBody(ctx context.Context, hc *http.Client, u, accept string, mustMatch bool, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: not a usable URL", errFetch)
	}
	req.Header.Set("Accept", accept)
	res, err := hc.Do(req)
	if err != nil {
		return nil, errFetch
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: answered %d", errFetchStatus, res.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mustMatch && mt != accept {
		return nil, errFetchType
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil || int64(len(body)) > limit {
		return nil, errFetchSize
	}
	return body, nil
}

// ParseClientMetadata validates a client-metadata document fetched from id.
func ParseClientMetadata(id string, body []byte) (*Client, error) {
	var c Client
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, invalidClient("client metadata is not JSON")
	}
	if c.ID != id {
		return nil, invalidClient("client metadata client_id does not match its URL")
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Client) validate() error {
	if !c.DPoPBound {
		return invalidClient("dpop_bound_access_tokens must be true")
	}
	if !slices.Contains(strings.Fields(c.Scope), ScopeAtproto) {
		return invalidClient("the client's scope must include atproto")
	}
	if !slices.Contains(c.GrantTypes, "authorization_code") {
		return invalidClient("grant_types must include authorization_code")
	}
	if !slices.Contains(c.ResponseTypes, "code") {
		return invalidClient("response_types must include code")
	}
	switch c.ApplicationType {
	case "":
		c.ApplicationType = "web"
	case "web", "native":
	default:
		return invalidClient("application_type must be web or native")
	}
	switch c.AuthMethod {
	case "", "none":
		c.AuthMethod = "none"
	case "private_key_jwt":
		if c.AuthSigningAlg != "" && c.AuthSigningAlg != "ES256" {
			return invalidClient("token_endpoint_auth_signing_alg must be ES256")
		}
		if (c.JWKS == nil || len(c.JWKS.Keys) == 0) == (c.JWKSURI == "") {
			return invalidClient("private_key_jwt needs one of jwks and jwks_uri")
		}
	default:
		return invalidClient("token_endpoint_auth_method must be none or private_key_jwt")
	}
	if len(c.RedirectURIs) == 0 || len(c.RedirectURIs) > 20 {
		return invalidClient("redirect_uris must list 1 to 20 URIs")
	}
	for _, r := range c.RedirectURIs {
		if err := c.checkRedirect(r); err != nil {
			return err
		}
	}
	for _, u := range []string{c.LogoURI, c.URI} {
		if pu, err := url.Parse(u); u != "" && (err != nil || pu.Scheme != "https") {
			return invalidClient("client_uri and logo_uri must be https URLs")
		}
	}
	if len(c.Name) > 200 {
		c.Name = c.Name[:200]
	}
	return nil
}

// checkRedirect applies the spec's rules: https; http only to a loopback
// address (never the name localhost); or a custom scheme that is the
// client_id's host reversed (native apps).
func (c *Client) checkRedirect(r string) error {
	u, err := url.Parse(r)
	if err != nil || u.Fragment != "" {
		return invalidClient("redirect_uri %q is not a URL", r)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http":
		if loopbackIP(u.Hostname()) {
			return nil
		}
		return invalidClient("http redirect_uri must be 127.0.0.1 or [::1]")
	case c.ApplicationType == "native" && strings.Contains(u.Scheme, "."):
		if reverseHost(u.Scheme) == c.Domain() {
			return nil
		}
	}
	return invalidClient("redirect_uri %q is not allowed", r)
}

func loopbackIP(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func reverseHost(scheme string) string {
	parts := strings.Split(scheme, ".")
	slices.Reverse(parts)
	return strings.Join(parts, ".")
}

// loopbackClient is a development client: client_id http://localhost with
// optional redirect_uri and scope query parameters, no path or port.
func loopbackClient(id string) (*Client, error) {
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "http" || u.Host != "localhost" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, invalidClient("a loopback client_id is http://localhost, without port or path")
	}
	q := u.Query()
	c := &Client{
		ID: id, Name: "Development app (localhost)", Scope: ScopeAtproto, Loopback: true,
		RedirectURIs: []string{"http://127.0.0.1/", "http://[::1]/"},
		GrantTypes:   []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		AuthMethod: "none", DPoPBound: true, ApplicationType: "native",
	}
	if s := q.Get("scope"); s != "" {
		c.Scope = s
	}
	if rs := q["redirect_uri"]; len(rs) > 0 {
		c.RedirectURIs = rs
	}
	for _, r := range c.RedirectURIs {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != "http" || !loopbackIP(ru.Hostname()) {
			return nil, invalidClient("a loopback client redirects only to http://127.0.0.1 or http://[::1]")
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// matchRedirect reports whether r is one of the client's redirect URIs;
// for loopback addresses any port matches (RFC 8252 §7.3).
func (c *Client) matchRedirect(r string) bool {
	if slices.Contains(c.RedirectURIs, r) {
		return true
	}
	got, err := url.Parse(r)
	if err != nil || got.Scheme != "http" || !loopbackIP(got.Hostname()) {
		return false
	}
	for _, reg := range c.RedirectURIs {
		want, err := url.Parse(reg)
		if err != nil || want.Scheme != "http" || want.Hostname() != got.Hostname() {
			continue
		}
		if want.Port() == "" || want.Port() == got.Port() {
			if want.Path == got.Path || (want.Path == "/" && c.Loopback) || want.Path == "" {
				return true
			}
		}
	}
	return false
}

var errNoKey = errors.New("oauth: no usable client key")

// key finds the client's signing key kid (any ES256 key when kid is "").
func (cs *clients) key(ctx context.Context, c *Client, kid string) (*JWK, error) {
	keys := []JWK(nil)
	if c.JWKS != nil {
		keys = c.JWKS.Keys
	} else if c.JWKSURI != "" {
		body, err := cs.fetch(ctx, c.JWKSURI)
		if err != nil {
			return nil, err
		}
		var set struct {
			Keys []JWK `json:"keys"`
		}
		if json.Unmarshal(body, &set) != nil {
			return nil, fmt.Errorf("%w: jwks_uri is not a key set", errNoKey)
		}
		keys = set.Keys
	}
	for i := range keys {
		k := &keys[i]
		if (kid == "" || k.Kid == kid) && k.Kty == "EC" && k.Crv == "P-256" && k.Use != "enc" {
			return k, nil
		}
	}
	return nil, errNoKey
}
