package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/clientip"
)

// Page sessions. A visitor who has proved nothing (no setup code, no
// password) costs no memory: the cookie is "a.<nonce>.<mac>", signed with a
// key made at each start, and the form token is derived from the nonce. A
// session is kept in Pages.sess only once it steps up, and each step up
// gives it a new id (rotate), so an id planted before it is worth nothing.
// Lookups are one map read; expired sessions go when looked up, and in a
// sweep at most once a minute. Kept sessions not signed in (a sign-in
// waiting for its mailed code) are capped at maxAnonymous, the oldest going
// first; signed-in ones are never evicted.

const (
	cookieName   = "hearth_session"
	maxAnonymous = 10000
	sweepEvery   = time.Minute
)

// mac signs what under the process key.
func (p *Pages) mac(what, nonce string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(what + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// anonymous is the session an anonymous cookie stands for, or nil if the
// cookie is not one this process signed.
func (p *Pages) anonymous(cookie string) *session {
	nonce, sig, ok := strings.Cut(strings.TrimPrefix(cookie, "a."), ".")
	if !ok || !strings.HasPrefix(cookie, "a.") || !hmac.Equal([]byte(sig), []byte(p.mac("cookie", nonce))) {
		return nil
	}
	return &session{csrf: p.mac("csrf", nonce)}
}

// kept is the kept session with id, if it has not expired.
func (p *Pages) kept(id string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.swept) >= sweepEvery {
		p.swept = now
		for id, s := range p.sess {
			if now.After(s.expires) {
				delete(p.sess, id)
			}
		}
	}
	s := p.sess[id]
	if s != nil && now.After(s.expires) {
		delete(p.sess, id)
		return nil
	}
	return s
}

// current returns the caller's session, making an anonymous one (with a
// cookie) if asked.
func (p *Pages) current(w http.ResponseWriter, r *http.Request, create bool) *session {
	if c, err := r.Cookie(cookieName); err == nil {
		if s := p.kept(c.Value); s != nil {
			return s
		}
		if s := p.anonymous(c.Value); s != nil {
			return s
		}
	}
	if !create {
		return nil
	}
	nonce := token()
	setCookie(w, r, "a."+nonce+"."+p.mac("cookie", nonce))
	return &session{csrf: p.mac("csrf", nonce)}
}

func setCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: clientip.Secure(r), MaxAge: int(SessionTTL.Seconds()),
	})
}

// steppedUp reports whether s holds more than a sign-in waiting for its
// code. The caller holds p.mu.
func (s *session) steppedUp() bool { return s.owner || s.setup || s.did != "" || s.move != "" }

// rotate keeps s under a new id with a new CSRF token and forgets the old
// id. Call it at every step up (setup code, owner made, password
// accepted), before the page is written: an id planted before a sign-in
// (session fixation) is worth nothing after it.
func (p *Pages) rotate(w http.ResponseWriter, r *http.Request, s *session) {
	id := token()
	p.mu.Lock()
	if s.id != "" {
		delete(p.sess, s.id)
	}
	s.id, s.csrf, s.expires = id, token(), p.now().Add(SessionTTL)
	p.sess[id] = s
	if !s.steppedUp() {
		p.anon = append(p.anon, id)
		p.evict()
	}
	p.mu.Unlock()
	setCookie(w, r, id)
}

// evict drops the oldest sessions kept while anonymous beyond
// maxAnonymous, unless they have stepped up since. The caller holds p.mu.
func (p *Pages) evict() {
	for len(p.anon) > maxAnonymous {
		id := p.anon[0]
		p.anon = p.anon[1:]
		if s := p.sess[id]; s != nil && !s.steppedUp() {
			delete(p.sess, id)
		}
	}
}
