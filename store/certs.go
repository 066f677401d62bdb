package store

import (
	"bytes"
	"context"
	"fmt"

	"golang.org/x/crypto/acme/autocert"
)

var bucketCerts = []byte("certs") // autocert cache key → PEM bytes

// CertCache keeps the certificates of HEARTH_TLS=auto in the data file,
// so a backup or a move of the file carries them and a restart does not
// ask the CA again. It implements autocert.Cache. Its values hold private
// keys (the ACME account's and each certificate's), as the file already
// holds the server's signing secrets.
type CertCache struct{ db *DB }

var _ autocert.Cache = (*CertCache)(nil)

// CertCache returns the certificate cache over db.
func (db *DB) CertCache() *CertCache { return &CertCache{db: db} }

// Get returns the bytes under key, or autocert.ErrCacheMiss.
func (c *CertCache) Get(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := c.db.View(func(tx *Tx) error {
		v = bytes.Clone(tx.bucket(bucketCerts).Get([]byte(key)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: cert %s: %w", key, err)
	}
	if v == nil {
		return nil, autocert.ErrCacheMiss
	}
	return v, nil
}

// Put stores data under key, replacing what was there.
func (c *CertCache) Put(ctx context.Context, key string, data []byte) error {
	data = bytes.Clone(data)
	return c.db.Update(ctx, func(tx *Tx) error {
		if err := tx.bucket(bucketCerts).Put([]byte(key), data); err != nil {
			return fmt.Errorf("store: put cert %s: %w", key, err)
		}
		return nil
	})
}

// Delete removes key; a key not there is no error.
func (c *CertCache) Delete(ctx context.Context, key string) error {
	return c.db.Update(ctx, func(tx *Tx) error {
		return tx.bucket(bucketCerts).Delete([]byte(key))
	})
}
