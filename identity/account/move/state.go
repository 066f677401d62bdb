package move

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// Step is where a move is: the next thing the runner does.
type Step string

// The steps, in order.
const (
	StepSignIn        Step = "sign-in"        // createSession on the old host
	StepCreate        Step = "create"         // old getServiceAuth, then the account here
	StepRepo          Step = "repo"           // old getRepo into Import
	StepBlobs         Step = "blobs"          // old getBlob for each missing blob
	StepPrefs         Step = "preferences"    // old getPreferences, stored here
	StepPLCRequest    Step = "plc-request"    // old requestPlcOperationSignature (mails a code)
	StepPLCSign       Step = "plc-sign"       // old signPlcOperation with the code, submitted here
	StepActivate      Step = "activate"       // the account goes live here; relays asked to crawl
	StepDeactivateOld Step = "deactivate-old" // old deactivateAccount
	StepCheck         Step = "check"          // counts on both sides, the DID document
	StepDone          Step = "done"
)

// Steps lists the steps with the words the page shows.
var Steps = []struct {
	Step  Step
	Label string
}{
	{StepSignIn, "Sign in to your old host"},
	{StepCreate, "Make your account here"},
	{StepRepo, "Copy your posts, follows and other records"},
	{StepBlobs, "Copy your images and videos"},
	{StepPrefs, "Copy your app settings"},
	{StepPLCRequest, "Ask your old host for a confirmation code"},
	{StepPLCSign, "Point your identity here"},
	{StepActivate, "Turn your account on here"},
	{StepDeactivateOld, "Turn your old account off"},
	{StepCheck, "Check that everything arrived"},
}

// What a move can wait for from the person.
const (
	WaitPassword  = "password"   // the old password again: Hearth restarted before the account was made
	WaitTwoFactor = "two-factor" // the sign-in code the old host mailed
	WaitPLCCode   = "plc-code"   // the identity code the old host mailed
)

// State is the persisted state of one move (store bucket moves, JSON).
type State struct {
	DID        string `json:"did"`
	OldHandle  string `json:"oldHandle"`
	OldHost    string `json:"oldHost"`
	Handle     string `json:"handle"` // here
	Email      string `json:"email"`
	InviteCode string `json:"inviteCode,omitempty"`
	NoInvite   bool   `json:"noInvite,omitempty"`

	Step  Step   `json:"step"`
	Wait  string `json:"wait,omitempty"`
	Error string `json:"error,omitempty"` // a sentence; the runner stopped on it

	Records    int    `json:"records"`    // imported here
	OldRecords int    `json:"oldRecords"` // counted on the old host
	Blobs      int    `json:"blobs"`      // expected
	BlobsDone  int    `json:"blobsDone"`  // uploaded here
	BlobErrors int    `json:"blobErrors"` // the old host could not give them
	Check      *Check `json:"check,omitempty"`

	// The old host's session. A resume needs it; it is dropped when done.
	Access  string `json:"access,omitempty"`
	Refresh string `json:"refresh,omitempty"`

	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

// Done reports whether the move has ended.
func (s *State) Done() bool { return s.Step == StepDone }

// Check is the final comparison the person reads.
type Check struct {
	OldRecords, NewRecords       int
	ExpectedBlobs, ImportedBlobs int
	Preferences                  bool
	ValidDID                     bool // the DID document names this server and its key
	Activated                    bool
	OldDeactivated               bool
	CrawlRequested               bool
}

// OK reports whether everything arrived and the identity points here.
func (c *Check) OK() bool {
	return c.NewRecords >= c.OldRecords && c.ImportedBlobs == c.ExpectedBlobs && c.ValidDID && c.Activated
}

// Progress is what the page shows of a move: the state without the old
// host's tokens, with each step ticked.
type Progress struct {
	State
	Steps   []StepView
	Percent int
	Running bool
}

// StepView is one line of the step list.
type StepView struct {
	Label         string
	Done, Current bool
}

func (s *State) progress(running bool) *Progress {
	p := &Progress{State: *s, Running: running}
	p.Access, p.Refresh = "", ""
	reached := s.Done()
	done := 0
	for _, st := range Steps {
		cur := st.Step == s.Step
		if cur {
			reached = true
		}
		v := StepView{Label: st.Label, Done: !reached, Current: cur}
		if v.Done {
			done++
		}
		p.Steps = append(p.Steps, v)
	}
	if s.Done() {
		for i := range p.Steps {
			p.Steps[i].Done = true
		}
		done = len(Steps)
	}
	p.Percent = done * 100 / len(Steps)
	return p
}

func (r *Runner) load(did string) (*State, error) {
	var st *State
	err := r.d.Accounts.DB.View(func(tx *store.Tx) error {
		raw := tx.Move(did)
		if raw == nil {
			return nil
		}
		st = &State{}
		return json.Unmarshal(raw, st)
	})
	if err != nil {
		return nil, fmt.Errorf("move: state of %s: %w", did, err)
	}
	return st, nil
}

func (r *Runner) save(ctx context.Context, st *State) error {
	st.Updated = r.now().UTC()
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	// A stopped runner still records where it got to.
	return r.d.Accounts.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.PutMove(st.DID, raw) })
}

func (r *Runner) unfinished() ([]string, error) {
	var out []string
	err := r.d.Accounts.DB.View(func(tx *store.Tx) error {
		return tx.Moves(func(did string, raw []byte) error {
			var st State
			if json.Unmarshal(raw, &st) == nil && !st.Done() {
				out = append(out, did)
			}
			return nil
		})
	})
	return out, err
}
