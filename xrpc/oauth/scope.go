package oauth

import (
	"net/url"
	"slices"
	"strings"

	"github.com/hearth-pds/hearth/xrpc/lexicon"
)

// Scope values with a meaning of their own.
const (
	ScopeAtproto    = "atproto"
	ScopeGeneric    = "transition:generic"
	ScopeChat       = "transition:chat.bsky"
	ScopeEmail      = "transition:email"
	maxScopeLen     = 8 << 10
	maxScopeEntries = 256
)

// Resources a Need names.
const (
	ResRepo     = "repo"
	ResRPC      = "rpc"
	ResBlob     = "blob"
	ResAccount  = "account"
	ResIdentity = "identity"
	// ResAny is any call at all: the atproto scope is enough.
	ResAny = "any"
)

// Permissions is a granted scope, parsed into data. The zero value grants
// nothing. Check a call against it with Allows.
type Permissions struct {
	Atproto              bool
	Generic, Chat, Email bool
	Repo                 []RepoPerm
	RPC                  []RPCPerm
	Blob                 []string // accept patterns: "image/*", "*/*", "video/mp4"
	Account              []AccountPerm
	Identity             []string // "handle" or "*"
	// Scopes are the scope strings understood, in order: what is granted.
	Scopes []string
	// expanded is Scopes with each include: replaced by the permissions
	// its set granted (see Expanded).
	expanded []string
}

// RepoPerm lets writes of Actions to Collections ("*" is every one).
type RepoPerm struct {
	Collections []string
	Actions     []string // create, update, delete
}

// RPCPerm lets service calls of Lxm to Aud ("*" is any).
type RPCPerm struct {
	Lxm []string
	Aud string
}

// AccountPerm lets Action (read or manage) on Attr (email, repo, status).
type AccountPerm struct{ Attr, Action string }

// Need is what one call needs.
type Need struct {
	Resource   string
	Collection string // repo
	Action     string // repo: create|update|delete; account: read|manage
	Lxm, Aud   string // rpc
	MIME       string // blob
	Attr       string // account, identity
}

// SetResolver finds the permissions of a permission set by its NSID.
type SetResolver func(nsid string) (*lexicon.Def, bool)

// CatalogSets resolves permission sets from a lexicon catalog.
func CatalogSets(c *lexicon.Catalog) SetResolver {
	return func(nsid string) (*lexicon.Def, bool) {
		d, err := c.Def(nsid)
		if err != nil || d.Type != "permission-set" {
			return nil, false
		}
		return d, true
	}
}

// ParseScope reads a space-separated scope. Entries it does not understand
// are left out, as the spec asks; it never fails.
func ParseScope(scope string, sets SetResolver) *Permissions {
	if len(scope) > maxScopeLen {
		scope = scope[:maxScopeLen]
	}
	return parseScope(scope, sets, maxScopeEntries)
}

// ParseExpanded reads a scope this server expanded itself (Expanded),
// which may be longer than a client may send.
func ParseExpanded(scope string) *Permissions { return parseScope(scope, nil, -1) }

func parseScope(scope string, sets SetResolver, max int) *Permissions {
	p := &Permissions{}
	for i, s := range strings.Fields(scope) {
		if i == max {
			break
		}
		if slices.Contains(p.Scopes, s) {
			continue
		}
		if p.add(s, sets) {
			p.Scopes = append(p.Scopes, s)
			if !strings.HasPrefix(s, "include:") && !strings.HasPrefix(s, "include?") {
				p.expand(s)
			}
		}
	}
	return p
}

// String is the granted scope.
func (p *Permissions) String() string { return strings.Join(p.Scopes, " ") }

// Expanded is the granted scope with each permission set replaced by the
// permissions it granted: ParseExpanded reads it back to the same grant
// without resolving any set.
func (p *Permissions) Expanded() string { return strings.Join(p.expanded, " ") }

func (p *Permissions) expand(s string) {
	if !slices.Contains(p.expanded, s) {
		p.expanded = append(p.expanded, s)
	}
}

// splitScope cuts "res:pos?a=1&b=2" into its parts. Values are
// unescaped; a '#' stays part of a value (rpc audiences carry one).
func splitScope(s string) (res, pos string, q map[string][]string, ok bool) {
	head, query, _ := strings.Cut(s, "?")
	res, pos, _ = strings.Cut(head, ":")
	if res == "" {
		return "", "", nil, false
	}
	q = map[string][]string{}
	if query != "" {
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			uk, err1 := url.QueryUnescape(k)
			uv, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil || uk == "" {
				return "", "", nil, false
			}
			q[uk] = append(q[uk], uv)
		}
	}
	if pos != "" {
		if u, err := url.PathUnescape(pos); err == nil {
			pos = u
		} else {
			return "", "", nil, false
		}
	}
	return res, pos, q, true
}

