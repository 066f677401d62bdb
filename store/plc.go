package store

import (
	"encoding/binary"
	"errors"
)

var bucketPLC = []byte("plc")

// ErrPLCNoDID reports a DID the local PLC directory has no operation of.
var ErrPLCNoDID = errors.New("store: no such DID in the local PLC directory")

func plcKey(did string, n uint32) []byte {
	k := make([]byte, 0, len(did)+5)
	k = append(k, did...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, n)
}

// PLCLog returns the operations kept for did by the local PLC directory
// (the trial's), oldest first, each the JSON the directory accepted. The
// slices are copies, valid after the transaction.
func (tx *Tx) PLCLog(did string) [][]byte {
	b := tx.btx.Bucket(bucketPLC)
	if b == nil {
		return nil
	}
	prefix := append([]byte(did), 0)
	var out [][]byte
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) == len(prefix)+4 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		out = append(out, append([]byte(nil), v...))
	}
	return out
}

// AppendPLCOp adds op as the next operation of did in the local PLC
// directory. The caller has checked it against PLCLog in the same
// transaction.
func (tx *Tx) AppendPLCOp(did string, op []byte) error {
	b, err := tx.btx.CreateBucketIfNotExists(bucketPLC)
	if err != nil {
		return err
	}
	n := uint32(len(tx.PLCLog(did)))
	return b.Put(plcKey(did, n), op)
}
