package xrpc

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
)

// com.atproto.admin, as pdsadmin and goat pds admin call it: HTTP Basic
// admin:<password> on every method. The work is package account's.

const (
	adminDefs  = "com.atproto.admin.defs#"
	strongRef  = "com.atproto.repo.strongRef"
	timeFormat = time.RFC3339Nano
)

func (s *Server) accountView(a *store.Account) map[string]any {
	v := map[string]any{
		"did": a.DID, "handle": a.Handle, "indexedAt": a.CreatedAt.UTC().Format(timeFormat),
		"invitesDisabled": a.InvitesDisabled,
	}
	if a.Email != "" {
		v["email"] = a.Email
	}
	if a.EmailConfirmed != nil {
		v["emailConfirmedAt"] = a.EmailConfirmed.UTC().Format(timeFormat)
	}
	if a.InviteCode != "" {
		if c, err := s.inviteView(a.InviteCode); err == nil {
			v["invitedBy"] = c
		}
	}
	if codes, err := s.accounts.AccountInviteCodes(a.DID); err == nil && len(codes) > 0 {
		v["invites"] = inviteViews(codes)
	}
	return v
}

func (s *Server) inviteView(code string) (map[string]any, error) {
	var c *store.InviteCode
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		c, err = tx.InviteCode(code)
		return err
	})
	if err != nil {
		return nil, err
	}
	return inviteViews([]store.InviteCode{*c})[0], nil
}

func inviteViews(codes []store.InviteCode) []map[string]any {
	out := []map[string]any{}
	for _, c := range codes {
		uses := []map[string]string{}
		for _, u := range c.Uses {
			uses = append(uses, map[string]string{"usedBy": u.UsedBy, "usedAt": u.UsedAt.UTC().Format(timeFormat)})
		}
		out = append(out, map[string]any{
			"code": c.Code, "available": c.Available, "disabled": c.Disabled, "forAccount": c.ForAccount,
			"createdBy": c.CreatedBy, "createdAt": c.CreatedAt.UTC().Format(timeFormat), "uses": uses,
		})
	}
	return out
}

// adminAccount loads an account for an admin method: an unknown DID is
// 400 NotFound, as the reference answers.
func (s *Server) adminAccount(did string) (*store.Account, error) {
	a, err := s.accounts.Get(did)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "NotFound", "Account not found")
	}
	return a, nil
}

func (s *Server) getAccountInfo(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	a, err := s.adminAccount(r.URL.Query().Get("did"))
	if err != nil {
		return err
	}
	return ok(w, s.accountView(a))
}

func (s *Server) getAccountInfos(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	infos := []map[string]any{}
	for _, did := range r.URL.Query()["dids"] {
		if a, err := s.accounts.Get(did); err == nil {
			infos = append(infos, s.accountView(a))
		}
	}
	return ok(w, map[string]any{"infos": infos})
}

// subjectIn is the subject union of the admin methods.
type subjectIn struct {
	Type string `json:"$type"`
	DID  string `json:"did"`
	URI  string `json:"uri"`
	CID  string `json:"cid"`
}

func (in subjectIn) subject() (account.Subject, error) {
	switch in.Type {
	case adminDefs + "repoRef":
		return account.Subject{Kind: account.SubjectRepo, DID: in.DID}, nil
	case strongRef:
		return account.Subject{Kind: account.SubjectRecord, URI: in.URI, CID: in.CID}, nil
	case adminDefs + "repoBlobRef":
		return account.Subject{Kind: account.SubjectBlob, DID: in.DID, CID: in.CID}, nil
	}
	return account.Subject{}, invalidRequest("subject must be a repoRef, a strongRef or a repoBlobRef")
}

func subjectOut(st *account.SubjectState) map[string]any {
	sub := st.Subject
	var v map[string]any
	switch sub.Kind {
	case account.SubjectRepo:
		v = map[string]any{"$type": adminDefs + "repoRef", "did": sub.DID}
	case account.SubjectRecord:
		v = map[string]any{"$type": strongRef, "uri": sub.URI, "cid": sub.CID}
	default:
		v = map[string]any{"$type": adminDefs + "repoBlobRef", "did": sub.DID, "cid": sub.CID}
	}
	out := map[string]any{"subject": v}
	td := map[string]any{"applied": st.Takedown}
	if st.Ref != "" {
		td["ref"] = st.Ref
	}
	out["takedown"] = td
	if sub.Kind == account.SubjectRepo {
		out["deactivated"] = map[string]any{"applied": st.Deactivated}
	}
	return out
}

func (s *Server) getSubjectStatus(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	q := r.URL.Query()
	var sub account.Subject
	switch {
	case q.Get("blob") != "":
		sub = account.Subject{Kind: account.SubjectBlob, DID: q.Get("did"), CID: q.Get("blob")}
	case q.Get("uri") != "":
		sub = account.Subject{Kind: account.SubjectRecord, URI: q.Get("uri")}
	case q.Get("did") != "":
		sub = account.Subject{Kind: account.SubjectRepo, DID: q.Get("did")}
	default:
		return invalidRequest("name a subject: did, uri, or did and blob")
	}
	st, err := s.accounts.SubjectStatus(r.Context(), sub)
	if err != nil {
		return adminNotFound(err)
	}
	return ok(w, subjectOut(st))
}

