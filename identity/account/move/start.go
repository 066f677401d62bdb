package move

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hearth-pds/hearth/identity/account"
)

// Input is what the person types to start a move.
type Input struct {
	Old      string // handle or DID of the account on the old host
	Host     string // the old host's URL, when the handle does not resolve (optional)
	Password string // the old account's password; it becomes the password here
	Handle   string // the handle here; "" keeps the old one (a custom domain)
	Email    string // "" keeps the old host's
	// InviteCode is needed when this server asks for invites, unless
	// NoInvite (the owner starts the move).
	InviteCode string
	NoInvite   bool
}

// Start signs in to the old host and begins the move; it returns the DID.
// Bad input, an unknown account and a wrong password are refused here,
// with nothing made or stored. When the old host asks for a sign-in code,
// the move is stored waiting for it (WaitTwoFactor).
func (r *Runner) Start(ctx context.Context, in Input) (string, error) {
	in.Old = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(in.Old)), "@")
	in.Handle = strings.ToLower(strings.TrimSpace(in.Handle))
	in.Email = strings.TrimSpace(in.Email)
	if in.Old == "" || in.Password == "" {
		return "", fail(ErrInput, "Type the handle of your account elsewhere and its password.")
	}
	did, host, err := r.locate(ctx, in.Old, in.Host)
	if err != nil {
		return "", err
	}
	if st, _ := r.load(did); st != nil && !st.Done() {
		return did, nil // already under way: show it
	}
	if err := r.checkLocal(did, in); err != nil {
		return "", err
	}
	st := &State{
		DID: did, OldHandle: in.Old, OldHost: host, Handle: in.Handle, Email: in.Email,
		InviteCode: in.InviteCode, NoInvite: in.NoInvite, Step: StepSignIn, Started: r.now().UTC(),
	}
	if strings.HasPrefix(in.Old, "did:") {
		st.OldHandle = ""
	}
	if err := r.signIn(ctx, st, in.Password, ""); err != nil {
		return "", err
	}
	return did, nil
}

// locate finds the DID and the PDS of the old account.
func (r *Runner) locate(ctx context.Context, old, host string) (did, pds string, err error) {
	did = old
	if !strings.HasPrefix(old, "did:") {
		did, err = r.d.Resolver.ResolveHandle(ctx, old)
		if err != nil && cleanHost(host) != "" {
			// "My handle cannot be found": the old host names the DID, and
			// the DID's document must name that host (checked below).
			r.d.Log.Info("move: handle did not resolve; asking the old host", "handle", old, "host", host, "err", err)
			did, err = r.hostHandle(ctx, cleanHost(host), old)
		}
		if err != nil {
			r.d.Log.Info("move: handle did not resolve", "handle", old, "err", err)
			return "", "", fail(ErrUnknown, "No account answers to the handle %s: check its spelling (as shown in your app, without the @).", old)
		}
	}
	if !strings.HasPrefix(did, "did:plc:") {
		return "", "", fail(ErrNotSupported, "%s is a did:web: it moves by editing its did.json by hand, which this page cannot do.", did)
	}
	doc, err := r.d.Resolver.ResolveDID(ctx, did)
	if err != nil {
		r.d.Log.Info("move: DID did not resolve", "did", did, "err", err)
		return "", "", fail(ErrUnknown, "The identity %s could not be found in the PLC directory: check the handle and try again.", did)
	}
	pds, ok := doc.PDSEndpoint()
	if !ok {
		return "", "", fail(ErrUnknown, "The identity %s names no host to move from.", did)
	}
	pds = cleanHost(pds)
	if h := cleanHost(host); h != "" && h != pds {
		return "", "", fail(ErrInput, "Your identity says your account lives at %s, not at %s: leave the host empty, or type that one.", pds, h)
	}
	if pds == cleanHost(r.d.Accounts.Config().PublicURL) {
		return "", "", fail(ErrAlreadyHere, "That account already lives on this server.")
	}
	if u, err := url.Parse(pds); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", fail(ErrUnknown, "The identity %s names a host Hearth cannot reach (%s).", did, pds)
	}
	return did, pds, nil
}

