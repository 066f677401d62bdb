package xrpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// Headers a client may send on to a service, and a service back.
var (
	forwardRequestHeaders = []string{
		"Accept", "Accept-Language", "Accept-Encoding", "Atproto-Accept-Labelers", "Content-Type",
		"Content-Encoding", "Content-Length", "If-None-Match", "If-Modified-Since", "X-Bsky-Topics",
	}
	forwardResponseHeaders = []string{
		"Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Atproto-Content-Labelers",
		"Atproto-Repo-Rev", "Cache-Control", "ETag", "Last-Modified", "Vary", "Retry-After",
		"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy",
	}
)

// proxyClient dials through the egress guard: only public addresses (any
// in dev mode), so a DID document cannot aim Hearth at the owner's home
// network. It follows no redirect: the service's redirects are the client's
// business, not ours. The request's context bounds each exchange.
func (s *Server) proxyClient() *http.Client {
	return egress.New(egress.Options{AllowPrivate: s.cfg.Dev, Log: s.log}).Client(egress.Use{MaxRedirects: 0})
}

// resolveService turns "did#service_id" into the audience DID and the
// service's endpoint URL.
func (s *Server) resolveService(ctx context.Context, ref string) (aud, endpoint string, err error) {
	did, id, ok := strings.Cut(ref, "#")
	if !ok || id == "" {
		return "", "", invalidRequest("atproto-proxy must be did#service_id, got %q", ref)
	}
	if _, err := identity.ParseDID(did); err != nil {
		return "", "", invalidRequest("atproto-proxy: %q is not a DID", did)
	}
	doc, err := s.resolver.ResolveDID(ctx, did)
	if err != nil {
		// The detail may say where the DID's host points: log it only.
		s.log.Info("proxy: could not resolve the service DID", "did", did, "err", err)
		return "", "", errorf(http.StatusBadRequest, "InvalidRequest", "could not resolve the proxy DID %s", did)
	}
	ep, ok := doc.ServiceEndpoint(id)
	if !ok {
		return "", "", errorf(http.StatusBadRequest, "InvalidRequest", "%s has no service #%s", did, id)
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(s.cfg.Dev && u.Scheme == "http")) {
		return "", "", errorf(http.StatusBadRequest, "InvalidRequest", "service #%s of %s has an unusable endpoint %q (https required)", id, did, ep)
	}
	return did, strings.TrimSuffix(ep, "/"), nil
}

// proxiable reports whether a method Hearth does not serve may go to another
// service. com.atproto belongs to the PDS: a method of it that Hearth lacks
// is answered here, never forwarded with a token signed by the caller. Only
// labels and reports, which labelers and moderation services serve, go out.
func proxiable(nsid string) bool {
	return !strings.HasPrefix(nsid, "com.atproto.") ||
		strings.HasPrefix(nsid, "com.atproto.label.") || strings.HasPrefix(nsid, "com.atproto.moderation.")
}

// defaultService picks where a method goes without an atproto-proxy header.
func (s *Server) defaultService(nsid string) string {
	switch {
	case strings.HasPrefix(nsid, "chat.bsky."):
		return s.cfg.Chat
	case nsid == "com.atproto.moderation.createReport":
		return s.cfg.ReportService
	}
	return s.cfg.AppView
}

// proxy forwards a method Hearth does not serve to the service named by the
// atproto-proxy header or the default for its namespace, with a service-auth
// token for the caller.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, nsid string) {
	fail := s.proxyFail(w, nsid)
	if _, err := syntax.ParseNSID(nsid); err != nil || !proxiable(nsid) {
		writeError(w, errorf(http.StatusNotImplemented, "MethodNotImplemented", "Method Not Implemented: %s", nsid))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		fail(errorf(http.StatusMethodNotAllowed, "InvalidRequest", "only GET, HEAD and POST are proxied"))
		return
	}
	a, err := s.authenticate(r, authAccess)
	if err == nil && a.Takendown {
		err = errorf(http.StatusUnauthorized, "AccountTakedown", "Account has been taken down")
	}
	if err != nil {
		fail(err)
		return
	}
	if err := checkScopeFor(a, nsid); err != nil {
		fail(err)
		return
	}
	if err := s.allow(a, s.proxyNeed(r, nsid)); err != nil {
		fail(err)
		return
	}
	acct, err := s.loadAccount(a.DID)
	if err != nil {
		fail(err)
		return
	}
	s.forward(w, r, nsid, acct)
}

