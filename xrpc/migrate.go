package xrpc

import (
	"net/http"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/store"
)

// The methods of a move in or out; the work is package account's.

func (s *Server) importRepo(w http.ResponseWriter, r *http.Request, a *Auth) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != carType {
		return invalidRequest("importRepo takes a CAR file (%s), not %s", carType, ct)
	}
	if _, err := s.accounts.Import(r.Context(), a.DID, r.Body); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) listMissingBlobs(w http.ResponseWriter, r *http.Request, a *Auth) error {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 500, 1000)
	if err != nil {
		return err
	}
	type missing struct {
		CID       string `json:"cid"`
		RecordURI string `json:"recordUri"`
	}
	out := []missing{}
	err = s.db.View(func(tx *store.Tx) error {
		list, err := blob.ListMissing(tx, a.DID, q.Get("cursor"), limit)
		if err != nil {
			return invalidRequest("cursor must be a CID")
		}
		for _, m := range list {
			out = append(out, missing{CID: m.CID.String(), RecordURI: "at://" + a.DID + "/" + m.Record})
		}
		return nil
	})
	if err != nil {
		return err
	}
	res := map[string]any{"blobs": out}
	if len(out) >= limit {
		res["cursor"] = out[len(out)-1].CID
	}
	return ok(w, res)
}

func (s *Server) reserveSigningKey(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	var in struct {
		DID string `json:"did"`
	}
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	k, err := s.accounts.ReserveSigningKey(r.Context(), in.DID)
	if err != nil {
		return err
	}
	return ok(w, map[string]string{"signingKey": k})
}

func (s *Server) getRecommendedDidCredentials(w http.ResponseWriter, r *http.Request, a *Auth) error {
	c, err := s.accounts.RecommendedCredentials(a.Account)
	if err != nil {
		return err
	}
	return ok(w, map[string]any{
		"rotationKeys": c.RotationKeys, "alsoKnownAs": c.AlsoKnownAs,
		"verificationMethods": c.VerificationMethods, "services": c.Services,
	})
}

func (s *Server) requestPlcOperationSignature(w http.ResponseWriter, r *http.Request, a *Auth) error {
	if err := decodeOptionalJSON(r, &struct{}{}); err != nil {
		return err
	}
	if err := s.accounts.RequestPLCSignature(r.Context(), a.DID); err != nil {
		return err
	}
	return done(w)
}

func (s *Server) signPlcOperation(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		Token               string                 `json:"token"`
		RotationKeys        []string               `json:"rotationKeys"`
		AlsoKnownAs         []string               `json:"alsoKnownAs"`
		VerificationMethods map[string]string      `json:"verificationMethods"`
		Services            map[string]plc.Service `json:"services"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	op, err := s.accounts.SignPLCOperation(r.Context(), a.DID, in.Token, account.DIDCredentials{
		RotationKeys: in.RotationKeys, AlsoKnownAs: in.AlsoKnownAs,
		VerificationMethods: in.VerificationMethods, Services: in.Services,
	})
	if err != nil {
		return err
	}
	return ok(w, map[string]any{"operation": op})
}

func (s *Server) submitPlcOperation(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		Operation *plc.Operation `json:"operation"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Operation == nil {
		return invalidRequest("operation is required")
	}
	if err := s.accounts.SubmitPLCOperation(r.Context(), a.DID, in.Operation); err != nil {
		return err
	}
	return done(w)
}

// serviceCaller accepts, where the reference does, a service token another
// host signed with the key of an account hosted here, for method lxm.
func (s *Server) serviceCaller(r *http.Request, tok, lxm string) (*Auth, error) {
	p, err := auth.Parse(tok)
	if err != nil || p.Header.Alg == "HS256" {
		return nil, errorf(http.StatusBadRequest, "InvalidToken", "Token could not be verified")
	}
	did, err := s.accounts.VerifyServiceAuth(r.Context(), tok, lxm)
	if err != nil {
		return nil, err
	}
	acct, err := s.accounts.Get(did)
	if err != nil {
		return nil, errorf(http.StatusForbidden, "AccountNotFound", "Account not found")
	}
	if acct.Status == account.StatusTakendown {
		return nil, errorf(http.StatusUnauthorized, "AccountTakedown", "Account has been taken down")
	}
	return &Auth{DID: did, Account: acct}, nil
}
