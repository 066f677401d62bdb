package xrpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/identity/auth"
)

// loginFloor is the constant duration of a login response, so timing does
// not tell a wrong password from an unknown account.
const loginFloor = 350 * time.Millisecond

func (s *Server) describeServer(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	return ok(w, map[string]any{
		"did":                       s.serviceDID,
		"availableUserDomains":      s.cfg.HandleDomains,
		"inviteCodeRequired":        s.cfg.InviteRequired,
		"phoneVerificationRequired": false,
		"links":                     map[string]any{},
		"contact":                   map[string]any{},
	})
}

// CreateOwner makes the owner's account for the setup wizard: the same
// checks as createAccount, but no invite code (the wizard is unlocked by
// the setup code instead).
func (s *Server) CreateOwner(ctx context.Context, handle, email, password string) (string, error) {
	a, _, _, err := s.newAccount(ctx, createAccountInput{Handle: handle, Email: email, Password: password, noInvite: true})
	if err != nil {
		if xe, ok := asXRPC(err); ok {
			return "", errors.New(xe.Message)
		}
		return "", err
	}
	return a.DID, nil
}

// CheckPassword reports whether password is the account password of the
// account named by a handle, email or DID.
func (s *Server) CheckPassword(ident, password string) bool {
	var acct *store.Account
	s.db.View(func(tx *store.Tx) error {
		var err error
		switch {
		case strings.HasPrefix(ident, "did:"):
			acct, err = tx.Account(ident)
		case strings.Contains(ident, "@"):
			acct, err = tx.AccountByEmail(ident)
		default:
			acct, err = tx.AccountByHandle(strings.ToLower(ident))
		}
		if err != nil {
			acct = nil
		}
		return nil
	})
	if acct == nil {
		_ = auth.CheckPassword(dummyHash, password)
		return false
	}
	return auth.CheckPassword(acct.PasswordHash, password) == nil
}

// CreateInvite makes a single-use invite code (the status page's action).
func (s *Server) CreateInvite(ctx context.Context) (string, error) {
	code := strings.ReplaceAll(s.cfg.Hostname, ".", "-") + "-" + newAppPassword()[:11]
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutInviteCode(&store.InviteCode{Code: code, Available: 1, ForAccount: "admin", CreatedBy: "admin", CreatedAt: s.now().UTC(), Uses: []store.InviteUse{}})
	})
	return code, err
}

type createAccountInput struct {
	Email       string `json:"email"`
	Handle      string `json:"handle"`
	DID         string `json:"did"`
	InviteCode  string `json:"inviteCode"`
	Password    string `json:"password"`
	RecoveryKey string `json:"recoveryKey"`
	noInvite    bool
}

// checkHandle normalises a requested handle and checks that this PDS may
// give it out.
func (s *Server) checkHandle(raw string) (string, error) {
	h, err := identity.ParseHandle(strings.ToLower(strings.TrimSpace(raw)))
	if err != nil {
		return "", errorf(http.StatusBadRequest, "InvalidHandle", "Input/handle must be a valid handle")
	}
	handle := string(h)
	if h.IsDisallowedTLD() && !(s.cfg.Dev && strings.HasSuffix(handle, ".test")) {
		return "", errorf(http.StatusBadRequest, "UnsupportedDomain", "Handle TLD is not allowed")
	}
	for _, d := range s.cfg.HandleDomains {
		if strings.HasSuffix(handle, d) {
			front := strings.TrimSuffix(handle, d)
			if strings.Contains(front, ".") {
				return "", errorf(http.StatusBadRequest, "InvalidHandle", "Handle may not contain dots before %s", d)
			}
			if len(front) < 3 || len(front) > 18 {
				return "", errorf(http.StatusBadRequest, "InvalidHandle", "Handle too short or too long: the name before %s takes 3 to 18 characters", d)
			}
			return handle, nil
		}
	}
	return "", errorf(http.StatusBadRequest, "UnsupportedDomain", "Not a supported handle domain: use one of %s", strings.Join(s.cfg.HandleDomains, ", "))
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	if e := s.limits.take("createAccount:"+clientIP(r), 100, 5*time.Minute, s.now()); e != nil {
		return e
	}
	var in createAccountInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	acct, access, refresh, err := s.newAccount(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, map[string]any{
		"handle":     acct.Handle,
		"did":        acct.DID,
		"accessJwt":  access,
		"refreshJwt": refresh,
		"didDoc":     s.didDoc(acct),
	})
}

