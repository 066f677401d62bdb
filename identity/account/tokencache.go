package account

import (
	"bytes"
	"sync"

	"github.com/hearth-pds/hearth/identity/auth"
)

// tokenCache remembers access tokens whose signature checked out, so that
// a client's every request does not parse and HMAC its token again: that
// was a tenth of a getRecord's CPU. A token's bytes fix its claims, so
// what the cache holds is exact; the claims are still checked against
// the clock on every use, and the session behind the token is looked up
// anew by Current. An entry also names the key that verified it, so a
// token is never taken on the word of a key no longer in force.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]cachedToken
}

type cachedToken struct {
	tok *auth.Token
	key auth.HS256
}

// maxCachedTokens bounds the cache; a PDS's few accounts hold far fewer
// live access tokens.
const maxCachedTokens = 1024

func newTokenCache() *tokenCache { return &tokenCache{entries: make(map[string]cachedToken)} }

// get returns the verified token s, or nil.
func (c *tokenCache) get(s string, key auth.HS256) *auth.Token {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e, ok := c.entries[s]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.key, key) {
		return nil
	}
	return e.tok
}

// put remembers t, the verified token s. When the cache is full an
// arbitrary entry makes room: tokens expire within hours anyway.
func (c *tokenCache) put(s string, key auth.HS256, t *auth.Token) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[s] = cachedToken{tok: t, key: key}
}
