package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/egress"
)

// Sentinel errors. A network failure or timeout is none of these: it is
// returned as egress.ErrFetchFailed, its detail (the address, the dial
// error) logged and kept out of the text, since whoever chose the name may
// read it back.
var (
	// ErrNotFound: the name has no DID or document (HTTP 404, no record).
	ErrNotFound = errors.New("resolve: not found")
	// ErrDeactivated: the DID existed and was deactivated (HTTP 410, a PLC
	// tombstone). It matches ErrNotFound too.
	ErrDeactivated = fmt.Errorf("%w: deactivated", ErrNotFound)
	// ErrInvalid: the name, or the answer about it, is malformed or
	// ambiguous (conflicting TXT records, a document for another DID).
	ErrInvalid = errors.New("resolve: invalid")
)

// Defaults for the zero values of Resolver's fields.
const (
	DefaultPLCURL     = "https://plc.directory"
	DefaultTTL        = 10 * time.Minute
	DefaultMaxEntries = 4096
	DefaultTimeout    = 10 * time.Second
	DefaultDNSTimeout = 3 * time.Second
)

// Size limits of answers. A DID document of atproto is a few hundred bytes;
// a PLC operation is capped at 7500 bytes of CBOR.
const (
	maxDocument  = 64 << 10
	maxWellKnown = 4 << 10
	maxRedirects = 3
)

// Resolver resolves DIDs and handles. The zero value is ready to use, with
// the defaults above; set the fields before the first call and do not copy
// a Resolver after.
type Resolver struct {
	// PLCURL is the PLC directory, DefaultPLCURL if empty. It is trusted
	// configuration, exempt from the host-name rules of Dev, but it is still
	// dialed through Egress: a local directory needs a Factory that allows
	// private addresses.
	PLCURL string
	// Egress makes the HTTP clients, and with them the guard on the
	// addresses dialed; if nil, a Factory that allows private addresses
	// only in Dev mode. Redirects are narrowed further per request (see Dev).
	Egress *egress.Factory
	// LookupTXT answers DNS TXT queries; net.DefaultResolver's if nil.
	LookupTXT func(ctx context.Context, name string) ([]string, error)
	// TTL is how long an answer is kept; DefaultTTL if zero.
	TTL time.Duration
	// MaxEntries bounds the cache; DefaultMaxEntries if zero.
	MaxEntries int
	// Timeout bounds each HTTP fetch; DefaultTimeout if zero.
	Timeout time.Duration
	// DNSTimeout bounds the TXT lookup; DefaultDNSTimeout if zero.
	DNSTimeout time.Duration
	// Dev allows http:// and local hosts (localhost, private addresses,
	// .test …) for did:web and handles, and a port in did:web:localhost%3A….
	// Otherwise those fetches, and any redirect they follow, must be https
	// to a public host name.
	Dev bool
	// Now is the clock of the cache; time.Now if nil.
	Now func() time.Time

	cache cache

	egressOnce sync.Once
}

func (r *Resolver) egress() *egress.Factory {
	r.egressOnce.Do(func() {
		if r.Egress == nil {
			r.Egress = egress.New(egress.Options{AllowPrivate: r.Dev})
		}
	})
	return r.Egress
}

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (r *Resolver) remember(e *entry) {
	e.until = r.now().Add(orDefault(r.TTL, DefaultTTL))
	r.cache.put(e, orDefault(r.MaxEntries, DefaultMaxEntries))
}

// Forget drops any cached answer for a DID or a handle, so that the next
// lookup asks again: after the owner says they fixed their DNS, say.
func (r *Resolver) Forget(didOrHandle string) {
	r.cache.forget(didOrHandle, handleKey(strings.ToLower(didOrHandle)))
}

func handleKey(h string) string { return "handle:" + h }

