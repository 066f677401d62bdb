package store

import (
	"bytes"
	"fmt"
)

var bucketMoves = []byte("moves") // did → move state (JSON, package identity/account/move)

// Move returns the state of the move of did into this server, or nil. The
// bytes are only valid for the life of the transaction.
func (tx *Tx) Move(did string) []byte { return tx.bucket(bucketMoves).Get([]byte(did)) }

// PutMove replaces the state of the move of did.
func (tx *Tx) PutMove(did string, state []byte) error {
	if err := tx.bucket(bucketMoves).Put([]byte(did), bytes.Clone(state)); err != nil {
		return fmt.Errorf("store: put move %s: %w", did, err)
	}
	return nil
}

// DeleteMove forgets the move of did; deleting a missing one is no error.
func (tx *Tx) DeleteMove(did string) error {
	return tx.bucket(bucketMoves).Delete([]byte(did))
}

// Moves calls fn with each move's DID and state, in DID order; ErrStop ends
// the scan early without error.
func (tx *Tx) Moves(fn func(did string, state []byte) error) error {
	err := tx.bucket(bucketMoves).ForEach(func(k, v []byte) error { return fn(string(k), v) })
	if err == ErrStop {
		return nil
	}
	return err
}
