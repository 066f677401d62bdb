package oauth

import (
	"encoding/base64"
	"testing"
)

func TestHeaderOf(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		name, tok, typ, alg string
	}{
		{"access token", enc(`{"typ":"at+jwt","alg":"ES256"}`) + ".e30.c2ln", "at+jwt", "ES256"},
		{"password session", enc(`{"alg":"HS256","typ":"at+jwt"}`) + ".e30.c2ln", "at+jwt", "HS256"},
		{"service token", enc(`{"typ":"JWT","alg":"ES256K"}`) + ".e30.c2ln", "JWT", "ES256K"},
		{"truncated header", enc(`{"typ":"at+jwt"`) + ".e30.c2ln", "", ""},
		{"no header", "", "", ""},
		{"no dot", enc(`{"typ":"at+jwt"}`), "", ""},
		{"not base64", "!!!.e30.c2ln", "", ""},
		{"not json", enc("typ at+jwt") + ".e30.c2ln", "", ""},
	} {
		if typ, alg := headerOf(c.tok); typ != c.typ || alg != c.alg {
			t.Errorf("%s: headerOf = %q, %q; want %q, %q", c.name, typ, alg, c.typ, c.alg)
		}
	}
}

// FuzzHeaderOf feeds arbitrary tokens to the header check every Bearer
// token meets: it must not fail, and must read what the full parse reads.
func FuzzHeaderOf(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add(enc(`{"typ":"at+jwt","alg":"ES256"}`) + ".e30.c2ln")
	f.Add(enc(`{"alg":"HS256","typ":"at+jwt"}`) + "." + enc(`{"sub":"did:plc:x"}`) + ".c2ln")
	f.Add("..")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		typ, alg := headerOf(tok)
		if full, err := parseJWS(tok); err == nil && (full.Header.Typ != typ || full.Header.Alg != alg) {
			t.Fatalf("headerOf = %q, %q; parseJWS read %q, %q", typ, alg, full.Header.Typ, full.Header.Alg)
		}
	})
}
