package xrpc

import (
	"net/http"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
)

// Email, password and account-state methods of com.atproto.server.

func done(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) requestEmailConfirmation(w http.ResponseWriter, r *http.Request, a *Auth) error {
	if err := decodeOptionalJSON(r, &struct{}{}); err != nil {
		return err
	}
	if err := s.accounts.RequestEmailConfirmation(r.Context(), a.DID); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) confirmEmail(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		Email string `json:"email"`
		Token string `json:"token"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.accounts.ConfirmEmail(r.Context(), a.DID, in.Email, in.Token); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) requestEmailUpdate(w http.ResponseWriter, r *http.Request, a *Auth) error {
	if err := decodeOptionalJSON(r, &struct{}{}); err != nil {
		return err
	}
	need, err := s.accounts.RequestEmailUpdate(r.Context(), a.DID)
	if err != nil {
		return err
	}
	return ok(w, map[string]bool{"tokenRequired": need})
}

func (s *Server) updateEmail(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		Email           string `json:"email"`
		EmailAuthFactor *bool  `json:"emailAuthFactor"`
		Token           string `json:"token"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	err := s.accounts.UpdateEmail(r.Context(), a.DID, account.UpdateEmailInput{Email: in.Email, EmailAuthFactor: in.EmailAuthFactor, Token: in.Token})
	if err != nil {
		return err
	}
	return done(w)
}

func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	if e := s.limits.take("reset:"+clientIP(r), 15, time.Hour, s.now()); e != nil {
		return e
	}
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.accounts.RequestPasswordReset(r.Context(), in.Email); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	if e := s.limits.take("reset-use:"+clientIP(r), 50, time.Hour, s.now()); e != nil {
		return e
	}
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.accounts.ResetPassword(r.Context(), in.Token, in.Password); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) requestAccountDelete(w http.ResponseWriter, r *http.Request, a *Auth) error {
	if err := decodeOptionalJSON(r, &struct{}{}); err != nil {
		return err
	}
	if err := s.accounts.RequestDelete(r.Context(), a.DID); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	if e := s.limits.take("delete:"+clientIP(r), 30, 5*time.Minute, s.now()); e != nil {
		return e
	}
	var in struct {
		DID      string `json:"did"`
		Password string `json:"password"`
		Token    string `json:"token"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.DID == "" || in.Password == "" || in.Token == "" {
		return invalidRequest("did, password and token are required")
	}
	if err := s.accounts.Delete(r.Context(), in.DID, in.Password, in.Token); err != nil {
		return err
	}
	s.keys.forget(in.DID)
	return done(w)
}

func (s *Server) deactivateAccount(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		DeleteAfter string `json:"deleteAfter"`
	}
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	var after *time.Time
	if in.DeleteAfter != "" {
		t, err := time.Parse(time.RFC3339Nano, in.DeleteAfter)
		if err != nil {
			return invalidRequest("deleteAfter must be a datetime")
		}
		after = &t
	}
	if err := s.accounts.Deactivate(r.Context(), a.DID, after); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) activateAccount(w http.ResponseWriter, r *http.Request, a *Auth) error {
	if err := decodeOptionalJSON(r, &struct{}{}); err != nil {
		return err
	}
	if err := s.accounts.Activate(r.Context(), a.DID); err != nil {
		return err
	}
	return done(w)
}
