package store

import (
	"encoding/json"
	"fmt"
	"time"
)

var bucketSubjects = []byte("subjects") // did ‖ 0x00 ‖ kind [‖ 0x00 ‖ id] → Subject (JSON)

// Subject is the moderation state of a repository, a record or a blob of
// one account: the admin's takedown and its reference.
type Subject struct {
	DID       string    `json:"did"`
	Kind      string    `json:"kind"` // "repo", "record" or "blob"
	ID        string    `json:"id,omitempty"`
	CID       string    `json:"cid,omitempty"` // a record's CID when taken down
	Takedown  bool      `json:"takedown"`
	Ref       string    `json:"ref,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// SubjectKey is the key of a subject: id is the record path
// (collection/rkey) or the blob CID, "" for a repository.
func SubjectKey(did, kind, id string) []byte {
	k := append(append([]byte(did), 0), kind...)
	if id != "" {
		k = append(append(k, 0), id...)
	}
	return k
}

// Subject loads a subject's state; ErrNotFound when it has none.
func (tx *Tx) Subject(did, kind, id string) (*Subject, error) {
	var s Subject
	if err := getJSON(tx.bucket(bucketSubjects), SubjectKey(did, kind, id), &s); err != nil {
		return nil, fmt.Errorf("subject %s %s %s: %w", did, kind, id, err)
	}
	return &s, nil
}

// TakenDown reports whether a subject is taken down.
func (tx *Tx) TakenDown(did, kind, id string) bool {
	raw := tx.bucket(bucketSubjects).Get(SubjectKey(did, kind, id))
	if raw == nil {
		return false
	}
	var s Subject
	return json.Unmarshal(raw, &s) == nil && s.Takedown
}

// PutSubject stores a subject's state.
func (tx *Tx) PutSubject(s *Subject) error {
	return putJSON(tx.bucket(bucketSubjects), SubjectKey(s.DID, s.Kind, s.ID), s)
}

// DeleteSubjectsOf removes every moderation state of did.
func (tx *Tx) DeleteSubjectsOf(did string) error {
	return deletePrefix(tx.bucket(bucketSubjects), append([]byte(did), 0))
}
