package mail

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Endpoint is a parsed SMTP server URL.
type Endpoint struct {
	// Implicit is true for smtps: TLS from the first byte (port 465).
	// Otherwise the sender upgrades with STARTTLS when the server offers it.
	Implicit bool
	Host     string // a name or an IP address, without brackets
	Port     string
	User     string // "" for no AUTH
	Pass     string
}

// Addr returns host:port for dialing.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, e.Port) }

// URL returns the endpoint as a URL again, credentials included.
func (e Endpoint) URL() string {
	u := url.URL{Scheme: "smtp", Host: e.Addr()}
	if e.Implicit {
		u.Scheme = "smtps"
	}
	if e.User != "" {
		u.User = url.UserPassword(e.User, e.Pass)
	}
	return u.String()
}

// String returns the URL without the password, for logs and status pages.
func (e Endpoint) String() string {
	u := url.URL{Scheme: "smtp", Host: e.Addr()}
	if e.Implicit {
		u.Scheme = "smtps"
	}
	if e.User != "" {
		u.User = url.User(e.User)
	}
	return u.String()
}

// ParseURL parses smtp://user:pass@host:587 or smtps://user:pass@host:465.
// The port defaults to 587 (submission) and 465; user and password are
// URL-escaped, as in any URL ("p%40ss" for "p@ss"). Every error wraps
// ErrBadURL and never repeats the password.
func ParseURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole input, password included: say less.
		return Endpoint{}, fmt.Errorf("%w: does not parse as a URL (smtp://user:pass@host:587)", ErrBadURL)
	}
	var e Endpoint
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		e.Port = "587"
	case "smtps":
		e.Implicit, e.Port = true, "465"
	case "":
		return Endpoint{}, fmt.Errorf("%w: no scheme: write smtp://host:587 or smtps://host:465", ErrBadURL)
	default:
		return Endpoint{}, fmt.Errorf("%w: scheme %q: want smtp or smtps", ErrBadURL, u.Scheme)
	}
	switch {
	case u.Opaque != "":
		return Endpoint{}, fmt.Errorf("%w: missing // after %s:", ErrBadURL, u.Scheme)
	case u.Path != "" && u.Path != "/":
		return Endpoint{}, fmt.Errorf("%w: unexpected path %q", ErrBadURL, u.Path)
	case u.RawQuery != "" || u.ForceQuery:
		return Endpoint{}, fmt.Errorf("%w: unexpected query", ErrBadURL)
	case u.Fragment != "":
		return Endpoint{}, fmt.Errorf("%w: unexpected fragment", ErrBadURL)
	}
	e.Host = u.Hostname()
	if e.Host == "" {
		return Endpoint{}, fmt.Errorf("%w: no host", ErrBadURL)
	}
	if net.ParseIP(e.Host) == nil && !hostName(e.Host) {
		return Endpoint{}, fmt.Errorf("%w: host %q is neither a name nor an IP address", ErrBadURL, e.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p[0] == '0' {
			return Endpoint{}, fmt.Errorf("%w: port %q: want 1 to 65535", ErrBadURL, p)
		}
		e.Port = p
	} else if strings.HasSuffix(u.Host, ":") {
		return Endpoint{}, fmt.Errorf("%w: empty port after %q", ErrBadURL, e.Host)
	}
	if u.User != nil {
		e.User = u.User.Username()
		pass, ok := u.User.Password()
		switch {
		case e.User == "":
			return Endpoint{}, fmt.Errorf("%w: password without a user name", ErrBadURL)
		case !ok || pass == "":
			return Endpoint{}, fmt.Errorf("%w: user %q without a password", ErrBadURL, e.User)
		}
		e.Pass = pass
	}
	return e, nil
}

// hostName reports whether h is made of DNS name characters (letters,
// digits, '-', '_' and dots). It is a sanity check of configuration, not
// a full RFC 1123 parser: the dialer has the last word.
func hostName(h string) bool {
	for _, c := range []byte(h) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return h != ""
}
