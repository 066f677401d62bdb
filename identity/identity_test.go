package identity

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// fixtureLines reads an interop vector file: one case a line, empty and
// '#' lines skipped, nothing trimmed (leading and trailing spaces are what
// makes several invalid cases invalid). A missing or empty file fails the
// test rather than passing it vacuously.
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
	checks := []struct {
		name  string
		check func(string) error
	}{
		{"did", func(s string) error { _, err := ParseDID(s); return err }},
		{"handle", func(s string) error { _, err := ParseHandle(s); return err }},
		{"atidentifier", func(s string) error { _, err := ParseAtIdentifier(s); return err }},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, s := range fixtureLines(t, c.name+"_syntax_valid.txt") {
				if err := c.check(s); err != nil {
					t.Errorf("valid %q rejected: %v", s, err)
				}
			}
			for _, s := range fixtureLines(t, c.name+"_syntax_invalid.txt") {
				err := c.check(s)
				if err == nil {
					t.Errorf("invalid %q accepted", s)
				} else if !errors.Is(err, ErrInvalid) {
					t.Errorf("%q: error %v does not wrap ErrInvalid", s, err)
				}
			}
		})
	}
}

func TestParseDID(t *testing.T) {
	long := "did:web:" + strings.Repeat("a", MaxDIDLength-len("did:web:"))
	cases := []struct {
		in     string
		ok     bool
		method string
	}{
		{"did:plc:ewvi7nxzyoun6zhxrhs64oiz", true, "plc"},
		{"did:web:example.com", true, "web"},
		{long, true, "web"},
		{long + "a", false, ""},
		{"did:a:b", true, "a"},
		{"did::b", false, ""},
		{"did:a", false, ""},
		{"did:a:", false, ""},
		{"did:a:b%", false, ""},
		{"did:a:b:", false, ""},
		{"did:a:b\x00", false, ""},
		{"did:a:é", false, ""},
		{"", false, ""},
	}
	for _, c := range cases {
		d, err := ParseDID(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseDID(%.40q) = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && d.Method() != c.method {
			t.Errorf("Method(%.40q) = %q, want %q", c.in, d.Method(), c.method)
		}
	}
	if m := DID("plc:xyz").Method(); m != "" {
		t.Errorf("Method of a non-DID = %q", m)
	}
}

func TestSupportedMethods(t *testing.T) {
	cases := []struct {
		in       string
		plc, web bool
	}{
		{"did:plc:ewvi7nxzyoun6zhxrhs64oiz", true, false},
		{"did:plc:7iza6de2dwap2sbkpav7c6c6", true, false},
		{"did:plc:ewvi7nxzyoun6zhxrhs64oi", false, false},   // 23 chars
		{"did:plc:ewvi7nxzyoun6zhxrhs64oizz", false, false}, // 25 chars
		{"did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ", false, false},
		{"did:plc:ewvi7nxzyoun6zhxrhs64oi1", false, false}, // 1 is not base32
		{"did:web:example.com", false, true},
		{"did:web:Example.COM", false, true},
		{"did:web:sub.example.test", false, true},
		{"did:web:localhost", false, true},
		{"did:web:localhost%3A2583", false, true},
		{"did:web:localhost%3a2583", false, true},
		{"did:web:localhost%3A", false, false},
		{"did:web:localhost%3A0", false, false},
		{"did:web:localhost%3A65536", false, false},
		{"did:web:localhost%3Axyz", false, false},
		{"did:web:localhost%2F", false, false},
		{"did:web:example.com%3A443", false, false},
		{"did:web:example.com:path", false, false},
		{"did:web:example.local", false, false},
		{"did:web:box.onion", false, false},
		{"did:web:com", false, false},
		{"did:web:127.0.0.1", false, false},
		{"did:web:exa_mple.com", false, false},
		{"did:web:", false, false},
	}
	for _, c := range cases {
		if _, err := ParsePLC(c.in); (err == nil) != c.plc {
			t.Errorf("ParsePLC(%q) = %v, want ok=%v", c.in, err, c.plc)
		} else if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePLC(%q): %v does not wrap ErrInvalid", c.in, err)
		}
		if _, err := ParseWeb(c.in); (err == nil) != c.web {
			t.Errorf("ParseWeb(%q) = %v, want ok=%v", c.in, err, c.web)
		}
		d := DID(c.in)
		if c.plc && !d.IsPLC() || c.web && !d.IsWeb() {
			t.Errorf("IsPLC/IsWeb(%q)", c.in)
		}
	}
}