// newAccount checks the request, registers the DID, and creates the
// account, its first commit and its first session in one transaction.
func (s *Server) newAccount(ctx context.Context, in createAccountInput) (*store.Account, string, string, error) {
	fail := func(err error) (*store.Account, string, string, error) { return nil, "", "", err }
	handle, err := s.checkHandle(in.Handle)
	if err != nil {
		return fail(err)
	}
	if in.Email == "" {
		return fail(invalidRequest("Email is required"))
	}
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email || !strings.Contains(in.Email[strings.IndexByte(in.Email, '@'):], ".") {
		return fail(errorf(http.StatusBadRequest, "InvalidEmail", "This email address is not supported, please use a different email."))
	}
	if in.Password == "" {
		return fail(invalidRequest("Password is required"))
	}
	if len(in.Password) > 256 {
		return fail(invalidRequest("Password is too long"))
	}
	needInvite := s.cfg.InviteRequired && !in.noInvite
	if needInvite && in.InviteCode == "" {
		return fail(errorf(http.StatusBadRequest, "InvalidInviteCode", "No invite code provided"))
	}
	// Check for collisions before touching the PLC directory.
	err = s.db.View(func(tx *store.Tx) error {
		if _, err := tx.AccountByHandle(handle); err == nil {
			return errorf(http.StatusBadRequest, "HandleNotAvailable", "Handle already taken: %s", handle)
		}
		if _, err := tx.AccountByEmail(in.Email); err == nil {
			return invalidRequest("Email already taken: %s", in.Email)
		}
		if needInvite {
			return checkInvite(tx, in.InviteCode)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	signing, err := keys.GenerateK256()
	if err != nil {
		return fail(err)
	}
	hash, err := s.cfg.HashPassword(in.Password)
	if err != nil {
		return fail(err)
	}
	did, err := s.registerDID(ctx, in, handle, signing)
	if err != nil {
		return fail(err)
	}
	acct := &store.Account{
		DID: did, Handle: handle, Email: in.Email, PasswordHash: hash,
		SigningKey: keys.MarshalPrivate(signing), CreatedAt: s.now().UTC(), InviteCode: in.InviteCode,
	}
	var access, refresh string
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if needInvite {
			if err := useInvite(tx, in.InviteCode, did, s.now()); err != nil {
				return err
			}
		}
		if err := tx.CreateAccount(acct); err != nil {
			if errors.Is(err, store.ErrExists) {
				return errorf(http.StatusBadRequest, "HandleNotAvailable", "Handle or email already taken")
			}
			return err
		}
		c, err := s.writer.Create(tx, did, signing)
		if err != nil {
			if errors.Is(err, repo.ErrRepoExists) {
				return errorf(http.StatusBadRequest, "AlreadyExists", "A repository for %s already exists", did)
			}
			return err
		}
		if err := s.emitAccountCreated(tx, acct, c); err != nil {
			return err
		}
		access, refresh, err = s.session(tx, did, scopeAccess, "")
		return err
	})
	if err != nil {
		return fail(err)
	}
	s.log.Info("account created", "did", did, "handle", handle)
	return acct, access, refresh, nil
}

// registerDID creates the account's DID: a signed genesis operation sent
// to the PLC directory, or a caller-supplied did:web whose document already
// names this PDS.
func (s *Server) registerDID(ctx context.Context, in createAccountInput, handle string, signing keys.PrivateKey) (string, error) {
	if in.DID != "" {
		did, err := identity.ParseDID(in.DID)
		if err != nil || !did.IsWeb() {
			return "", invalidRequest("only a did:web may be brought to this PDS at sign-up")
		}
		s.resolver.Forget(string(did)) // the user may just have fixed the document
		doc, err := s.resolver.ResolveDID(ctx, string(did))
		if err != nil {
			return "", invalidRequest("could not resolve %s: %v", did, err)
		}
		if ep, _ := doc.PDSEndpoint(); strings.TrimSuffix(ep, "/") != s.cfg.PublicURL {
			return "", invalidRequest("the DID document of %s must name %s as its atproto_pds service", did, s.cfg.PublicURL)
		}
		return string(did), nil
	}
	rotation := []string{s.rotation.Public().DIDKey()}
	if in.RecoveryKey != "" {
		if _, err := keys.ParseDIDKey(in.RecoveryKey); err != nil {
			return "", invalidRequest("recoveryKey must be a did:key: %v", err)
		}
		rotation = append([]string{in.RecoveryKey}, rotation...)
	}
	op := plc.Genesis(rotation, signing.Public().DIDKey(), handle, s.cfg.PublicURL)
	if err := op.Sign(s.rotation); err != nil {
		return "", err
	}
	did, err := plc.DIDFromGenesis(op)
	if err != nil {
		return "", err
	}
	if err := s.plc.Submit(ctx, did, op); err != nil {
		s.log.Warn("PLC directory refused the genesis operation", "did", did, "err", err)
		return "", errorf(http.StatusBadGateway, "UpstreamFailure", "the PLC directory did not accept the new DID: %v", err)
	}
	return did, nil
}

func checkInvite(tx *store.Tx, code string) error {
	c, err := tx.InviteCode(code)
	if err != nil || c.Disabled || len(c.Uses) >= c.Available {
		return errorf(http.StatusBadRequest, "InvalidInviteCode", "Provided invite code not available")
	}
	return nil
}

func useInvite(tx *store.Tx, code, did string, now time.Time) error {
	if err := checkInvite(tx, code); err != nil {
		return err
	}
	c, _ := tx.InviteCode(code)
	c.Uses = append(c.Uses, store.InviteUse{UsedBy: did, UsedAt: now.UTC()})
	return tx.PutInviteCode(c)
}

// didDoc is the DID document this PDS expects the account to have.
func (s *Server) didDoc(a *store.Account) map[string]any {
	k, err := keys.ParsePrivateString(a.SigningKey)
	if err != nil {
		return nil
	}
	return map[string]any{
		"@context":    []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/suites/secp256k1-2019/v1"},
		"id":          a.DID,
		"alsoKnownAs": []string{"at://" + a.Handle},
		"verificationMethod": []map[string]string{{
			"id": a.DID + "#atproto", "type": "Multikey", "controller": a.DID,
			"publicKeyMultibase": k.Public().Multibase(),
		}},
		"service": []map[string]string{{
			"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": s.cfg.PublicURL,
		}},
	}
}

type createSessionInput struct {
	Identifier string `json:"identifier"`
	Password   string `json:"password"`
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in createSessionInput
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
	if e := s.limits.take("login-id:"+ident, 300, 24*time.Hour, now); e != nil {
		return e
	}
	// Pad every outcome to the same duration.
	deadline := time.Now().Add(s.cfg.LoginFloor)
	defer func() { time.Sleep(time.Until(deadline)) }()

	var acct *store.Account
	_ = s.db.View(func(tx *store.Tx) error {
		var err error
		switch {
		case strings.HasPrefix(ident, "did:"):
			acct, err = tx.Account(strings.TrimSpace(in.Identifier))
		case strings.Contains(ident, "@"):
			acct, err = tx.AccountByEmail(ident)
		default:
			acct, err = tx.AccountByHandle(ident)
		}
		if err != nil {
			acct = nil
		}
		return nil
	})
	scope, appPass := "", ""
	if acct != nil {
		if auth.CheckPassword(acct.PasswordHash, in.Password) == nil {
			scope = scopeAccess
		} else {
			scope, appPass = s.checkAppPassword(acct.DID, in.Password)
		}
	} else {
		// Spend the same work on unknown identifiers.
		_ = auth.CheckPassword(dummyHash, in.Password)
	}
	if scope == "" {
		return authRequired("Invalid identifier or password")
	}
	if acct.Status == "takendown" {
		return errorf(http.StatusUnauthorized, "AccountTakedown", "Account has been taken down")
	}
	var access, refresh string
	err := s.db.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		access, refresh, err = s.session(tx, acct.DID, scope, appPass)
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, s.sessionView(acct, map[string]any{"accessJwt": access, "refreshJwt": refresh}))
}

