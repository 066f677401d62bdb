package xrpc

import (
	"sync"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/store"
)

// signingKeys caches each account's parsed repo signing key. Parsing one
// derives its public key (a scalar multiplication, about as dear as the
// signature itself), which every write would otherwise pay.
//
// An entry is used only while the account's stored key is the string it
// was parsed from, so a key that changes (an account moving in takes its
// reserved key; a recreated account gets a new one) is parsed afresh on
// the next write. forget drops an entry when its account is deleted, so
// that a deleted account's private key does not stay in memory.
type signingKeys struct {
	mu   sync.Mutex
	byID map[string]cachedKey
}

type cachedKey struct {
	raw string
	key keys.PrivateKey
}

// get returns the parsed signing key of acct.
func (c *signingKeys) get(acct *store.Account) (keys.PrivateKey, error) {
	c.mu.Lock()
	e, ok := c.byID[acct.DID]
	c.mu.Unlock()
	if ok && e.raw == acct.SigningKey {
		return e.key, nil
	}
	k, err := keys.ParsePrivateString(acct.SigningKey)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.byID == nil {
		c.byID = map[string]cachedKey{}
	}
	c.byID[acct.DID] = cachedKey{raw: acct.SigningKey, key: k}
	c.mu.Unlock()
	return k, nil
}

// forget drops the cached key of did.
func (c *signingKeys) forget(did string) {
	c.mu.Lock()
	delete(c.byID, did)
	c.mu.Unlock()
}
