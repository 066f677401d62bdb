package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The hearth command: "hearth" alone serves; each other subcommand talks
// to the running daemon's admin API on loopback, and opens the data file
// itself only when the daemon is stopped (backup, restore, compact and
// account list).

var (
	// errUsage marks a command line that cannot run: exit code 2.
	errUsage = errors.New("usage")
	// errFailed is a failure already reported: exit code 1.
	errFailed = errors.New("failed")
	// errDaemonDown means nothing answers on the daemon's address.
	errDaemonDown = errors.New("the daemon is not running")
)

// usageError is a bad command line, with the usage to show for it.
type usageError struct{ msg, usage string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

type command struct {
	name, args, summary string
	run                 func(c *cli, args []string) error
}

var commands = []command{
	{"serve", "[flags]", "run the daemon (the default); hearth serve --help lists its settings", nil},
	{"account", "list|info|create|delete|takedown|untakedown|reset-password", "manage accounts", (*cli).account},
	{"invite", "create [--uses N] [--count N]", "make invite codes", (*cli).invite},
	{"request-crawl", "[relay]", "ask the relays (or one) to crawl this host now", (*cli).requestCrawl},
	{"backup", "FILE", "write a consistent copy of the data file to FILE", (*cli).backup},
	{"restore", "FILE", "put the backup FILE back in place of the data file", (*cli).restore},
	{"compact", "", "shrink the data file (needs free space of its size)", (*cli).compact},
	{"status", "", "the daemon's state: version, accounts, last seq, subscribers, relays", (*cli).status},
	{"version", "", "print the version", (*cli).version},
}

func topUsage() string {
	var b strings.Builder
	b.WriteString("usage: hearth [command] [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-14s %-30s %s\n", c.name, c.args, c.summary)
	}
	b.WriteString("\nEvery command takes --help. The daemon's address is $HEARTH_LISTEN or --listen, the data\n" +
		"folder $HEARTH_DATA or --data; the admin password is $HEARTH_ADMIN_PASSWORD, else <data>/admin-password.\n")
	return b.String()
}

// runCommand runs the command line args and returns the exit code.
func runCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	err := c.dispatch(args)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "hearth: %s\n\n%s", ue.msg, ue.usage)
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "hearth: %s\n", err)
		return 2
	case errors.Is(err, errFailed):
		return 1
	}
	fmt.Fprintf(stderr, "hearth: %s\n", err)
	return 1
}

// cli is one run of the command: where it writes and the common flags.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	data, listen string
	json         bool
}

func (c *cli) dispatch(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) {
		return c.serve(args)
	}
	if isHelp(args[0]) || args[0] == "help" {
		fmt.Fprint(c.stdout, topUsage())
		return nil
	}
	for _, cmd := range commands {
		if cmd.name == args[0] {
			if cmd.run == nil {
				return c.serve(args[1:])
			}
			return cmd.run(c, args[1:])
		}
	}
	return &usageError{fmt.Sprintf("unknown command %q", args[0]), topUsage()}
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func (c *cli) serve(args []string) error {
	err := serveCommand(args, c.stderr, c.getenv)
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errFailed) {
		return &usageError{err.Error(), topUsage()}
	}
	return err
}

// flags is a command's flag set with the common flags.
func (c *cli) flags(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("hearth "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.data, "data", orDefault(c.getenv("HEARTH_DATA"), "./data"), "data folder ($HEARTH_DATA)")
	fs.StringVar(&c.listen, "listen", orDefault(c.getenv("HEARTH_LISTEN"), "127.0.0.1:2583"), "the daemon's address ($HEARTH_LISTEN)")
	fs.BoolVar(&c.json, "json", false, "print JSON, for scripts")
	fs.Usage = func() {}
	fs.Init(strings.TrimSpace("hearth "+name+" "+args)+"\n\n"+summary, flag.ContinueOnError)
	return fs
}

func usageOf(fs *flag.FlagSet) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "usage: %s\n\nflags:\n", fs.Name())
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// parse reads flags wherever they stand among the arguments and checks
// the number of the others.
func (c *cli) parse(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(c.stdout, usageOf(fs))
				return nil, err
			}
			return nil, &usageError{err.Error(), usageOf(fs)}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(pos) < min:
		return nil, &usageError{"missing argument", usageOf(fs)}
	case len(pos) > max:
		return nil, &usageError{fmt.Sprintf("unexpected argument %q", pos[max]), usageOf(fs)}
	}
	return pos, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// print writes v as JSON with --json, else the plain text.
func (c *cli) print(v any, plain string) error {
	if c.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(c.stdout, plain)
	return err
}

func (c *cli) version(args []string) error {
	fs := c.flags("version", "", "print the version")
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	return c.print(map[string]string{"version": version}, version+"\n")
}

