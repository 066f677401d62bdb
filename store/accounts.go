package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Account-side buckets (see doc.go).
var (
	bucketAccounts = []byte("accounts") // did → Account (JSON)
	bucketHandles  = []byte("handles")  // handle → did
	bucketEmails   = []byte("emails")   // lower-case email → did
	bucketRefresh  = []byte("refresh")  // token id → RefreshToken (JSON)
	bucketAppPass  = []byte("apppass")  // did ‖ 0x00 ‖ name → AppPassword (JSON)
	bucketInvites  = []byte("invites")  // code → InviteCode (JSON)
	bucketPrefs    = []byte("prefs")    // did → preferences (JSON array)
)

// Preferences returns the stored app preferences of did (a JSON array), or nil.
func (tx *Tx) Preferences(did string) []byte { return tx.bucket(bucketPrefs).Get([]byte(did)) }

// PutPreferences replaces the app preferences of did.
func (tx *Tx) PutPreferences(did string, prefs []byte) error {
	return tx.bucket(bucketPrefs).Put([]byte(did), prefs)
}

// Account is one hosted account. Secrets in it (the password hash, the
// signing key) never leave the process.
type Account struct {
	DID            string     `json:"did"`
	Handle         string     `json:"handle"`
	Email          string     `json:"email,omitempty"`
	EmailConfirmed *time.Time `json:"emailConfirmed,omitempty"`
	PasswordHash   string     `json:"passwordHash"`
	SigningKey     string     `json:"signingKey"` // exported private key
	CreatedAt      time.Time  `json:"createdAt"`
	// Status is "" for active, else deactivated, takendown, suspended.
	Status     string `json:"status,omitempty"`
	InviteCode string `json:"inviteCode,omitempty"`
	// InvitesDisabled stops the account from making invite codes.
	InvitesDisabled bool `json:"invitesDisabled,omitempty"`
	// EmailAuthFactor asks for a mailed code at each password sign-in.
	EmailAuthFactor bool `json:"emailAuthFactor,omitempty"`
	// DeleteAfter is when a deactivated account may be deleted for good.
	DeleteAfter *time.Time `json:"deleteAfter,omitempty"`
}

// Active reports whether the account is active.
func (a *Account) Active() bool { return a.Status == "" }

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("store: decode %s/%s: %w", "", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

func (tx *Tx) bucket(name []byte) *bolt.Bucket { return tx.btx.Bucket(name) }

// Account loads the account of did.
func (tx *Tx) Account(did string) (*Account, error) {
	raw := tx.bucket(bucketAccounts).Get([]byte(did))
	if raw == nil {
		return nil, fmt.Errorf("account %s: %w", did, ErrNotFound)
	}
	if a, ok := tx.accounts.get(did, raw); ok {
		return a, nil
	}
	var a Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("account %s: store: decode: %w", did, err)
	}
	tx.accounts.put(did, raw, &a)
	return &a, nil
}

// accountCache keeps each account decoded beside the stored bytes it came
// from: every authenticated request loads its account, and decoding the
// JSON was most of that. An entry is used only while the bytes in the file
// are still exactly these, so it can never be stale, whatever transaction
// (committed or rolled back) filled it.
type accountCache struct {
	m sync.Map // DID → *cachedAccount
	n atomic.Int32
}

type cachedAccount struct {
	raw []byte
	a   Account
}

// maxCachedAccounts bounds the cache on a server with many accounts.
const maxCachedAccounts = 4096

func (c *accountCache) get(did string, raw []byte) (*Account, bool) {
	if c == nil {
		return nil, false
	}
	v, ok := c.m.Load(did)
	if !ok || !bytes.Equal(v.(*cachedAccount).raw, raw) {
		return nil, false
	}
	a := v.(*cachedAccount).a // a copy: callers change fields and store them
	return &a, true
}

func (c *accountCache) put(did string, raw []byte, a *Account) {
	if c == nil {
		return
	}
	if _, loaded := c.m.Swap(did, &cachedAccount{raw: bytes.Clone(raw), a: *a}); !loaded && c.n.Add(1) > maxCachedAccounts {
		c.m.Delete(did)
		c.n.Add(-1)
	}
}

// AccountByHandle finds the account that holds handle.
func (tx *Tx) AccountByHandle(handle string) (*Account, error) {
	did := tx.bucket(bucketHandles).Get([]byte(strings.ToLower(handle)))
	if did == nil {
		return nil, fmt.Errorf("handle %s: %w", handle, ErrNotFound)
	}
	return tx.Account(string(did))
}

// AccountByEmail finds the account with that email, case-insensitively.
func (tx *Tx) AccountByEmail(email string) (*Account, error) {
	did := tx.bucket(bucketEmails).Get([]byte(strings.ToLower(email)))
	if did == nil {
		return nil, fmt.Errorf("email %s: %w", email, ErrNotFound)
	}
	return tx.Account(string(did))
}

