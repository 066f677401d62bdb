package oauth

import (
	"fmt"
	"slices"
	"strings"
)

// Allows reports whether p grants n. It is the one rule of the resource
// server: every route and the proxy ask it.
func (p *Permissions) Allows(n Need) bool {
	if p == nil || !p.Atproto {
		return false
	}
	switch n.Resource {
	case ResAny:
		return true
	case ResRepo:
		return p.Generic || slices.ContainsFunc(p.Repo, func(r RepoPerm) bool {
			return matchAny(r.Collections, n.Collection) && slices.Contains(r.Actions, n.Action)
		})
	case ResRPC:
		if strings.HasPrefix(n.Lxm, "chat.bsky.") {
			if p.Chat {
				return true
			}
		} else if p.Generic {
			return true
		}
		return slices.ContainsFunc(p.RPC, func(r RPCPerm) bool {
			return matchAny(r.Lxm, n.Lxm) && (r.Aud == "*" || r.Aud == n.Aud)
		})
	case ResBlob:
		return p.Generic || slices.ContainsFunc(p.Blob, func(a string) bool { return matchMIME(a, n.MIME) })
	case ResAccount:
		return p.allowsAccount(n)
	case ResIdentity:
		if n.Attr == "handle" && p.Generic {
			return true
		}
		return slices.Contains(p.Identity, "*") || slices.Contains(p.Identity, n.Attr)
	}
	return false
}

func (p *Permissions) allowsAccount(n Need) bool {
	if n.Action == "read" {
		switch {
		case n.Attr == "email" && p.Email:
			return true
		case n.Attr != "email" && p.Generic:
			return true
		}
	}
	return slices.ContainsFunc(p.Account, func(a AccountPerm) bool {
		return a.Attr == n.Attr && (a.Action == "manage" || a.Action == n.Action)
	})
}

func matchAny(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

func matchMIME(pattern, mime string) bool {
	if pattern == "*/*" {
		return true
	}
	if t, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(mime, t+"/")
	}
	return strings.EqualFold(pattern, mime)
}

// String is the scope that would grant n, for error messages.
func (n Need) String() string {
	switch n.Resource {
	case ResRepo:
		return fmt.Sprintf("repo:%s?action=%s", n.Collection, n.Action)
	case ResRPC:
		return fmt.Sprintf("rpc:%s?aud=%s", n.Lxm, n.Aud)
	case ResBlob:
		return "blob:" + n.MIME
	case ResAccount:
		return fmt.Sprintf("account:%s?action=%s", n.Attr, n.Action)
	case ResIdentity:
		return "identity:" + n.Attr
	}
	return ScopeAtproto
}

// Group is a heading and its lines, for the consent page.
type Group struct {
	Title string
	Lines []string
}

// Describe puts p in plain words, grouped by what it touches.
func (p *Permissions) Describe() []Group {
	var gs []Group
	add := func(title string, lines ...string) {
		if len(lines) > 0 {
			gs = append(gs, Group{Title: title, Lines: lines})
		}
	}
	if p.Generic {
		add("Everything an app password can do",
			"Post, like, follow and change any record of your account, upload files, and use your Bluesky services for you.",
			"It cannot change your password, email or account status.")
	}
	if p.Chat {
		add("Direct messages", "Read and send your chat messages.")
	}
	var repo []string
	for _, r := range p.Repo {
		repo = append(repo, fmt.Sprintf("%s: %s", strings.Join(r.Actions, ", "), collections(r.Collections)))
	}
	add("Records in your repository", repo...)
	var rpc []string
	for _, r := range p.RPC {
		rpc = append(rpc, fmt.Sprintf("Call %s at %s", calls(r.Lxm), audience(r.Aud)))
	}
	add("Services, as you", rpc...)
	if len(p.Blob) > 0 {
		add("Files", "Upload "+strings.Join(p.Blob, ", ")+" files.")
	}
	var acct []string
	if p.Email {
		acct = append(acct, "See your email address.")
	}
	for _, a := range p.Account {
		acct = append(acct, fmt.Sprintf("%s your account's %s.", verb(a.Action), a.Attr))
	}
	for _, id := range p.Identity {
		if id == "*" {
			acct = append(acct, "Change your handle and your identity (DID document).")
		} else {
			acct = append(acct, "Change your handle.")
		}
	}
	add("Your account", acct...)
	if len(gs) == 0 {
		add("Who you are", "Know which account you are. Nothing else.")
	}
	return gs
}

func collections(cs []string) string {
	if slices.Contains(cs, "*") {
		return "any kind of record"
	}
	return strings.Join(cs, ", ")
}

func calls(ls []string) string {
	if slices.Contains(ls, "*") {
		return "any method"
	}
	if len(ls) > 3 {
		return fmt.Sprintf("%d methods (%s, …)", len(ls), strings.Join(ls[:3], ", "))
	}
	return strings.Join(ls, ", ")
}

func audience(a string) string {
	if a == "*" {
		return "any service"
	}
	return a
}

func verb(action string) string {
	if action == "manage" {
		return "Read and change"
	}
	return "Read"
}
