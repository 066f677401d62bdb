package xrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

// resolveRepo turns an at-identifier naming a hosted repo into its DID.
func (s *Server) resolveRepo(ident string) (string, error) {
	if ident == "" {
		return "", invalidRequest("repo is required")
	}
	var did string
	err := s.db.View(func(tx *store.Tx) error {
		if strings.HasPrefix(ident, "did:") {
			if _, err := tx.Account(ident); err != nil {
				return err
			}
			did = ident
			return nil
		}
		a, err := tx.AccountByHandle(strings.ToLower(ident))
		if err != nil {
			return err
		}
		did = a.DID
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", errorf(http.StatusNotFound, "RepoNotFound", "Could not find repo: %s", ident)
	}
	return did, err
}

// writeTarget resolves the repo of a write and checks the caller owns it.
// The caller's own DID with the account authenticate loaded for this
// request (the usual case) needs no further reads.
func (s *Server) writeTarget(ident string, a *Auth) (string, *store.Account, error) {
	acct := a.Account
	did := ident
	if acct == nil || ident != a.DID || acct.DID != a.DID {
		var err error
		if did, err = s.resolveRepo(ident); err != nil {
			return "", nil, err
		}
		if did != a.DID {
			return "", nil, forbidden("you may only write to your own repo")
		}
		if acct, err = s.loadAccount(did); err != nil {
			return "", nil, err
		}
	}
	if !acct.Active() {
		return "", nil, errorf(http.StatusUnauthorized, "AccountDeactivated", "Account is deactivated")
	}
	return did, acct, nil
}

// prepareRecord validates a record given as JSON and encodes it.
// validate is the request's validate flag: nil (validate known types),
// true (must validate), false (skip lexicon, still a valid data model).
func (s *Server) prepareRecord(collection, rkey string, raw json.RawMessage, validate *bool) ([]byte, string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", invalidRequest("record is required")
	}
	v, err := dagcbor.FromJSON(raw)
	if err != nil {
		return nil, "", invalidRequest("Invalid record: %v", err)
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, "", invalidRequest("Invalid record: must be an object")
	}
	if t, _ := m["$type"].(string); t == "" {
		m["$type"] = collection
	} else if t != collection {
		return nil, "", invalidRequest("Invalid $type: expected %s, got %s", collection, t)
	}
	status := "unknown"
	if validate == nil || *validate {
		err := s.lex.ValidateRecord(collection, m)
		switch {
		case errors.Is(err, lexicon.ErrUnknownCollection):
			if validate != nil {
				return nil, "", invalidRequest("Lexicon not found: %s", collection)
			}
		case err != nil:
			return nil, "", invalidRequest("Invalid %s record: %v", collection, err)
		default:
			if err := s.lex.ValidateRecordKey(collection, rkey); err != nil {
				return nil, "", invalidRequest("Invalid record key %q for %s: %v", rkey, collection, err)
			}
			status = "valid"
		}
	}
	b, err := dagcbor.Encode(m)
	if err != nil {
		return nil, "", invalidRequest("Invalid record: %v", err)
	}
	if len(b) > repo.MaxRecordSize {
		return nil, "", errorf(http.StatusBadRequest, "InvalidRequest", "record is %d bytes; the limit is %d", len(b), repo.MaxRecordSize)
	}
	return b, status, nil
}

func checkCollection(c string) error {
	if _, err := syntax.ParseNSID(c); err != nil {
		return invalidRequest("Invalid collection: %q is not an NSID", c)
	}
	return nil
}

func checkRKey(k string) error {
	if _, err := syntax.ParseRecordKey(k); err != nil {
		return invalidRequest("Invalid record key %q", k)
	}
	return nil
}

// recordQuery is the collection and rkey of a read that names one record
// (repo.getRecord, sync.getRecord), both checked.
func recordQuery(q url.Values) (coll, rkey string, err error) {
	coll, rkey = q.Get("collection"), q.Get("rkey")
	if err := checkCollection(coll); err != nil {
		return "", "", err
	}
	if err := checkRKey(rkey); err != nil {
		return "", "", err
	}
	return coll, rkey, nil
}

func parseSwap(s *string, what string) (*cid.CID, error) {
	if s == nil {
		return nil, nil
	}
	c, err := cid.Parse(*s)
	if err != nil {
		return nil, invalidRequest("%s is not a valid CID", what)
	}
	return &c, nil
}

