package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/keys"
)

// Sentinel errors.
var (
	ErrNotFound = errors.New("resolve: not found")
	ErrInvalid  = errors.New("resolve: invalid answer")
)

// Document is a DID document, as far as atproto reads it.
type Document struct {
	Context            any                  `json:"@context,omitempty"`
	ID                 string               `json:"id"`
	AlsoKnownAs        []string             `json:"alsoKnownAs,omitempty"`
	VerificationMethod []VerificationMethod `json:"verificationMethod,omitempty"`
	Service            []Service            `json:"service,omitempty"`
}

// VerificationMethod is a key entry.
type VerificationMethod struct {
	ID                 string `json:"id"`
	Type               string `json:"type"`
	Controller         string `json:"controller"`
	PublicKeyMultibase string `json:"publicKeyMultibase"`
}

// Service is a service entry.
type Service struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	ServiceEndpoint any    `json:"serviceEndpoint"`
}

func (d *Document) matches(id, frag string) bool {
	return id == "#"+frag || id == d.ID+"#"+frag
}

// Handle is the first at:// alias.
func (d *Document) Handle() (string, bool) {
	for _, a := range d.AlsoKnownAs {
		if h, ok := strings.CutPrefix(a, "at://"); ok {
			return h, true
		}
	}
	return "", false
}

// SigningKey is the #atproto verification key.
func (d *Document) SigningKey() (keys.PublicKey, error) {
	for _, vm := range d.VerificationMethod {
		if !d.matches(vm.ID, "atproto") {
			continue
		}
		switch vm.Type {
		case "Multikey":
			return keys.ParseMultibase(vm.PublicKeyMultibase)
		case "EcdsaSecp256k1VerificationKey2019":
			return keys.ParseMultibaseBare(vm.PublicKeyMultibase, keys.K256)
		case "EcdsaSecp256r1VerificationKey2019":
			return keys.ParseMultibaseBare(vm.PublicKeyMultibase, keys.P256)
		}
		return nil, fmt.Errorf("%w: key type %q", ErrInvalid, vm.Type)
	}
	return nil, fmt.Errorf("%w: no #atproto key", ErrNotFound)
}

// Service returns the endpoint of the service with that id ("atproto_pds"
// or "#atproto_pds").
func (d *Document) ServiceEndpoint(id string) (string, bool) {
	id = strings.TrimPrefix(id, "#")
	for _, s := range d.Service {
		if d.matches(s.ID, id) {
			if ep, ok := s.ServiceEndpoint.(string); ok {
				return ep, true
			}
		}
	}
	return "", false
}

// PDSEndpoint is the #atproto_pds endpoint.
func (d *Document) PDSEndpoint() (string, bool) { return d.ServiceEndpoint("atproto_pds") }

// Resolver resolves DIDs and handles. The zero value works, with defaults.
type Resolver struct {
	PLCURL    string
	HTTP      *http.Client
	LookupTXT func(ctx context.Context, name string) ([]string, error)
	TTL       time.Duration
	Dev       bool // http:// and localhost allowed for did:web and handles
	Now       func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	doc   *Document
	did   string
	until time.Time
}

const maxCache = 1024

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Resolver) lookup(key string) (cached, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cache[key]
	if ok && r.now().After(c.until) {
		delete(r.cache, key)
		return cached{}, false
	}
	return c, ok
}

func (r *Resolver) store(key string, c cached) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache == nil {
		r.cache = map[string]cached{}
	}
	if len(r.cache) >= maxCache {
		for k := range r.cache { // evict an arbitrary entry
			delete(r.cache, k)
			break
		}
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	c.until = r.now().Add(ttl)
	r.cache[key] = c
}

// Forget drops cached answers for a DID or handle.
func (r *Resolver) Forget(key string) {
	r.mu.Lock()
	delete(r.cache, "did:"+key)
	delete(r.cache, "handle:"+key)
	r.mu.Unlock()
}

