package xrpc

import (
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/store"
)

// The emit hooks run inside the transaction of the change they describe,
// so an event is in the log exactly when its change landed.

func (s *Server) emitCommit(tx *store.Tx, c *repo.Commit) error {
	return s.events.Commit(tx, c)
}

// emitAccountCreated announces a new account as the reference PDS does:
// #identity, #account, #commit and #sync in one transaction.
func (s *Server) emitAccountCreated(tx *store.Tx, a *store.Account, c *repo.Commit) error {
	if err := s.events.Identity(tx, a.DID, a.Handle); err != nil {
		return err
	}
	if err := s.events.Account(tx, a.DID, true, ""); err != nil {
		return err
	}
	if err := s.events.Commit(tx, c); err != nil {
		return err
	}
	return s.events.Sync(tx, a.DID, c.CID, c.Blocks[0].Data, c.Rev)
}

func (s *Server) emitIdentity(tx *store.Tx, did, handle string) error {
	return s.events.Identity(tx, did, handle)
}