// commitWrite applies ops for did in one transaction and maps repo errors
// to XRPC errors.
// With upsert, an Update of a record that does not exist becomes a Create
// (putRecord); the decision is made inside the transaction.
func (s *Server) commitWrite(r *http.Request, acct *store.Account, ops []repo.Op, swapCommit *cid.CID, upsert bool) (*repo.Commit, error) {
	if err := s.allowOps(authOf(r), ops); err != nil {
		return nil, err
	}
	key, err := s.keys.get(acct)
	if err != nil {
		return nil, fmt.Errorf("signing key of %s: %w", acct.DID, err)
	}
	cost := 0
	for _, op := range ops {
		cost += writeCost[op.Action]
	}
	if e := s.limits.takeN("writes:"+acct.DID, cost, 5000, 3600e9, s.now()); e != nil {
		return nil, e
	}
	var c *repo.Commit
	err = s.db.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		for i, op := range ops {
			if upsert && op.Action == repo.Update && op.SwapRecord == nil {
				if _, err := repo.GetRecord(tx, acct.DID, op.Collection, op.RKey); errors.Is(err, repo.ErrRecordNotFound) {
					ops[i].Action = repo.Create
				}
			}
		}
		added, removed, err := s.blobChanges(tx, acct.DID, ops)
		if err != nil {
			return err
		}
		c, err = s.writer.Apply(tx, acct.DID, key, ops, swapCommit)
		if err != nil || c.Unchanged {
			return err // unchanged: no references moved, no event
		}
		if err := blob.ApplyRefs(tx, acct.DID, added, removed, c.Rev); err != nil {
			return err
		}
		return s.emitCommit(tx, c)
	})
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, repo.ErrSwapMismatch):
		if strings.Contains(err.Error(), "commit is") {
			return nil, errorf(http.StatusBadRequest, "InvalidSwap", "Commit was at %v", strings.TrimPrefix(err.Error(), repo.ErrSwapMismatch.Error()+": "))
		}
		return nil, errorf(http.StatusBadRequest, "InvalidSwap", "%v", err)
	case errors.Is(err, repo.ErrRecordExists):
		return nil, invalidRequest("Record already exists: %v", err)
	case errors.Is(err, repo.ErrRecordNotFound):
		return nil, errorf(http.StatusBadRequest, "RecordNotFound", "Could not find record: %v", err)
	case errors.Is(err, repo.ErrInvalidOp):
		return nil, invalidRequest("%v", err)
	case errors.Is(err, repo.ErrRepoNotFound):
		return nil, errorf(http.StatusNotFound, "RepoNotFound", "Could not find repo: %s", acct.DID)
	}
	return nil, err
}

// writeCost is what an op counts against the hourly write limit, as in the
// reference PDS.
var writeCost = map[repo.Action]int{repo.Create: 3, repo.Update: 2, repo.Delete: 1}

func commitMeta(c *repo.Commit) map[string]string {
	return map[string]string{"cid": c.CID.String(), "rev": c.Rev}
}

func atURI(did, collection, rkey string) string { return "at://" + did + "/" + collection + "/" + rkey }

type createRecordInput struct {
	Repo       string          `json:"repo"`
	Collection string          `json:"collection"`
	RKey       string          `json:"rkey"`
	Validate   *bool           `json:"validate"`
	Record     json.RawMessage `json:"record"`
	SwapCommit *string         `json:"swapCommit"`
	// SwapRecord is raw so that an explicit null ("must not exist") differs
	// from an absent field ("no check").
	SwapRecord json.RawMessage `json:"swapRecord"`
}

// recordWrite is what createRecord, putRecord and deleteRecord share: the
// parsed request, its target repo and the swaps.
type recordWrite struct {
	in         createRecordInput
	did        string
	acct       *store.Account
	swapCommit *cid.CID
	swapRecord *cid.CID // nil: no check; zero CID: must not exist
}

func (s *Server) parseRecordWrite(r *http.Request, a *Auth, generateKey bool) (*recordWrite, error) {
	var w recordWrite
	if err := decodeJSON(r, &w.in); err != nil {
		return nil, err
	}
	var err error
	if w.did, w.acct, err = s.writeTarget(w.in.Repo, a); err != nil {
		return nil, err
	}
	if err := checkCollection(w.in.Collection); err != nil {
		return nil, err
	}
	if w.in.RKey == "" && generateKey {
		w.in.RKey = string(s.clock.Next())
	} else if err := checkRKey(w.in.RKey); err != nil {
		return nil, err
	}
	if w.swapCommit, err = parseSwap(w.in.SwapCommit, "swapCommit"); err != nil {
		return nil, err
	}
	switch raw := strings.TrimSpace(string(w.in.SwapRecord)); raw {
	case "":
	case "null":
		w.swapRecord = &cid.CID{}
	default:
		var str string
		if err := json.Unmarshal(w.in.SwapRecord, &str); err != nil {
			return nil, invalidRequest("swapRecord must be a CID or null")
		}
		if w.swapRecord, err = parseSwap(&str, "swapRecord"); err != nil {
			return nil, err
		}
	}
	return &w, nil
}

