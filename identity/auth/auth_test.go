package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestHS256RoundTrip(t *testing.T) {
	key := HS256("secret")
	now := time.Unix(1_700_000_000, 0)
	tok, err := Encode(Header{Alg: "HS256", Typ: "at+jwt"}, Claims{Scope: "com.atproto.access", Sub: "did:plc:a", Aud: "did:web:x", Exp: now.Add(time.Hour).Unix()}, key.Sign)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Verify(p); err != nil {
		t.Fatal(err)
	}
	ok := Expect{Typ: "at+jwt", Aud: "did:web:x", Scopes: []string{"com.atproto.access"}, Now: now}
	if err := p.Check(ok); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		e    Expect
		want error
	}{
		{"expired", Expect{Now: now.Add(2 * time.Hour)}, ErrExpired},
		{"audience", Expect{Aud: "did:web:y", Now: now}, ErrClaims},
		{"scope", Expect{Scopes: []string{"com.atproto.refresh"}, Now: now}, ErrClaims},
		{"typ", Expect{Typ: "refresh+jwt", Now: now}, ErrClaims},
	}
	for _, c := range cases {
		if err := p.Check(c.e); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if err := HS256("other").Verify(p); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key: %v", err)
	}
	// alg=none and a tampered payload are refused.
	parts := strings.Split(tok, ".")
	none := b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	if p, err := Parse(none); err == nil {
		if err := key.Verify(p); err == nil {
			t.Error("alg none accepted")
		}
	}
	tampered := parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"did:plc:b","exp":9999999999}`)) + "." + parts[2]
	if p, err := Parse(tampered); err == nil && key.Verify(p) == nil {
		t.Error("tampered payload accepted")
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPasswordCost("hunter2", 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPassword(h, "hunter2"); err != nil {
		t.Fatal(err)
	}
	if err := CheckPassword(h, "hunter3"); !errors.Is(err, ErrPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	for _, bad := range []string{"", "scrypt$99$8$1$aa$bb", "bcrypt$x", "scrypt$4$8$1$!!$bb"} {
		if err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	tok, _ := Encode(Header{Alg: "HS256"}, Claims{Sub: "x", Exp: 1}, HS256("k").Sign)
	f.Add(tok)
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		_ = HS256("k").Verify(p)
		_ = p.Check(Expect{Aud: "x", Scopes: []string{"y"}})
	})
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		HashPassword("correct horse battery staple")
	}
}

// TestPasswordHashMemory keeps the default hash's working set within the
// memory budget (the daemon's anonymous memory stays under 40 MiB through
// a sign-up), and checks that hashes made at the old, larger cost still
// verify.
func TestPasswordHashMemory(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	var logN, r int
	if _, err := fmt.Sscanf(h, "scrypt$%d$%d$", &logN, &r); err != nil {
		t.Fatalf("hash %q: %v", h, err)
	}
	if ws := 128 * r << logN; ws > 16<<20 {
		t.Errorf("scrypt working set %d MiB, want at most 16", ws>>20)
	}
	old, err := HashPasswordCost("correct horse", 15)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPassword(old, "correct horse"); err != nil {
		t.Errorf("a 2^15 hash no longer verifies: %v", err)
	}
	if err := CheckPassword(old, "wrong"); !errors.Is(err, ErrPassword) {
		t.Errorf("wrong password against a 2^15 hash: %v", err)
	}
}
