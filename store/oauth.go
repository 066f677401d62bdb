package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The OAuth authorization server's state (package xrpc/oauth). Every key
// that stands for a secret (a code, a refresh token) is its SHA-256, never
// the secret itself, so a copy of the file grants nothing.
var (
	bucketOAuthRequests = []byte("oauthreq")      // request id → OAuthRequest (JSON)
	bucketOAuthCodes    = []byte("oauthcode")     // sha256(code) → request id
	bucketOAuthGrants   = []byte("oauthgrant")    // grant id → OAuthGrant (JSON)
	bucketOAuthRefresh  = []byte("oauthrefresh")  // sha256(refresh token) → grant id
	bucketOAuthGrantsOf = []byte("oauthgrantof")  // did ‖ 0x00 ‖ grant id → empty
	bucketOAuthPKCE     = []byte("oauthpkce")     // sha256(code_challenge) → unix seconds of expiry
	bucketOAuthConsent  = []byte("oauthremember") // did ‖ 0x00 ‖ client_id → remembered scope
	bucketOAuthSpent    = []byte("oauthspent")    // sha256(spent refresh token) → grant id
	bucketOAuthSpentOf  = []byte("oauthspentof")  // grant id ‖ 0x00 ‖ sha256(spent refresh token) → sequence (uint64; empty before it was kept)
	bucketOAuthDevice   = []byte("oauthdevice")   // sha256(device id) ‖ 0x00 ‖ did → unix seconds of the sign-in
)

// MaxSpentRefresh is how many spent refresh tokens a grant remembers: a
// grant refreshed all day for months would otherwise keep thousands. A
// replay of an older one is then no longer recognised as a replay: it is
// refused as an unknown token, and the grant lives on.
const MaxSpentRefresh = 64

func oauthBuckets() [][]byte {
	return [][]byte{bucketOAuthRequests, bucketOAuthCodes, bucketOAuthGrants, bucketOAuthRefresh,
		bucketOAuthGrantsOf, bucketOAuthPKCE, bucketOAuthConsent, bucketOAuthSpent, bucketOAuthSpentOf, bucketOAuthDevice}
}

// OAuthRequest is a pushed authorization request, from PAR until its code
// is exchanged (or it expires).
type OAuthRequest struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`
	ClientAuth  string `json:"clientAuth"` // "none" or "private_key_jwt"
	RedirectURI string `json:"redirectUri"`
	Scope       string `json:"scope"`
	// Expanded is Scope with its permission sets replaced by what they
	// granted when the request was pushed ("": nothing to expand, or a
	// request from before expansions were kept).
	Expanded      string    `json:"expanded,omitempty"`
	State         string    `json:"state,omitempty"`
	ResponseMode  string    `json:"responseMode,omitempty"`
	CodeChallenge string    `json:"codeChallenge"`
	JKT           string    `json:"jkt"` // thumbprint of the DPoP key it is bound to
	LoginHint     string    `json:"loginHint,omitempty"`
	Prompt        string    `json:"prompt,omitempty"` // none, login, consent or select_account
	ExpiresAt     time.Time `json:"expiresAt"`
	// Set when the account holder approves.
	DID           string    `json:"did,omitempty"`
	CodeHash      string    `json:"codeHash,omitempty"`
	CodeExpiresAt time.Time `json:"codeExpiresAt,omitzero"`
	// GrantID is set once the code was exchanged: a second exchange ends
	// that grant.
	GrantID string `json:"grantId,omitempty"`
}

// OAuthGrant is one app's access to one account: the session that its
// refresh tokens continue and its access tokens name.
type OAuthGrant struct {
	ID          string    `json:"id"`
	DID         string    `json:"did"`
	ClientID    string    `json:"clientId"`
	ClientName  string    `json:"clientName,omitempty"`
	ClientAuth  string    `json:"clientAuth"`
	Scope       string    `json:"scope"`
	Expanded    string    `json:"expanded,omitempty"` // as OAuthRequest.Expanded
	JKT         string    `json:"jkt"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"` // the session's hard end
	RefreshedAt time.Time `json:"refreshedAt"`
	// Refresh is the key (sha256, hex) of the one live refresh token.
	Refresh string `json:"refresh"`
}

