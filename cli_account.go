package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/store"
)

const accountUsage = `usage: hearth account COMMAND [flags]

commands:
  list                                          every account (works on the data file when the daemon is stopped)
  info HANDLE|DID                               one account
  create --handle H --email E --password P      make an account
  delete HANDLE|DID --yes                       delete an account and its data, for good
  takedown HANDLE|DID [--ref R]                 take an account down
  untakedown HANDLE|DID                         lift a takedown
  reset-password HANDLE|DID                     set a random password and print it
`

// accountLine is one account as the account commands print it.
type accountLine struct {
	DID    string `json:"did"`
	Handle string `json:"handle"`
	Email  string `json:"email,omitempty"`
	Status string `json:"status"`
}

func (c *cli) account(args []string) error {
	if len(args) == 0 {
		return &usageError{"account: missing command", accountUsage}
	}
	if isHelp(args[0]) {
		fmt.Fprint(c.stdout, accountUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	ctx := context.Background()
	switch sub {
	case "list":
		return c.accountList(ctx, args)
	case "create":
		return c.accountCreate(ctx, args)
	case "info", "delete", "takedown", "untakedown", "reset-password":
		return c.accountOne(ctx, sub, args)
	}
	return &usageError{fmt.Sprintf("account: unknown command %q", sub), accountUsage}
}

func (c *cli) accountList(ctx context.Context, args []string) error {
	fs := c.flags("account list", "", "every account")
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	lines, err := c.listOnline(ctx)
	if errors.Is(err, errDaemonDown) {
		lines, err = listOffline(dbPath(c.data))
	}
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%-30s %-34s %s\n", l.Handle, l.DID, l.Status)
	}
	return c.print(lines, b.String())
}

func (c *cli) listOnline(ctx context.Context) ([]accountLine, error) {
	lines := []accountLine{}
	q := url.Values{"limit": {"500"}}
	for {
		var page struct {
			Repos []struct {
				DID    string `json:"did"`
				Active bool   `json:"active"`
				Status string `json:"status"`
			} `json:"repos"`
			Cursor string `json:"cursor"`
		}
		if err := c.admin(ctx, "GET", "com.atproto.sync.listRepos", q, nil, &page); err != nil {
			return nil, err
		}
		infos := url.Values{}
		for _, r := range page.Repos {
			infos.Add("dids", r.DID)
			lines = append(lines, accountLine{DID: r.DID, Status: orDefault(r.Status, "active")})
		}
		if len(page.Repos) > 0 {
			var out struct {
				Infos []accountLine `json:"infos"`
			}
			if err := c.admin(ctx, "GET", "com.atproto.admin.getAccountInfos", infos, nil, &out); err != nil {
				return nil, err
			}
			byDID := map[string]accountLine{}
			for _, in := range out.Infos {
				byDID[in.DID] = in
			}
			for i := len(lines) - len(page.Repos); i < len(lines); i++ {
				in := byDID[lines[i].DID]
				lines[i].Handle, lines[i].Email = in.Handle, in.Email
			}
		}
		if page.Cursor == "" || len(page.Repos) == 0 {
			return lines, nil
		}
		q.Set("cursor", page.Cursor)
	}
}

// listOffline reads the accounts from the data file of a stopped daemon.
func listOffline(path string) ([]accountLine, error) {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("the daemon does not answer and its data file cannot be read: %w", err)
	}
	defer bdb.Close()
	lines := []accountLine{}
	err = store.ViewBolt(bdb, func(tx *store.Tx) error {
		return tx.Accounts(func(a *store.Account) error {
			lines = append(lines, accountLine{DID: a.DID, Handle: a.Handle, Email: a.Email, Status: orDefault(a.Status, "active")})
			return nil
		})
	})
	return lines, err
}

func (c *cli) accountCreate(ctx context.Context, args []string) error {
	fs := c.flags("account create", "--handle H --email E --password P", "make an account")
	handle := fs.String("handle", "", "the handle, like alice.example.com (required)")
	email := fs.String("email", "", "the email address (required)")
	password := fs.String("password", "", "the password (required)")
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *handle == "" || *email == "" || *password == "" {
		return &usageError{"account create: --handle, --email and --password are required", usageOf(fs)}
	}
	var inv struct {
		Code string `json:"code"`
	}
	if err := c.admin(ctx, "POST", "com.atproto.server.createInviteCode", nil, map[string]int{"useCount": 1}, &inv); err != nil {
		return err
	}
	var out accountLine
	in := map[string]string{"handle": *handle, "email": *email, "password": *password, "inviteCode": inv.Code}
	if err := c.admin(ctx, "POST", "com.atproto.server.createAccount", nil, in, &out); err != nil {
		return err
	}
	out.Email, out.Status = *email, "active"
	return c.print(out, fmt.Sprintf("created %s %s\n", out.Handle, out.DID))
}