// proxyFail answers a call that could not be forwarded, logging what is
// not a known refusal.
func (s *Server) proxyFail(w http.ResponseWriter, nsid string) func(error) {
	return func(err error) {
		xe, known := asXRPC(err)
		if !known {
			s.log.Error("proxy failed", "nsid", nsid, "err", err)
		}
		writeError(w, xe)
	}
}

// forward sends the call on to its service and streams the answer back.
// acct is the caller, for whom a service token is signed; nil is an
// anonymous read (getRecord of a repo hosted elsewhere), sent without one.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, nsid string, acct *store.Account) {
	fail := s.proxyFail(w, nsid)
	t, err := s.proxyTarget(r, nsid, acct)
	if err != nil {
		fail(err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	merge := acct != nil && readAfterWriteMethods[nsid]
	out, err := s.outbound(ctx, w, r, nsid, t, merge)
	if err != nil {
		fail(err)
		return
	}
	res, err := s.proxyHTTP.Do(out)
	if err != nil {
		// The dial error names the address the endpoint led to, and why
		// it failed: a scanner of the local network. Log it only.
		s.log.Info("proxy: service unreachable", "nsid", nsid, "service", t.aud, "endpoint", t.endpoint, "err", err)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			fail(errorf(http.StatusGatewayTimeout, "UpstreamTimeout", "the service did not answer in time"))
			return
		}
		fail(errorf(http.StatusBadGateway, "UpstreamFailure", "could not reach the service"))
		return
	}
	defer res.Body.Close()
	if res.StatusCode >= 500 {
		// The service's own failure page may say what runs behind it; the
		// caller learns only that it failed, as from the reference.
		s.log.Info("proxy: service failed", "nsid", nsid, "service", t.aud, "status", res.StatusCode)
		fail(errorf(http.StatusBadGateway, "UpstreamFailure", "the service failed to answer"))
		return
	}
	if res.ContentLength > s.proxyLimit {
		s.log.Info("proxy: answer too large", "nsid", nsid, "service", t.aud, "bytes", res.ContentLength)
		fail(errorf(http.StatusBadGateway, "UpstreamFailure", "the service's answer is over %d bytes", s.proxyLimit))
		return
	}
	// An answer of unannounced length is cut at the cap while it streams.
	res.Body = &cappedBody{ReadCloser: res.Body, left: s.proxyLimit}
	for _, h := range forwardResponseHeaders {
		if v := res.Header.Values(h); len(v) > 0 {
			w.Header()[http.CanonicalHeaderKey(h)] = v
		}
	}
	if merge {
		s.answerMerged(w, r, res, nsid, acct)
		return
	}
	w.WriteHeader(res.StatusCode)
	s.relay(w, res.Body, nsid)
}

// proxyTarget is where a call goes and what it carries there.
type proxyTarget struct {
	aud, endpoint string
	token         string // the caller's service token; empty for an anonymous call
}

// proxyTarget resolves the service a call is for, from its Atproto-Proxy
// header or the method's default, and signs the caller's service token.
func (s *Server) proxyTarget(r *http.Request, nsid string, acct *store.Account) (proxyTarget, error) {
	ref := r.Header.Get("Atproto-Proxy")
	if acct == nil {
		// Anyone may call anonymously: they do not get to aim Hearth's
		// requests at a service of their choosing.
		ref = ""
	}
	if ref == "" {
		ref = s.defaultService(nsid)
	}
	if ref == "" {
		return proxyTarget{}, errorf(http.StatusNotImplemented, "MethodNotImplemented", "Method Not Implemented: %s (no service configured for it)", nsid)
	}
	aud, endpoint, err := s.resolveService(r.Context(), ref)
	if err != nil {
		return proxyTarget{}, err
	}
	t := proxyTarget{aud: aud, endpoint: endpoint}
	if acct == nil {
		return t, nil
	}
	tokAud, lxm := aud, nsid
	if nsid == "app.bsky.feed.getFeed" && r.Header.Get("Atproto-Proxy") == "" {
		// The AppView passes this token on to the feed generator.
		gen, err := s.feedGenerator(r.Context(), acct.DID, endpoint, aud, r.URL.Query().Get("feed"))
		if err != nil {
			return proxyTarget{}, err
		}
		tokAud, lxm = gen, "app.bsky.feed.getFeedSkeleton"
	}
	if t.token, err = s.serviceToken(acct, tokAud, lxm, s.now().Add(time.Minute)); err != nil {
		return proxyTarget{}, err
	}
	return t, nil
}

