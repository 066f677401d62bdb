package plc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/resolve"
)

// ErrNotFound reports a DID the directory does not know.
var ErrNotFound = errors.New("plc: DID not found")

// StatusError is a directory's refusal: an answer outside 2xx (other than
// 404 and 410, which are ErrNotFound and ErrTombstoned), with the message of
// its JSON body when it has one.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("plc: directory answered %d", e.Status)
	}
	return fmt.Sprintf("plc: directory answered %d: %s", e.Status, e.Message)
}

// Size limits of answers: one operation is at most 7500 bytes of CBOR; a
// log holds every operation a DID ever had.
const (
	maxAnswer = 1 << 20
	maxLog    = 16 << 20
)

// DefaultTimeout bounds each request when Client.HTTP is nil.
const DefaultTimeout = 30 * time.Second

// Client talks to a PLC directory. Set BaseURL, and HTTP to a client from
// identity/egress; if nil, one with DefaultTimeout whose dialer refuses
// private addresses, so a directory on loopback or the LAN needs a client
// that allows them (development mode). Do not copy a Client after use.
type Client struct {
	BaseURL string
	HTTP    *http.Client

	once sync.Once
	def  *http.Client
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	c.once.Do(func() {
		c.def = egress.New(egress.Options{}).Client(egress.Use{Timeout: DefaultTimeout, MaxRedirects: 3})
	})
	return c.def
}

func (c *Client) url(did, suffix string) (string, error) {
	if c.BaseURL == "" {
		return "", errors.New("plc: no directory URL")
	}
	// The DID becomes a path segment: a strict parse keeps it to one.
	if _, err := identity.ParsePLC(did); err != nil {
		return "", fmt.Errorf("plc: %w", err)
	}
	return strings.TrimSuffix(c.BaseURL, "/") + "/" + did + suffix, nil
}

// Submit publishes a signed operation for did. It refuses, without asking
// the directory, an invalid or unsigned operation, a legacy create, and one
// that CheckPublishable refuses for any of its services. A non-2xx answer
// is a *StatusError carrying the directory's message.
func (c *Client) Submit(ctx context.Context, did string, op Op) error {
	u, err := c.url(did, "")
	if err != nil {
		return err
	}
	if err := op.Validate(); err != nil {
		return err
	}
	if op.signature() == "" {
		return fmt.Errorf("%w: unsigned", ErrInvalidOp)
	}
	switch o := op.(type) {
	case *LegacyCreate:
		return fmt.Errorf("%w: legacy create operations are read, never published", ErrInvalidOp)
	case *Operation:
		for _, name := range slices.Sorted(maps.Keys(o.Services)) {
			if err := CheckPublishable(c.BaseURL, o.Services[name].Endpoint); err != nil {
				return fmt.Errorf("service %s: %w", name, err)
			}
		}
	}
	body, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("plc: encode operation: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("plc: submit: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("plc: submit %s: %w", did, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return statusError(res)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer)) // lets the connection be reused
	return nil
}

// statusError reads a refusal's message: {"message": …} as the reference
// directory writes it, else the start of the body as text.
func statusError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	var e struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		msg = e.Message
	}
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	return &StatusError{Status: res.StatusCode, Message: msg}
}

// get fetches {base}/{did}{suffix} and decodes its JSON into v.
func (c *Client) get(ctx context.Context, did, suffix string, limit int64, v any) error {
	u, err := c.url(did, suffix)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("plc: get: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("plc: get %s%s: %w", did, suffix, err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, did)
	case res.StatusCode == http.StatusGone:
		return fmt.Errorf("%w: %s", ErrTombstoned, did)
	case res.StatusCode/100 != 2:
		return fmt.Errorf("get %s%s: %w", did, suffix, statusError(res))
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return fmt.Errorf("plc: get %s%s: %w", did, suffix, err)
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("plc: get %s%s: answer over %d bytes", did, suffix, limit)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("plc: get %s%s: %w", did, suffix, err)
	}
	return nil
}

// Document fetches the DID document the directory renders for did.
func (c *Client) Document(ctx context.Context, did string) (*resolve.Document, error) {
	var doc resolve.Document
	if err := c.get(ctx, did, "", maxAnswer, &doc); err != nil {
		return nil, err
	}
	if doc.ID != did {
		return nil, fmt.Errorf("%w: the directory's document for %s is about %q", ErrInvalidOp, did, doc.ID)
	}
	return &doc, nil
}

