package oauth

import (
	"net/http/httptest"
	"testing"
	"time"
)

func FuzzDPoPProof(f *testing.F) {
	f.Add("eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2In0.eyJqdGkiOiJ4In0.AAAA")
	f.Add("a.b.c")
	f.Add("")
	d := newDPoP(time.Now)
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest("POST", "http://pds.test/oauth/token", nil)
		r.Header.Set("DPoP", s)
		if p, err := d.check(r, "http://pds.test/oauth/token", ""); err == nil || p != nil {
			t.Fatal("an unsigned proof was accepted")
		}
		parseJWS(s)
	})
}

func TestNonceRotation(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	d := newDPoP(func() time.Time { return now })
	n := d.Nonce()
	now = now.Add(nonceWindow)
	if !d.validNonce(n) {
		t.Fatal("a nonce of the previous window is refused")
	}
	now = now.Add(nonceWindow)
	if d.validNonce(n) {
		t.Fatal("a nonce two windows old is accepted")
	}
}

func TestSameHTU(t *testing.T) {
	for _, c := range []struct {
		got, want string
		ok        bool
	}{
		{"https://PDS.example:443/oauth/token?x=1", "https://pds.example/oauth/token", true},
		{"https://pds.example/oauth/par", "https://pds.example/oauth/token", false},
		{"http://pds.example/oauth/token", "https://pds.example/oauth/token", false},
	} {
		if sameHTU(c.got, c.want) != c.ok {
			t.Errorf("sameHTU(%q, %q) != %v", c.got, c.want, c.ok)
		}
	}
}