// OAuthRequest loads the pushed request id.
func (tx *Tx) OAuthRequest(id string) (*OAuthRequest, error) {
	var r OAuthRequest
	if err := getJSON(tx.bucket(bucketOAuthRequests), []byte(id), &r); err != nil {
		return nil, fmt.Errorf("oauth request: %w", err)
	}
	return &r, nil
}

// PutOAuthRequest stores r.
func (tx *Tx) PutOAuthRequest(r *OAuthRequest) error {
	return putJSON(tx.bucket(bucketOAuthRequests), []byte(r.ID), r)
}

// DeleteOAuthRequest removes the request id and its code, if any.
func (tx *Tx) DeleteOAuthRequest(id string) error {
	if r, err := tx.OAuthRequest(id); err == nil && r.CodeHash != "" {
		if err := tx.bucket(bucketOAuthCodes).Delete([]byte(r.CodeHash)); err != nil {
			return err
		}
	}
	return tx.bucket(bucketOAuthRequests).Delete([]byte(id))
}

// PutOAuthCode indexes a code (by its hash) to its request.
func (tx *Tx) PutOAuthCode(codeHash, requestID string) error {
	return tx.bucket(bucketOAuthCodes).Put([]byte(codeHash), []byte(requestID))
}

// OAuthCode returns the request id of a code. The code stays until its
// request goes, so that a second use is recognised as one.
func (tx *Tx) OAuthCode(codeHash string) (string, error) {
	v := tx.bucket(bucketOAuthCodes).Get([]byte(codeHash))
	if v == nil {
		return "", fmt.Errorf("oauth code: %w", ErrNotFound)
	}
	return string(v), nil
}

// UseOAuthChallenge records a PKCE challenge (by its hash) until expires,
// and fails with ErrExists if it was seen before.
func (tx *Tx) UseOAuthChallenge(hash string, expires time.Time) error {
	b := tx.bucket(bucketOAuthPKCE)
	if b.Get([]byte(hash)) != nil {
		return fmt.Errorf("code challenge: %w", ErrExists)
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(expires.Unix()))
	return b.Put([]byte(hash), v[:])
}

// OAuthGrant loads the grant id.
func (tx *Tx) OAuthGrant(id string) (*OAuthGrant, error) {
	var g OAuthGrant
	if err := getJSON(tx.bucket(bucketOAuthGrants), []byte(id), &g); err != nil {
		return nil, fmt.Errorf("oauth grant: %w", err)
	}
	return &g, nil
}

// PutOAuthGrant stores g, moving its refresh-token index from old (the
// previous refresh key, "" for a new grant) to g.Refresh. The old key is
// kept as spent, so that its replay is recognised (OAuthGrantBySpent) and
// can end the grant: until the grant ends, or MaxSpentRefresh newer ones
// push it out.
func (tx *Tx) PutOAuthGrant(g *OAuthGrant, old string) error {
	rb := tx.bucket(bucketOAuthRefresh)
	if old != "" {
		if err := rb.Delete([]byte(old)); err != nil {
			return err
		}
		if err := tx.spendRefresh(g.ID, old); err != nil {
			return err
		}
	}
	if err := rb.Put([]byte(g.Refresh), []byte(g.ID)); err != nil {
		return err
	}
	if err := tx.bucket(bucketOAuthGrantsOf).Put(grantOfKey(g.DID, g.ID), nil); err != nil {
		return err
	}
	return putJSON(tx.bucket(bucketOAuthGrants), []byte(g.ID), g)
}

