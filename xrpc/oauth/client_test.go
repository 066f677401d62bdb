package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/egress"
)

const goodMetadata = `{"client_id":%q,"client_name":"Test","redirect_uris":["https://app.example/cb"],
"scope":"atproto transition:generic","grant_types":["authorization_code","refresh_token"],
"response_types":["code"],"dpop_bound_access_tokens":true,"token_endpoint_auth_method":"none"}`

func clientsWith(guarded bool) *clients {
	opts := egress.Options{}
	if !guarded {
		opts.Allow = func(netip.AddrPort) bool { return true } // a test server on loopback
	}
	f := egress.New(opts)
	return &clients{http: f.Client(egress.Use{MaxBody: 64 << 10}), allowHTTP: true, now: time.Now, cache: map[string]cachedClient{}}
}

func serve(t *testing.T, h http.HandlerFunc) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL + "/client-metadata.json"
}

func TestClientMetadataRefusals(t *testing.T) {
	metadata := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(strings.ReplaceAll(goodMetadata, "%q", `"http://`+r.Host+`/client-metadata.json"`)))
	}
	good := serve(t, metadata)
	if _, err := clientsWith(false).get(context.Background(), good); err != nil {
		t.Fatalf("good metadata refused: %v", err)
	}
	cases := map[string]struct {
		guarded bool
		url     string
	}{
		"private address": {true, good},
		"huge": {false, serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"client_name":"` + strings.Repeat("x", 200<<10) + `"}`))
		})},
		"slow": {false, serve(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(metadataTimeout + 2*time.Second):
			case <-r.Context().Done():
			}
		})},
		"redirecting": {false, serve(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
		})},
		"not JSON": {false, serve(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) })},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := clientsWith(c.guarded).get(context.Background(), c.url)
			if err == nil {
				t.Fatalf("%s: accepted", name)
			}
			if e, ok := err.(*Error); !ok || e.Code != "invalid_client_metadata" {
				t.Fatalf("%s: %v", name, err)
			}
		})
	}
}

func TestClientMetadataValidation(t *testing.T) {
	id := "https://app.example/client-metadata.json"
	base := strings.ReplaceAll(goodMetadata, "%q", `"`+id+`"`)
	if _, err := ParseClientMetadata(id, []byte(base)); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"other client_id": strings.Replace(base, id, "https://other.example/m.json", 1),
		"no dpop":         strings.Replace(base, `"dpop_bound_access_tokens":true`, `"dpop_bound_access_tokens":false`, 1),
		"no atproto":      strings.Replace(base, `"atproto transition:generic"`, `"transition:generic"`, 1),
		"http redirect":   strings.Replace(base, "https://app.example/cb", "http://app.example/cb", 1),
		"localhost name":  strings.Replace(base, "https://app.example/cb", "http://localhost/cb", 1),
		"bad auth":        strings.Replace(base, `"none"`, `"client_secret_basic"`, 1),
		"pkjwt no keys":   strings.Replace(base, `"none"`, `"private_key_jwt"`, 1),
	} {
		if _, err := ParseClientMetadata(id, []byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoopbackClient(t *testing.T) {
	c, err := loopbackClient("http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb&scope=atproto")
	if err != nil {
		t.Fatal(err)
	}
	if !c.matchRedirect("http://127.0.0.1:8080/cb") || c.matchRedirect("http://localhost:8080/cb") {
		t.Fatal("loopback redirect rules")
	}
	for _, bad := range []string{
		"http://localhost:8080", "http://localhost/path",
		"http://localhost?redirect_uri=http%3A%2F%2Flocalhost%2Fcb",
		"http://localhost?redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
	} {
		if _, err := loopbackClient(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func FuzzLoopbackClient(f *testing.F) {
	f.Add("http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb&scope=atproto")
	f.Add("http://localhost")
	f.Add("http://localhost?redirect_uri=http%3A%2F%2Flocalhost%2Fcb")
	f.Fuzz(func(t *testing.T, id string) {
		c, err := loopbackClient(id)
		if err != nil {
			return
		}
		for _, r := range c.RedirectURIs {
			if u, err := url.Parse(r); err != nil || u.Scheme != "http" || !loopbackIP(u.Hostname()) {
				t.Fatalf("%q: redirect %q is not loopback", id, r)
			}
		}
	})
}
