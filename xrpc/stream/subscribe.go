package stream

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
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
	// CacheSize is how many recent frames are kept in memory for all
	// subscribers to share.
	CacheSize int
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

	mu   sync.Mutex
	wake chan struct{}

	cache frameCache
	subs  atomic.Int64
	pos   positions // each subscriber's last sent seq, for Lags

	// slotMu guards the subscriber slots the caps count: taken before the
	// upgrade, so that a refusal is a plain HTTP answer.
	slotMu sync.Mutex
	slots  int
	perIP  map[string]int

	// closeMu orders Close after every conns.Add: a WaitGroup's Add must
	// happen before its Wait.
	closeMu sync.Mutex
	closed  bool
	closing chan struct{}
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
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		db: db, opts: opts, log: log,
		wake:    make(chan struct{}),
		cache:   frameCache{max: opts.CacheSize, frames: map[int64][]byte{}},
		perIP:   map[string]int{},
		closing: make(chan struct{}),
	}
}

// Notify wakes subscribers; call it after a transaction that appended
// events has committed (Emitter does, through store.Tx.OnCommit).
func (s *Server) Notify() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *Server) waitChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// Subscribers is the number of connected subscribers.
func (s *Server) Subscribers() int { return int(s.subs.Load()) }

// Close disconnects every subscriber and waits for them to go.
func (s *Server) Close() {
	s.closeMu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
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

type frameCache struct {
	mu     sync.RWMutex
	max    int
	frames map[int64][]byte
	order  []int64
}

func (c *frameCache) get(seq int64) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	f, ok := c.frames[seq]
	return f, ok
}

func (c *frameCache) put(seq int64, f []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.frames[seq]; ok {
		return
	}
	c.frames[seq] = f
	c.order = append(c.order, seq)
	for len(c.order) > c.max {
		delete(c.frames, c.order[0])
		c.order = c.order[1:]
	}
}

// clear empties the cache (after events were deleted from the log).
func (c *frameCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames, c.order = map[int64][]byte{}, nil
}

// Forget drops the frames held in memory, so that events deleted from the
// log (a deleted account's) are not replayed from the cache.
func (s *Server) Forget() { s.cache.clear() }

type event struct {
	seq   int64
	frame []byte
}

// read returns up to n events after seq, and the head of the log.
func (s *Server) read(after int64, n int) ([]event, int64, error) {
	var out []event
	for seq := after + 1; len(out) < n; seq++ {
		f, ok := s.cache.get(seq)
		if !ok {
			break
		}
		out = append(out, event{seq, f})
	}
	var head int64
	if len(out) > 0 {
		err := s.db.View(func(tx *store.Tx) error {
			head = tx.LastSeq()
			return nil
		})
		return out, head, err
	}
	err := s.db.View(func(tx *store.Tx) error {
		head = tx.LastSeq()
		return tx.Events(after, func(ev store.Event) error {
			f := append([]byte(nil), ev.Frame...)
			s.cache.put(ev.Seq, f)
			out = append(out, event{ev.Seq, f})
			if len(out) >= n {
				return store.ErrStop
			}
			return nil
		})
	})
	return out, head, err
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
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
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

func (s *Server) write(ctx context.Context, conn *websocket.Conn, f []byte) error {
	wctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageBinary, f)
}

func (s *Server) serve(ctx context.Context, conn *websocket.Conn, cursor int64) error {
	var last, first, head, pruned int64
	err := s.db.View(func(tx *store.Tx) error {
		head, first, pruned = tx.LastSeq(), tx.FirstSeq(), tx.PrunedSeq()
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case cursor < 0:
		last = head // live only
	case cursor > head:
		s.write(ctx, conn, errorFrame("FutureCursor", "Cursor in the future."))
		return errFutureCursor
	case cursor >= pruned:
		last = cursor // nothing after the cursor was pruned
	default:
		if err := s.write(ctx, conn, infoFrame("OutdatedCursor", "Requested cursor exceeded limit. Possibly missing events")); err != nil {
			return err
		}
		last = first - 1
	}
	live := cursor < 0
	sent := s.pos.add(last)
	defer s.pos.remove(sent)
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()
	for {
		wake := s.waitChan()
		batch, head, err := s.read(last, 256)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			live = true
			select {
			case <-wake:
			case <-ctx.Done():
				return ctx.Err()
			case <-s.closing:
				return errGoingAway
			case <-ping.C:
				pctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
				err := conn.Ping(pctx)
				cancel()
				if err != nil {
					return err
				}
			}
			continue
		}
		if live && head-last > int64(s.opts.MaxLag) {
			s.write(ctx, conn, errorFrame("ConsumerTooSlow", "Stream consumer too slow"))
			return errTooSlow
		}
		for _, ev := range batch {
			select {
			case <-s.closing:
				return errGoingAway
			default:
			}
			if err := s.write(ctx, conn, ev.frame); err != nil {
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