// loopback turns a listen address into one to dial: an empty or
// unspecified host is this machine.
func loopback(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// remoteError is an XRPC error answer of the daemon.
type remoteError struct {
	nsid      string
	status    int
	name, msg string
}

func (e *remoteError) Error() string {
	s := fmt.Sprintf("%s: %s", e.nsid, e.name)
	if e.msg != "" {
		s += ": " + e.msg
	}
	if e.status == http.StatusUnauthorized {
		s += " (set $HEARTH_ADMIN_PASSWORD, or run as the daemon's user so <data>/admin-password can be read)"
	}
	return s
}

// admin calls the daemon. body is JSON-encoded unless it is an
// io.Reader; out, if not nil, receives the JSON answer.
func (c *cli) admin(ctx context.Context, method, nsid string, q url.Values, body, out any) error {
	res, err := c.request(ctx, method, nsid, q, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: answer: %w", nsid, err)
	}
	return nil
}

// request makes one call and returns a 2xx answer for the caller to read.
func (c *cli) request(ctx context.Context, method, nsid string, q url.Values, body any) (*http.Response, error) {
	u := "http://" + loopback(c.listen) + "/xrpc/" + nsid
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	ctype := "application/octet-stream"
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if f, ok := body.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			req.ContentLength = fi.Size()
		}
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.SetBasicAuth("admin", c.adminPassword())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w at %s", errDaemonDown, loopback(c.listen))
		}
		return nil, fmt.Errorf("%s: %w", nsid, err)
	}
	if res.StatusCode/100 != 2 {
		defer res.Body.Close()
		var e struct{ Error, Message string }
		json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&e)
		if e.Error == "" {
			e.Error = res.Status
		}
		return nil, &remoteError{nsid: nsid, status: res.StatusCode, name: e.Error, msg: e.Message}
	}
	return res, nil
}

func (c *cli) adminPassword() string {
	if pw := c.getenv("HEARTH_ADMIN_PASSWORD"); pw != "" {
		return pw
	}
	b, _ := os.ReadFile(filepath.Join(c.data, adminPasswordFile))
	return strings.TrimSpace(string(b))
}

func (c *cli) status(args []string) error {
	fs := c.flags("status", "", "the daemon's state: version, accounts, last seq, subscribers, relays")
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	var st statusView
	if err := c.admin(context.Background(), "GET", adminNS+"getStatus", nil, nil, &st); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version      %s\nuptime       %s\naccounts     %d\nlast seq     %d\nsubscribers  %d\nfile         %s\n",
		st.Version, st.Uptime, st.Accounts, st.LastSeq, st.Subscribers, sizeWords(st.FileBytes))
	if st.Disk.Total > 0 {
		fmt.Fprintf(&b, "disk         %s free of %s\n", sizeWords(st.Disk.Free), sizeWords(st.Disk.Total))
	}
	if st.Disk.FileLimit > 0 {
		fmt.Fprintf(&b, "file limit   %s of %s on this 32-bit system\n", sizeWords(st.FileBytes), sizeWords(st.Disk.FileLimit))
	}
	for _, w := range st.Disk.Warnings {
		fmt.Fprintf(&b, "warning      %s\n", w)
	}
	for _, r := range st.Relays {
		fmt.Fprintf(&b, "relay        %s\n", r.Words)
	}
	if m := st.Maintenance; m != nil {
		fmt.Fprintf(&b, "maintenance  %s %s at %s", m.Op, m.State, m.Started.Format(time.DateTime))
		if m.Error != "" {
			fmt.Fprintf(&b, ": %s", m.Error)
		}
		b.WriteString("\n")
	}
	return c.print(st, b.String())
}

func (c *cli) requestCrawl(args []string) error {
	fs := c.flags("request-crawl", "[relay]", "ask the relays (or one) to crawl this host now")
	pos, err := c.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	var in struct {
		Relay string `json:"relay,omitempty"`
	}
	if len(pos) == 1 {
		in.Relay = pos[0]
	}
	var out struct {
		Relays []struct {
			Relay string `json:"relay"`
			Error string `json:"error,omitempty"`
		} `json:"relays"`
	}
	if err := c.admin(context.Background(), "POST", adminNS+"requestCrawl", nil, in, &out); err != nil {
		return err
	}
	var b strings.Builder
	failed := false
	for _, r := range out.Relays {
		if r.Error != "" {
			failed = true
			fmt.Fprintf(&b, "%s: failed: %s\n", r.Relay, r.Error)
		} else {
			fmt.Fprintf(&b, "%s: asked\n", r.Relay)
		}
	}
	if len(out.Relays) == 0 {
		b.WriteString("no relays configured ($HEARTH_RELAYS)\n")
	}
	if err := c.print(out, b.String()); err != nil {
		return err
	}
	if failed {
		return errFailed
	}
	return nil
}