// dummyHash is a valid hash of a random password, checked when the account
// is unknown so that both paths cost one scrypt.
const dummyHash = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func (s *Server) checkAppPassword(did, password string) (scope, name string) {
	var list []store.AppPassword
	_ = s.db.View(func(tx *store.Tx) error {
		var err error
		list, err = tx.AppPasswords(did)
		return err
	})
	if !appPasswordShape(password) {
		return "", ""
	}
	for _, ap := range list {
		if auth.CheckPassword(ap.Hash, password) == nil {
			if ap.Privileged {
				return scopeAppPassPrivate, ap.Name
			}
			return scopeAppPass, ap.Name
		}
	}
	return "", ""
}

func appPasswordShape(p string) bool {
	if len(p) != 19 {
		return false
	}
	for i, c := range p {
		if i%5 == 4 {
			if c != '-' {
				return false
			}
		} else if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func (s *Server) sessionView(a *store.Account, extra map[string]any) map[string]any {
	v := map[string]any{
		"did":             a.DID,
		"handle":          a.Handle,
		"email":           a.Email,
		"emailConfirmed":  a.EmailConfirmed != nil,
		"emailAuthFactor": false,
		"didDoc":          s.didDoc(a),
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

func (s *Server) loadAccount(did string) (*store.Account, error) {
	var a *store.Account
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		a, err = tx.Account(did)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusBadRequest, "AccountNotFound", "Account not found: %s", did)
	}
	return a, err
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, a *Auth) error {
	acct, err := s.loadAccount(a.DID)
	if err != nil {
		return err
	}
	return ok(w, s.sessionView(acct, nil))
}

func (s *Server) refreshSession(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var access, refresh string
	var acct *store.Account
	revoked := false
	err := s.db.Update(r.Context(), func(tx *store.Tx) error {
		revoked = false
		t, err := tx.RefreshToken(a.RefreshID)
		if err != nil {
			revoked = true
			return nil
		}
		now := s.now()
		if t.NextID != "" {
			// Reuse: allowed within the grace period (a client retrying after a
			// lost response); afterwards it is a replay and kills the chain.
			// The deletions must commit, so this path returns no error.
			if t.UsedAt == nil || now.Sub(*t.UsedAt) > refreshGrace {
				revoked = true
				if err := tx.DeleteRefreshToken(t.NextID); err != nil {
					return err
				}
				return tx.DeleteRefreshToken(t.ID)
			}
			if err := tx.DeleteRefreshToken(t.NextID); err != nil {
				return err
			}
		}
		if acct, err = tx.Account(t.DID); err != nil {
			return errorf(http.StatusBadRequest, "AccountNotFound", "Account not found")
		}
		if access, refresh, err = s.session(tx, t.DID, t.Scope, t.AppPass); err != nil {
			return err
		}
		np, _ := auth.Parse(refresh)
		t.NextID = np.Claims.Jti
		used := now
		t.UsedAt = &used
		return tx.PutRefreshToken(t)
	})
	if err != nil {
		return err
	}
	if revoked {
		return errorf(http.StatusBadRequest, "ExpiredToken", "Token has been revoked")
	}
	return ok(w, s.sessionView(acct, map[string]any{"accessJwt": access, "refreshJwt": refresh}))
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, a *Auth) error {
	err := s.db.Update(r.Context(), func(tx *store.Tx) error {
		t, err := tx.RefreshToken(a.RefreshID)
		if err != nil {
			return nil
		}
		if t.NextID != "" {
			_ = tx.DeleteRefreshToken(t.NextID)
		}
		return tx.DeleteRefreshToken(t.ID)
	})
	if err != nil {
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
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return invalidRequest("name must be 1 to 100 characters")
	}
	pw := newAppPassword()
	hash, err := s.cfg.HashPassword(pw)
	if err != nil {
		return err
	}
	ap := &store.AppPassword{Name: in.Name, Hash: hash, Privileged: in.Privileged, CreatedAt: s.now().UTC()}
	err = s.db.Update(r.Context(), func(tx *store.Tx) error {
		list, err := tx.AppPasswords(a.DID)
		if err != nil {
			return err
		}
		if len(list) >= 50 {
			return invalidRequest("too many app passwords")
		}
		if err := tx.PutAppPassword(a.DID, ap); errors.Is(err, store.ErrExists) {
			return errorf(http.StatusBadRequest, "DuplicateName", "An app password named %q already exists", in.Name)
		} else {
			return err
		}
	})
	if err != nil {
		return err
	}
	return ok(w, map[string]any{"name": ap.Name, "password": pw, "createdAt": ap.CreatedAt.Format(time.RFC3339Nano), "privileged": ap.Privileged})
}

func newAppPassword() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	raw := []byte(auth.RandomToken(16))
	var b strings.Builder
	for i := 0; i < 16; i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(raw[i])%len(alphabet)])
	}
	return b.String()
}

