package xrpc

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/store"
)

// The record reads: getRecord, listRecords, describeRepo.

func marshalDataModel(v any) (json.RawMessage, error) { return dagcbor.ToJSON(v) }

// notHosted reports resolveRepo's answer for a repo of no local account.
func notHosted(err error) bool {
	var xe *Error
	return errors.As(err, &xe) && xe.Name == "RepoNotFound"
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request, a *Auth) error {
	q := r.URL.Query()
	coll, rkey, err := recordQuery(q)
	if err != nil {
		return err
	}
	ident := q.Get("repo")
	did, err := s.resolveRepo(ident)
	if notHosted(err) {
		// As the reference does, a record of a repo hosted elsewhere is
		// asked of the AppView, which indexes every repo. A signed-in
		// caller's read goes with their service token, an anonymous one
		// without.
		if _, err := identity.ParseAtIdentifier(ident); err != nil {
			return invalidRequest("repo must be a DID or a handle")
		}
		var acct *store.Account
		if a != nil {
			acct = a.Account
		}
		s.forward(w, r, "com.atproto.repo.getRecord", acct)
		return nil
	}
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 512)
	err = s.db.View(func(tx *store.Tx) error {
		rec, err := repo.GetRecord(tx, did, coll, rkey)
		if err != nil {
			return err
		}
		if want := q.Get("cid"); want != "" && rec.CID.String() != want || account.RecordHidden(tx, did, coll, rkey) {
			return repo.ErrRecordNotFound
		}
		buf, err = appendRecord(buf, did, coll, rec)
		return err
	})
	if errors.Is(err, repo.ErrRecordNotFound) {
		return errorf(http.StatusNotFound, "RecordNotFound", "Could not locate record: %s", atURI(did, coll, rkey))
	}
	if err != nil {
		return err
	}
	writeRawJSON(w, append(buf, '\n'))
	return nil
}

// appendRecord appends {"cid":…,"uri":…,"value":…}, the record view of
// getRecord and listRecords, to buf. The value goes from DAG-CBOR to JSON
// straight into buf, written by the walk that checks it: no value of the
// record nor map of the answer is built. On an error buf is as it was.
func appendRecord(buf []byte, did, coll string, rec repo.Record) ([]byte, error) {
	start := len(buf)
	buf = append(buf, `{"cid":`...)
	buf = appendJSONString(buf, rec.CID.String())
	buf = append(buf, `,"uri":`...)
	buf = appendJSONString(buf, atURI(did, coll, rec.RKey))
	buf = append(buf, `,"value":`...)
	buf, err := dagcbor.AppendCBORAsJSON(buf, rec.Value)
	if err != nil {
		return buf[:start], err
	}
	return append(buf, '}'), nil
}

// appendJSONString appends s as a JSON string; identifiers are plain ASCII
// and are copied as they are.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, _ := json.Marshal(s)
			return append(buf, raw...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// writeRawJSON answers 200 with a JSON body already encoded.
func writeRawJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func parseLimit(s string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, invalidRequest("limit must be an integer from 1 to %d", max)
	}
	return n, nil
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	q := r.URL.Query()
	did, err := s.resolveRepo(q.Get("repo"))
	if err != nil {
		return err
	}
	coll := q.Get("collection")
	if err := checkCollection(coll); err != nil {
		return err
	}
	limit, err := parseLimit(q.Get("limit"), 50, 100)
	if err != nil {
		return err
	}
	reverse := q.Get("reverse") == "true"
	// The answer is written as it is read: {"records":[…]} and, for a full
	// page, the cursor.
	buf := make([]byte, 0, 64+limit*512)
	buf = append(buf, `{"records":[`...)
	n := 0
	var last string
	err = s.db.View(func(tx *store.Tx) error {
		// The reference PDS lists newest first by default; reverse=true is oldest first.
		return repo.ListRecords(tx, did, coll, q.Get("cursor"), !reverse, limit, func(rec repo.Record) error {
			if n > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendRecord(buf, did, coll, rec); err != nil {
				return err
			}
			n++
			last = rec.RKey
			return nil
		})
	})
	if err != nil {
		return err
	}
	buf = append(buf, ']')
	if n == limit {
		buf = append(buf, `,"cursor":`...)
		buf = appendJSONString(buf, last)
	}
	writeRawJSON(w, append(buf, "}\n"...))
	return nil
}

func (s *Server) describeRepo(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	did, err := s.resolveRepo(r.URL.Query().Get("repo"))
	if err != nil {
		return err
	}
	acct, err := s.loadAccount(did)
	if err != nil {
		return err
	}
	var colls []string
	if err := s.db.View(func(tx *store.Tx) error {
		colls, err = repo.Collections(tx, did)
		return err
	}); err != nil {
		return err
	}
	if colls == nil {
		colls = []string{}
	}
	return ok(w, map[string]any{
		"handle": acct.Handle, "did": did, "didDoc": s.accounts.DIDDoc(acct),
		"collections": colls, "handleIsCorrect": true,
	})
}
