package move

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/store"
)

// step runs st.Step and moves st on to the next step (or sets st.Wait).
// Each step may run again after an interruption, so each is safe to
// repeat.
func (r *Runner) step(ctx context.Context, st *State) error {
	c := r.client(ctx, st)
	switch st.Step {
	case StepSignIn:
		st.Wait = WaitPassword // only a signIn with the password leaves this step
		return nil
	case StepCreate:
		return r.create(ctx, st, c)
	case StepRepo:
		return r.importRepo(ctx, st, c)
	case StepBlobs:
		return r.copyBlobs(ctx, st, c)
	case StepPrefs:
		return r.copyPrefs(ctx, st, c)
	case StepPLCRequest:
		if err := c.call(ctx, http.MethodPost, "com.atproto.identity.requestPlcOperationSignature", nil, nil, nil); err != nil {
			return err
		}
		st.Step, st.Wait = StepPLCSign, WaitPLCCode
		return nil
	case StepPLCSign:
		return r.signPLC(ctx, st, c)
	case StepActivate:
		if err := r.d.Accounts.Activate(ctx, st.DID); err != nil {
			return err
		}
		if r.d.Crawl != nil {
			r.d.Crawl()
		}
		st.Step = StepDeactivateOld
		return nil
	case StepDeactivateOld:
		if err := c.call(ctx, http.MethodPost, "com.atproto.server.deactivateAccount", nil, map[string]any{}, nil); err != nil {
			return err
		}
		st.Step = StepCheck
		return nil
	case StepCheck:
		return r.check(ctx, st)
	}
	return fmt.Errorf("move: unknown step %q", st.Step)
}

// client is the old host's client for st; a refreshed session is stored
// at once, since the old refresh token is spent.
func (r *Runner) client(ctx context.Context, st *State) *client {
	c := &client{host: st.OldHost, egress: r.d.Egress, token: st.Access}
	c.refresh = func(ctx context.Context) (string, error) {
		s, err := c.refreshSession(ctx, st.Refresh)
		if err != nil {
			return "", err
		}
		st.Access, st.Refresh = s.Access, s.Refresh
		return s.Access, r.save(ctx, st)
	}
	return c
}

// create makes the account here with the old host's service token. An
// account made before an interruption is kept.
func (r *Runner) create(ctx context.Context, st *State, c *client) error {
	svc := r.d.Accounts
	if a, err := svc.Get(st.DID); err == nil && a.Status == account.StatusDeactivated {
		st.Step = StepRepo
		return nil
	}
	pw := r.getSecret(st.DID).password
	if pw == "" {
		st.Step, st.Wait = StepSignIn, WaitPassword
		return nil
	}
	var tok struct {
		Token string `json:"token"`
	}
	q := url.Values{"aud": {svc.Config().ServiceDID}, "lxm": {account.LxmCreateAccount}}
	if err := c.call(ctx, http.MethodGet, "com.atproto.server.getServiceAuth", q, nil, &tok); err != nil {
		return err
	}
	handle := st.Handle
	if handle == "" {
		handle = st.OldHandle
	}
	_, err := svc.Create(ctx, account.CreateInput{
		DID: st.DID, Handle: handle, Email: st.Email, Password: pw,
		ServiceAuth: tok.Token, InviteCode: st.InviteCode, NoInvite: st.NoInvite,
	})
	if err != nil {
		return err
	}
	st.Handle = handle
	r.setSecret(st.DID, func(s *secret) { s.password = "" })
	st.Step = StepRepo
	return nil
}