func TestHandle(t *testing.T) {
	cases := []struct {
		in         string
		ok         bool
		disallowed bool
		test       bool
	}{
		{"alice.bsky.social", true, false, false},
		{"Alice.Example.COM", true, false, false},
		{"alice.test", true, true, true},
		{"alice.TEST", true, true, true},
		{"laptop.local", true, true, false},
		{"x.arpa", true, true, false},
		{"x.invalid", true, true, false},
		{"x.localhost", true, true, false},
		{"x.internal", true, true, false},
		{"x.example", true, true, false},
		{"x.alt", true, true, false},
		{"x.onion", true, true, false},
		{"local.com", true, false, false},
		{"x.testing", true, false, false},
		{"4chan.org", true, false, false},
		{"a.b-c.d", true, false, false},
		{"a..b", false, false, false},
		{"a.b.", false, false, false},
		{".a.b", false, false, false},
		{"a", false, false, false},
		{"", false, false, false},
		{"a.1b", false, false, false},
		{"a-.b", false, false, false},
		{"a.-b", false, false, false},
		{strings.Repeat("a", 63) + ".com", true, false, false},
		{strings.Repeat("a", 64) + ".com", false, false, false},
		{strings.Repeat("a.", 125) + "com", true, false, false}, // 253
		{strings.Repeat("a.", 126) + "co", false, false, false}, // 254
	}
	for _, c := range cases {
		h, err := ParseHandle(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseHandle(%.40q) = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if !c.ok {
			continue
		}
		if h.IsDisallowedTLD() != c.disallowed || h.IsTestTLD() != c.test {
			t.Errorf("%q: IsDisallowedTLD=%v IsTestTLD=%v", c.in, h.IsDisallowedTLD(), h.IsTestTLD())
		}
		n, err := NormalizeHandle(c.in)
		if err != nil || string(n) != strings.ToLower(c.in) || n != h.Normalize() {
			t.Errorf("NormalizeHandle(%q) = %q, %v", c.in, n, err)
		}
	}
	if _, err := NormalizeHandle("no"); err == nil {
		t.Error("NormalizeHandle accepted an invalid handle")
	}
}

func TestAtIdentifier(t *testing.T) {
	cases := []struct {
		in    string
		ok    bool
		isDID bool
	}{
		{"did:plc:ewvi7nxzyoun6zhxrhs64oiz", true, true},
		{"alice.bsky.social", true, false},
		{"did:thing", false, false},
		{"did.thing.com", true, false},
		{"@alice.bsky.social", false, false},
		{"", false, false},
	}
	for _, c := range cases {
		a, err := ParseAtIdentifier(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseAtIdentifier(%q) = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if !c.ok {
			if a != (AtIdentifier{}) {
				t.Errorf("ParseAtIdentifier(%q) returned %+v with an error", c.in, a)
			}
			continue
		}
		if a.IsDID() != c.isDID || a.String() != c.in {
			t.Errorf("ParseAtIdentifier(%q) = %+v", c.in, a)
		}
	}
}

func seed(f *testing.F, names ...string) {
	for _, n := range names {
		for _, s := range fixtureLines(f, n) {
			f.Add(s)
		}
	}
}

func FuzzParseDID(f *testing.F) {
	seed(f, "did_syntax_valid.txt", "did_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			// The strict parsers must not accept what the generic one refuses.
			if _, perr := ParsePLC(s); perr == nil {
				t.Fatalf("ParsePLC accepted %q", s)
			}
			if _, werr := ParseWeb(s); werr == nil {
				t.Fatalf("ParseWeb accepted %q", s)
			}
			return
		}
		if d.String() != s || "did:"+d.Method()+":" != s[:len(d.Method())+5] {
			t.Fatalf("round trip of %q", s)
		}
	})
}

func FuzzParseHandle(f *testing.F) {
	seed(f, "handle_syntax_valid.txt", "handle_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHandle(s)
		if err != nil {
			return
		}
		if h.String() != s {
			t.Fatalf("round trip of %q", s)
		}
		if n := h.Normalize(); n.IsDisallowedTLD() != h.IsDisallowedTLD() {
			t.Fatalf("%q: normalizing changed IsDisallowedTLD", s)
		}
		if _, err := ParseHandle(string(h.Normalize())); err != nil {
			t.Fatalf("normalized %q rejected: %v", s, err)
		}
		if _, err := ParseWeb("did:web:" + s); err != nil && !h.IsDisallowedTLD() {
			t.Fatalf("did:web:%s rejected: %v", s, err)
		}
	})
}

func FuzzParseAtIdentifier(f *testing.F) {
	seed(f, "atidentifier_syntax_valid.txt", "atidentifier_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAtIdentifier(s)
		if err == nil && a.String() != s {
			t.Fatalf("round trip of %q", s)
		}
	})
}

func BenchmarkParseHandle(b *testing.B) {
	for b.Loop() {
		if _, err := ParseHandle("alice.bsky.social"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDID(b *testing.B) {
	for b.Loop() {
		if _, err := ParseDID("did:plc:ewvi7nxzyoun6zhxrhs64oiz"); err != nil {
			b.Fatal(err)
		}
	}
}