// CreateAccount stores a new account; its DID, handle and email must be free.
func (tx *Tx) CreateAccount(a *Account) error {
	if tx.bucket(bucketAccounts).Get([]byte(a.DID)) != nil {
		return fmt.Errorf("account %s: %w", a.DID, ErrExists)
	}
	if tx.bucket(bucketHandles).Get([]byte(strings.ToLower(a.Handle))) != nil {
		return fmt.Errorf("handle %s: %w", a.Handle, ErrExists)
	}
	if a.Email != "" && tx.bucket(bucketEmails).Get([]byte(strings.ToLower(a.Email))) != nil {
		return fmt.Errorf("email %s: %w", a.Email, ErrExists)
	}
	return tx.PutAccount(nil, a)
}

// PutAccount writes a changed account and keeps the handle and email
// indexes in step. old is the account as loaded (nil for a new one).
func (tx *Tx) PutAccount(old, a *Account) error {
	hb, eb := tx.bucket(bucketHandles), tx.bucket(bucketEmails)
	if old != nil && !strings.EqualFold(old.Handle, a.Handle) {
		if err := hb.Delete([]byte(strings.ToLower(old.Handle))); err != nil {
			return err
		}
	}
	if old != nil && old.Email != "" && !strings.EqualFold(old.Email, a.Email) {
		if err := eb.Delete([]byte(strings.ToLower(old.Email))); err != nil {
			return err
		}
	}
	if owner := hb.Get([]byte(strings.ToLower(a.Handle))); owner != nil && string(owner) != a.DID {
		return fmt.Errorf("handle %s: %w", a.Handle, ErrExists)
	}
	if err := hb.Put([]byte(strings.ToLower(a.Handle)), []byte(a.DID)); err != nil {
		return err
	}
	if a.Email != "" {
		if owner := eb.Get([]byte(strings.ToLower(a.Email))); owner != nil && string(owner) != a.DID {
			return fmt.Errorf("email %s: %w", a.Email, ErrExists)
		}
		if err := eb.Put([]byte(strings.ToLower(a.Email)), []byte(a.DID)); err != nil {
			return err
		}
	}
	return putJSON(tx.bucket(bucketAccounts), []byte(a.DID), a)
}

// DeleteAccount removes an account, its indexes, app passwords and refresh
// tokens. The repository is deleted separately (DeleteRepo).
func (tx *Tx) DeleteAccount(did string) error {
	a, err := tx.Account(did)
	if err != nil {
		return err
	}
	if err := tx.bucket(bucketHandles).Delete([]byte(strings.ToLower(a.Handle))); err != nil {
		return err
	}
	if a.Email != "" {
		if err := tx.bucket(bucketEmails).Delete([]byte(strings.ToLower(a.Email))); err != nil {
			return err
		}
	}
	if err := deletePrefix(tx.bucket(bucketAppPass), appPassPrefix(did)); err != nil {
		return err
	}
	if err := tx.DeleteRefreshTokensOf(did); err != nil {
		return err
	}
	if err := tx.DeleteEmailTokensOf(did); err != nil {
		return err
	}
	if err := tx.DeleteSubjectsOf(did); err != nil {
		return err
	}
	if err := tx.bucket(bucketPrefs).Delete([]byte(did)); err != nil {
		return err
	}
	return tx.bucket(bucketAccounts).Delete([]byte(did))
}

// Accounts calls fn for each account in DID order.
func (tx *Tx) Accounts(fn func(*Account) error) error {
	return tx.bucket(bucketAccounts).ForEach(func(k, v []byte) error {
		var a Account
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("store: decode account %s: %w", k, err)
		}
		return fn(&a)
	})
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// RefreshToken is a server-side record of an issued refresh JWT.
type RefreshToken struct {
	ID        string    `json:"id"`
	DID       string    `json:"did"`
	AppPass   string    `json:"appPass,omitempty"` // app-password name, "" for a full session
	Scope     string    `json:"scope"`
	ExpiresAt time.Time `json:"expiresAt"`
	// NextID is set once the token has been used: within the grace period a
	// retry gets the same successor rather than an error.
	NextID string     `json:"nextId,omitempty"`
	UsedAt *time.Time `json:"usedAt,omitempty"`
}

// RefreshToken loads a refresh token record.
func (tx *Tx) RefreshToken(id string) (*RefreshToken, error) {
	var t RefreshToken
	if err := getJSON(tx.bucket(bucketRefresh), []byte(id), &t); err != nil {
		return nil, fmt.Errorf("refresh token: %w", err)
	}
	return &t, nil
}

// HasRefreshToken reports whether the refresh token id is still stored (a
// session lives as long as its refresh token).
func (tx *Tx) HasRefreshToken(id string) bool {
	return tx.bucket(bucketRefresh).Get([]byte(id)) != nil
}

