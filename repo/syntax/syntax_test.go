package syntax

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity"
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
	cases := []struct {
		name  string
		check func(string) error
		// extra invalid cases: lines the loader skips because they start
		// with '#', though they are meant as cases (see FIXTURES.md).
		extra []string
	}{
		{"aturi", func(s string) error { _, err := ParseATURI(s); return err }, []string{"#at://did:plc:asdf123"}},
		{"cid", ValidateCIDString, nil},
		{"datetime", ValidateDatetime, nil},
		{"language", ValidateLanguage, nil},
		{"nsid", func(s string) error { _, err := ParseNSID(s); return err }, nil},
		{"recordkey", func(s string) error { _, err := ParseRecordKey(s); return err }, []string{"#extra"}},
		{"tid", func(s string) error { _, err := ParseTID(s); return err }, nil},
		{"uri", ValidateURI, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, s := range fixtureLines(t, c.name+"_syntax_valid.txt") {
				if err := c.check(s); err != nil {
					t.Errorf("valid %.80q rejected: %v", s, err)
				}
			}
			for _, s := range append(fixtureLines(t, c.name+"_syntax_invalid.txt"), c.extra...) {
				err := c.check(s)
				if err == nil {
					t.Errorf("invalid %.80q accepted", s)
				} else if !errors.Is(err, ErrInvalid) {
					t.Errorf("%.80q: %v does not wrap ErrInvalid", s, err)
				}
			}
		})
	}
}

