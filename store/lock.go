package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// ErrInUse means another process holds the data file open.
var ErrInUse = errors.New("store: the data file is already in use")

// pidPath is the lock note beside the data file: hearth.pid for
// hearth.db. bbolt's flock is the lock; the note only names its holder,
// since a flock cannot say who holds it.
func pidPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".pid"
}

// writePID records this process as the holder of the file's lock. A
// failure is not fatal: the lock holds without the note.
func writePID(path string) {
	os.WriteFile(pidPath(path), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
}

// removePID deletes the note if it is still this process's.
func removePID(path string) {
	if b, err := os.ReadFile(pidPath(path)); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
		os.Remove(pidPath(path))
	}
}

// inUse words bbolt's lock timeout with the holder's process number.
func inUse(path string, err error) error {
	if !errors.Is(err, bolt.ErrTimeout) {
		return err
	}
	b, rerr := os.ReadFile(pidPath(path))
	if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); rerr == nil && perr == nil && pid > 0 {
		return fmt.Errorf("%w by process %d (%s): stop it first, or use another data folder", ErrInUse, pid, path)
	}
	return fmt.Errorf("%w by another process (%s): stop it first, or use another data folder", ErrInUse, path)
}