func adminNotFound(err error) error {
	if errors.Is(err, account.ErrNotFound) {
		return errorf(http.StatusBadRequest, "NotFound", "%s", account.Message(err))
	}
	return err
}

func (s *Server) updateSubjectStatus(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		Subject  subjectIn `json:"subject"`
		Takedown *struct {
			Applied bool   `json:"applied"`
			Ref     string `json:"ref"`
		} `json:"takedown"`
		Deactivated *struct {
			Applied bool `json:"applied"`
		} `json:"deactivated"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sub, err := in.Subject.subject()
	if err != nil {
		return err
	}
	if in.Takedown == nil && in.Deactivated == nil {
		return invalidRequest("takedown or deactivated is required")
	}
	if in.Deactivated != nil {
		if sub.Kind != account.SubjectRepo {
			return invalidRequest("only an account can be deactivated")
		}
		if _, err := s.adminAccount(sub.DID); err != nil {
			return err
		}
		if in.Deactivated.Applied {
			err = s.accounts.Deactivate(r.Context(), sub.DID, nil)
		} else {
			err = s.accounts.Activate(r.Context(), sub.DID)
		}
		if err != nil {
			return err
		}
	}
	var st *account.SubjectState
	if in.Takedown != nil {
		st, err = s.accounts.SetTakedown(r.Context(), sub, in.Takedown.Applied, in.Takedown.Ref)
	} else {
		st, err = s.accounts.SubjectStatus(r.Context(), sub)
	}
	if err != nil {
		return adminNotFound(err)
	}
	out := subjectOut(st)
	delete(out, "deactivated")
	return ok(w, out)
}

func (s *Server) adminDeleteAccount(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		DID string `json:"did"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.accounts.Remove(r.Context(), in.DID); err != nil {
		return adminNotFound(err)
	}
	s.keys.forget(in.DID)
	return done(w)
}

func (s *Server) updateAccountHandle(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		DID    string `json:"did"`
		Handle string `json:"handle"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if _, err := s.adminAccount(in.DID); err != nil {
		return err
	}
	if err := s.accounts.SetHandle(r.Context(), in.DID, in.Handle); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) updateAccountEmail(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		Account string `json:"account"`
		Email   string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.accounts.Lookup(in.Account)
	if err != nil {
		return errorf(http.StatusBadRequest, "NotFound", "Account not found")
	}
	if err := s.accounts.SetEmail(r.Context(), a.DID, in.Email); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) updateAccountPassword(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		DID      string `json:"did"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if _, err := s.adminAccount(in.DID); err != nil {
		return err
	}
	if err := s.accounts.SetPassword(r.Context(), in.DID, in.Password); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) sendEmail(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		RecipientDID string `json:"recipientDid"`
		Content      string `json:"content"`
		Subject      string `json:"subject"`
		SenderDID    string `json:"senderDid"`
		Comment      string `json:"comment"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if _, err := s.adminAccount(in.RecipientDID); err != nil {
		return err
	}
	subject := in.Subject
	if subject == "" {
		subject = "A message from " + s.cfg.Hostname
	}
	sent, err := s.accounts.SendNotice(r.Context(), in.RecipientDID, subject, in.Content)
	if err != nil {
		return err
	}
	return ok(w, map[string]bool{"sent": sent})
}

func (s *Server) getInviteCodes(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 100, 500)
	if err != nil {
		return err
	}
	order := q.Get("sort")
	if order == "" {
		order = "recent"
	}
	if order != "recent" && order != "usage" {
		return invalidRequest("sort must be recent or usage")
	}
	codes, next, err := s.accounts.InviteCodes(order, limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	out := map[string]any{"codes": inviteViews(codes)}
	if next != "" {
		out["cursor"] = next
	}
	return ok(w, out)
}

func (s *Server) disableInviteCodes(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		Codes    []string `json:"codes"`
		Accounts []string `json:"accounts"`
	}
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	for _, a := range in.Accounts {
		if a == "admin" {
			return invalidRequest("cannot disable admin invite codes")
		}
	}
	if err := s.accounts.DisableInviteCodes(r.Context(), in.Codes, in.Accounts); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) setAccountInvites(disabled bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Auth) error {
		var in struct {
			Account string `json:"account"`
			Note    string `json:"note"`
		}
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
		if _, err := s.adminAccount(in.Account); err != nil {
			return err
		}
		if err := s.accounts.SetInvitesDisabled(r.Context(), in.Account, disabled); err != nil {
			return err
		}
		return done(w)
	}
}

func (s *Server) getAccountInviteCodes(w http.ResponseWriter, r *http.Request, a *Auth) error {
	codes, err := s.accounts.AccountInviteCodes(a.DID)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if v, _ := strconv.ParseBool(q.Get("includeUsed")); q.Get("includeUsed") != "" && !v {
		kept := codes[:0]
		for _, c := range codes {
			if len(c.Uses) < c.Available {
				kept = append(kept, c)
			}
		}
		codes = kept
	}
	return ok(w, map[string]any{"codes": inviteViews(codes)})
}
