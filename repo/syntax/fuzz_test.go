package syntax

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func seed(f *testing.F, names ...string) {
	for _, n := range names {
		for _, s := range fixtureLines(f, n) {
			f.Add(s)
		}
	}
}

// mustInvalid fails unless err is nil or wraps ErrInvalid.
func mustInvalid(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrInvalid) {
		t.Fatalf("error does not wrap ErrInvalid: %v", err)
	}
}

func FuzzParseNSID(f *testing.F) {
	seed(f, "nsid_syntax_valid.txt", "nsid_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNSID(s)
		mustInvalid(t, err)
		if err != nil {
			return
		}
		if n.String() != s || !strings.HasSuffix(s, "."+n.Name()) {
			t.Fatalf("round trip of %q: name %q", s, n.Name())
		}
		segs := strings.Split(n.Authority(), ".")
		for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
			segs[i], segs[j] = segs[j], segs[i]
		}
		if strings.Join(segs, ".")+"."+n.Name() != string(n.Normalize()) {
			t.Fatalf("%q: Authority %q and Normalize %q disagree", s, n.Authority(), n.Normalize())
		}
		if _, err := ParseNSID(string(n.Normalize())); err != nil {
			t.Fatalf("normalized %q rejected: %v", s, err)
		}
	})
}

func FuzzParseRecordKey(f *testing.F) {
	seed(f, "recordkey_syntax_valid.txt", "recordkey_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseRecordKey(s)
		mustInvalid(t, err)
		if err != nil {
			return
		}
		if k != s {
			t.Fatalf("round trip of %q", s)
		}
		u := "at://did:plc:abc/a.b.c/" + k
		if got, err := ParseATURI(u); err != nil || got.RecordKey != k || got.String() != u {
			t.Fatalf("record key %q not accepted in an AT-URI: %v", k, err)
		}
	})
}

func FuzzParseTID(f *testing.F) {
	seed(f, "tid_syntax_valid.txt", "tid_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		tid, err := ParseTID(s)
		mustInvalid(t, err)
		if err != nil {
			return
		}
		if tid.String() != s || tid.ClockID() > 1023 {
			t.Fatalf("%q: ClockID %d", s, tid.ClockID())
		}
		// A TID with the top bit clear (first character 2–b) is what
		// NewTID makes; it must survive the round trip exactly.
		if s[0] <= 'b' && NewTID(tid.Time(), tid.ClockID()) != tid {
			t.Fatalf("round trip of %q: %s", s, NewTID(tid.Time(), tid.ClockID()))
		}
	})
}

func FuzzParseATURI(f *testing.F) {
	seed(f, "aturi_syntax_valid.txt", "aturi_syntax_invalid.txt")
	f.Add("at://did:plc:asdf123/a.b.c/k#/a/b~1c/%C3%A9")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseATURI(s)
		mustInvalid(t, err)
		if err != nil {
			return
		}
		if u.String() != s {
			t.Fatalf("String() = %q, input %q", u.String(), s)
		}
		if u.RecordKey != "" && u.Collection == "" {
			t.Fatalf("%q: record key without a collection", s)
		}
		if strings.ContainsAny(u.Authority+string(u.Collection)+u.RecordKey, "/?#") {
			t.Fatalf("%q: separator inside a part: %+v", s, u)
		}
	})
}

func FuzzParseDatetime(f *testing.F) {
	seed(f, "datetime_syntax_valid.txt", "datetime_syntax_invalid.txt", "datetime_parse_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		verr := ValidateDatetime(s)
		mustInvalid(t, verr)
		tm, err := ParseDatetime(s)
		mustInvalid(t, err)
		if err != nil {
			return
		}
		if verr != nil {
			t.Fatalf("ParseDatetime accepted %q, which ValidateDatetime refuses: %v", s, verr)
		}
		// The standard library agrees on the instant, within the
		// nanoseconds we keep.
		std, serr := time.Parse(time.RFC3339Nano, s)
		if serr == nil && !std.Equal(tm) {
			t.Fatalf("%q: ParseDatetime %v, time.Parse %v", s, tm, std)
		}
		back := tm.Format(time.RFC3339Nano)
		if again, err := ParseDatetime(back); err != nil || !again.Equal(tm) {
			t.Fatalf("%q: re-parsing %q gave %v, %v", s, back, again, err)
		}
	})
}

func FuzzValidateLanguage(f *testing.F) {
	seed(f, "language_syntax_valid.txt", "language_syntax_invalid.txt", "language_parse_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateLanguage(s)
		mustInvalid(t, err)
		if err == nil && strings.ContainsAny(s, " _") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzValidateURI(f *testing.F) {
	seed(f, "uri_syntax_valid.txt", "uri_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateURI(s)
		mustInvalid(t, err)
		if err == nil && (strings.ContainsAny(s, " \t\r\n") || !strings.Contains(s, ":")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzValidateCIDString(f *testing.F) {
	seed(f, "cid_syntax_valid.txt", "cid_syntax_invalid.txt")
	f.Fuzz(func(t *testing.T, s string) {
		mustInvalid(t, ValidateCIDString(s))
	})
}