// Data fetches the current state of did.
func (c *Client) Data(ctx context.Context, did string) (*State, error) {
	var s State
	if err := c.get(ctx, did, "/data", maxAnswer, &s); err != nil {
		return nil, err
	}
	if s.DID != did {
		return nil, fmt.Errorf("%w: the directory's data for %s is about %q", ErrInvalidOp, did, s.DID)
	}
	return &s, nil
}

// Log fetches the operations that make up did's current state, oldest
// first. VerifyLog checks them.
func (c *Client) Log(ctx context.Context, did string) ([]Op, error) {
	var raw []json.RawMessage
	if err := c.get(ctx, did, "/log", maxLog, &raw); err != nil {
		return nil, err
	}
	ops := make([]Op, len(raw))
	for i, r := range raw {
		op, err := ParseOp(r)
		if err != nil {
			return nil, fmt.Errorf("plc: log of %s, operation %d: %w", did, i, err)
		}
		ops[i] = op
	}
	return ops, nil
}

// LogEntry is an entry of a DID's audit log.
type LogEntry struct {
	DID       string `json:"did"`
	Operation Op     `json:"operation"`
	CID       string `json:"cid"`
	Nullified bool   `json:"nullified"`
	CreatedAt string `json:"createdAt"`
}

// UnmarshalJSON decodes an entry. The envelope may carry fields this
// package does not know; the operation is decoded strictly (see ParseOp).
func (e *LogEntry) UnmarshalJSON(data []byte) error {
	var raw struct {
		DID       string          `json:"did"`
		Operation json.RawMessage `json:"operation"`
		CID       string          `json:"cid"`
		Nullified bool            `json:"nullified"`
		CreatedAt string          `json:"createdAt"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("plc: log entry: %w", err)
	}
	op, err := ParseOp(raw.Operation)
	if err != nil {
		return fmt.Errorf("plc: log entry %s: %w", raw.CID, err)
	}
	*e = LogEntry{DID: raw.DID, Operation: op, CID: raw.CID, Nullified: raw.Nullified, CreatedAt: raw.CreatedAt}
	return nil
}

// AuditLog fetches every operation ever accepted for did, nullified ones
// included, oldest first. The directory's cid of each entry is checked
// against the operation.
func (c *Client) AuditLog(ctx context.Context, did string) ([]LogEntry, error) {
	var entries []LogEntry
	if err := c.get(ctx, did, "/log/audit", maxLog, &entries); err != nil {
		return nil, err
	}
	for i, e := range entries {
		got, err := e.Operation.CID()
		if err != nil {
			return nil, fmt.Errorf("plc: audit log of %s, entry %d: %w", did, i, err)
		}
		if e.DID != did || e.CID != got.String() {
			return nil, fmt.Errorf("%w: audit log of %s, entry %d: %s %s is %s", ErrInvalidOp, did, i, e.DID, e.CID, got)
		}
	}
	return entries, nil
}

// last fetches did's latest operation, of any type.
func (c *Client) last(ctx context.Context, did string) (Op, error) {
	var raw json.RawMessage
	if err := c.get(ctx, did, "/log/last", maxAnswer, &raw); err != nil {
		return nil, err
	}
	op, err := ParseOp(raw)
	if err != nil {
		return nil, fmt.Errorf("plc: last operation of %s: %w", did, err)
	}
	return op, nil
}

// LastOp fetches did's latest operation, which must be a plc_operation: a
// tombstone is ErrTombstoned, and a legacy create (a DID never updated
// since 2023) an error wrapping ErrInvalidOp, since its CID is not that of
// any Operation. NextOp handles both.
func (c *Client) LastOp(ctx context.Context, did string) (*Operation, error) {
	op, err := c.last(ctx, did)
	if err != nil {
		return nil, err
	}
	switch o := op.(type) {
	case *Operation:
		return o, nil
	case *Tombstone:
		return nil, fmt.Errorf("%w: %s", ErrTombstoned, did)
	}
	return nil, fmt.Errorf("%w: the last operation of %s is a legacy create", ErrInvalidOp, did)
}

// NextOp fetches did's latest operation and returns an unsigned operation
// that follows it and keeps everything as it is: change what should change
// (SetHandle, SetPDS …), Sign it with a rotation key and Submit it.
func (c *Client) NextOp(ctx context.Context, did string) (*Operation, error) {
	last, err := c.last(ctx, did)
	if err != nil {
		return nil, err
	}
	s, err := stateAfter(did, last)
	if err != nil {
		return nil, err
	}
	prev, err := last.CID()
	if err != nil {
		return nil, fmt.Errorf("plc: last operation of %s: %w", did, err)
	}
	return s.Next(prev.String()), nil
}
