package account

import (
	"context"
	"strings"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/store"
)

// Status is what checkAccountStatus reports: whether the account is
// active, whether its DID document points here with its key, and how far a
// migration has got (repository and blobs).
type Status struct {
	Activated          bool   `json:"activated"`
	ValidDID           bool   `json:"validDid"`
	RepoCommit         string `json:"repoCommit"`
	RepoRev            string `json:"repoRev"`
	RepoBlocks         int    `json:"repoBlocks"`
	IndexedRecords     int    `json:"indexedRecords"`
	PrivateStateValues int    `json:"privateStateValues"`
	ExpectedBlobs      int    `json:"expectedBlobs"`
	ImportedBlobs      int    `json:"importedBlobs"`
}

// Status reads the account's state. ExpectedBlobs counts the distinct
// blobs its records reference; ImportedBlobs those of them held here.
func (s *Service) Status(ctx context.Context, did string) (*Status, error) {
	a, err := s.Get(did)
	if err != nil {
		return nil, err
	}
	st := &Status{Activated: a.Status == StatusActive, ValidDID: s.validDID(ctx, a)}
	err = s.DB.View(func(tx *store.Tx) error {
		if tx.Preferences(did) != nil {
			st.PrivateStateValues = 1
		}
		h, err := repo.LoadHead(tx, did)
		if err != nil {
			return nil // no repository yet (an account being moved in)
		}
		r, err := tx.Repo(did)
		if err != nil {
			return err
		}
		st.RepoCommit, st.RepoRev = h.Commit.String(), h.Rev
		st.RepoBlocks, _, st.IndexedRecords = r.Stats()
		// Held blobs with references, plus those the records use that are
		// not here yet (after an import): two cursor scans, no record walk.
		st.ExpectedBlobs, st.ImportedBlobs = blob.Counts(tx, did)
		return nil
	})
	return st, err
}

// validDID reports whether the account's DID document names this PDS and
// the account's signing key.
func (s *Service) validDID(ctx context.Context, a *store.Account) bool {
	if s.Resolver == nil {
		return false
	}
	key, err := SigningKey(a)
	if err != nil {
		return false
	}
	s.Resolver.Forget(a.DID)
	doc, err := s.Resolver.ResolveDID(ctx, a.DID)
	if err != nil {
		s.Log.Info("account status: DID did not resolve", "did", a.DID, "err", err)
		return false
	}
	ep, _ := doc.PDSEndpoint()
	pub, err := doc.SigningKey()
	return err == nil && strings.TrimSuffix(ep, "/") == s.cfg.PublicURL && pub.DIDKey() == key.Public().DIDKey()
}
