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
