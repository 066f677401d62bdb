package stream

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// BenchmarkFirehoseFanout100 is issue 18's firehose target: with 100
// subscribers, how long after a write's transaction returns (where the
// handler writes its response) its #commit frame reaches the last of them.
// Each iteration is one post created in a real repo, as createRecord does.
func BenchmarkFirehoseFanout100(b *testing.B) {
	const subs = 100
	e := newStreamEnv(b, Options{})
	key, err := keys.GenerateK256()
	if err != nil {
		b.Fatal(err)
	}
	const did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	w := &repo.Writer{Clock: syntax.NewTIDClock(1)}
	ctx := context.Background()
	if err := e.db.Update(ctx, func(tx *store.Tx) error { _, err := w.Create(tx, did, key); return err }); err != nil {
		b.Fatal(err)
	}
	// The subscribers read each frame into a reused buffer rather than
	// with Conn.Read, which allocates a new one: they share this process,
	// and their garbage would be collected on the server's time.
	got := make(chan time.Time, subs)
	for range subs {
		c := e.dial("")
		go func() {
			buf := make([]byte, 64<<10)
			for {
				_, r, err := c.Reader(context.Background())
				if err != nil {
					return
				}
				if n, err := io.ReadFull(r, buf); n == 0 || err != io.ErrUnexpectedEOF {
					return // an empty frame, or one over 64 KiB: not a post's commit
				}
				got <- time.Now()
			}
		}()
	}
	waitPositioned(b, e.srv, subs)
	var lags []time.Duration
	i := 0
	for b.Loop() {
		i++
		rec, err := dagcbor.Encode(map[string]any{"$type": "app.bsky.feed.post", "createdAt": "2024-01-01T00:00:00Z",
			"text": fmt.Sprintf("load test post %d, a typical length of text for a post", i), "langs": []any{"en"}})
		if err != nil {
			b.Fatal(err)
		}
		ops := []repo.Op{{Action: repo.Create, Collection: "app.bsky.feed.post", RKey: string(w.Clock.Next()), Record: rec}}
		err = e.db.Update(ctx, func(tx *store.Tx) error {
			c, err := w.Apply(tx, did, key, ops, nil)
			if err != nil {
				return err
			}
			return e.emit.Commit(tx, c)
		})
		if err != nil {
			b.Fatal(err)
		}
		answered := time.Now()
		var last time.Time
		for range subs {
			select {
			case last = <-got:
			case <-time.After(5 * time.Second):
				b.Fatal("a subscriber got no frame")
			}
		}
		lags = append(lags, max(0, last.Sub(answered)))
	}
	b.StopTimer()
	slices.Sort(lags)
	ms := func(q float64) float64 { return float64(lags[int(q*float64(len(lags)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}
