package stream

import (
	"sync"
	"sync/atomic"

	"github.com/hearth-pds/hearth/store"
)

// positions holds the last seq sent to each connected subscriber.
type positions struct {
	mu  sync.Mutex
	set map[*atomic.Int64]struct{}
}

func (p *positions) add(seq int64) *atomic.Int64 {
	v := new(atomic.Int64)
	v.Store(seq)
	p.mu.Lock()
	if p.set == nil {
		p.set = map[*atomic.Int64]struct{}{}
	}
	p.set[v] = struct{}{}
	p.mu.Unlock()
	return v
}

func (p *positions) remove(v *atomic.Int64) {
	p.mu.Lock()
	delete(p.set, v)
	p.mu.Unlock()
}

// Lags returns, for each connected subscriber, how many sequence numbers
// it is behind the head of the log. Sequence numbers within one run of the
// daemon are consecutive, so this is the count of events it has yet to be
// sent (a replay from before a restart counts the jump too).
func (s *Server) Lags() []int64 {
	var head int64
	s.db.View(func(tx *store.Tx) error { head = tx.LastSeq(); return nil })
	s.pos.mu.Lock()
	defer s.pos.mu.Unlock()
	out := make([]int64, 0, len(s.pos.set))
	for v := range s.pos.set {
		out = append(out, max(0, head-v.Load()))
	}
	return out
}