// resolve turns a handle or DID into a DID.
func (c *cli) resolve(ctx context.Context, id string) (string, error) {
	if strings.HasPrefix(id, "did:") {
		return id, nil
	}
	var out struct {
		DID string `json:"did"`
	}
	if err := c.admin(ctx, "GET", "com.atproto.identity.resolveHandle", url.Values{"handle": {id}}, nil, &out); err != nil {
		return "", err
	}
	return out.DID, nil
}

func (c *cli) accountOne(ctx context.Context, sub string, args []string) error {
	fs := c.flags("account "+sub, "HANDLE|DID", "")
	yes := fs.Bool("yes", false, "delete: confirm that the account and its data go for good")
	ref := fs.String("ref", "", "takedown: a reference kept with it, like a ticket number")
	pos, err := c.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if sub == "delete" && !*yes {
		return &usageError{"account delete removes the account and its data for good: add --yes", usageOf(fs)}
	}
	did, err := c.resolve(ctx, pos[0])
	if err != nil {
		return err
	}
	repoRef := map[string]string{"$type": "com.atproto.admin.defs#repoRef", "did": did}
	switch sub {
	case "info":
		return c.accountInfo(ctx, did)
	case "delete":
		if err := c.admin(ctx, "POST", "com.atproto.admin.deleteAccount", nil, map[string]string{"did": did}, nil); err != nil {
			return err
		}
		return c.print(map[string]string{"did": did, "deleted": "true"}, "deleted "+did+"\n")
	case "takedown", "untakedown":
		applied := sub == "takedown"
		in := map[string]any{"subject": repoRef, "takedown": map[string]any{"applied": applied, "ref": *ref}}
		if err := c.admin(ctx, "POST", "com.atproto.admin.updateSubjectStatus", nil, in, nil); err != nil {
			return err
		}
		word := map[bool]string{true: "took down ", false: "lifted the takedown of "}[applied]
		return c.print(map[string]any{"did": did, "takedown": applied}, word+did+"\n")
	}
	pw := auth.RandomToken(15)
	if err := c.admin(ctx, "POST", "com.atproto.admin.updateAccountPassword", nil, map[string]string{"did": did, "password": pw}, nil); err != nil {
		return err
	}
	return c.print(map[string]string{"did": did, "password": pw}, pw+"\n")
}

func (c *cli) accountInfo(ctx context.Context, did string) error {
	var info struct {
		accountLine
		IndexedAt string `json:"indexedAt"`
	}
	if err := c.admin(ctx, "GET", "com.atproto.admin.getAccountInfo", url.Values{"did": {did}}, nil, &info); err != nil {
		return err
	}
	var st struct {
		Takedown struct {
			Applied bool   `json:"applied"`
			Ref     string `json:"ref"`
		} `json:"takedown"`
		Deactivated struct {
			Applied bool `json:"applied"`
		} `json:"deactivated"`
	}
	if err := c.admin(ctx, "GET", "com.atproto.admin.getSubjectStatus", url.Values{"did": {did}}, nil, &st); err != nil {
		return err
	}
	info.Status = "active"
	switch {
	case st.Takedown.Applied:
		info.Status = "takendown"
	case st.Deactivated.Applied:
		info.Status = "deactivated"
	}
	plain := fmt.Sprintf("handle   %s\ndid      %s\nemail    %s\ncreated  %s\nstatus   %s\n", info.Handle, info.DID, info.Email, info.IndexedAt, info.Status)
	return c.print(info, plain)
}

func (c *cli) invite(args []string) error {
	fs := c.flags("invite create", "[--uses N] [--count N]", "make invite codes")
	uses := fs.Int("uses", 1, "how many accounts each code can make")
	count := fs.Int("count", 1, "how many codes")
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprint(c.stdout, usageOf(fs))
			return nil
		}
		return &usageError{"invite: want the command create", usageOf(fs)}
	}
	if _, err := c.parse(fs, args[1:], 0, 0); err != nil {
		return err
	}
	var out struct {
		Codes []struct {
			Codes []string `json:"codes"`
		} `json:"codes"`
	}
	in := map[string]int{"useCount": *uses, "codeCount": *count}
	if err := c.admin(context.Background(), "POST", "com.atproto.server.createInviteCodes", nil, in, &out); err != nil {
		return err
	}
	codes := []string{}
	for _, g := range out.Codes {
		codes = append(codes, g.Codes...)
	}
	return c.print(map[string]any{"codes": codes}, strings.Join(codes, "\n")+"\n")
}
