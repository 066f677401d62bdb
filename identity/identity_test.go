package identity

import (
	"os"
	"strings"
	"testing"
)

func fixtureLines(t testing.TB, name string) []string {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var out []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		t.Fatalf("fixture %s has no cases", name)
	}
	return out
}

func TestVectors(t *testing.T) {
	checks := map[string]func(string) error{
		"did":          func(s string) error { _, err := ParseDID(s); return err },
		"handle":       func(s string) error { _, err := ParseHandle(s); return err },
		"atidentifier": func(s string) error { _, err := ParseAtIdentifier(s); return err },
	}
	for name, check := range checks {
		for _, s := range fixtureLines(t, name+"_syntax_valid.txt") {
			if err := check(s); err != nil {
				t.Errorf("%s: valid %q rejected: %v", name, s, err)
			}
		}
		for _, s := range fixtureLines(t, name+"_syntax_invalid.txt") {
			if err := check(s); err == nil {
				t.Errorf("%s: invalid %q accepted", name, s)
			}
		}
	}
}

func TestMethods(t *testing.T) {
	cases := []struct {
		in       string
		plc, web bool
	}{
		{"did:plc:ewvi7nxzyoun6zhxrhs64oiz", true, false},
		{"did:plc:ewvi7nxzyoun6zhxrhs64oi", false, false},
		{"did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ", false, false},
		{"did:web:example.com", false, true},
		{"did:web:localhost%3A2583", false, true},
		{"did:web:example.com%3A443", false, false},
		{"did:web:example.com:path", false, false},
	}
	for _, c := range cases {
		if _, err := ParsePLC(c.in); (err == nil) != c.plc {
			t.Errorf("ParsePLC(%q) = %v", c.in, err)
		}
		if _, err := ParseWeb(c.in); (err == nil) != c.web {
			t.Errorf("ParseWeb(%q) = %v", c.in, err)
		}
	}
	if !Handle("alice.test").IsDisallowedTLD() || Handle("alice.com").IsDisallowedTLD() {
		t.Error("IsDisallowedTLD")
	}
}

func FuzzParseDID(f *testing.F) {
	for _, s := range fixtureLines(f, "did_syntax_valid.txt") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDID(s); err == nil && string(d) != s {
			t.Fatal("round trip")
		}
	})
}

func FuzzParseHandle(f *testing.F) {
	for _, s := range fixtureLines(f, "handle_syntax_valid.txt") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if h, err := ParseHandle(s); err == nil && string(h) != s {
			t.Fatal("round trip")
		}
	})
}

func BenchmarkParseHandle(b *testing.B) {
	for b.Loop() {
		ParseHandle("alice.bsky.social")
	}
}
