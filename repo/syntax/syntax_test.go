package syntax

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixtureLines reads a vector file: one case a line, no trimming (spaces are
// part of several invalid cases), empty and '#' lines skipped.
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
		"aturi":     func(s string) error { _, err := ParseATURI(s); return err },
		"nsid":      func(s string) error { _, err := ParseNSID(s); return err },
		"recordkey": func(s string) error { _, err := ParseRecordKey(s); return err },
		"tid":       func(s string) error { _, err := ParseTID(s); return err },
		"uri":       ValidateURI,
		"cid":       ValidateCIDString,
		"datetime":  ValidateDatetime,
		"language":  ValidateLanguage,
	}
	for name, check := range checks {
		for _, s := range fixtureLines(t, name+"_syntax_valid.txt") {
			if err := check(s); err != nil {
				t.Errorf("%s: valid %q rejected: %v", name, s, err)
			}
		}
		invalid := fixtureLines(t, name+"_syntax_invalid.txt")
		switch name {
		case "aturi":
			invalid = append(invalid, "#at://did:plc:asdf123")
		case "recordkey":
			invalid = append(invalid, "#extra")
		}
		for _, s := range invalid {
			if err := check(s); err == nil {
				t.Errorf("%s: invalid %q accepted", name, s)
			}
		}
	}
	for _, s := range fixtureLines(t, "datetime_syntax_valid.txt") {
		if _, err := ParseDatetime(s); err != nil {
			t.Errorf("ParseDatetime(%q): %v", s, err)
		}
	}
	for _, s := range fixtureLines(t, "datetime_parse_invalid.txt") {
		if ValidateDatetime(s) != nil {
			t.Errorf("parse-invalid %q should pass the syntax check", s)
		}
		if _, err := ParseDatetime(s); err == nil {
			t.Errorf("ParseDatetime(%q) accepted an impossible time", s)
		}
	}
	for _, s := range fixtureLines(t, "language_parse_invalid.txt") {
		if err := ValidateLanguage(s); err == nil {
			t.Errorf("language %q accepted", s)
		}
	}
}

func TestTIDRoundTrip(t *testing.T) {
	now := time.UnixMicro(1_700_000_000_123_456)
	tid := NewTID(now, 42)
	if _, err := ParseTID(string(tid)); err != nil {
		t.Fatal(err)
	}
	if !tid.Time().Equal(now) || tid.ClockID() != 42 {
		t.Fatalf("round trip: %v %d", tid.Time(), tid.ClockID())
	}
}

func TestTIDClockMonotonic(t *testing.T) {
	cur := time.UnixMicro(1_700_000_000_000_000)
	var mu sync.Mutex
	c := NewTIDClockAt(3, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return cur
	})
	a := c.Next()
	mu.Lock()
	cur = cur.Add(-time.Hour) // the clock steps back
	mu.Unlock()
	b := c.Next()
	if b <= a {
		t.Fatalf("%s after %s", b, a)
	}
	future := NewTID(cur.Add(24*time.Hour), 0)
	if n := c.NextAfter(future); n <= future || n <= b {
		t.Fatalf("NextAfter(%s) = %s", future, n)
	}
	seen := map[TID]bool{}
	var smu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last TID
			for i := 0; i < 500; i++ {
				x := c.Next()
				if x <= last {
					t.Errorf("not increasing: %s after %s", x, last)
				}
				last = x
				smu.Lock()
				if seen[x] {
					t.Errorf("duplicate %s", x)
				}
				seen[x] = true
				smu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func fuzzSeeds(f *testing.F, names ...string) {
	for _, n := range names {
		for _, s := range fixtureLines(f, n) {
			f.Add(s)
		}
	}
}

func FuzzParseATURI(f *testing.F) {
	fuzzSeeds(f, "aturi_syntax_valid.txt", "aturi_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseATURI(s)
		if err == nil && u.String() != s {
			t.Fatalf("String() = %q, input %q", u.String(), s)
		}
	})
}

func FuzzParseNSID(f *testing.F) {
	fuzzSeeds(f, "nsid_syntax_valid.txt", "nsid_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseNSID(s); err == nil && (string(n) != s || n.Authority()+"."+n.Name() != s) {
			t.Fatalf("round trip of %q", s)
		}
	})
}

func FuzzParseTID(f *testing.F) {
	fuzzSeeds(f, "tid_syntax_valid.txt", "tid_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		if tid, err := ParseTID(s); err == nil && NewTID(tid.Time(), tid.ClockID()) != tid {
			t.Fatalf("round trip of %q", s)
		}
	})
}

func FuzzParseRecordKey(f *testing.F) {
	fuzzSeeds(f, "recordkey_syntax_valid.txt", "recordkey_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) { ParseRecordKey(s) })
}

func FuzzParseDatetime(f *testing.F) {
	fuzzSeeds(f, "datetime_syntax_valid.txt", "datetime_syntax_invalid.txt", "datetime_parse_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseDatetime(s); err == nil && ValidateDatetime(s) != nil {
			t.Fatal("parse accepted what the syntax check refuses")
		}
	})
}

func FuzzValidateLanguage(f *testing.F) {
	fuzzSeeds(f, "language_syntax_valid.txt", "language_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) { ValidateLanguage(s) })
}

func FuzzValidateURI(f *testing.F) {
	fuzzSeeds(f, "uri_syntax_valid.txt", "uri_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) { ValidateURI(s) })
}

func BenchmarkParseATURI(b *testing.B) {
	for b.Loop() {
		ParseATURI("at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jzfcijpj2z2a")
	}
}

func BenchmarkTIDClockNext(b *testing.B) {
	c := NewTIDClock(1)
	for b.Loop() {
		c.Next()
	}
}
