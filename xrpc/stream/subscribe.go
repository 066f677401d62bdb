package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/hearth-pds/hearth/identity/clientip"
	"github.com/hearth-pds/hearth/store"
)

// Options tune a Server; zero values take the defaults.
type Options struct {
	// MaxLag is how many events a live subscriber may fall behind the head
	// before it is dropped with ConsumerTooSlow.
	MaxLag int
	// WriteTimeout bounds one frame write to a subscriber.
	WriteTimeout time.Duration
	// PingInterval is how often idle connections are pinged.
	PingInterval time.Duration
	// CacheSize is how many of the newest frames are kept in memory for
	// all subscribers to share, CacheBytes how many bytes of them.
	CacheSize, CacheBytes int
	// MaxSubscribers caps connected subscribers in all, MaxSubscribersPerIP
	// those from one address (loopback, where a reverse proxy connects
	// from, is exempt). Unlike the other options, zero means no cap.
	MaxSubscribers, MaxSubscribersPerIP int
	Log                                 *slog.Logger
}

// Server serves subscribeRepos.
type Server struct {
	db   *store.DB
	opts Options
	log  *slog.Logger

	// wake is closed and replaced when events land: every waiting
	// subscriber is released at once, without taking a lock.
	wake atomic.Pointer[chan struct{}]

	recent *ring
	subs   atomic.Int64
	pos    positions // each subscriber's last sent seq, for Lags

	// slotMu guards the subscriber slots the caps count: taken before the
	// upgrade, so that a refusal is a plain HTTP answer.
	slotMu sync.Mutex
	slots  int
	perIP  map[string]int

	// closeMu orders Close after every conns.Add: a WaitGroup's Add must
	// happen before its Wait.
	closeMu sync.Mutex
	closed  bool
	closing context.Context // done once Close is called
	close   context.CancelFunc
	conns   sync.WaitGroup
}

// NewServer builds a stream server over db.
func NewServer(db *store.DB, opts Options) *Server {
	if opts.MaxLag <= 0 {
		opts.MaxLag = 20000
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 15 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 2048
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 4 << 20
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		db: db, opts: opts, log: log,
		recent: newRing(opts.CacheSize, opts.CacheBytes),
		perIP:  map[string]int{},
	}
	s.closing, s.close = context.WithCancel(context.Background())
	wake := make(chan struct{})
	s.wake.Store(&wake)
	return s
}

// Publish hands subscribers the frame of event seq; call it, in commit
// order, once the transaction that appended the event has committed
// (Emitter does, through store.Tx.OnCommit), and before the write is
// answered. The frame must not change afterwards: every subscriber sends
// these bytes.
func (s *Server) Publish(seq int64, frame []byte) {
	s.recent.add(seq, frame)
	s.signal()
}

// Notify wakes subscribers after events were appended without Publish:
// they read the store until the next Publish.
func (s *Server) Notify() {
	s.recent.invalidate()
	s.signal()
}

func (s *Server) signal() {
	wake := make(chan struct{})
	close(*s.wake.Swap(&wake))
}

func (s *Server) waitChan() <-chan struct{} { return *s.wake.Load() }

// Subscribers is the number of connected subscribers.
func (s *Server) Subscribers() int { return int(s.subs.Load()) }

// Close disconnects every subscriber and waits for them to go.
func (s *Server) Close() {
	s.closeMu.Lock()
	if !s.closed {
		s.closed = true
		s.close()
	}
	s.closeMu.Unlock()
	s.conns.Wait()
}

// admit takes a subscriber slot for a connection from remoteAddr, or
// returns why not. The caller gives the slot back with release.
func (s *Server) admit(remoteAddr string) (ip string, refusal string) {
	ip = remoteAddr
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		ip = host
	}
	if a, err := netip.ParseAddr(ip); err == nil && a.Unmap().IsLoopback() {
		ip = "" // not counted per address
	}
	s.slotMu.Lock()
	defer s.slotMu.Unlock()
	if max := s.opts.MaxSubscribers; max > 0 && s.slots >= max {
		return "", "Too many subscribers: try again later"
	}
	if max := s.opts.MaxSubscribersPerIP; ip != "" && max > 0 && s.perIP[ip] >= max {
		return "", "Too many subscriptions from your address"
	}
	s.slots++
	if ip != "" {
		s.perIP[ip]++
	}
	return ip, ""
}