// TestParseVectors checks the strings that are well-formed but mean
// nothing: the syntax check passes them, the full parse refuses them.
func TestParseVectors(t *testing.T) {
	for _, s := range fixtureLines(t, "datetime_syntax_valid.txt") {
		if _, err := ParseDatetime(s); err != nil {
			t.Errorf("ParseDatetime(%q): %v", s, err)
		}
	}
	for _, s := range fixtureLines(t, "datetime_syntax_invalid.txt") {
		if _, err := ParseDatetime(s); err == nil {
			t.Errorf("ParseDatetime(%q) accepted bad syntax", s)
		}
	}
	for _, s := range fixtureLines(t, "datetime_parse_invalid.txt") {
		if err := ValidateDatetime(s); err != nil {
			t.Errorf("ValidateDatetime(%q) should pass: %v", s, err)
		}
		if _, err := ParseDatetime(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseDatetime(%q) = %v, want ErrInvalid", s, err)
		}
	}
	for _, s := range fixtureLines(t, "language_parse_invalid.txt") {
		if err := ValidateLanguage(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateLanguage(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestParseDatetime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time // zero: must fail
	}{
		{"1985-04-12T23:20:50.123Z", time.Date(1985, 4, 12, 23, 20, 50, 123e6, time.UTC)},
		{"1985-04-12T23:20:50Z", time.Date(1985, 4, 12, 23, 20, 50, 0, time.UTC)},
		{"1985-04-12T23:20:50.1Z", time.Date(1985, 4, 12, 23, 20, 50, 100e6, time.UTC)},
		{"1985-04-12T23:20:50.123456789987Z", time.Date(1985, 4, 12, 23, 20, 50, 123456789, time.UTC)},
		{"1985-04-12T23:20:50.000000001Z", time.Date(1985, 4, 12, 23, 20, 50, 1, time.UTC)},
		{"1985-04-12T23:20:50.123-07:00", time.Date(1985, 4, 13, 6, 20, 50, 123e6, time.UTC)},
		{"1985-04-12T23:20:50+01:45", time.Date(1985, 4, 12, 21, 35, 50, 0, time.UTC)},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"2000-02-29T00:00:00Z", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"0000-01-01T00:00:00-01:00", time.Date(0, 1, 1, 1, 0, 0, 0, time.UTC)},
		{"9999-12-31T23:59:59+01:00", time.Date(9999, 12, 31, 22, 59, 59, 0, time.UTC)},
		{"9999-12-31T23:59:59-01:00", time.Time{}},
		{"2023-02-29T00:00:00Z", time.Time{}},
		{"1900-02-29T00:00:00Z", time.Time{}},
		{"2023-04-31T00:00:00Z", time.Time{}},
		{"2023-04-30T24:00:00Z", time.Time{}},
		{"2023-04-30T23:59:60Z", time.Time{}},
		{"2023-04-30T23:59:59+24:00", time.Time{}},
		{"2023-04-30T23:59:59+00:60", time.Time{}},
		{"2023-04-30T23:59:59-00:00", time.Time{}},
		{"2023-04-30T23:59:59.Z", time.Time{}},
		{"2023-04-30T23:59:59.1", time.Time{}},
		{"", time.Time{}},
	}
	for _, c := range cases {
		got, err := ParseDatetime(c.in)
		if c.want.IsZero() {
			if err == nil {
				t.Errorf("ParseDatetime(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseDatetime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestValidateLanguage(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"en", true},
		{"zh-yue-HK", true},
		{"zh-yue-abc-def", true},
		{"zh-yue-abc-def-ghi", false}, // four extlangs
		{"sr-Latn-RS", true},
		{"de-CH-1901", true},
		{"de-1901-1996", true},
		{"en-US-u-ca-gregory", true},
		{"en-u-ca-gregory-x-foo-bar", true},
		{"en-a-bbb-0-ccc", true},
		{"en-x-a", true},
		{"x-whatever", true},
		{"zh-min-nan", true},
		{"art-lojban", true},
		{"i-klingon", true},
		{"i-foo", false},
		{"EN-GB-OED", false},
		{"en-", false},
		{"en--US", false},
		{"en-x", false},
		{"x", false},
		{"en-u", false},
		{"en-u-x-foo", false},
		{"en-u-a", false},
		{"en-US-US", false},
		{"en-toolongsub", false},
		{"en_US", false},
		{"ab-Latn-Latn", false},
		{"de-DE-1901-1901", false},
		{"de-1901-a-b2-A-b3", false},
		{"abcde", false},
		{"", false},
		{"é", false},
	}
	for _, c := range cases {
		if err := ValidateLanguage(c.in); (err == nil) != c.ok {
			t.Errorf("ValidateLanguage(%q) = %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

func TestParseATURI(t *testing.T) {
	cases := []struct {
		in   string
		want *ATURI
	}{
		{"at://did:plc:asdf123", &ATURI{Authority: "did:plc:asdf123"}},
		{"at://Alice.Example.com/app.bsky.feed.post", &ATURI{Authority: "Alice.Example.com", Collection: "app.bsky.feed.post"}},
		{"at://did:plc:asdf123/app.bsky.feed.post/3jzfcijpj2z2a", &ATURI{Authority: "did:plc:asdf123", Collection: "app.bsky.feed.post", RecordKey: "3jzfcijpj2z2a"}},
		{"at://did:web:localhost%3A2583/a.b.c/self", &ATURI{Authority: "did:web:localhost%3A2583", Collection: "a.b.c", RecordKey: "self"}},
		{"at://did:plc:asdf123#/frag", &ATURI{Authority: "did:plc:asdf123", Fragment: "/frag"}},
		{"at://did:plc:asdf123/a.b.c/k#/a/b~1c/[0]/%C3%A9", &ATURI{Authority: "did:plc:asdf123", Collection: "a.b.c", RecordKey: "k", Fragment: "/a/b~1c/[0]/%C3%A9"}},
		{"at://did:plc:asdf123#frag", nil},
		{"at://did:plc:asdf123#/%", nil},
		{"at://did:plc:asdf123#/%zz", nil},
		{"at://did:plc:asdf123#/%C3", nil}, // half a UTF-8 sequence
		{"at://did:plc:asdf123#/a?b", nil},
		{"at://did:plc:asdf123#/a#/b", nil},
		{"at://did:plc:asdf123?x=1", nil},
		{"at://did:plc:asdf123/a.b.c?x=1", nil},
		{"at://did:plc:asdf123/a.b.c/k/", nil},
		{"at://", nil},
		{"at:///a.b.c", nil},
		{"at://did:plc:asdf123/a.b.c/" + strings.Repeat("k", 512), &ATURI{Authority: "did:plc:asdf123", Collection: "a.b.c", RecordKey: strings.Repeat("k", 512)}},
		{"at://did:plc:asdf123/a.b.c/" + strings.Repeat("k", 513), nil},
		{"at://did:plc:a#/" + strings.Repeat("f", MaxATURILength-len("at://did:plc:a#/")), &ATURI{Authority: "did:plc:a", Fragment: "/" + strings.Repeat("f", MaxATURILength-len("at://did:plc:a#/"))}},
		{"at://did:plc:a#/" + strings.Repeat("f", MaxATURILength-len("at://did:plc:a#/")+1), nil},
	}
	for _, c := range cases {
		got, err := ParseATURI(c.in)
		if c.want == nil {
			if err == nil {
				t.Errorf("ParseATURI(%.80q) = %+v, want an error", c.in, got)
			} else if got != (ATURI{}) {
				t.Errorf("ParseATURI(%.80q) returned %+v with an error", c.in, got)
			}
			continue
		}
		if err != nil || got != *c.want {
			t.Errorf("ParseATURI(%.80q) = %+v, %v; want %+v", c.in, got, err, *c.want)
			continue
		}
		if got.String() != c.in {
			t.Errorf("String() = %.80q, want %.80q", got.String(), c.in)
		}
	}
}

func TestNSIDParts(t *testing.T) {
	cases := []struct {
		in, authority, name, normal string
	}{
		{"app.bsky.feed.post", "feed.bsky.app", "post", "app.bsky.feed.post"},
		{"Com.Example.fooBar", "example.com", "fooBar", "com.example.fooBar"},
		{"a.b.c", "b.a", "c", "a.b.c"},
	}
	for _, c := range cases {
		n, err := ParseNSID(c.in)
		if err != nil {
			t.Fatalf("ParseNSID(%q): %v", c.in, err)
		}
		if n.Authority() != c.authority || n.Name() != c.name || string(n.Normalize()) != c.normal {
			t.Errorf("%q: Authority=%q Name=%q Normalize=%q", c.in, n.Authority(), n.Name(), n.Normalize())
		}
	}
	if _, err := ParseNSID("a." + strings.Repeat("b", 63) + ".c"); err != nil {
		t.Error(err)
	}
	if _, err := ParseNSID("a.b." + strings.Repeat("c", 64)); err == nil {
		t.Error("accepted a 64-character name")
	}
}

func TestValidateURI(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"https://example.com/ü", true},
		{"mailto:a@example.com", true},
		{"urn:isbn:0451450523", true},
		{"file:///etc/hosts", true},
		{"a+b-c.d:x", true},
		{"HTTPS://EXAMPLE.COM", true},
		{"1http://example.com", false},
		{"ht_tp://example.com", false},
		{"https://example.com/\u00a0", false},
		{"https://example.com/\u2028", false},
		{"https://example.com/\x7f", false},
		{"https://example.com/\xff", false},
		{"https://example.com/\tx", false},
		{":", false},
		{"", false},
		{"https://" + strings.Repeat("x", MaxURILength-len("https://")), true},
		{"https://" + strings.Repeat("x", MaxURILength-len("https://")+1), false},
	}
	for _, c := range cases {
		if err := ValidateURI(c.in); (err == nil) != c.ok {
			t.Errorf("ValidateURI(%.60q) = %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

func TestValidateCIDString(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a", true},
		{"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", false},
		{"Qm123456", false},
		{"bafy-rei", false},
		{"bafyrei", false}, // 7 characters
		{strings.Repeat("b", 256), true},
		{strings.Repeat("b", 257), false},
	}
	for _, c := range cases {
		if err := ValidateCIDString(c.in); (err == nil) != c.ok {
			t.Errorf("ValidateCIDString(%.60q) = %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

func TestParseRecordKey(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"self", true},
		{"3jzfcijpj2z2a", true},
		{"literal:self", true},
		{"...", true},
		{".", false},
		{"..", false},
		{"", false},
		{"a/b", false},
		{"a%20b", false},
		{strings.Repeat("k", MaxRecordKeyLength), true},
		{strings.Repeat("k", MaxRecordKeyLength+1), false},
	}
	for _, c := range cases {
		k, err := ParseRecordKey(c.in)
		if (err == nil) != c.ok || err == nil && k != c.in {
			t.Errorf("ParseRecordKey(%.60q) = %q, %v; want ok=%v", c.in, k, err, c.ok)
		}
	}
}

func TestATURIErrorWraps(t *testing.T) {
	_, err := ParseATURI("at://no/a.b.c")
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("authority error %v should wrap both ErrInvalid sentinels", err)
	}
}