// spendRefresh records key as a spent refresh token of grant, and forgets
// the oldest beyond MaxSpentRefresh. The index value orders them; an
// entry without one predates the order and goes first.
func (tx *Tx) spendRefresh(grant, key string) error {
	of := tx.bucket(bucketOAuthSpentOf)
	seq, err := of.NextSequence()
	if err != nil {
		return err
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], seq)
	if err := tx.bucket(bucketOAuthSpent).Put([]byte(key), []byte(grant)); err != nil {
		return err
	}
	if err := of.Put(grantOfKey(grant, key), v[:]); err != nil {
		return err
	}
	type spent struct {
		k   []byte
		seq uint64
	}
	var all []spent
	prefix := grantOfKey(grant, "")
	c := of.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		s := spent{k: bytes.Clone(k)}
		if len(v) == 8 {
			s.seq = binary.BigEndian.Uint64(v)
		}
		all = append(all, s)
	}
	if len(all) <= MaxSpentRefresh {
		return nil
	}
	slices.SortFunc(all, func(a, b spent) int { return cmp.Compare(a.seq, b.seq) })
	for _, s := range all[:len(all)-MaxSpentRefresh] {
		if err := tx.bucket(bucketOAuthSpent).Delete(s.k[len(prefix):]); err != nil {
			return err
		}
		if err := of.Delete(s.k); err != nil {
			return err
		}
	}
	return nil
}

// OAuthGrantByRefresh finds the grant whose live refresh token has key.
func (tx *Tx) OAuthGrantByRefresh(key string) (*OAuthGrant, error) {
	v := tx.bucket(bucketOAuthRefresh).Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("oauth refresh token: %w", ErrNotFound)
	}
	return tx.OAuthGrant(string(v))
}

// OAuthGrantBySpent finds the grant one of whose earlier refresh tokens
// had key: a replay.
func (tx *Tx) OAuthGrantBySpent(key string) (*OAuthGrant, error) {
	v := tx.bucket(bucketOAuthSpent).Get([]byte(key))
	if v == nil {
		return nil, fmt.Errorf("oauth spent refresh token: %w", ErrNotFound)
	}
	return tx.OAuthGrant(string(v))
}

// DeleteOAuthGrant ends the grant id, its refresh token and the record of
// its spent ones.
func (tx *Tx) DeleteOAuthGrant(id string) error {
	g, err := tx.OAuthGrant(id)
	if err != nil {
		return err
	}
	if err := tx.bucket(bucketOAuthRefresh).Delete([]byte(g.Refresh)); err != nil {
		return err
	}
	prefix := append([]byte(id), 0)
	var spent [][]byte
	c := tx.bucket(bucketOAuthSpentOf).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		spent = append(spent, bytes.Clone(k))
	}
	for _, k := range spent {
		if err := tx.bucket(bucketOAuthSpent).Delete(k[len(prefix):]); err != nil {
			return err
		}
		if err := tx.bucket(bucketOAuthSpentOf).Delete(k); err != nil {
			return err
		}
	}
	if err := tx.bucket(bucketOAuthGrantsOf).Delete(grantOfKey(g.DID, g.ID)); err != nil {
		return err
	}
	return tx.bucket(bucketOAuthGrants).Delete([]byte(id))
}

// OAuthGrantsOf lists the grants of did, in id order.
func (tx *Tx) OAuthGrantsOf(did string) ([]OAuthGrant, error) {
	var out []OAuthGrant
	prefix := append([]byte(did), 0)
	c := tx.bucket(bucketOAuthGrantsOf).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		g, err := tx.OAuthGrant(string(k[len(prefix):]))
		if err != nil {
			continue // index ahead of a deletion: skip it
		}
		out = append(out, *g)
	}
	return out, nil
}

func grantOfKey(did, id string) []byte { return append(append([]byte(did), 0), id...) }