// hostHandle asks host which DID has handle (com.atproto.identity.resolveHandle).
func (r *Runner) hostHandle(ctx context.Context, host, handle string) (string, error) {
	if u, err := url.Parse(host); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("move: not a host address: %q", host)
	}
	var out struct {
		DID string `json:"did"`
	}
	c := &client{host: host, egress: r.d.Egress}
	if err := c.call(ctx, http.MethodGet, "com.atproto.identity.resolveHandle", url.Values{"handle": {handle}}, nil, &out); err != nil {
		return "", err
	}
	if !strings.HasPrefix(out.DID, "did:") {
		return "", fmt.Errorf("move: %s answered no DID for %s", host, handle)
	}
	return out.DID, nil
}

// checkLocal refuses a move that could not end in an account here.
func (r *Runner) checkLocal(did string, in Input) error {
	svc := r.d.Accounts
	if _, err := svc.Get(did); err == nil {
		return fail(ErrAlreadyHere, "That account is already on this server: sign in on the account page.")
	}
	if in.Handle != "" {
		if _, err := svc.CheckHandle(in.Handle); err != nil && !errors.Is(err, account.ErrUnsupportedDomain) {
			return err
		}
		if _, err := svc.Lookup(in.Handle); err == nil {
			return fail(ErrInput, "Someone here already has the handle %s: choose another.", in.Handle)
		}
	}
	if in.Email != "" {
		if _, err := svc.Lookup(in.Email); err == nil {
			return fail(ErrInput, "Another account here already uses %s: type another email address, or leave it empty to keep your old one.", in.Email)
		}
	}
	if svc.Config().InviteRequired && !in.NoInvite && strings.TrimSpace(in.InviteCode) == "" {
		return fail(ErrInput, "This server takes new accounts by invite: type your invite code.")
	}
	return nil
}

// signIn opens the session on the old host and, on success, stores the
// move at StepCreate and starts it.
func (r *Runner) signIn(ctx context.Context, st *State, password, code string) error {
	c := &client{host: st.OldHost, egress: r.d.Egress}
	ident := st.OldHandle
	if ident == "" {
		ident = st.DID
	}
	s, err := c.createSession(ctx, ident, password, code)
	switch {
	case isRemote(err, "AuthFactorTokenRequired"):
		st.Wait, st.Error = WaitTwoFactor, ""
		r.setSecret(st.DID, func(s *secret) { s.password = password })
		return r.save(ctx, st)
	case code != "" && (isRemote(err, "InvalidToken") || isRemote(err, "ExpiredToken")):
		return fail(ErrCode, "Your old host did not accept that sign-in code: check it, or start again for a new one.")
	case isRemote(err, "AuthenticationRequired") || isRemote(err, "InvalidPassword"):
		return fail(ErrOldPassword, "Your old host says that password is wrong: use the password you sign in with there (not an app password).")
	case err != nil:
		r.d.Log.Info("move: createSession failed", "host", st.OldHost, "err", err)
		return fail(ErrOldHost, "%s", say(StepSignIn, err))
	case s.DID != st.DID:
		return fail(ErrInput, "Your old host signed in %s, not %s.", s.DID, st.DID)
	}
	if st.OldHandle == "" {
		st.OldHandle = s.Handle
	}
	if st.Email == "" {
		st.Email = s.Email
	}
	st.Access, st.Refresh = s.Access, s.Refresh
	st.Step, st.Wait, st.Error = StepCreate, "", ""
	r.setSecret(st.DID, func(s *secret) { s.password = password })
	if err := r.save(ctx, st); err != nil {
		return err
	}
	r.launch(st.DID)
	return nil
}

// Answer gives a waiting move what it waits for: the old host's sign-in
// code, the identity code it mailed, or the old password again.
func (r *Runner) Answer(ctx context.Context, did, answer string) error {
	st, err := r.load(did)
	if err != nil || st == nil {
		return fail(ErrNoMove, "There is no move of %s here: start one.", did)
	}
	answer = strings.TrimSpace(answer)
	if answer == "" {
		return fail(ErrInput, "Type the code (or password) first.")
	}
	switch st.Wait {
	case WaitTwoFactor:
		return r.signIn(ctx, st, r.getSecret(did).password, answer)
	case WaitPassword:
		st.Step = StepSignIn
		return r.signIn(ctx, st, answer, "")
	case WaitPLCCode:
		r.setSecret(did, func(s *secret) { s.plcCode = answer })
		st.Wait, st.Error = "", ""
		if err := r.save(ctx, st); err != nil {
			return err
		}
		r.launch(did)
		return nil
	}
	return fail(ErrNotWaiting, "The move is not waiting for a code right now.")
}
