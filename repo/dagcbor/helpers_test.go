package dagcbor

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hx decodes hex written with optional spaces.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64 %q: %v", s, err)
	}
	return b
}

// loadFixture decodes testdata/name into a non-empty []T. A missing or empty
// file fails the test: a fixture that silently vanished must not pass.
func loadFixture[T any](t testing.TB, name string) []T {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		t.Fatalf("fixture %s is empty", name)
	}
	var out []T
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if len(out) == 0 {
		t.Fatalf("fixture %s holds no cases", name)
	}
	return out
}

type roundTripCase struct {
	JSON       json.RawMessage `json:"json"`
	CBORBase64 string          `json:"cbor_base64"`
	CID        string          `json:"cid"`
}

type acceptCase struct {
	Note string          `json:"note"`
	JSON json.RawMessage `json:"json"`
}

// jsonEqual compares two JSON texts as values, numbers by their text.
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	return jsonValueString(t, a) == jsonValueString(t, b)
}

// jsonValueString re-encodes JSON through a generic value, which sorts keys
// and drops insignificant whitespace.
func jsonValueString(t testing.TB, b []byte) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