// PutRefreshToken stores a refresh token record.
func (tx *Tx) PutRefreshToken(t *RefreshToken) error {
	return putJSON(tx.bucket(bucketRefresh), []byte(t.ID), t)
}

// DeleteRefreshToken removes a refresh token record.
func (tx *Tx) DeleteRefreshToken(id string) error {
	return tx.bucket(bucketRefresh).Delete([]byte(id))
}

// DeleteRefreshTokensOf ends every refresh session of did.
func (tx *Tx) DeleteRefreshTokensOf(did string) error {
	var ids [][]byte
	tx.bucket(bucketRefresh).ForEach(func(k, v []byte) error {
		var t RefreshToken
		if json.Unmarshal(v, &t) == nil && t.DID == did {
			ids = append(ids, bytes.Clone(k))
		}
		return nil
	})
	for _, id := range ids {
		if err := tx.bucket(bucketRefresh).Delete(id); err != nil {
			return err
		}
	}
	return nil
}

// PruneRefreshTokens deletes expired records and returns how many.
func (tx *Tx) PruneRefreshTokens(now time.Time) (int, error) {
	var ids [][]byte
	tx.bucket(bucketRefresh).ForEach(func(k, v []byte) error {
		var t RefreshToken
		if json.Unmarshal(v, &t) != nil || now.After(t.ExpiresAt) {
			ids = append(ids, bytes.Clone(k))
		}
		return nil
	})
	for _, id := range ids {
		if err := tx.bucket(bucketRefresh).Delete(id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// AppPassword is a named app password of an account.
type AppPassword struct {
	Name       string    `json:"name"`
	Hash       string    `json:"hash"`
	Privileged bool      `json:"privileged"`
	CreatedAt  time.Time `json:"createdAt"`
}

func appPassPrefix(did string) []byte { return append([]byte(did), 0) }

// AppPasswords lists the app passwords of did by name.
func (tx *Tx) AppPasswords(did string) ([]AppPassword, error) {
	var out []AppPassword
	p := appPassPrefix(did)
	c := tx.bucket(bucketAppPass).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var a AppPassword
		if err := json.Unmarshal(v, &a); err != nil {
			return nil, fmt.Errorf("store: decode app password: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// PutAppPassword stores an app password; the name must be free.
func (tx *Tx) PutAppPassword(did string, a *AppPassword) error {
	key := append(appPassPrefix(did), a.Name...)
	if tx.bucket(bucketAppPass).Get(key) != nil {
		return fmt.Errorf("app password %q: %w", a.Name, ErrExists)
	}
	return putJSON(tx.bucket(bucketAppPass), key, a)
}

// DeleteAppPassword removes an app password and the sessions made with it.
func (tx *Tx) DeleteAppPassword(did, name string) error {
	key := append(appPassPrefix(did), name...)
	if tx.bucket(bucketAppPass).Get(key) == nil {
		return fmt.Errorf("app password %q: %w", name, ErrNotFound)
	}
	var ids [][]byte
	tx.bucket(bucketRefresh).ForEach(func(k, v []byte) error {
		var t RefreshToken
		if json.Unmarshal(v, &t) == nil && t.DID == did && t.AppPass == name {
			ids = append(ids, bytes.Clone(k))
		}
		return nil
	})
	for _, id := range ids {
		if err := tx.bucket(bucketRefresh).Delete(id); err != nil {
			return err
		}
	}
	return tx.bucket(bucketAppPass).Delete(key)
}

// InviteCode is a sign-up code.
type InviteCode struct {
	Code       string      `json:"code"`
	Available  int         `json:"available"`
	Disabled   bool        `json:"disabled"`
	ForAccount string      `json:"forAccount"`
	CreatedBy  string      `json:"createdBy"`
	CreatedAt  time.Time   `json:"createdAt"`
	Uses       []InviteUse `json:"uses"`
}

// InviteUse records who used a code and when.
type InviteUse struct {
	UsedBy string    `json:"usedBy"`
	UsedAt time.Time `json:"usedAt"`
}

// InviteCode loads an invite code.
func (tx *Tx) InviteCode(code string) (*InviteCode, error) {
	var c InviteCode
	if err := getJSON(tx.bucket(bucketInvites), []byte(code), &c); err != nil {
		return nil, fmt.Errorf("invite code: %w", err)
	}
	return &c, nil
}

// PutInviteCode stores an invite code.
func (tx *Tx) PutInviteCode(c *InviteCode) error {
	return putJSON(tx.bucket(bucketInvites), []byte(c.Code), c)
}

// InviteCodes calls fn for each invite code.
func (tx *Tx) InviteCodes(fn func(*InviteCode) error) error {
	return tx.bucket(bucketInvites).ForEach(func(k, v []byte) error {
		var c InviteCode
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		return fn(&c)
	})
}