// release gives back the slot admit took for ip.
func (s *Server) release(ip string) {
	s.slotMu.Lock()
	defer s.slotMu.Unlock()
	s.slots--
	if ip != "" {
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
	}
}

// track registers a connection unless the server is closing.
func (s *Server) track() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return false
	}
	s.conns.Add(1)
	return true
}

// Forget drops the frames held in memory, so that events deleted from the
// log (a deleted account's) are not replayed from them.
func (s *Server) Forget() { s.recent.invalidate() }

type event struct {
	seq   int64
	frame []byte
}

// Batches a subscriber takes at a time: frames from the ring are shared,
// those read from the store are copies of its own, so fewer.
const (
	ringBatch  = 256
	storeBatch = 32
)

// read appends to dst the next events after seq, and returns them with
// the head of the log: from memory when the ring holds what follows
// after, else from the store.
func (s *Server) read(dst []event, after int64) ([]event, int64, error) {
	if out, head, ok := s.recent.since(dst, after, ringBatch); ok {
		return out, head, nil
	}
	n := len(dst) + storeBatch
	var head int64
	err := s.db.View(func(tx *store.Tx) error {
		head = tx.LastSeq()
		return tx.Events(after, func(ev store.Event) error {
			dst = append(dst, event{ev.Seq, bytes.Clone(ev.Frame)})
			if len(dst) >= n {
				return store.ErrStop
			}
			return nil
		})
	})
	return dst, head, err
}

// ServeHTTP handles GET /xrpc/com.atproto.sync.subscribeRepos.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var cursor int64 = -1
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "InvalidRequest", "cursor must be a non-negative integer")
			return
		}
		cursor = n
	}
	ip, refusal := s.admit(clientip.Addr(r))
	if refusal != "" {
		writeError(w, http.StatusTooManyRequests, "RateLimitExceeded", refusal)
		return
	}
	defer s.release(ip)
	if !s.track() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	var ww http.ResponseWriter = w
	if r.ProtoMajor == 1 {
		// Only an HTTP/1 connection can be hijacked. The library refuses
		// other upgrades before it asks; should it take one (WebSocket
		// over HTTP/2 needs no hijack), the wrapper must not be there.
		ww = wideWriter{w}
	}
	conn, err := websocket.Accept(ww, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.conns.Done()
		return
	}
	s.subs.Add(1)
	defer func() {
		s.subs.Add(-1)
		s.conns.Done()
	}()
	conn.SetReadLimit(1 << 10)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Subscribers send nothing; reading keeps control frames (pong, close)
	// flowing and tells us when the peer goes.
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}()
	err = s.serve(ctx, conn, cursor)
	switch {
	case err == nil:
		conn.Close(websocket.StatusNormalClosure, "")
	case errors.Is(err, errGoingAway):
		conn.Close(websocket.StatusGoingAway, "server shutting down")
	case errors.Is(err, errTooSlow):
		conn.Close(websocket.StatusPolicyViolation, "ConsumerTooSlow")
	case errors.Is(err, errFutureCursor):
		conn.Close(websocket.StatusPolicyViolation, "FutureCursor")
	default:
		conn.CloseNow()
	}
}

// writeError answers a request refused before the upgrade, in XRPC's
// error format.
func writeError(w http.ResponseWriter, status int, name, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": name, "message": message})
}

var (
	errGoingAway    = errors.New("going away")
	errTooSlow      = errors.New("consumer too slow")
	errFutureCursor = errors.New("future cursor")
)

// sender writes frames to one subscriber. One timer bounds every write,
// rather than a context and a timer made per frame: a write that outlasts
// it closes the connection, which fails the write.
type sender struct {
	conn    *websocket.Conn
	timeout time.Duration
	dog     *time.Timer
}

func newSender(conn *websocket.Conn, timeout time.Duration) *sender {
	dog := time.AfterFunc(timeout, func() { conn.CloseNow() })
	dog.Stop()
	return &sender{conn: conn, timeout: timeout, dog: dog}
}

func (w *sender) send(f []byte) error {
	w.dog.Reset(w.timeout)
	// A context without Done costs the library nothing per write.
	err := w.conn.Write(context.Background(), websocket.MessageBinary, f)
	w.dog.Stop()
	return err
}

