package xrpc

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
)

// The account methods are thin: parse, call package account, answer. Its
// sentinel errors become XRPC names in errors.go.

// Accounts is the account operations, for the pages and the admin command.
func (s *Server) Accounts() *account.Service { return s.accounts }

// CreateOwner makes the owner's account for the setup wizard: the same
// checks as createAccount, but no invite code (the wizard is unlocked by
// the setup code instead).
func (s *Server) CreateOwner(ctx context.Context, handle, email, password string) (string, error) {
	sess, err := s.accounts.Create(ctx, account.CreateInput{Handle: handle, Email: email, Password: password, NoInvite: true})
	if err != nil {
		return "", err
	}
	return sess.Account.DID, nil
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	if e := s.limits.take("createAccount:"+clientIP(r), 100, 5*time.Minute, s.now()); e != nil {
		return e
	}
	var in account.CreateInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	// A Bearer token here is the old host's service token of a move.
	in.ServiceAuth, _ = bearer(r)
	sess, err := s.accounts.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, map[string]any{
		"handle":     sess.Account.Handle,
		"did":        sess.Account.DID,
		"accessJwt":  sess.Access,
		"refreshJwt": sess.Refresh,
		"didDoc":     s.accounts.DIDDoc(sess.Account),
	})
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		Identifier      string `json:"identifier"`
		Password        string `json:"password"`
		AuthFactorToken string `json:"authFactorToken"`
		AllowTakendown  bool   `json:"allowTakendown"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ident := strings.ToLower(strings.TrimSpace(in.Identifier))
	if ident == "" || in.Password == "" {
		return invalidRequest("identifier and password are required")
	}
	now := s.now()
	if e := s.limits.take("login-ip:"+clientIP(r), 30, 5*time.Minute, now); e != nil {
		return e
	}
	// Per identifier and IP, so a stranger cannot lock the owner out.
	if e := s.limits.take("login-id:"+ident+"|"+clientIP(r), 300, 24*time.Hour, now); e != nil {
		return e
	}
	sess, err := s.accounts.SignIn(r.Context(), account.SignInInput{
		Identifier: in.Identifier, Password: in.Password, AuthFactorToken: in.AuthFactorToken,
		AllowTakendown: in.AllowTakendown,
	})
	if err != nil {
		return err
	}
	return ok(w, s.sessionView(sess.Account, map[string]any{"accessJwt": sess.Access, "refreshJwt": sess.Refresh}))
}

func (s *Server) sessionView(a *store.Account, extra map[string]any) map[string]any {
	v := map[string]any{
		"did":             a.DID,
		"handle":          a.Handle,
		"email":           a.Email,
		"emailConfirmed":  a.EmailConfirmed != nil,
		"emailAuthFactor": a.EmailAuthFactor,
		"didDoc":          s.accounts.DIDDoc(a),
		"active":          a.Active(),
	}
	if !a.Active() {
		v["status"] = a.Status
	}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// loadAccount loads an account for the handlers that read one.
func (s *Server) loadAccount(did string) (*store.Account, error) { return s.accounts.Get(did) }

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, a *Auth) error {
	acct, err := s.loadAccount(a.DID)
	if err != nil {
		return err
	}
	return ok(w, hideEmail(s, a, s.sessionView(acct, nil)))
}

func (s *Server) refreshSession(w http.ResponseWriter, r *http.Request, a *Auth) error {
	sess, err := s.accounts.Refresh(r.Context(), a.RefreshID)
	if err != nil {
		return err
	}
	return ok(w, s.sessionView(sess.Account, map[string]any{"accessJwt": sess.Access, "refreshJwt": sess.Refresh}))
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, a *Auth) error {
	if err := s.accounts.SignOut(r.Context(), a.RefreshID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) createAppPassword(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		Name       string `json:"name"`
		Privileged bool   `json:"privileged"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ap, err := s.accounts.CreateAppPassword(r.Context(), a.DID, in.Name, in.Privileged)
	if err != nil {
		return err
	}
	return ok(w, map[string]any{"name": ap.Name, "password": ap.Password, "createdAt": ap.CreatedAt.Format(time.RFC3339Nano), "privileged": ap.Privileged})
}

func (s *Server) listAppPasswords(w http.ResponseWriter, r *http.Request, a *Auth) error {
	list, err := s.accounts.AppPasswords(a.DID)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, ap := range list {
		out = append(out, map[string]any{"name": ap.Name, "createdAt": ap.CreatedAt.Format(time.RFC3339Nano), "privileged": ap.Privileged})
	}
	return ok(w, map[string]any{"passwords": out})
}

func (s *Server) revokeAppPassword(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.accounts.RevokeAppPassword(r.Context(), a.DID, in.Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) checkAccountStatus(w http.ResponseWriter, r *http.Request, a *Auth) error {
	st, err := s.accounts.Status(r.Context(), a.DID)
	if err != nil {
		return err
	}
	return ok(w, st)
}

func (s *Server) createInviteCodes(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		UseCount    int      `json:"useCount"`
		CodeCount   int      `json:"codeCount"`
		ForAccounts []string `json:"forAccounts"`
		ForAccount  string   `json:"forAccount"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	single := strings.HasSuffix(r.URL.Path, "createInviteCode")
	if single {
		in.CodeCount, in.ForAccounts = 1, []string{in.ForAccount}
	}
	groups, err := s.accounts.CreateInvites(r.Context(), in.ForAccounts, in.CodeCount, in.UseCount)
	if err != nil {
		return err
	}
	if single {
		return ok(w, map[string]string{"code": groups[0].Codes[0]})
	}
	return ok(w, map[string]any{"codes": groups})
}

// CreateInvite makes a single-use invite code (the status page's action).
func (s *Server) CreateInvite(ctx context.Context) (string, error) {
	groups, err := s.accounts.CreateInvites(ctx, nil, 1, 1)
	if err != nil {
		return "", err
	}
	return groups[0].Codes[0], nil
}
