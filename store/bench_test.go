package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCommit is one fsynced transaction that changes n keys of a
// bucket of 20 000 blocks, scattered (keys are hashes, as CIDs are: each
// lands in its own leaf) or in order (one leaf or two). It shows what a
// sequential createRecord pays for its commit: about 40 scattered pages.
func BenchmarkCommit(b *testing.B) {
	for _, c := range []struct {
		name      string
		n         int
		scattered bool
	}{{"none", 0, false}, {"scattered-20", 20, true}, {"in-order-20", 20, false}} {
		b.Run(c.name, func(b *testing.B) {
			db := openTest(b, Options{})
			key := func(i int) []byte {
				k := binary.BigEndian.AppendUint64(nil, uint64(i))
				if c.scattered {
					h := sha256.Sum256(k)
					return h[:]
				}
				return k
			}
			val := make([]byte, 300)
			err := db.Update(context.Background(), func(tx *Tx) error {
				bk, err := tx.Bolt().CreateBucketIfNotExists([]byte("bench"))
				if err != nil {
					return err
				}
				for i := range 20_000 {
					if err := bk.Put(key(i), val); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			next := 20_000
			start := cpuNow()
			for b.Loop() {
				err := db.Update(context.Background(), func(tx *Tx) error {
					bk := tx.Bolt().Bucket([]byte("bench"))
					if c.n == 0 {
						return tx.Bolt().Bucket([]byte("meta")).Put([]byte("bench"), val[:8])
					}
					for j := range c.n {
						if err := bk.Put(key(next+j), val); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				next += c.n
			}
			b.ReportMetric(float64((cpuNow()-start).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
