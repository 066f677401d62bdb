package oauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DPoP proofs (RFC 9449). Server nonces are an HMAC of the current time
// window under a key made at each start: a nonce is good in its window
// and the next, so it lives at most 2×nonceWindow (4 minutes) and rotates
// every nonceWindow. After a restart no old nonce verifies, so the replay
// cache of proof ids can live in memory: a proof from before the restart
// carries a nonce that is refused.
const (
	nonceWindow = 2 * time.Minute
	// proofMaxAge and proofMaxSkew bound a proof's iat.
	proofMaxAge  = 2 * nonceWindow
	proofMaxSkew = time.Minute
	maxJTIs      = 200000
)

type dpop struct {
	key []byte
	now func() time.Time

	mu   sync.Mutex
	jtis map[string]time.Time // proof id → when it may be forgotten
}

func newDPoP(now func() time.Time) *dpop {
	key := make([]byte, 32)
	rand.Read(key)
	return &dpop{key: key, now: now, jtis: map[string]time.Time{}}
}

func (d *dpop) nonceAt(window int64) string {
	m := hmac.New(sha256.New, d.key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(window))
	m.Write(b[:])
	return b64.EncodeToString(m.Sum(nil)[:18])
}

func (d *dpop) window() int64 { return d.now().UnixNano() / int64(nonceWindow) }

// Nonce is the nonce to hand out now.
func (d *dpop) Nonce() string { return d.nonceAt(d.window()) }

func (d *dpop) validNonce(n string) bool {
	w := d.window()
	return n != "" && (hmac.Equal([]byte(n), []byte(d.nonceAt(w))) || hmac.Equal([]byte(n), []byte(d.nonceAt(w-1))))
}

// proof is a verified DPoP proof.
type proof struct {
	JKT string
	JWK *JWK
}

// check verifies the DPoP header of r for a request to htu (the public
// URL of the endpoint, without query). accessToken is "" at the
// authorization server, and the token the proof must hash (ath) at the
// resource server.
func (d *dpop) check(r *http.Request, htu, accessToken string) (*proof, error) {
	vals := r.Header.Values("DPoP")
	if len(vals) != 1 {
		return nil, invalidProof("exactly one DPoP header is required")
	}
	t, err := parseJWS(vals[0])
	if err != nil {
		return nil, invalidProof("DPoP proof is not a JWT")
	}
	if t.Header.Typ != "dpop+jwt" {
		return nil, invalidProof("DPoP proof typ must be dpop+jwt")
	}
	if t.Header.Alg != "ES256" {
		return nil, invalidProof("DPoP proof alg must be ES256")
	}
	pub, err := t.Header.JWK.publicKey()
	if err != nil {
		return nil, invalidProof("DPoP proof jwk must be a public P-256 key")
	}
	if err := t.verifyES256(pub); err != nil {
		return nil, invalidProof("DPoP proof signature does not verify")
	}
	c := &t.Claims
	if c.Htm != r.Method {
		return nil, invalidProof("DPoP proof htm %q does not match the method", c.Htm)
	}
	if !sameHTU(c.Htu, htu) {
		return nil, invalidProof("DPoP proof htu does not match the URL")
	}
	now := d.now()
	iat := time.Unix(c.Iat, 0)
	if c.Iat == 0 || iat.Before(now.Add(-proofMaxAge)) || iat.After(now.Add(proofMaxSkew)) {
		return nil, invalidProof("DPoP proof is too old or from the future")
	}
	if accessToken != "" && c.Ath != sha256b64(accessToken) {
		return nil, invalidProof("DPoP proof ath does not match the access token")
	}
	if !d.validNonce(c.Nonce) {
		e := oerr(http.StatusBadRequest, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof")
		e.Nonce = true
		return nil, e
	}
	if c.Jti == "" || len(c.Jti) > 256 || !d.fresh(c.Jti, now) {
		return nil, invalidProof("DPoP proof was replayed")
	}
	return &proof{JKT: t.Header.JWK.Thumbprint(), JWK: t.Header.JWK}, nil
}

// fresh records jti and reports whether it was unseen.
func (d *dpop) fresh(jti string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.jtis) >= maxJTIs {
		for k, exp := range d.jtis {
			if now.After(exp) {
				delete(d.jtis, k)
			}
		}
		if len(d.jtis) >= maxJTIs {
			return false // under a flood, refuse rather than forget
		}
	}
	if exp, seen := d.jtis[jti]; seen && !now.After(exp) {
		return false
	}
	d.jtis[jti] = now.Add(proofMaxAge + proofMaxSkew)
	return true
}

// sameHTU compares a proof's htu with the endpoint's URL, ignoring query
// and fragment, scheme and host case (RFC 9449 §4.3).
func sameHTU(got, want string) bool {
	g, err1 := url.Parse(got)
	w, err2 := url.Parse(want)
	if err1 != nil || err2 != nil || g.Host == "" {
		return false
	}
	norm := func(u *url.URL) string {
		host := strings.ToLower(u.Host)
		switch {
		case u.Scheme == "https" && strings.HasSuffix(host, ":443"):
			host = strings.TrimSuffix(host, ":443")
		case u.Scheme == "http" && strings.HasSuffix(host, ":80"):
			host = strings.TrimSuffix(host, ":80")
		}
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		return strings.ToLower(u.Scheme) + "://" + host + p
	}
	return norm(g) == norm(w)
}
