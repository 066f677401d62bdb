package xrpc

import (
	"bufio"
	"errors"
	"net/http"
	"strings"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

const carType = "application/vnd.ipld.car"

// syncTarget resolves the did parameter of a sync method to a hosted repo
// whose content may be served: to anyone while it is active, and to its
// own account whatever its state (a deactivated or taken-down account
// reads its data to move away).
func (s *Server) syncTarget(r *http.Request, a *Auth) (string, error) {
	did := r.URL.Query().Get("did")
	if !strings.HasPrefix(did, "did:") {
		return "", invalidRequest("did is required")
	}
	acct, err := s.loadAccount(did)
	if err != nil {
		return "", errorf(http.StatusNotFound, "RepoNotFound", "Could not find repo for DID: %s", did)
	}
	if a != nil && a.DID == did {
		return did, nil
	}
	switch acct.Status {
	case "":
		return did, nil
	case "takendown":
		return "", errorf(http.StatusBadRequest, "RepoTakendown", "Repo has been takendown: %s", did)
	case "suspended":
		return "", errorf(http.StatusBadRequest, "RepoSuspended", "Repo has been suspended: %s", did)
	default:
		return "", errorf(http.StatusBadRequest, "RepoDeactivated", "Repo has been deactivated: %s", did)
	}
}

// streamCAR runs export inside a read transaction, writing straight to the
// response through a buffer. Errors before the first byte become XRPC errors.
func streamCAR(s *Server, w http.ResponseWriter, export func(tx *store.Tx, bw *bufio.Writer) error) error {
	w.Header().Set("Content-Type", carType)
	bw := bufio.NewWriterSize(w, 64<<10)
	err := s.db.View(func(tx *store.Tx) error { return export(tx, bw) })
	if err != nil {
		return err
	}
	return bw.Flush()
}

func (s *Server) syncGetRepo(w http.ResponseWriter, r *http.Request, a *Auth) error {
	did, err := s.syncTarget(r, a)
	if err != nil {
		return err
	}
	since := r.URL.Query().Get("since")
	if since != "" {
		if _, err := syntax.ParseTID(since); err != nil {
			return invalidRequest("since must be a TID")
		}
	}
	return streamCAR(s, w, func(tx *store.Tx, bw *bufio.Writer) error {
		return repo.ExportCAR(tx, bw, did, since)
	})
}

func (s *Server) syncGetLatestCommit(w http.ResponseWriter, r *http.Request, a *Auth) error {
	did, err := s.syncTarget(r, a)
	if err != nil {
		return err
	}
	var h repo.Head
	if err := s.db.View(func(tx *store.Tx) error {
		h, err = repo.LoadHead(tx, did)
		return err
	}); err != nil {
		return err
	}
	return ok(w, map[string]string{"cid": h.Commit.String(), "rev": h.Rev})
}

func (s *Server) syncGetRecord(w http.ResponseWriter, r *http.Request, a *Auth) error {
	did, err := s.syncTarget(r, a)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	coll, rkey, err := recordQuery(q)
	if err != nil {
		return err
	}
	return streamCAR(s, w, func(tx *store.Tx, bw *bufio.Writer) error {
		if account.RecordHidden(tx, did, coll, rkey) {
			return errorf(http.StatusNotFound, "RecordNotFound", "Could not find record")
		}
		return repo.ExportRecordProof(tx, bw, did, coll, rkey)
	})
}

func (s *Server) syncGetBlocks(w http.ResponseWriter, r *http.Request, a *Auth) error {
	did, err := s.syncTarget(r, a)
	if err != nil {
		return err
	}
	raw := r.URL.Query()["cids"]
	if len(raw) == 0 {
		return invalidRequest("cids is required")
	}
	if len(raw) > 1000 {
		return invalidRequest("at most 1000 cids")
	}
	cids := make([]cid.CID, len(raw))
	for i, c := range raw {
		if cids[i], err = cid.Parse(c); err != nil {
			return invalidRequest("invalid cid %q", c)
		}
	}
	var missing []cid.CID
	err = streamCAR(s, w, func(tx *store.Tx, bw *bufio.Writer) error {
		missing, err = repo.ExportBlocks(tx, bw, did, cids)
		if err == nil && len(missing) > 0 {
			return errMissingBlocks
		}
		return err
	})
	if errors.Is(err, errMissingBlocks) {
		w.Header().Del("Content-Type")
		names := make([]string, len(missing))
		for i, c := range missing {
			names[i] = c.String()
		}
		return errorf(http.StatusBadRequest, "BlockNotFound", "Could not find blocks: %s", strings.Join(names, ", "))
	}
	return err
}

var errMissingBlocks = errors.New("missing blocks")

func (s *Server) syncGetRepoStatus(w http.ResponseWriter, r *http.Request, a *Auth) error {
	did := r.URL.Query().Get("did")
	acct, err := s.loadAccount(did)
	if err != nil {
		return errorf(http.StatusNotFound, "RepoNotFound", "Could not find repo for DID: %s", did)
	}
	out := map[string]any{"did": did, "active": acct.Active()}
	if !acct.Active() {
		out["status"] = acct.Status
	} else if err := s.db.View(func(tx *store.Tx) error {
		h, err := repo.LoadHead(tx, did)
		out["rev"] = h.Rev
		return err
	}); err != nil {
		return err
	}
	return ok(w, out)
}

func (s *Server) syncListRepos(w http.ResponseWriter, r *http.Request, a *Auth) error {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 500, 1000)
	if err != nil {
		return err
	}
	repos := []map[string]any{}
	var last string
	err = s.db.View(func(tx *store.Tx) error {
		return tx.Repos(q.Get("cursor"), func(sr *store.Repo) error {
			h, err := repo.LoadHead(tx, sr.DID())
			if err != nil {
				return err
			}
			item := map[string]any{"did": sr.DID(), "head": h.Commit.String(), "rev": h.Rev, "active": true}
			if a, err := tx.Account(sr.DID()); err == nil && !a.Active() {
				item["active"], item["status"] = false, a.Status
			}
			repos = append(repos, item)
			last = sr.DID()
			if len(repos) >= limit {
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, store.ErrStop) {
		return err
	}
	out := map[string]any{"repos": repos}
	if len(repos) == limit {
		out["cursor"] = last
	}
	return ok(w, out)
}