// importRepo streams the old repository into Import, then counts the old
// host's records.
func (r *Runner) importRepo(ctx context.Context, st *State, c *client) error {
	res, err := c.open(ctx, callRepo, http.MethodGet, "com.atproto.sync.getRepo", url.Values{"did": {st.DID}}, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	snap, err := r.d.Accounts.Import(ctx, st.DID, res.Body)
	if err != nil {
		return err
	}
	st.Records = len(snap.Records)
	st.OldRecords = st.Records
	if n, err := r.countOld(ctx, st, c); err == nil {
		st.OldRecords = n
	} else {
		r.d.Log.Info("move: counting old records failed; using the CAR's count", "did", st.DID, "err", err)
	}
	st.Step = StepBlobs
	return nil
}

// countOld counts the records the old host lists, collection by
// collection (describeRepo, then listRecords).
func (r *Runner) countOld(ctx context.Context, st *State, c *client) (int, error) {
	var desc struct {
		Collections []string `json:"collections"`
	}
	if err := c.call(ctx, http.MethodGet, "com.atproto.repo.describeRepo", url.Values{"repo": {st.DID}}, nil, &desc); err != nil {
		return 0, err
	}
	n := 0
	for _, coll := range desc.Collections {
		cursor := ""
		for page := 0; page < 10000; page++ {
			var out struct {
				Records []json.RawMessage `json:"records"`
				Cursor  string            `json:"cursor"`
			}
			q := url.Values{"repo": {st.DID}, "collection": {coll}, "limit": {"100"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			if err := c.call(ctx, http.MethodGet, "com.atproto.repo.listRecords", q, nil, &out); err != nil {
				return 0, err
			}
			n += len(out.Records)
			if out.Cursor == "" || out.Cursor == cursor || len(out.Records) == 0 {
				break
			}
			cursor = out.Cursor
		}
	}
	return n, nil
}

// copyBlobs fetches each blob still missing here from the old host. A blob
// the old host cannot give is counted and skipped.
func (r *Runner) copyBlobs(ctx context.Context, st *State, c *client) error {
	db := r.d.Accounts.DB
	db.View(func(tx *store.Tx) error {
		st.Blobs, st.BlobsDone = blob.Counts(tx, st.DID)
		return nil
	})
	st.BlobErrors = 0
	cursor := ""
	for ctx.Err() == nil {
		var missing []blob.Missing
		if err := db.View(func(tx *store.Tx) (err error) {
			missing, err = blob.ListMissing(tx, st.DID, cursor, 50)
			return err
		}); err != nil {
			return err
		}
		if len(missing) == 0 {
			break
		}
		for _, m := range missing {
			if err := r.copyBlob(ctx, st, c, m); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.d.Log.Info("move: a blob could not be copied", "did", st.DID, "cid", m.CID, "record", m.Record, "err", err)
				st.BlobErrors++
				cursor = m.CID.String()
				continue
			}
			st.BlobsDone++
			r.save(ctx, st)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	st.Step = StepPrefs
	return nil
}

func (r *Runner) copyBlob(ctx context.Context, st *State, c *client, m blob.Missing) error {
	q := url.Values{"did": {st.DID}, "cid": {m.CID.String()}}
	res, err := c.open(ctx, callBlob, http.MethodGet, "com.atproto.sync.getBlob", q, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	// The blob is already in use on the old host: keep it byte for byte.
	meta, err := r.d.Blobs.Upload(ctx, st.DID, res.Body, blob.UploadOptions{MimeType: res.Header.Get("Content-Type"), AllowLocation: true})
	if err != nil {
		return err
	}
	if meta.CID.String() != m.CID.String() {
		return fmt.Errorf("move: the old host sent %s for %s", meta.CID, m.CID)
	}
	return nil
}

// copyPrefs stores the old host's app preferences here, as they are.
func (r *Runner) copyPrefs(ctx context.Context, st *State, c *client) error {
	var out struct {
		Preferences json.RawMessage `json:"preferences"`
	}
	if err := c.call(ctx, http.MethodGet, "app.bsky.actor.getPreferences", nil, nil, &out); err != nil {
		return err
	}
	var list []map[string]any
	if err := json.Unmarshal(out.Preferences, &list); err != nil {
		return fmt.Errorf("move: old preferences are not a list: %w", err)
	}
	if len(list) > 0 {
		err := r.d.Accounts.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutPreferences(st.DID, out.Preferences) })
		if err != nil {
			return err
		}
	}
	st.Step = StepPLCRequest
	return nil
}

// signPLC has the old host sign the operation that points the DID here,
// with the code it mailed, and submits it.
func (r *Runner) signPLC(ctx context.Context, st *State, c *client) error {
	svc := r.d.Accounts
	if s, err := svc.Status(ctx, st.DID); err == nil && s.ValidDID {
		st.Step = StepActivate // submitted before an interruption
		return nil
	}
	code := r.getSecret(st.DID).plcCode
	if code == "" {
		st.Step, st.Wait = StepPLCRequest, "" // a new code: the old one is not kept
		return nil
	}
	r.setSecret(st.DID, func(s *secret) { s.plcCode = "" })
	a, err := svc.Get(st.DID)
	if err != nil {
		return err
	}
	creds, err := svc.RecommendedCredentials(a)
	if err != nil {
		return err
	}
	in := map[string]any{"token": code, "rotationKeys": creds.RotationKeys, "alsoKnownAs": creds.AlsoKnownAs,
		"verificationMethods": creds.VerificationMethods, "services": creds.Services}
	var out struct {
		Operation *plc.Operation `json:"operation"`
	}
	err = c.call(ctx, http.MethodPost, "com.atproto.identity.signPlcOperation", nil, in, &out)
	if isRemote(err, "InvalidToken") || isRemote(err, "ExpiredToken") {
		st.Wait = WaitPLCCode
		st.Error = ""
		r.setSecret(st.DID, func(s *secret) { s.plcCode = "" })
		return fail(ErrCode, "Your old host did not accept that code: check it (the newest mail), or wait for a new one.")
	}
	if err != nil {
		return err
	}
	if out.Operation == nil {
		return fmt.Errorf("move: signPlcOperation answered no operation")
	}
	if err := svc.SubmitPLCOperation(ctx, st.DID, out.Operation); err != nil {
		return err
	}
	st.Step = StepActivate
	return nil
}

// check compares both sides, ends the move and drops the old host's
// tokens.
func (r *Runner) check(ctx context.Context, st *State) error {
	s, err := r.d.Accounts.Status(ctx, st.DID)
	if err != nil {
		return err
	}
	st.Check = &Check{
		OldRecords: st.OldRecords, NewRecords: s.IndexedRecords,
		ExpectedBlobs: s.ExpectedBlobs, ImportedBlobs: s.ImportedBlobs,
		Preferences: s.PrivateStateValues > 0, ValidDID: s.ValidDID, Activated: s.Activated,
		OldDeactivated: true, CrawlRequested: r.d.Crawl != nil,
	}
	st.Access, st.Refresh = "", ""
	st.Step = StepDone
	return nil
}
