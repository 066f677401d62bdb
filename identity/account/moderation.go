package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// Subject kinds of a takedown, as com.atproto.admin.defs names them.
const (
	SubjectRepo   = "repo"   // #repoRef: an account
	SubjectRecord = "record" // com.atproto.repo.strongRef: one record
	SubjectBlob   = "blob"   // #repoBlobRef: one blob of one account
)

// Subject names what a takedown applies to.
type Subject struct {
	Kind string
	DID  string
	URI  string // records: at://did/collection/rkey
	CID  string // records (optional) and blobs
}

// path is the record's collection/rkey.
func (s Subject) path() string {
	u, err := syntax.ParseATURI(s.URI)
	if err != nil {
		return ""
	}
	return string(u.Collection) + "/" + u.RecordKey
}

// SubjectState is a subject's moderation state.
type SubjectState struct {
	Subject  Subject
	Takedown bool
	Ref      string
	// Deactivated is set for an account its owner deactivated.
	Deactivated bool
}

// resolveSubject checks a subject names something hosted here and fills
// its DID from a record's URI.
func resolveSubject(tx *store.Tx, s *Subject) error {
	if s.Kind == SubjectRecord {
		u, err := syntax.ParseATURI(s.URI)
		if err != nil || u.RecordKey == "" || !strings.HasPrefix(u.Authority, "did:") {
			return fail(ErrInvalidRequest, "subject uri must be an at:// URI of a record")
		}
		s.DID = u.Authority
	}
	if _, err := tx.Account(s.DID); err != nil {
		return fail(ErrNotFound, "Subject not found: %s", s.DID)
	}
	switch s.Kind {
	case SubjectRepo:
	case SubjectRecord:
		coll, rkey, _ := strings.Cut(s.path(), "/")
		rec, err := repo.GetRecord(tx, s.DID, coll, rkey)
		if err != nil {
			return fail(ErrNotFound, "Record not found: %s", s.URI)
		}
		if s.CID == "" {
			s.CID = rec.CID.String()
		}
	case SubjectBlob:
		c, err := cid.Parse(s.CID)
		if err != nil {
			return fail(ErrInvalidRequest, "subject cid must be a CID")
		}
		if !blob.Holds(tx, s.DID, c) {
			return fail(ErrNotFound, "Blob not found: %s", s.CID)
		}
	default:
		return fail(ErrInvalidRequest, "unknown subject type")
	}
	return nil
}

func subjectID(s Subject) string {
	switch s.Kind {
	case SubjectRecord:
		return s.path()
	case SubjectBlob:
		return s.CID
	}
	return ""
}

// SubjectStatus reads a subject's state.
func (s *Service) SubjectStatus(ctx context.Context, subj Subject) (*SubjectState, error) {
	out := &SubjectState{Subject: subj}
	err := s.DB.View(func(tx *store.Tx) error {
		if err := resolveSubject(tx, &out.Subject); err != nil {
			return err
		}
		st, err := tx.Subject(out.Subject.DID, subj.Kind, subjectID(out.Subject))
		if err == nil {
			out.Takedown, out.Ref = st.Takedown, st.Ref
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if subj.Kind == SubjectRepo {
			a, _ := tx.Account(out.Subject.DID)
			out.Deactivated = a.Status == StatusDeactivated
		}
		return nil
	})
	return out, err
}

// SetTakedown applies or lifts a takedown. An account's takedown refuses
// its sign-in and writes, hides its repository from sync and announces
// #account (takendown, or active again); a record's hides it from reads;
// a blob's hides that account's copy only.
func (s *Service) SetTakedown(ctx context.Context, subj Subject, applied bool, ref string) (*SubjectState, error) {
	out := &SubjectState{Subject: subj, Takedown: applied, Ref: ref}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		out.Subject = subj
		if err := resolveSubject(tx, &out.Subject); err != nil {
			return err
		}
		sub := out.Subject
		rec := &store.Subject{DID: sub.DID, Kind: sub.Kind, ID: subjectID(sub), CID: sub.CID, Takedown: applied, Ref: ref, UpdatedAt: s.Now().UTC()}
		if err := tx.PutSubject(rec); err != nil {
			return fmt.Errorf("account: store takedown: %w", err)
		}
		switch sub.Kind {
		case SubjectRepo:
			return s.takedownAccount(tx, sub.DID, applied)
		case SubjectBlob:
			c, _ := cid.Parse(sub.CID)
			return blob.SetTakedown(tx, sub.DID, c, applied)
		}
		return nil
	})
	return out, err
}

func (s *Service) takedownAccount(tx *store.Tx, did string, applied bool) error {
	old, err := tx.Account(did)
	if err != nil {
		return err
	}
	a := *old
	switch {
	case applied && a.Status != StatusTakendown:
		a.Status = StatusTakendown
		if err := tx.DeleteRefreshTokensOf(did); err != nil {
			return err
		}
		if err := s.Events.Account(tx, did, false, StatusTakendown); err != nil {
			return err
		}
	case !applied && a.Status == StatusTakendown:
		a.Status = StatusActive
		if err := s.Events.Account(tx, did, true, ""); err != nil {
			return err
		}
	default:
		return nil
	}
	return tx.PutAccount(old, &a)
}

// RecordHidden reports whether a record is taken down, for the reads that
// must not serve it.
func RecordHidden(tx *store.Tx, did, collection, rkey string) bool {
	return tx.TakenDown(did, SubjectRecord, collection+"/"+rkey)
}
