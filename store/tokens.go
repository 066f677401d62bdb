package store

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"time"
)

var bucketTokens = []byte("tokens") // did ‖ 0x00 ‖ purpose → EmailToken (JSON)

// EmailToken is a short code mailed to (or shown to) an account holder for
// one purpose. An account has at most one live token per purpose: a new
// request replaces the old code.
type EmailToken struct {
	DID       string    `json:"did"`
	Purpose   string    `json:"purpose"`
	Token     string    `json:"token"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func tokenKey(did, purpose string) []byte {
	return append(append([]byte(did), 0), purpose...)
}

// EmailToken loads the live token of did for purpose.
func (tx *Tx) EmailToken(did, purpose string) (*EmailToken, error) {
	var t EmailToken
	if err := getJSON(tx.bucket(bucketTokens), tokenKey(did, purpose), &t); err != nil {
		return nil, fmt.Errorf("%s token of %s: %w", purpose, did, err)
	}
	return &t, nil
}

// PutEmailToken stores t, replacing any token of the same account and purpose.
func (tx *Tx) PutEmailToken(t *EmailToken) error {
	return putJSON(tx.bucket(bucketTokens), tokenKey(t.DID, t.Purpose), t)
}

// DeleteEmailToken removes the token of did for purpose, if any.
func (tx *Tx) DeleteEmailToken(did, purpose string) error {
	return tx.bucket(bucketTokens).Delete(tokenKey(did, purpose))
}

// DeleteEmailTokensOf removes every token of did.
func (tx *Tx) DeleteEmailTokensOf(did string) error {
	return deletePrefix(tx.bucket(bucketTokens), append([]byte(did), 0))
}

// EmailTokensOf lists the tokens of did, expired ones included, by purpose.
func (tx *Tx) EmailTokensOf(did string) ([]EmailToken, error) {
	var out []EmailToken
	prefix := append([]byte(did), 0)
	c := tx.bucket(bucketTokens).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var t EmailToken
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, fmt.Errorf("store: decode token %q: %w", k, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// FindEmailToken finds the account holding token for purpose. Tokens are
// few (one per purpose per account), so a scan is cheap on a home server;
// tokens arrive without an account only for a password reset.
func (tx *Tx) FindEmailToken(purpose, token string) (*EmailToken, error) {
	var found *EmailToken
	err := tx.bucket(bucketTokens).ForEach(func(k, v []byte) error {
		var t EmailToken
		if json.Unmarshal(v, &t) == nil && t.Purpose == purpose && subtle.ConstantTimeCompare([]byte(t.Token), []byte(token)) == 1 {
			found = &t
			return ErrStop
		}
		return nil
	})
	if err != nil && err != ErrStop {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%s token: %w", purpose, ErrNotFound)
	}
	return found, nil
}
