package move

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/store"
)

// Deps are what a Runner works with.
type Deps struct {
	Accounts *account.Service // the local side; its DB keeps the moves
	Blobs    *blob.Store
	Resolver *resolve.Resolver // the old handle and DID
	Egress   *egress.Factory   // the road to the old host
	// Crawl asks the relays to crawl this server again (after activation).
	Crawl func()
	Log   *slog.Logger
	Now   func() time.Time
	// AfterStep, if set, is called once a step's outcome is stored (a
	// test seam).
	AfterStep func(did string, done Step)
}

// Runner runs moves in the background, one goroutine per move, for as
// long as the context given to New lives. Build it with New.
type Runner struct {
	d   Deps
	ctx context.Context
	wg  sync.WaitGroup

	mu      sync.Mutex
	running map[string]bool
	secrets map[string]*secret // by DID; never stored
}

// secret is what a move needs that is never written to the data file: the
// old password until the account exists here, and the identity code.
type secret struct {
	password, plcCode string
}

// New returns a Runner whose moves run under ctx: cancelling it stops them
// where they are, to be resumed by another Runner on the same data file.
func New(ctx context.Context, d Deps) *Runner {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Runner{d: d, ctx: ctx, running: map[string]bool{}, secrets: map[string]*secret{}}
}

func (r *Runner) now() time.Time {
	if r.d.Now != nil {
		return r.d.Now()
	}
	return time.Now()
}

// Wait returns once every move goroutine has stopped (after the context
// ended, or when each move waits or is done).
func (r *Runner) Wait() { r.wg.Wait() }

// Resume restarts the moves a previous run left unfinished. A move that
// still needed the old password (its account is not made yet) waits for it
// again.
func (r *Runner) Resume() {
	dids, err := r.unfinished()
	if err != nil {
		r.d.Log.Warn("move: listing unfinished moves failed", "err", err)
		return
	}
	for _, did := range dids {
		r.d.Log.Info("move: resuming", "did", did)
		r.launch(did)
	}
}

// Progress is what the page shows of the move of did; ErrNoMove if none.
func (r *Runner) Progress(did string) (*Progress, error) {
	st, err := r.load(did)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fail(ErrNoMove, "There is no move of %s here: start one.", did)
	}
	r.mu.Lock()
	running := r.running[did]
	r.mu.Unlock()
	return st.progress(running), nil
}

// Retry runs a move again from the step it stopped on.
func (r *Runner) Retry(ctx context.Context, did string) error {
	st, err := r.load(did)
	if err != nil || st == nil {
		return fail(ErrNoMove, "There is no move of %s here: start one.", did)
	}
	st.Error = ""
	if err := r.save(ctx, st); err != nil {
		return err
	}
	r.launch(did)
	return nil
}

// Forget drops a move that has ended, or one that has made nothing here
// yet (so the person can start again).
func (r *Runner) Forget(ctx context.Context, did string) error {
	st, err := r.load(did)
	if err != nil || st == nil {
		return fail(ErrNoMove, "There is no move of %s here.", did)
	}
	if !st.Done() && st.Step != StepSignIn && st.Step != StepCreate {
		return fail(ErrNotWaiting, "Your account is half-way here: finish the move (or try again) rather than start over.")
	}
	r.mu.Lock()
	delete(r.secrets, did)
	r.mu.Unlock()
	return r.d.Accounts.DB.Update(ctx, func(tx *store.Tx) error { return tx.DeleteMove(did) })
}

func (r *Runner) secret(did string) *secret {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.secrets[did]
	if s == nil {
		s = &secret{}
		r.secrets[did] = s
	}
	return s
}

func (r *Runner) setSecret(did string, fn func(s *secret)) {
	s := r.secret(did)
	r.mu.Lock()
	fn(s)
	r.mu.Unlock()
}

func (r *Runner) getSecret(did string) secret {
	s := r.secret(did)
	r.mu.Lock()
	defer r.mu.Unlock()
	return *s
}

// launch starts the goroutine of did's move unless one runs.
func (r *Runner) launch(did string) {
	r.mu.Lock()
	if r.running[did] || r.ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	r.running[did] = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.running, did)
			r.mu.Unlock()
		}()
		r.run(r.ctx, did)
	}()
}

// run takes the move step by step, storing the outcome of each, until it
// is done, waits for the person, fails, or ctx ends.
func (r *Runner) run(ctx context.Context, did string) {
	for ctx.Err() == nil {
		st, err := r.load(did)
		if err != nil || st == nil || st.Done() || st.Wait != "" || st.Error != "" {
			return
		}
		step := st.Step
		err = r.step(ctx, st)
		if ctx.Err() != nil {
			return // stopped: the last stored step is where a resume starts
		}
		if err != nil {
			r.d.Log.Warn("move: step failed", "did", did, "step", step, "err", err)
			st.Error = say(step, err)
		}
		if err := r.save(ctx, st); err != nil {
			r.d.Log.Error("move: storing state failed", "did", did, "err", err)
			return
		}
		if r.d.AfterStep != nil && st.Step != step {
			r.d.AfterStep(did, step)
		}
	}
}

func cleanHost(u string) string { return strings.TrimSuffix(strings.TrimSpace(u), "/") }