func (r *Resolver) client() *http.Client {
	if r.HTTP != nil {
		return r.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (r *Resolver) getJSON(ctx context.Context, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := r.client().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone {
		return ErrNotFound
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 256<<10)).Decode(v)
}

// ResolveDID fetches the DID document of did.
func (r *Resolver) ResolveDID(ctx context.Context, did string) (*Document, error) {
	if c, ok := r.lookup("did:" + did); ok {
		return c.doc, nil
	}
	d, err := identity.ParseDID(did)
	if err != nil {
		return nil, err
	}
	var url string
	switch {
	case d.IsPLC():
		base := r.PLCURL
		if base == "" {
			base = "https://plc.directory"
		}
		url = strings.TrimSuffix(base, "/") + "/" + did
	case d.IsWeb():
		host := strings.TrimPrefix(did, "did:web:")
		if strings.Contains(host, ":") {
			return nil, fmt.Errorf("%w: did:web with a path is not supported", ErrInvalid)
		}
		host = strings.ReplaceAll(host, "%3A", ":")
		scheme := "https://"
		if r.Dev && isLocal(host) {
			scheme = "http://"
		} else if strings.Contains(host, ":") {
			return nil, fmt.Errorf("%w: a port in did:web is only allowed in dev mode", ErrInvalid)
		}
		url = scheme + host + "/.well-known/did.json"
	default:
		return nil, fmt.Errorf("%w: DID method %q is not supported", ErrInvalid, d.Method())
	}
	var doc Document
	if err := r.getJSON(ctx, url, &doc); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, did)
		}
		return nil, fmt.Errorf("resolve %s: %w", did, err)
	}
	if doc.ID != did {
		return nil, fmt.Errorf("%w: document of %s names %q", ErrInvalid, did, doc.ID)
	}
	r.store("did:"+did, cached{doc: &doc})
	return &doc, nil
}

// ResolveHandle finds the DID a handle claims, by DNS TXT record
// _atproto.<handle> ("did=…", exactly one) or, failing that, by
// https://<handle>/.well-known/atproto-did.
func (r *Resolver) ResolveHandle(ctx context.Context, handle string) (string, error) {
	h, err := identity.ParseHandle(strings.ToLower(handle))
	if err != nil {
		return "", err
	}
	if c, ok := r.lookup("handle:" + string(h)); ok {
		return c.did, nil
	}
	did, err := r.handleDNS(ctx, string(h))
	if errors.Is(err, ErrInvalid) {
		return "", err // conflicting records: ambiguous, not absent
	}
	if err != nil || did == "" {
		did, err = r.handleHTTP(ctx, string(h))
	}
	if err != nil {
		return "", err
	}
	r.store("handle:"+string(h), cached{did: did})
	return did, nil
}

func (r *Resolver) handleDNS(ctx context.Context, handle string) (string, error) {
	lookup := r.LookupTXT
	if lookup == nil {
		lookup = net.DefaultResolver.LookupTXT
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	txts, err := lookup(ctx, "_atproto."+handle)
	if err != nil {
		return "", err
	}
	var found []string
	for _, t := range txts {
		if v, ok := strings.CutPrefix(strings.TrimSpace(t), "did="); ok {
			if _, err := identity.ParseDID(v); err == nil {
				found = append(found, v)
			}
		}
	}
	if len(found) > 1 {
		return "", fmt.Errorf("%w: _atproto.%s has %d did= records", ErrInvalid, handle, len(found))
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], nil
}

func (r *Resolver) handleHTTP(ctx context.Context, handle string) (string, error) {
	scheme := "https://"
	if r.Dev && isLocal(handle) {
		scheme = "http://"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+handle+"/.well-known/atproto-did", nil)
	if err != nil {
		return "", err
	}
	res, err := r.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrNotFound, handle, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return "", fmt.Errorf("%w: %s: status %d", ErrNotFound, handle, res.StatusCode)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 2048+1))
	did := strings.TrimSpace(string(body))
	if _, err := identity.ParseDID(did); err != nil {
		return "", fmt.Errorf("%w: %s: well-known answer is not a DID", ErrInvalid, handle)
	}
	return did, nil
}

func isLocal(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".test") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate())
}