// start returns the seq after which a subscriber with cursor (-1: none) is
// sent events, having sent it the error or info frame its cursor calls for.
func (s *Server) start(w *sender, cursor int64) (last int64, err error) {
	var first, head, pruned int64
	err = s.db.View(func(tx *store.Tx) error {
		head, first, pruned = tx.LastSeq(), tx.FirstSeq(), tx.PrunedSeq()
		return nil
	})
	if err != nil {
		return 0, err
	}
	switch {
	case cursor < 0:
		return head, nil // live only
	case cursor > head:
		w.send(errorFrame("FutureCursor", "Cursor in the future."))
		return 0, errFutureCursor
	case cursor >= pruned:
		return cursor, nil // nothing after the cursor was pruned
	}
	if err := w.send(infoFrame("OutdatedCursor", "Requested cursor exceeded limit. Possibly missing events")); err != nil {
		return 0, err
	}
	return first - 1, nil
}

func (s *Server) serve(ctx context.Context, conn *websocket.Conn, cursor int64) error {
	w := newSender(conn, s.opts.WriteTimeout)
	defer w.dog.Stop()
	last, err := s.start(w, cursor)
	if err != nil {
		return err
	}
	var head int64
	live := cursor < 0
	sent := s.pos.add(last)
	defer s.pos.remove(sent)
	// A waiting subscriber waits on the wake channel alone: a hundred of
	// them wake at every event, and a select over the context, the
	// server's closing and a ping ticker as well cost each of them nearly
	// as much as the event's write did in Go. Whatever ends the
	// connection (the peer going, a ping unanswered, the server closing)
	// cancels ctx, and the cancellation wakes every subscriber, which look
	// at their contexts; that happens once per connection. The reader keeps the
	// outer context, since the library closes a connection whose read is
	// cancelled, and shutting down sends a close frame first.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(s.closing, func() { cancel(errGoingAway) })()
	defer context.AfterFunc(ctx, s.signal)()
	defer s.pinger(ctx, cancel, conn, sent).Stop()
	var batch []event
	for {
		wake := s.waitChan()
		// After taking the channel: a cancellation after this closes it or
		// a later one, which it already is.
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		clear(batch) // let sent frames go while waiting
		batch, head, err = s.read(batch[:0], last)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			live = true
			<-wake
			continue
		}
		// The store's head, not only the ring's: the events of one
		// transaction reach the ring one by one, and a subscriber woken by
		// the first would otherwise keep pace with them however far behind
		// the commit left it.
		if live && max(head, s.db.LastSeq())-last > int64(s.opts.MaxLag) {
			w.send(errorFrame("ConsumerTooSlow", "Stream consumer too slow"))
			return errTooSlow
		}
		for _, ev := range batch {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if err := w.send(ev.frame); err != nil {
				if ctx.Err() == nil {
					// A write that timed out is a consumer that stopped reading.
					s.log.Info("subscriber dropped", "err", err, "seq", ev.seq)
				}
				return err
			}
			last = ev.seq
			sent.Store(last)
		}
	}
}

// pinger pings the peer from a timer of its own when a whole PingInterval
// went by with nothing sent, and cancels ctx with the error when a ping
// fails. A connection being written to is left to the write timeout: a
// pong waits behind every frame already in the socket's buffers, so a
// slow but live consumer catching up would fail a ping it has not read
// yet. sent is the connection's last sent seq.
func (s *Server) pinger(ctx context.Context, cancel context.CancelCauseFunc, conn *websocket.Conn, sent *atomic.Int64) *time.Timer {
	// Armed only once t is set, which the function reads.
	var t *time.Timer
	prev := sent.Load()
	t = time.AfterFunc(math.MaxInt64, func() {
		if cur := sent.Load(); cur != prev {
			prev = cur
			t.Reset(s.opts.PingInterval)
			return
		}
		pctx, done := context.WithTimeout(ctx, s.opts.WriteTimeout)
		err := conn.Ping(pctx)
		done()
		switch {
		case ctx.Err() != nil:
		case err != nil:
			cancel(fmt.Errorf("ping: %w", err))
		default:
			prev = sent.Load()
			t.Reset(s.opts.PingInterval)
		}
	})
	t.Reset(s.opts.PingInterval)
	return t
}
