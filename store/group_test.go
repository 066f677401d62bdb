package store

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// goid is the calling goroutine's number, from its stack header.
func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
	return string(f[1])
}

func TestLoneUpdateRunsInItsCaller(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	caller := goid()
	var ran string
	if err := db.Update(context.Background(), func(tx *Tx) error { ran = goid(); return nil }); err != nil {
		t.Fatal(err)
	}
	if ran != caller {
		t.Fatalf("update ran in goroutine %s, want its caller's, %s", ran, caller)
	}
}

// blockLeader starts an Update whose function waits for release, and
// returns once that function runs: from then on, other calls queue.
func blockLeader(t *testing.T, db *DB) (release func(), done <-chan error) {
	t.Helper()
	started, gate, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	go func() {
		errc <- db.Update(context.Background(), func(tx *Tx) error {
			once.Do(func() { close(started) })
			<-gate
			return nil
		})
	}()
	<-started
	return func() { close(gate) }, errc
}

func TestQueuedCallsShareATransaction(t *testing.T) {
	for _, tc := range []struct {
		name      string
		max, n    int
		wantGroup int // transactions for the queued calls
	}{
		{"one group", 0, 10, 1},
		{"capped by MaxBatch", 3, 10, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, Options{NoSync: true, MaxBatch: tc.max})
			release, leaderDone := blockLeader(t, db)
			var mu sync.Mutex
			txs := map[int]bool{}
			var wg sync.WaitGroup
			for i := 0; i < tc.n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := db.Update(context.Background(), func(tx *Tx) error {
						mu.Lock()
						txs[tx.Bolt().ID()] = true
						mu.Unlock()
						return nil
					})
					if err != nil {
						t.Error(err)
					}
				}()
			}
			// Wait until all n are queued behind the leader.
			for deadline := time.Now().Add(5 * time.Second); ; {
				db.group.mu.Lock()
				q := len(db.group.queue)
				db.group.mu.Unlock()
				if q == tc.n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d calls queued, want %d", q, tc.n)
				}
				time.Sleep(time.Millisecond)
			}
			release()
			if err := <-leaderDone; err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if len(txs) != tc.wantGroup {
				t.Fatalf("queued calls ran in %d transactions, want %d", len(txs), tc.wantGroup)
			}
			db.group.mu.Lock()
			defer db.group.mu.Unlock()
			if db.group.leading || len(db.group.queue) != 0 {
				t.Fatalf("after the last call: leading %v, %d queued; want neither", db.group.leading, len(db.group.queue))
			}
		})
	}
}

func TestCloseWaitsForARunningUpdate(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	release, leaderDone := blockLeader(t, db)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while an update was still running")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if err := <-leaderDone; err != nil {
		t.Fatalf("the running update: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := db.Update(context.Background(), func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("update after Close: %v, want ErrClosed", err)
	}
}

// A leader whose own call fails still hands the lead on: run drops the
// failed call from its batch, which must not make the leader think its
// call is yet to run (it then waited for a batch that never came).
func TestFailingLeaderHandsOn(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	release, firstDone := blockLeader(t, db)
	queued := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			db.group.mu.Lock()
			q := len(db.group.queue)
			db.group.mu.Unlock()
			if q == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d calls queued, want %d", q, want)
			}
		}
	}
	// First in the queue, so it leads the next batch, and fails in it.
	refused := errors.New("refused")
	failing := make(chan error, 1)
	go func() { failing <- db.Update(context.Background(), func(*Tx) error { return refused }) }()
	queued(1)
	others := make(chan error, 4)
	for range 4 {
		go func() { others <- db.Update(context.Background(), func(*Tx) error { return nil }) }()
	}
	queued(5)
	release()
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failing:
		if !errors.Is(err, refused) {
			t.Fatalf("the failing leader's call: %v, want its own error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failing leader's call never returned")
	}
	for range 4 {
		if err := <-others; err != nil {
			t.Fatal(err)
		}
	}
}
