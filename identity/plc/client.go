package plc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to a PLC directory.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Submit publishes an operation for did. A non-2xx answer is an error
// carrying the directory's message.
func (c *Client) Submit(ctx context.Context, did string, op *Operation) error {
	if svc, ok := op.Services["atproto_pds"]; ok {
		if err := CheckPublishable(c.BaseURL, svc.Endpoint); err != nil {
			return err
		}
	}
	body, err := json.Marshal(op)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+"/"+did, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("plc: submit: %w", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(msg, &e) == nil && e.Message != "" {
			msg = []byte(e.Message)
		}
		return fmt.Errorf("plc: directory answered %d: %s", res.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.BaseURL, "/")+path, nil)
	if err != nil {
		return err
	}
	res, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("plc: get %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("plc: get %s: status %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("plc: get %s: %w", path, err)
	}
	return nil
}

// LastOp fetches the latest operation of did.
func (c *Client) LastOp(ctx context.Context, did string) (*Operation, error) {
	var op Operation
	if err := c.get(ctx, "/"+did+"/log/last", &op); err != nil {
		return nil, err
	}
	return &op, nil
}

// Log fetches the operation log of did.
func (c *Client) Log(ctx context.Context, did string) ([]Operation, error) {
	var ops []Operation
	if err := c.get(ctx, "/"+did+"/log", &ops); err != nil {
		return nil, err
	}
	return ops, nil
}

// CheckPublishable refuses an operation whose PDS endpoint is loopback,
// private or link-local when the directory is not itself such an address.
func CheckPublishable(directoryURL, pdsEndpoint string) error {
	d, err := url.Parse(directoryURL)
	if err != nil {
		return fmt.Errorf("plc: directory URL: %w", err)
	}
	if IsLocal(d.Hostname()) {
		return nil
	}
	p, err := url.Parse(pdsEndpoint)
	if err != nil || p.Hostname() == "" {
		return fmt.Errorf("%w: PDS endpoint %q is not a URL", ErrInvalidOp, pdsEndpoint)
	}
	if IsLocal(p.Hostname()) {
		return fmt.Errorf("%w: refusing to publish the local address %s to the directory %s; set HEARTH_HOSTNAME to a public name or use a local directory", ErrInvalidOp, p.Host, d.Host)
	}
	return nil
}

// IsLocal reports whether host names this machine or a private network.
func IsLocal(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".local") || strings.HasSuffix(h, ".internal") || strings.HasSuffix(h, ".test") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}
