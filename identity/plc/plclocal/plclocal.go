// Package plclocal is the PLC directory a trial Hearth serves itself, under
// /plc/, kept in the data file (store bucket plc). It judges every
// operation as the public directory does, with package plc: a genesis must
// hash to its DID and be signed by one of its own rotation keys, each later
// operation must name the one before as prev and be signed by one of that
// one's rotation keys. Nothing in it ever leaves the machine, which is what
// makes a trial safe: its DIDs exist nowhere else.
package plclocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/store"
)

// Directory serves POST /<did> and GET /<did>, /<did>/data, /<did>/log,
// /<did>/log/last and /<did>/log/audit, as plc.directory does. Mount it
// with the prefix stripped.
type Directory struct {
	DB *store.DB
}

// maxOp bounds a submitted operation; the spec's limit is 7500 bytes of
// CBOR, and JSON is larger.
const maxOp = 64 << 10

func (d *Directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	did, suffix, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if _, err := identity.ParsePLC(did); err != nil {
		send(w, http.StatusBadRequest, map[string]string{"message": "not a did:plc: " + did})
		return
	}
	if r.Method == http.MethodPost && suffix == "" {
		var raw json.RawMessage
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOp)).Decode(&raw); err != nil {
			send(w, http.StatusBadRequest, map[string]string{"message": "the body is not a JSON operation"})
			return
		}
		if err := d.Submit(r.Context(), did, raw); err != nil {
			send(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		send(w, http.StatusOK, map[string]string{})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		send(w, http.StatusMethodNotAllowed, map[string]string{"message": "method not allowed"})
		return
	}
	ops, raws, err := d.log(did)
	if err != nil {
		send(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	if len(ops) == 0 {
		send(w, http.StatusNotFound, map[string]string{"message": "DID not registered: " + did})
		return
	}
	switch suffix {
	case "log/last":
		send(w, http.StatusOK, raws[len(raws)-1])
	case "log":
		send(w, http.StatusOK, raws)
	case "log/audit":
		type entry struct {
			DID       string          `json:"did"`
			Operation json.RawMessage `json:"operation"`
			CID       string          `json:"cid"`
			Nullified bool            `json:"nullified"`
			CreatedAt string          `json:"createdAt"`
		}
		var out []entry
		for i, op := range ops {
			c, _ := op.CID()
			out = append(out, entry{DID: did, Operation: raws[i], CID: c.String(), CreatedAt: time.Unix(0, 0).UTC().Format(time.RFC3339)})
		}
		send(w, http.StatusOK, out)
	case "data", "":
		st, err := plc.VerifyLog(did, ops)
		if errors.Is(err, plc.ErrTombstoned) {
			send(w, http.StatusGone, map[string]string{"message": "DID not available: " + did})
			return
		}
		if err != nil {
			send(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
			return
		}
		if suffix == "data" {
			send(w, http.StatusOK, st)
		} else {
			send(w, http.StatusOK, st.Document())
		}
	default:
		send(w, http.StatusNotFound, map[string]string{"message": "not found"})
	}
}

// Submit checks op as the next operation of did and keeps it.
func (d *Directory) Submit(ctx context.Context, did string, raw []byte) error {
	op, err := plc.ParseOp(raw)
	if err != nil {
		return err
	}
	if err := op.Validate(); err != nil {
		return err
	}
	return d.DB.Update(ctx, func(tx *store.Tx) error {
		ops, err := parseAll(tx.PLCLog(did))
		if err != nil {
			return err
		}
		if _, err := plc.VerifyLog(did, append(ops, op)); err != nil && !errors.Is(err, plc.ErrTombstoned) {
			return err
		}
		return tx.AppendPLCOp(did, raw)
	})
}

func (d *Directory) log(did string) ([]plc.Op, []json.RawMessage, error) {
	var raws [][]byte
	d.DB.View(func(tx *store.Tx) error { raws = tx.PLCLog(did); return nil })
	ops, err := parseAll(raws)
	out := make([]json.RawMessage, len(raws))
	for i, r := range raws {
		out[i] = r
	}
	return ops, out, err
}

func parseAll(raws [][]byte) ([]plc.Op, error) {
	ops := make([]plc.Op, 0, len(raws))
	for i, r := range raws {
		op, err := plc.ParseOp(r)
		if err != nil {
			return nil, fmt.Errorf("plclocal: stored operation %d: %w", i, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func send(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
