package xrpc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestAsXRPC(t *testing.T) {
	enospc := &fs.PathError{Op: "write", Path: "/data/hearth.db", Err: syscall.ENOSPC}
	for _, tc := range []struct {
		name   string
		err    error
		status int
		xname  string
		known  bool
	}{
		{"xrpc error", invalidRequest("no"), 400, "InvalidRequest", true},
		{"unknown", errors.New("boom"), 500, "InternalServerError", false},
		{"disk full", fmt.Errorf("store: put block: %w", enospc), 503, "InsufficientStorage", false},
		{"disk full, bare", syscall.ENOSPC, 503, "InsufficientStorage", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xe, known := asXRPC(tc.err)
			if xe.Status != tc.status || xe.Name != tc.xname || known != tc.known {
				t.Fatalf("asXRPC(%v) = %d %s known=%v; want %d %s known=%v", tc.err, xe.Status, xe.Name, known, tc.status, tc.xname, tc.known)
			}
		})
	}
}

// lockedBuffer is a log sink the server's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDiskFullAnswersInsufficientStorage(t *testing.T) {
	e := newEnv(t)
	var logs lockedBuffer
	e.srv.log = slog.New(slog.NewTextHandler(&logs, nil))
	e.srv.handle("dev.hearth.test.fill", procedure, authNone, func(http.ResponseWriter, *http.Request, *Auth) error {
		return fmt.Errorf("repo: write commit: %w", &fs.PathError{Op: "write", Path: "hearth.db", Err: syscall.ENOSPC})
	})
	r := e.post("dev.hearth.test.fill", "", "{}")
	expectError(t, r, http.StatusServiceUnavailable, "InsufficientStorage")
	if ra := r.Header.Get("Retry-After"); ra == "" {
		t.Error("no Retry-After on a full disk")
	}
	if msg := r.json(t)["message"]; !strings.Contains(fmt.Sprint(msg), "free some space") {
		t.Fatalf("message %q does not say what to do", msg)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "no space left") {
		t.Fatalf("full disk not logged at Error: %s", l)
	}
}