// outbound is the request forwarding r to t: the body of a POST (capped at
// the blob limit), the headers that pass through, and the service token.
// A call whose answer may be merged with local writes asks for it
// uncompressed.
func (s *Server) outbound(ctx context.Context, w http.ResponseWriter, r *http.Request, nsid string, t proxyTarget, merge bool) (*http.Request, error) {
	var body io.Reader
	if r.Method == http.MethodPost {
		body = http.MaxBytesReader(w, r.Body, s.blobs.Limit)
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, t.endpoint+"/xrpc/"+nsid+"?"+r.URL.RawQuery, body)
	if err != nil {
		return nil, err
	}
	for _, h := range forwardRequestHeaders {
		if h == "Accept-Encoding" && merge {
			continue // we may rewrite the answer, so take it uncompressed
		}
		if v := r.Header.Values(h); len(v) > 0 {
			out.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	out.ContentLength = r.ContentLength
	if t.token != "" {
		out.Header.Set("Authorization", "Bearer "+t.token)
	}
	return out, nil
}

// answerMerged answers a read-after-write method: an answer that names the
// repo rev it saw, uncompressed and small enough, is merged with the
// caller's writes since; any other is relayed as it came.
func (s *Server) answerMerged(w http.ResponseWriter, r *http.Request, res *http.Response, nsid string, acct *store.Account) {
	rev := res.Header.Get("Atproto-Repo-Rev")
	if rev == "" || res.Header.Get("Content-Encoding") != "" || res.ContentLength > maxMergedBody {
		w.WriteHeader(res.StatusCode)
		s.relay(w, res.Body, nsid)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxMergedBody+1))
	if err != nil || len(raw) > maxMergedBody {
		w.WriteHeader(res.StatusCode)
		w.Write(raw)
		s.relay(w, res.Body, nsid)
		return
	}
	status, merged := s.mergeLocal(nsid, acct.DID, acct.Handle, r.URL.Query(), rev, res.StatusCode, raw)
	if status != res.StatusCode || len(merged) != len(raw) {
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	w.Write(merged)
}

// errProxyTooLarge is an answer that grew past the proxy's cap.
var errProxyTooLarge = errors.New("xrpc: proxied answer over the size cap")

// cappedBody reads at most left bytes, then fails with errProxyTooLarge.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Over only if there is more; a body of exactly the cap is fine.
		n, err := b.ReadCloser.Read(make([]byte, 1))
		if n > 0 {
			return 0, errProxyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// relay streams the rest of an answer whose status is already sent. If it
// cannot be sent whole (over the cap, service gone), the connection is
// aborted: a cut answer must not look complete to the client.
func (s *Server) relay(w http.ResponseWriter, body io.Reader, nsid string) {
	if _, err := io.Copy(w, body); err != nil {
		s.log.Info("proxy: answer cut", "nsid", nsid, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// feedGenerator finds the DID of the generator behind a feed URI by asking
// the AppView.
func (s *Server) feedGenerator(ctx context.Context, did, appview, appviewDID, feed string) (string, error) {
	if _, err := syntax.ParseATURI(feed); err != nil {
		return "", invalidRequest("feed must be an at-uri")
	}
	acct, err := s.loadAccount(did)
	if err != nil {
		return "", err
	}
	tok, err := s.serviceToken(acct, appviewDID, "app.bsky.feed.getFeedGenerator", s.now().Add(time.Minute))
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, appview+"/xrpc/app.bsky.feed.getFeedGenerator?feed="+url.QueryEscape(feed), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := s.proxyHTTP.Do(req)
	if err != nil {
		s.log.Info("proxy: feed generator lookup failed", "feed", feed, "err", err)
		return "", errorf(http.StatusBadGateway, "UpstreamFailure", "could not look up the feed generator")
	}
	defer res.Body.Close()
	var out struct {
		View struct {
			DID string `json:"did"`
		} `json:"view"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out) != nil || out.View.DID == "" {
		return "", errorf(http.StatusBadRequest, "UnknownFeed", "could not resolve the feed generator of %s", feed)
	}
	return out.View.DID, nil
}
