package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

// Permission sets that are not among the embedded lexicons are resolved
// the way the Lexicon spec publishes schemas: the NSID's authority (its
// domain part, reversed) names a DNS TXT record _lexicon.<authority>
// holding did=<DID>; that DID's PDS holds the schema as the
// com.atproto.lexicon.schema record whose rkey is the NSID.
//
// This happens at PAR time only. What a set granted then is written into
// the request and its grant (Permissions.Expanded), so the resource server
// never resolves anything and a grant does not change under the account
// holder's feet when a set is republished.
//
// Answers are cached in memory, found or not: the cache only spares the
// network, since grants keep their own copy, and a bbolt cache would cost
// a write per PAR and grow with NSIDs an anonymous caller chooses.
const (
	setTimeout     = 5 * time.Second
	setTTL         = time.Hour
	setFailTTL     = 5 * time.Minute
	maxCachedSets  = 1000
	maxSetDocument = 64 << 10
	// maxNetworkSets bounds the network work one anonymous PAR can cause.
	maxNetworkSets = 4
	schemaNSID     = "com.atproto.lexicon.schema"
)

// ErrNoSet is a permission set that could not be resolved.
var ErrNoSet = errors.New("oauth: permission set not resolved")

type cachedSet struct {
	def *lexicon.Def // nil: not resolvable
	err error
	exp time.Time
}

// publishedSets resolves and caches permission sets over the network.
type publishedSets struct {
	dids      *resolve.Resolver // DID documents, and the TXT lookup
	http      *http.Client      // guarded egress client, no redirects
	allowHTTP bool              // dev mode: a PDS on http
	now       func() time.Time

	mu    sync.Mutex
	cache map[string]cachedSet
}

// get returns the permission set nsid, from the cache or the network.
func (ps *publishedSets) get(ctx context.Context, nsid string) (*lexicon.Def, error) {
	now := ps.now()
	ps.mu.Lock()
	c, ok := ps.cache[nsid]
	ps.mu.Unlock()
	if ok && now.Before(c.exp) {
		return c.def, c.err
	}
	def, err := ps.resolve(ctx, nsid)
	if ctx.Err() != nil {
		// The caller gave up (a PAR cancelled): that says nothing of
		// the set, so the next request asks again.
		return def, err
	}
	c = cachedSet{def: def, err: err, exp: now.Add(setTTL)}
	if err != nil {
		c.exp = now.Add(setFailTTL)
	}
	ps.mu.Lock()
	if len(ps.cache) >= maxCachedSets {
		for k, v := range ps.cache {
			if !now.Before(v.exp) {
				delete(ps.cache, k)
			}
		}
		if len(ps.cache) >= maxCachedSets {
			clear(ps.cache)
		}
	}
	ps.cache[nsid] = c
	ps.mu.Unlock()
	return def, err
}

func (ps *publishedSets) resolve(ctx context.Context, nsid string) (*lexicon.Def, error) {
	ctx, cancel := context.WithTimeout(ctx, setTimeout)
	defer cancel()
	did, err := ps.authority(ctx, nsid)
	if err != nil {
		return nil, err
	}
	doc, err := ps.dids.ResolveDID(ctx, did)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: the DID of its authority does not resolve", ErrNoSet, nsid)
	}
	pds, ok := doc.PDSEndpoint()
	u, err := url.Parse(pds)
	if !ok || err != nil || u.Host == "" || !(u.Scheme == "https" || ps.allowHTTP && u.Scheme == "http") {
		return nil, fmt.Errorf("%w: %s: its authority has no usable PDS", ErrNoSet, nsid)
	}
	key, err := doc.SigningKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: the DID document of its authority has no signing key", ErrNoSet, nsid)
	}
	q := url.Values{"did": {did}, "collection": {schemaNSID}, "rkey": {nsid}}
	proof, err := fetchProof(ctx, ps.http, strings.TrimSuffix(pds, "/")+"/xrpc/com.atproto.sync.getRecord?"+q.Encode(), maxSetDocument)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: the schema record: %w", ErrNoSet, nsid, err)
	}
	return VerifyPermissionSetProof(nsid, did, key, proof)
}

// authority finds the DID that publishes nsid's schemas, from the one
// did= value of the TXT record _lexicon.<authority>. The spec walks no
// parent domains.
func (ps *publishedSets) authority(ctx context.Context, nsid string) (string, error) {
	parts := strings.Split(strings.ToLower(nsid), ".")
	parts = parts[:len(parts)-1]
	slices.Reverse(parts)
	name := "_lexicon." + strings.Join(parts, ".")
	lookup := ps.dids.LookupTXT
	if lookup == nil {
		lookup = net.DefaultResolver.LookupTXT
	}
	txts, err := lookup(ctx, name)
	if err != nil {
		return "", fmt.Errorf("%w: %s: no TXT record %s", ErrNoSet, nsid, name)
	}
	var did string
	for _, t := range txts {
		v, ok := strings.CutPrefix(strings.TrimSpace(t), "did=")
		if !ok || !(strings.HasPrefix(v, "did:plc:") || strings.HasPrefix(v, "did:web:")) {
			continue
		}
		if did != "" && did != v {
			return "", fmt.Errorf("%w: %s: %s names two DIDs", ErrNoSet, nsid, name)
		}
		did = v
	}
	if did == "" {
		return "", fmt.Errorf("%w: %s: %s holds no did=", ErrNoSet, nsid, name)
	}
	return did, nil
}

// includes lists the NSIDs of the include: entries of a scope.
func includes(scope string) []string {
	var out []string
	for _, s := range strings.Fields(scope) {
		res, pos, q, ok := splitScope(s)
		if !ok || res != "include" {
			continue
		}
		for _, n := range withPos(pos, q["nsid"]) {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// scopeSets returns what resolves the permission sets of scope: the
// embedded lexicons first, then the network. A set that resolves in
// neither is an invalid_scope.
func (s *Server) scopeSets(ctx context.Context, scope string) (SetResolver, error) {
	var remote []string
	for _, n := range includes(scope) {
		if !validNSID(n) {
			return nil, oerr(http.StatusBadRequest, "invalid_scope", "%q is not a permission set's NSID", n)
		}
		if s.d.Sets != nil {
			if _, ok := s.d.Sets(n); ok {
				continue
			}
		}
		if s.sets == nil {
			return nil, oerr(http.StatusBadRequest, "invalid_scope", "the permission set %s is unknown here", n)
		}
		remote = append(remote, n)
	}
	if len(remote) > maxNetworkSets {
		return nil, oerr(http.StatusBadRequest, "invalid_scope",
			"the scope names %d permission sets published elsewhere; at most %d may be asked for at once", len(remote), maxNetworkSets)
	}
	found := map[string]*lexicon.Def{}
	for _, n := range remote {
		def, err := s.sets.get(ctx, n)
		if err != nil {
			s.d.Log.Info("oauth permission set not resolved", "nsid", n, "err", err)
			return nil, oerr(http.StatusBadRequest, "invalid_scope", "the permission set %s could not be resolved", n)
		}
		found[n] = def
	}
	return func(nsid string) (*lexicon.Def, bool) {
		if d, ok := found[nsid]; ok {
			return d, true
		}
		if s.d.Sets != nil {
			return s.d.Sets(nsid)
		}
		return nil, false
	}, nil
}
