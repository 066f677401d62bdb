// Package plctest is a PLC directory stand-in for tests: it checks every
// operation with package plc as the real directory does (a genesis must
// hash to its DID, each later operation must chain to the last and be
// signed by one of its rotation keys), keeps the log per DID, and serves
// the documents, so that resolution works against it.
package plctest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/hearth-pds/hearth/identity/plc"
)

// Directory is an http.Handler serving POST /<did>, GET /<did> and
// GET /<did>/log/last.
type Directory struct {
	mu   sync.Mutex
	ops  map[string][]*plc.Operation
	fail bool
}

// SetFail makes every submission fail with a 500, like a directory that is
// down, until SetFail(false).
func (d *Directory) SetFail(fail bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail = fail
}

// Log returns the operations of did, oldest first.
func (d *Directory) Log(did string) []*plc.Operation {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*plc.Operation(nil), d.ops[did]...)
}

// Len is the number of DIDs the directory knows.
func (d *Directory) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.ops)
}

// New returns an empty directory.
func New() *Directory { return &Directory{ops: map[string][]*plc.Operation{}} }

// Last returns the last operation of did, or nil.
func (d *Directory) Last(did string) *plc.Operation {
	d.mu.Lock()
	defer d.mu.Unlock()
	if log := d.ops[did]; len(log) > 0 {
		return log[len(log)-1]
	}
	return nil
}

func (d *Directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	did, suffix, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	log := d.ops[did]
	switch {
	case r.Method == http.MethodPost:
		if d.fail {
			http.Error(w, `{"message":"directory down"}`, http.StatusInternalServerError)
			return
		}
		var op plc.Operation
		if err := json.NewDecoder(r.Body).Decode(&op); err != nil {
			http.Error(w, `{"message":"bad json"}`, http.StatusBadRequest)
			return
		}
		if err := check(did, log, &op); err != nil {
			http.Error(w, `{"message":"`+err.Error()+`"}`, http.StatusBadRequest)
			return
		}
		d.ops[did] = append(log, &op)
	case len(log) == 0:
		http.NotFound(w, r)
	case suffix == "log/last":
		json.NewEncoder(w).Encode(log[len(log)-1])
	case suffix == "":
		json.NewEncoder(w).Encode(log[len(log)-1].State(did).Document())
	default:
		http.NotFound(w, r)
	}
}

func check(did string, log []*plc.Operation, op *plc.Operation) error {
	if len(log) == 0 {
		got, err := plc.DIDFromGenesis(op)
		if err != nil {
			return err
		}
		if got != did {
			return errors.New("genesis does not hash to " + did)
		}
		return op.VerifyWith(op.RotationKeys)
	}
	prev := log[len(log)-1]
	pc, err := prev.CID()
	if err != nil {
		return err
	}
	if op.Prev == nil || *op.Prev != pc.String() {
		return errors.New("prev does not chain")
	}
	return op.VerifyWith(prev.RotationKeys)
}
