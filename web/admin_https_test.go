package web

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// httpsForm is a post of the HTTPS page with its current token.
func (e *adminEnv) httpsForm(kv ...string) string {
	e.t.Helper()
	f := url.Values{"csrf": {e.csrf("/status")}} // the session's token; a fixed mode has no form
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	_, body := e.post("/status/https", f, e.url)
	return body
}

// The HTTPS page needs the status login and the form token: an account
// signed in at /account, a stranger, a post without the token or from
// another site all leave the choice alone.
func TestHTTPSPageNeedsStatusLogin(t *testing.T) {
	e := newAccountEnv(t, nil)
	fb := e.pages.b.(*fakeBackend)
	if res, _ := e.get("/status/https"); res.Request.URL.Path != "/login" {
		t.Fatalf("a stranger sees the HTTPS page: %s", res.Request.URL.Path)
	}
	e.signIn(alicePassword)
	f := url.Values{"csrf": {e.csrf("/account")}, "tls": {"auto"}}
	if res, _ := e.post("/status/https", f, e.url); res.Request.URL.Path != "/login" {
		t.Fatalf("a post with the account sign-in: %s", res.Request.URL.Path)
	}
	a := newAdminEnv(t)
	if res, _ := a.post("/status/https", url.Values{"tls": {"auto"}}, a.url); res.StatusCode != 403 {
		t.Fatalf("a post without the token: %d", res.StatusCode)
	}
	f = url.Values{"csrf": {a.csrf("/status/https")}, "tls": {"auto"}}
	if res, _ := a.post("/status/https", f, "https://evil.example"); res.StatusCode != 403 {
		t.Fatalf("a cross-site post: %d", res.StatusCode)
	}
	for _, b := range []*fakeBackend{fb, a.fb} {
		if b.tls.Mode != "" || b.restarts != 0 {
			t.Fatalf("the choice changed: %+v, %d restarts", b.tls, b.restarts)
		}
	}
}

// A refusal shows the backend's sentence with what was typed, and changes
// and restarts nothing; an accepted choice is applied with a restart, and
// the page says so and reloads itself.
func TestHTTPSPageChangesTheChoice(t *testing.T) {
	e := newAdminEnv(t)
	_, body := e.get("/status")
	must(t, "status page", body, `href="/status/https"`, "a web server in front")
	_, body = e.get("/status/https")
	must(t, "page", body, "A web server you already run", `value="off" form="https-form" checked`,
		"Hearth restarts its listeners; this page reloads in a few seconds", "Save and restart")

	refusal := "There is no file at /x.pem or /y.pem: check the paths (they are on the machine Hearth runs on), then try again."
	e.fb.tlsErr = errors.New(refusal)
	body = e.httpsForm("tls", "files", "tls_cert", "/x.pem", "tls_key", "/y.pem")
	must(t, "refused", body, "There is no file at /x.pem or /y.pem", `value="/x.pem"`, `value="files" form="https-form" checked`)
	if e.fb.tls.Mode != "" || e.fb.restarts != 0 {
		t.Fatalf("a refused choice changed something: %+v, %d restarts", e.fb.tls, e.fb.restarts)
	}

	e.fb.tlsErr = nil
	body = e.httpsForm("tls", "files", "tls_cert", " /etc/hearth/fullchain.pem ", "tls_key", "/etc/hearth/privkey.pem")
	must(t, "applied", body, `url=/status/https`, "Hearth restarts its listeners; this page reloads in a few seconds",
		"<code>/etc/hearth/fullchain.pem</code>")
	if want := (TLSChoice{Mode: "files", Cert: "/etc/hearth/fullchain.pem", Key: "/etc/hearth/privkey.pem"}); e.fb.tls != want || e.fb.restarts != 1 {
		t.Fatalf("applied %+v with %d restarts, want %+v", e.fb.tls, e.fb.restarts, want)
	}
	_, body = e.get("/status/https")
	must(t, "after", body, "Hearth serves the certificate in <code>/etc/hearth/fullchain.pem</code>")
}

// A stored choice that did not start is named on the status and HTTPS
// pages, with the way back; a mode fixed by the environment is explained
// with no form, and a post cannot change it.
func TestHTTPSPageStates(t *testing.T) {
	e := newAdminEnv(t)
	e.fb.tls = TLSChoice{Mode: "files", Cert: "/gone.pem", Key: "/gone.pem", Failed: "open /gone.pem: no such file or directory"}
	_, body := e.get("/status")
	must(t, "status, failed", body, "HTTPS does not work the way it was chosen", `href="/status/https">mend it`)
	_, body = e.get("/status/https")
	must(t, "https, failed", body, "HTTPS does not work the way it was chosen", "serves plain HTTP only",
		"open /gone.pem: no such file or directory", "choose another way below", "Save and restart")

	e.fb.tls = TLSChoice{Mode: "auto", Fixed: true}
	_, body = e.get("/status/https")
	must(t, "fixed", body, "The environment decides", "HEARTH_TLS=auto", "restart Hearth")
	if strings.Contains(body, `name="tls"`) || strings.Contains(body, "Save and restart") {
		t.Fatalf("a fixed mode is offered for change: %s", body)
	}
	e.httpsForm("tls", "off")
	if e.fb.tls.Mode != "auto" || e.fb.restarts != 0 {
		t.Fatalf("a post changed a fixed mode: %+v", e.fb.tls)
	}
}