func (p *Permissions) add(s string, sets SetResolver) bool {
	switch s {
	case ScopeAtproto:
		p.Atproto = true
		return true
	case ScopeGeneric:
		p.Generic = true
		return true
	case ScopeChat:
		p.Chat = true
		return true
	case ScopeEmail:
		p.Email = true
		return true
	}
	res, pos, q, ok := splitScope(s)
	if !ok {
		return false
	}
	switch res {
	case ResRepo:
		return p.addRepo(withPos(pos, q["collection"]), q["action"])
	case ResRPC:
		return p.addRPC(withPos(pos, q["lxm"]), first(q["aud"]))
	case ResBlob:
		return p.addBlob(withPos(pos, q["accept"]))
	case ResAccount:
		return p.addAccount(withPos(pos, q["attr"]), first(q["action"]))
	case ResIdentity:
		return p.addIdentity(withPos(pos, q["attr"]))
	case "include":
		return p.include(withPos(pos, q["nsid"]), first(q["aud"]), sets)
	}
	return false
}

func withPos(pos string, vs []string) []string {
	if pos != "" {
		return append([]string{pos}, vs...)
	}
	return vs
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

var repoActions = []string{"create", "update", "delete"}

func (p *Permissions) addRepo(colls, actions []string) bool {
	if len(colls) == 0 {
		return false
	}
	for _, c := range colls {
		if c != "*" && !validNSID(c) {
			return false
		}
	}
	if len(actions) == 0 {
		actions = repoActions
	}
	for _, a := range actions {
		if !slices.Contains(repoActions, a) {
			return false
		}
	}
	p.Repo = append(p.Repo, RepoPerm{Collections: colls, Actions: actions})
	return true
}

func (p *Permissions) addRPC(lxms []string, aud string) bool {
	if len(lxms) == 0 || aud == "" {
		return false
	}
	for _, l := range lxms {
		if l != "*" && !validNSID(l) {
			return false
		}
		// "any method of any service" is refused by the spec.
		if l == "*" && aud == "*" {
			return false
		}
	}
	if aud != "*" && !strings.HasPrefix(aud, "did:") {
		return false
	}
	p.RPC = append(p.RPC, RPCPerm{Lxm: lxms, Aud: aud})
	return true
}

func (p *Permissions) addBlob(accept []string) bool {
	if len(accept) == 0 {
		return false
	}
	for _, a := range accept {
		t, sub, ok := strings.Cut(a, "/")
		if !ok || t == "" || sub == "" || (t == "*" && sub != "*") {
			return false
		}
	}
	p.Blob = append(p.Blob, accept...)
	return true
}

func (p *Permissions) addAccount(attrs []string, action string) bool {
	if len(attrs) != 1 || !slices.Contains([]string{"email", "repo", "status"}, attrs[0]) {
		return false
	}
	if action == "" {
		action = "read"
	}
	if action != "read" && action != "manage" {
		return false
	}
	p.Account = append(p.Account, AccountPerm{Attr: attrs[0], Action: action})
	return true
}

func (p *Permissions) addIdentity(attrs []string) bool {
	if len(attrs) != 1 || (attrs[0] != "handle" && attrs[0] != "*") {
		return false
	}
	p.Identity = append(p.Identity, attrs[0])
	return true
}

// include adds a permission set's permissions. A set may only grant
// within its own namespace (the NSID without its name); what lies outside,
// and what this server does not know, is ignored.
func (p *Permissions) include(nsids []string, aud string, sets SetResolver) bool {
	if len(nsids) != 1 || sets == nil || !validNSID(nsids[0]) {
		return false
	}
	def, ok := sets(nsids[0])
	if !ok {
		return false
	}
	ns := nsids[0][:strings.LastIndexByte(nsids[0], '.')+1]
	inside := func(vs []string) []string {
		var out []string
		for _, v := range vs {
			if strings.HasPrefix(v, ns) {
				out = append(out, v)
			}
		}
		return out
	}
	for _, perm := range def.Permissions {
		switch perm.Resource {
		case ResRepo:
			if cs := inside(perm.Collection); len(cs) > 0 && p.addRepo(cs, perm.Action) {
				p.expand(p.Repo[len(p.Repo)-1].scope())
			}
		case ResRPC:
			a := perm.Aud
			if perm.InheritAud {
				a = aud
			}
			if ls := inside(perm.Lxm); len(ls) > 0 && a != "" && p.addRPC(ls, a) {
				p.expand(p.RPC[len(p.RPC)-1].scope())
			}
		}
	}
	return true
}

// scope is the scope string that grants r.
func (r RepoPerm) scope() string {
	v := url.Values{"collection": r.Collections, "action": r.Actions}
	return "repo?" + v.Encode()
}

// scope is the scope string that grants r.
func (r RPCPerm) scope() string {
	v := url.Values{"lxm": r.Lxm, "aud": {r.Aud}}
	return "rpc?" + v.Encode()
}

// validNSID is a light check: dotted, at least three segments, no spaces.
func validNSID(s string) bool {
	if len(s) > 317 || strings.Count(s, ".") < 2 {
		return false
	}
	for _, seg := range strings.Split(s, ".") {
		if seg == "" {
			return false
		}
		for _, r := range seg {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}