func (w *recordWrite) result(c *repo.Commit, status string) map[string]any {
	return map[string]any{
		"uri": atURI(w.did, w.in.Collection, w.in.RKey), "cid": c.Ops[0].CID.String(),
		"commit": commitMeta(c), "validationStatus": status,
	}
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request, a *Auth) error {
	rw, err := s.parseRecordWrite(r, a, true)
	if err != nil {
		return err
	}
	rec, status, err := s.prepareRecord(rw.in.Collection, rw.in.RKey, rw.in.Record, rw.in.Validate)
	if err != nil {
		return err
	}
	c, err := s.commitWrite(r, rw.acct, []repo.Op{{Action: repo.Create, Collection: rw.in.Collection, RKey: rw.in.RKey, Record: rec}}, rw.swapCommit, false)
	if err != nil {
		return err
	}
	return ok(w, rw.result(c, status))
}

func (s *Server) putRecord(w http.ResponseWriter, r *http.Request, a *Auth) error {
	rw, err := s.parseRecordWrite(r, a, false)
	if err != nil {
		return err
	}
	rec, status, err := s.prepareRecord(rw.in.Collection, rw.in.RKey, rw.in.Record, rw.in.Validate)
	if err != nil {
		return err
	}
	op := repo.Op{Action: repo.Update, Collection: rw.in.Collection, RKey: rw.in.RKey, Record: rec, SwapRecord: rw.swapRecord}
	if op.SwapRecord != nil && !op.SwapRecord.Defined() {
		op.Action = repo.Create // "must not exist": this put creates
	}
	c, err := s.commitWrite(r, rw.acct, []repo.Op{op}, rw.swapCommit, true)
	if err != nil {
		return err
	}
	return ok(w, rw.result(c, status))
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request, a *Auth) error {
	rw, err := s.parseRecordWrite(r, a, false)
	if err != nil {
		return err
	}
	exists := true
	s.db.View(func(tx *store.Tx) error {
		_, err := repo.GetRecord(tx, rw.did, rw.in.Collection, rw.in.RKey)
		exists = err == nil
		return nil
	})
	if !exists && rw.swapRecord == nil {
		// Deleting what is not there changes nothing, as in the reference PDS.
		return ok(w, map[string]any{})
	}
	c, err := s.commitWrite(r, rw.acct, []repo.Op{{Action: repo.Delete, Collection: rw.in.Collection, RKey: rw.in.RKey, SwapRecord: rw.swapRecord}}, rw.swapCommit, false)
	if err != nil {
		return err
	}
	return ok(w, map[string]any{"commit": commitMeta(c)})
}

type applyWritesInput struct {
	Repo       string  `json:"repo"`
	Validate   *bool   `json:"validate"`
	SwapCommit *string `json:"swapCommit"`
	Writes     []struct {
		Type       string          `json:"$type"`
		Collection string          `json:"collection"`
		RKey       string          `json:"rkey"`
		Value      json.RawMessage `json:"value"`
	} `json:"writes"`
}

func (s *Server) applyWrites(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in applyWritesInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	did, acct, err := s.writeTarget(in.Repo, a)
	if err != nil {
		return err
	}
	if len(in.Writes) == 0 {
		return invalidRequest("writes must not be empty")
	}
	if len(in.Writes) > 200 {
		return invalidRequest("Too many writes. Max: 200")
	}
	swapCommit, err := parseSwap(in.SwapCommit, "swapCommit")
	if err != nil {
		return err
	}
	ops := make([]repo.Op, len(in.Writes))
	statuses := make([]string, len(in.Writes))
	const ns = "com.atproto.repo.applyWrites#"
	for i, wr := range in.Writes {
		if err := checkCollection(wr.Collection); err != nil {
			return err
		}
		op := repo.Op{Collection: wr.Collection, RKey: wr.RKey}
		switch wr.Type {
		case ns + "create":
			op.Action = repo.Create
			if op.RKey == "" {
				op.RKey = string(s.clock.Next())
			}
		case ns + "update":
			op.Action = repo.Update
		case ns + "delete":
			op.Action = repo.Delete
		default:
			return invalidRequest("writes/%d: unknown $type %q", i, wr.Type)
		}
		if err := checkRKey(op.RKey); err != nil {
			return err
		}
		if op.Action != repo.Delete {
			if op.Record, statuses[i], err = s.prepareRecord(wr.Collection, op.RKey, wr.Value, in.Validate); err != nil {
				return err
			}
		}
		ops[i] = op
	}
	c, err := s.commitWrite(r, acct, ops, swapCommit, false)
	if err != nil {
		return err
	}
	results := make([]map[string]any, len(c.Ops))
	for i, op := range c.Ops {
		coll, rkey, _ := strings.Cut(op.Path, "/")
		switch in.Writes[i].Type {
		case ns + "delete":
			results[i] = map[string]any{"$type": ns + "deleteResult"}
		default:
			kind := strings.TrimPrefix(in.Writes[i].Type, ns)
			results[i] = map[string]any{"$type": ns + kind + "Result", "uri": atURI(did, coll, rkey), "cid": op.CID.String(), "validationStatus": statuses[i]}
		}
	}
	return ok(w, map[string]any{"commit": commitMeta(c), "results": results})
}
