//go:build !linux

package store

import "os"

// reserve is a no-op where fallocate is not available.
type reserve struct{ file *os.File }

func (r *reserve) grow(size int64) {}