func (s *Server) listAppPasswords(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var list []store.AppPassword
	if err := s.db.View(func(tx *store.Tx) error {
		var err error
		list, err = tx.AppPasswords(a.DID)
		return err
	}); err != nil {
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
	err := s.db.Update(r.Context(), func(tx *store.Tx) error {
		if err := tx.DeleteAppPassword(a.DID, in.Name); errors.Is(err, store.ErrNotFound) {
			return invalidRequest("no app password named %q", in.Name)
		} else {
			return err
		}
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) checkAccountStatus(w http.ResponseWriter, r *http.Request, a *Auth) error {
	acct, err := s.loadAccount(a.DID)
	if err != nil {
		return err
	}
	out := map[string]any{"activated": acct.Active(), "validDid": true}
	err = s.db.View(func(tx *store.Tx) error {
		h, err := repo.LoadHead(tx, a.DID)
		if err != nil {
			return err
		}
		r, err := tx.Repo(a.DID)
		if err != nil {
			return err
		}
		blocks, _, records := r.Stats()
		out["repoCommit"], out["repoRev"] = h.Commit.String(), h.Rev
		out["repoBlocks"], out["indexedRecords"] = blocks, records
		out["privateStateValues"], out["expectedBlobs"], out["importedBlobs"] = 0, 0, 0
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, out)
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
	if in.UseCount < 1 || in.UseCount > 1000 {
		return invalidRequest("useCount must be between 1 and 1000")
	}
	if single {
		in.CodeCount = 1
		in.ForAccounts = []string{in.ForAccount}
	}
	if in.CodeCount < 1 {
		in.CodeCount = 1
	}
	if in.CodeCount > 100 {
		return invalidRequest("codeCount must be at most 100")
	}
	if len(in.ForAccounts) == 0 {
		in.ForAccounts = []string{"admin"}
	}
	type group struct {
		Account string   `json:"account"`
		Codes   []string `json:"codes"`
	}
	var out []group
	err := s.db.Update(r.Context(), func(tx *store.Tx) error {
		out = out[:0]
		for _, acc := range in.ForAccounts {
			if acc == "" {
				acc = "admin"
			}
			g := group{Account: acc}
			for i := 0; i < in.CodeCount; i++ {
				code := strings.ReplaceAll(s.cfg.Hostname, ".", "-") + "-" + newAppPassword()[:11]
				if err := tx.PutInviteCode(&store.InviteCode{Code: code, Available: in.UseCount, ForAccount: acc, CreatedBy: "admin", CreatedAt: s.now().UTC(), Uses: []store.InviteUse{}}); err != nil {
					return err
				}
				g.Codes = append(g.Codes, code)
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if single {
		return ok(w, map[string]string{"code": out[0].Codes[0]})
	}
	return ok(w, map[string]any{"codes": out})
}

var _ = fmt.Sprintf