// RememberOAuthConsent keeps that did approved scope for clientID.
func (tx *Tx) RememberOAuthConsent(did, clientID, scope string) error {
	return tx.bucket(bucketOAuthConsent).Put(grantOfKey(did, clientID), []byte(scope))
}

// OAuthConsent is the scope did approved for clientID and asked to be
// remembered, or "".
func (tx *Tx) OAuthConsent(did, clientID string) string {
	return string(tx.bucket(bucketOAuthConsent).Get(grantOfKey(did, clientID)))
}

// ForgetOAuthConsent drops the remembered consent of did for clientID.
func (tx *Tx) ForgetOAuthConsent(did, clientID string) error {
	return tx.bucket(bucketOAuthConsent).Delete(grantOfKey(did, clientID))
}

// SweepOAuth deletes expired requests, grants and challenges.
func (tx *Tx) SweepOAuth(now time.Time) error {
	var reqs, grants, pkce [][]byte
	tx.bucket(bucketOAuthRequests).ForEach(func(k, v []byte) error {
		var r OAuthRequest
		if json.Unmarshal(v, &r) != nil || now.After(r.ExpiresAt) {
			reqs = append(reqs, bytes.Clone(k))
		}
		return nil
	})
	tx.bucket(bucketOAuthGrants).ForEach(func(k, v []byte) error {
		var g OAuthGrant
		if json.Unmarshal(v, &g) != nil || now.After(g.ExpiresAt) {
			grants = append(grants, bytes.Clone(k))
		}
		return nil
	})
	tx.bucket(bucketOAuthPKCE).ForEach(func(k, v []byte) error {
		if len(v) != 8 || now.Unix() > int64(binary.BigEndian.Uint64(v)) {
			pkce = append(pkce, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range reqs {
		if err := tx.DeleteOAuthRequest(string(k)); err != nil {
			return err
		}
	}
	for _, k := range grants {
		if err := tx.DeleteOAuthGrant(string(k)); err != nil {
			return err
		}
	}
	for _, k := range pkce {
		if err := tx.bucket(bucketOAuthPKCE).Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// OAuthDeviceAccount is an account that signed in on one browser, for the
// sign-in page's account chooser.
type OAuthDeviceAccount struct {
	DID      string
	SignedIn time.Time
}

func deviceKey(device, did string) []byte { return grantOfKey(device, did) }

// OAuthDeviceAccounts lists the accounts that signed in on the browser
// whose device key (the SHA-256 of its cookie, hex) is device.
func (tx *Tx) OAuthDeviceAccounts(device string) []OAuthDeviceAccount {
	var out []OAuthDeviceAccount
	prefix := deviceKey(device, "")
	c := tx.bucket(bucketOAuthDevice).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(v) == 8 {
			out = append(out, OAuthDeviceAccount{DID: string(k[len(prefix):]), SignedIn: time.Unix(0, int64(binary.BigEndian.Uint64(v)))})
		}
	}
	return out
}

// PutOAuthDeviceAccount records that did signed in on device at at.
func (tx *Tx) PutOAuthDeviceAccount(device, did string, at time.Time) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(at.UnixNano()))
	return tx.bucket(bucketOAuthDevice).Put(deviceKey(device, did), v[:])
}

// DeleteOAuthDeviceAccount forgets that did signed in on device.
func (tx *Tx) DeleteOAuthDeviceAccount(device, did string) error {
	return tx.bucket(bucketOAuthDevice).Delete(deviceKey(device, did))
}

// SweepOAuthDevices forgets the sign-ins on browsers older than before.
func (tx *Tx) SweepOAuthDevices(before time.Time) error {
	var old [][]byte
	tx.bucket(bucketOAuthDevice).ForEach(func(k, v []byte) error {
		if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < before.UnixNano() {
			old = append(old, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range old {
		if err := tx.bucket(bucketOAuthDevice).Delete(k); err != nil {
			return err
		}
	}
	return nil
}
