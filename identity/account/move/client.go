package move

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/egress"
)

// Limits of each kind of call to the old host: time for the whole
// exchange, and the size of the answer.
var (
	callJSON = egress.Use{Timeout: 30 * time.Second, MaxBody: 1 << 20}
	callRepo = egress.Use{Timeout: 30 * time.Minute, MaxBody: 1 << 30}
	callBlob = egress.Use{Timeout: 10 * time.Minute, MaxBody: 100 << 20}
)

// remoteError is an XRPC error answer of the old host.
type remoteError struct {
	Status  int
	Name    string `json:"error"`
	Message string `json:"message"`
}

func (e *remoteError) Error() string {
	return fmt.Sprintf("old host: %d %s: %s", e.Status, e.Name, e.Message)
}

// isRemote reports whether err is the old host's answer named name.
func isRemote(err error, name string) bool {
	var re *remoteError
	return errors.As(err, &re) && re.Name == name
}

// client is an XRPC client of the old host. Its token is the access JWT of
// the session createSession opened there.
type client struct {
	host    string // base URL, no trailing slash
	egress  *egress.Factory
	token   string
	refresh func(ctx context.Context) (string, error) // a new access token, once
}

// call runs one XRPC method. With in == nil and method GET, params are the
// query; with in set, it is POSTed as JSON. out, if set, receives the JSON
// answer. An expired access token is refreshed once.
func (c *client) call(ctx context.Context, method, nsid string, params url.Values, in, out any) error {
	res, err := c.open(ctx, callJSON, method, nsid, params, in)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("old host: %s: unreadable answer: %w", nsid, err)
	}
	return nil
}

// open sends the request and returns a 2xx answer for the caller to read
// and close; an error answer becomes a *remoteError.
func (c *client) open(ctx context.Context, use egress.Use, method, nsid string, params url.Values, in any) (*http.Response, error) {
	res, err := c.send(ctx, use, method, nsid, params, in)
	if isRemote(err, "ExpiredToken") && c.refresh != nil {
		tok, rerr := c.refresh(ctx)
		if rerr != nil {
			return nil, rerr
		}
		c.token = tok
		res, err = c.send(ctx, use, method, nsid, params, in)
	}
	return res, err
}

func (c *client) send(ctx context.Context, use egress.Use, method, nsid string, params url.Values, in any) (*http.Response, error) {
	u := c.host + "/xrpc/" + nsid
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.egress.Client(use).Do(req)
	if err != nil {
		return nil, c.egress.Redact(err, "url", u)
	}
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	re := &remoteError{Status: res.StatusCode}
	json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(re)
	if re.Name == "" {
		re.Name = http.StatusText(res.StatusCode)
	}
	return nil, re
}

// session is what createSession and refreshSession answer.
type session struct {
	DID     string `json:"did"`
	Handle  string `json:"handle"`
	Email   string `json:"email"`
	Access  string `json:"accessJwt"`
	Refresh string `json:"refreshJwt"`
}

// createSession signs in to the old host with the account password (and
// the code it mailed, when it asks for one).
func (c *client) createSession(ctx context.Context, ident, password, code string) (*session, error) {
	in := map[string]string{"identifier": ident, "password": password}
	if code = strings.TrimSpace(code); code != "" {
		in["authFactorToken"] = code
	}
	var s session
	if err := c.call(ctx, http.MethodPost, "com.atproto.server.createSession", nil, in, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// refreshSession trades the refresh token for a new pair.
func (c *client) refreshSession(ctx context.Context, refresh string) (*session, error) {
	res, err := (&client{host: c.host, egress: c.egress, token: refresh}).send(ctx, callJSON, http.MethodPost, "com.atproto.server.refreshSession", nil, nil)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var s session
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || s.Access == "" {
		return nil, fmt.Errorf("old host: refreshSession: unreadable answer")
	}
	return &s, nil
}