// ResolveDID returns the DID document of a did:plc or did:web. The
// document is shared with the cache: treat it as read-only.
func (r *Resolver) ResolveDID(ctx context.Context, did string) (*Document, error) {
	if e, ok := r.cache.get(did, r.now()); ok {
		return e.doc, nil
	}
	u, untrusted, err := r.documentURL(did)
	if err != nil {
		return nil, err
	}
	body, err := r.fetch(ctx, u, maxDocument, untrusted, "application/did+ld+json, application/json")
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", did, err)
	}
	var doc Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: document of %s: %w", ErrInvalid, did, err)
	}
	if doc.ID != did {
		return nil, fmt.Errorf("%w: document of %s is about %q", ErrInvalid, did, doc.ID)
	}
	r.remember(&entry{key: did, doc: &doc})
	return &doc, nil
}

// documentURL says where the document of did lives, and whether the
// address came from the DID's owner (and so gets the untrusted-host rules).
func (r *Resolver) documentURL(did string) (u string, untrusted bool, err error) {
	switch {
	case strings.HasPrefix(did, "did:plc:"):
		if _, err := identity.ParsePLC(did); err != nil {
			return "", false, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return strings.TrimSuffix(orString(r.PLCURL, DefaultPLCURL), "/") + "/" + did, false, nil
	case strings.HasPrefix(did, "did:web:"):
		if _, err := identity.ParseWeb(did); err != nil {
			return "", false, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		host, port, hasPort := strings.Cut(strings.TrimPrefix(did, "did:web:"), "%3A")
		switch {
		case hasPort && !r.Dev:
			return "", false, fmt.Errorf("%w: %s: a port in did:web is for development only", ErrInvalid, did)
		case hasPort && !validPort(port):
			return "", false, fmt.Errorf("%w: %s: bad port", ErrInvalid, did)
		case hasPort:
			return "http://" + net.JoinHostPort(host, port) + "/.well-known/did.json", true, nil
		case IsPublicHost(host):
			return "https://" + host + "/.well-known/did.json", true, nil
		case r.Dev:
			return "http://" + host + "/.well-known/did.json", true, nil
		}
		return "", false, fmt.Errorf("%w: %s: not a public host name", ErrInvalid, did)
	}
	if _, err := identity.ParseDID(did); err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return "", false, fmt.Errorf("%w: %s: atproto uses did:plc and did:web only", ErrInvalid, did)
}

func validPort(p string) bool {
	if len(p) == 0 || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ResolveHandle returns the DID a handle claims, from its DNS TXT record
// _atproto.<handle> or else from https://<handle>/.well-known/atproto-did.
// Several TXT records naming different DIDs are an error (ErrInvalid), not a
// reason to try HTTPS. The caller must still check that the DID's document
// names the handle back.
func (r *Resolver) ResolveHandle(ctx context.Context, handle string) (string, error) {
	parsed, err := identity.ParseHandle(handle)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h := string(parsed.Normalize())
	if !r.Dev && !IsPublicHost(h) {
		return "", fmt.Errorf("%w: handle %s is under a reserved or local name", ErrInvalid, h)
	}
	if e, ok := r.cache.get(handleKey(h), r.now()); ok {
		return e.did, nil
	}
	did, dnsErr := r.handleFromDNS(ctx, h)
	if errors.Is(dnsErr, ErrInvalid) {
		return "", dnsErr
	}
	if did == "" {
		var err error
		did, err = r.handleFromWellKnown(ctx, h)
		if errors.Is(err, ErrInvalid) {
			return "", err
		}
		if err != nil {
			if dnsErr != nil {
				err = fmt.Errorf("%w; DNS: %w", err, dnsErr)
			}
			return "", fmt.Errorf("%w: handle %s: %w", ErrNotFound, h, err)
		}
	}
	r.remember(&entry{key: handleKey(h), did: did})
	return did, nil
}

// handleFromDNS returns the DID of the single did= TXT record, "" if there
// is none, or an error wrapping ErrInvalid if records disagree. Identical
// duplicates count once; values that are not an atproto DID are ignored.
func (r *Resolver) handleFromDNS(ctx context.Context, h string) (string, error) {
	lookup := r.LookupTXT
	if lookup == nil {
		lookup = net.DefaultResolver.LookupTXT
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(r.DNSTimeout, DefaultDNSTimeout))
	defer cancel()
	txts, err := lookup(ctx, "_atproto."+h)
	if err != nil {
		return "", fmt.Errorf("TXT _atproto.%s: %w", h, err)
	}
	var found string
	for _, t := range txts {
		v, ok := strings.CutPrefix(t, "did=")
		if !ok || !isAtprotoDID(v) {
			continue
		}
		if found != "" && found != v {
			return "", fmt.Errorf("%w: _atproto.%s names both %s and %s", ErrInvalid, h, found, v)
		}
		found = v
	}
	return found, nil
}

func (r *Resolver) handleFromWellKnown(ctx context.Context, h string) (string, error) {
	scheme := "https://"
	if r.Dev && !IsPublicHost(h) {
		scheme = "http://"
	}
	body, err := r.fetch(ctx, scheme+h+"/.well-known/atproto-did", maxWellKnown, true, "text/plain")
	if err != nil {
		return "", err
	}
	did := strings.TrimSpace(string(body))
	if !isAtprotoDID(did) {
		return "", fmt.Errorf("%w: https://%s/.well-known/atproto-did does not hold a DID", ErrInvalid, h)
	}
	return did, nil
}

// isAtprotoDID reports a syntactically valid did:plc or did:web, the only
// methods atproto accepts.
func isAtprotoDID(s string) bool {
	if _, err := identity.ParsePLC(s); err == nil {
		return true
	}
	_, err := identity.ParseWeb(s)
	return err == nil
}

// fetch GETs u and returns at most limit bytes of a 2xx answer. untrusted
// marks an address chosen by whoever owns the name being resolved: it and
// every redirect must then pass checkURL.
func (r *Resolver) fetch(ctx context.Context, u string, limit int64, untrusted bool, accept string) ([]byte, error) {
	if untrusted {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if err := r.checkURL(parsed); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(r.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	req.Header.Set("Accept", accept)
	res, err := r.client(untrusted).Do(req)
	if err != nil {
		return nil, r.egress().Redact(err, "url", u)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s answered %d", ErrNotFound, u, res.StatusCode)
	case res.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%w: %s answered %d", ErrDeactivated, u, res.StatusCode)
	case res.StatusCode/100 != 2:
		return nil, fmt.Errorf("%s answered %d", u, res.StatusCode)
	}
	body, err := io.ReadAll(egress.LimitBody(res.Body, limit))
	if errors.Is(err, egress.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %s answered more than %d bytes", ErrInvalid, u, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", u, r.egress().Redact(err, "url", u))
	}
	return body, nil
}

// client is a guarded client from r.Egress: at most maxRedirects hops, each
// dialed through the address guard and, when untrusted, also to a URL
// checkURL accepts.
func (r *Resolver) client(untrusted bool) *http.Client {
	c := r.egress().Client(egress.Use{Timeout: orDefault(r.Timeout, DefaultTimeout), MaxRedirects: maxRedirects})
	if untrusted {
		next := c.CheckRedirect
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if err := next(req, via); err != nil {
				return err
			}
			return r.checkURL(req.URL)
		}
	}
	return c
}

// checkURL holds an owner-chosen address to https and a public host name,
// unless in development mode.
func (r *Resolver) checkURL(u *url.URL) error {
	if r.Dev {
		if u.Scheme != "https" && u.Scheme != "http" {
			return fmt.Errorf("%w: %s: scheme %q", ErrInvalid, u.Redacted(), u.Scheme)
		}
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%w: %s: https is required", ErrInvalid, u.Redacted())
	}
	if !IsPublicHost(u.Hostname()) {
		return fmt.Errorf("%w: %s: not a public host name", ErrInvalid, u.Redacted())
	}
	return nil
}
