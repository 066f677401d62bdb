package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/store"
)

const did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"

func newStore(t testing.TB) *Store {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "h.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &Store{DB: db}
}

func (s *Store) count(t testing.TB) (blobs, chunks int) {
	s.DB.View(func(tx *store.Tx) error {
		blobs = tx.Bolt().Bucket(bBlobs).Stats().KeyN
		// Stats counts the nested buckets as keys too: count chunks only,
		// in either layout.
		b := tx.Bolt().Bucket(bChunks)
		return b.ForEachBucket(func(id []byte) error {
			return b.Bucket(id).ForEachBucket(func(batch []byte) error {
				chunks += b.Bucket(id).Bucket(batch).Stats().KeyN
				return nil
			})
		})
	})
	return
}

func TestLocationDetection(t *testing.T) {
	cases := []struct {
		name string
		make func(bool) []byte
		mime string
	}{
		{"jpeg", jpegImage, "image/jpeg"},
		{"png", pngImage, "image/png"},
		{"webp", webpImage, "image/webp"},
		{"heic", func(g bool) []byte { return heicImage("heic", g) }, "image/heic"},
		{"avif", func(g bool) []byte { return heicImage("avif", g) }, "image/avif"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, gps := range []bool{false, true} {
				img := c.make(gps)
				if got := Sniff(img); got != c.mime {
					t.Fatalf("Sniff = %q, want %s", got, c.mime)
				}
				where, err := FindLocation(bytes.NewReader(img), int64(len(img)))
				if err != nil || (where != "") != gps {
					t.Fatalf("gps=%v: FindLocation = %q, %v", gps, where, err)
				}
			}
			s := newStore(t)
			_, err := s.Upload(context.Background(), did, bytes.NewReader(c.make(true)), UploadOptions{MimeType: c.mime})
			if !errors.Is(err, ErrLocation) {
				t.Fatalf("GPS upload: %v", err)
			}
			if b, ch := s.count(t); b != 0 || ch != 0 {
				t.Fatalf("refused upload left %d blobs, %d chunks", b, ch)
			}
			if _, err := s.Upload(context.Background(), did, bytes.NewReader(c.make(true)), UploadOptions{MimeType: c.mime, AllowLocation: true}); err != nil {
				t.Fatalf("override: %v", err)
			}
		})
	}
}

func TestUploadTypes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	img := jpegImage(false)
	cases := []struct {
		declared string
		data     []byte
		want     string
		err      error
	}{
		{"image/jpeg", img, "image/jpeg", nil},
		{"image/jpg", img, "image/jpeg", nil},
		{"", img, "image/jpeg", nil},
		{"application/octet-stream", img, "image/jpeg", nil},
		{"image/png", img, "", ErrTypeMismatch},
		{"video/mp4", img, "", ErrTypeMismatch},
		{"image/png", []byte("not an image at all"), "", ErrTypeMismatch},
		{"text/plain", []byte("hello"), "text/plain", nil},
		{"image/jpeg", nil, "", ErrTypeMismatch},
	}
	for _, c := range cases {
		m, err := s.Upload(ctx, did, bytes.NewReader(c.data), UploadOptions{MimeType: c.declared})
		if !errors.Is(err, c.err) || (err == nil && m.MimeType != c.want) {
			t.Errorf("declared %q: %+v, %v; want %s, %v", c.declared, m, err, c.want, c.err)
		}
	}
}

func TestTooLargeAndTruncated(t *testing.T) {
	s := newStore(t)
	s.Limit = 1000
	ctx := context.Background()
	if _, err := s.Upload(ctx, did, bytes.NewReader(make([]byte, 1001)), UploadOptions{MimeType: "text/plain"}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	r := io.MultiReader(bytes.NewReader(jpegImage(false)), errReader{io.ErrUnexpectedEOF})
	if _, err := s.Upload(ctx, did, r, UploadOptions{MimeType: "image/jpeg"}); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
	if b, ch := s.count(t); b != 0 || ch != 0 {
		t.Fatalf("failed uploads left %d blobs, %d chunks", b, ch)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// randReader yields n deterministic pseudo-random bytes without holding them.
type randReader struct {
	rng *rand.ChaCha8
	n   int64
}

func (r *randReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	r.rng.Read(p)
	r.n -= int64(len(p))
	return len(p), nil
}

func TestBigUploadBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB upload")
	}
	s := newStore(t)
	const size = 50 << 20
	src := func() io.Reader { return &randReader{rng: rand.NewChaCha8([32]byte{1}), n: size} }
	h := sha256.New()
	io.Copy(h, src())
	want, _ := cid.FromDigest(cid.Raw, h.Sum(nil))
	var m Meta
	var err error
	peak := peakHeap(func() {
		m, err = s.Upload(context.Background(), did, src(), UploadOptions{MimeType: "application/octet-stream"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.CID != want || m.Size != size {
		t.Fatalf("stored %s (%d bytes), want %s", m.CID, m.Size, want)
	}
	t.Logf("peak heap during a 50 MiB upload: %.1f MiB", float64(peak)/(1<<20))
	if peak > 32<<20 {
		t.Fatalf("peak heap %d MiB during a 50 MiB upload", peak>>20)
	}
	// Reading back: the same bytes, again with flat memory.
	h.Reset()
	peak = peakHeap(func() { io.Copy(h, s.Open(m)) })
	if got, _ := cid.FromDigest(cid.Raw, h.Sum(nil)); got != want {
		t.Fatal("read back different bytes")
	}
	t.Logf("peak heap while reading it back: %.1f MiB", float64(peak)/(1<<20))
	if peak > 32<<20 {
		t.Fatalf("peak heap %d MiB while reading 50 MiB", peak>>20)
	}
}

func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}

func TestConcurrentUploadsAndDedupe(t *testing.T) {
	s := newStore(t)
	var wg sync.WaitGroup
	metas := make([]Meta, 16)
	errs := make([]error, 16)
	for i := range metas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := bytes.Repeat([]byte(fmt.Sprint(i%4)), 700<<10) // four distinct blobs
			metas[i], errs[i] = s.Upload(context.Background(), fmt.Sprintf("did:plc:%024d", i%2), bytes.NewReader(data), UploadOptions{MimeType: "text/plain"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		if metas[i].CID != metas[i%4].CID {
			t.Fatalf("upload %d: different CID for the same bytes", i)
		}
	}
	if b, ch := s.count(t); b != 4 || ch != 4*3 {
		t.Fatalf("%d blobs in %d chunks, want 4 in 12 (stored once each)", b, ch)
	}
}

func TestRangeRead(t *testing.T) {
	s := newStore(t)
	data := make([]byte, 3*ChunkSize+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	m, err := s.Upload(context.Background(), did, bytes.NewReader(data), UploadOptions{MimeType: "application/x-test"})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Open(m)
	for _, off := range []int64{0, 5, ChunkSize - 3, 2*ChunkSize + 9, int64(len(data)) - 10} {
		buf := make([]byte, 1000)
		n, _ := r.ReadAt(buf, off)
		if !bytes.Equal(buf[:n], data[off:min(off+1000, int64(len(data)))]) {
			t.Fatalf("ReadAt %d differs", off)
		}
	}
}

func TestLifecycle(t *testing.T) {
	s := newStore(t)
	now := time.Unix(1_800_000_000, 0)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	up := func(text string) Meta {
		m, err := s.Upload(ctx, did, bytes.NewReader([]byte(text)), UploadOptions{MimeType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	used, unused := up("used blob"), up("unused blob")
	ref := Ref{CID: used.CID, MimeType: "text/plain", Size: used.Size}
	apply := func(add, remove []cid.CID) error {
		return s.DB.Update(ctx, func(tx *store.Tx) error { return ApplyRefs(tx, did, add, remove, "3kaaaaaaaaaaa") })
	}
	check := func(refs ...Ref) error {
		return s.DB.View(func(tx *store.Tx) error { return CheckRefs(tx, did, refs) })
	}
	if err := check(ref); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Ref{{CID: used.CID, MimeType: "image/png", Size: used.Size}, {CID: used.CID, MimeType: "text/plain", Size: 1}} {
		if err := check(bad); !errors.Is(err, ErrMismatch) {
			t.Fatalf("mismatched ref %+v: %v", bad, err)
		}
	}
	if err := s.DB.View(func(tx *store.Tx) error { return CheckRefs(tx, "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", []Ref{ref}) }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("someone else's blob: %v", err)
	}
	apply([]cid.CID{used.CID}, nil)
	apply([]cid.CID{used.CID}, nil) // two records
	// An hour later the unused one expires; the used one stays.
	now = now.Add(2 * time.Hour)
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if _, err := s.Get(did, unused.CID); !errors.Is(err, ErrNotFound) {
		t.Fatal("unused blob survived the sweep")
	}
	if l, _ := s.List(did, "", "", 10); len(l) != 1 || l[0].CID != used.CID {
		t.Fatalf("list: %v", l)
	}
	apply(nil, []cid.CID{used.CID})
	if _, err := s.Get(did, used.CID); err != nil {
		t.Fatal("blob went while a record still used it")
	}
	apply(nil, []cid.CID{used.CID})
	if _, err := s.Get(did, used.CID); !errors.Is(err, ErrNotFound) {
		t.Fatal("blob kept after its last reference went")
	}
	if b, ch := s.count(t); b != 0 || ch != 0 {
		t.Fatalf("%d blobs, %d chunks left", b, ch)
	}
	// Account deletion takes the account's blobs.
	up("mine")
	s.DB.Update(ctx, func(tx *store.Tx) error { return DeleteAccount(tx, did) })
	if b, _ := s.count(t); b != 0 {
		t.Fatal("account's blobs kept")
	}
}

func FuzzFindLocation(f *testing.F) {
	for _, gps := range []bool{false, true} {
		f.Add(jpegImage(gps))
		f.Add(pngImage(gps))
		f.Add(webpImage(gps))
		f.Add(heicImage("heic", gps))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		FindLocation(bytes.NewReader(b), int64(len(b)))
	})
}

func BenchmarkUpload(b *testing.B) {
	s := newStore(b)
	const size = 8 << 20
	b.SetBytes(size)
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Upload(context.Background(), did, &randReader{rng: rand.NewChaCha8([32]byte{byte(i)}), n: size}, UploadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDownload(b *testing.B) {
	s := newStore(b)
	const size = 8 << 20
	m, _ := s.Upload(context.Background(), did, &randReader{rng: rand.NewChaCha8([32]byte{9}), n: size}, UploadOptions{})
	b.SetBytes(size)
	for b.Loop() {
		io.Copy(io.Discard, s.Open(m))
	}
}

// TestUploadWritesOnce checks what a sequence of uploads makes bbolt write:
// each blob's bytes about once. In a flat chunk layout every commit also
// rewrote the leaf of the previous blob's last chunks, about twice the
// bytes.
func TestUploadWritesOnce(t *testing.T) {
	for _, size := range []int64{1 << 20, 6 << 20} { // one transaction; streamed in batches
		t.Run(fmt.Sprint(size>>20, "MiB"), func(t *testing.T) {
			s := newStore(t)
			upload := func(i byte) {
				if _, err := s.Upload(context.Background(), did, &randReader{rng: rand.NewChaCha8([32]byte{i}), n: size}, UploadOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			upload(0)
			st := s.DB.Bolt().Stats()
			before := st.TxStats.GetPageAlloc()
			const n = 6
			for i := range byte(n) {
				upload(i + 1)
			}
			st = s.DB.Bolt().Stats()
			per := float64(st.TxStats.GetPageAlloc()-before) / n
			if per > 1.15*float64(size) {
				t.Fatalf("bbolt allocated %.2f MiB of pages per %d MiB upload, want about the blob's size", per/(1<<20), size>>20)
			}
		})
	}
}

// TestLegacyChunkLayout reads and deletes a blob stored as the flat
// blobchunks/<id>‖<n> keys of files written before the per-blob buckets.
func TestLegacyChunkLayout(t *testing.T) {
	s := newStore(t)
	const size = 3*ChunkSize + 1000
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{7}).Read(data)
	m, err := s.Upload(context.Background(), did, bytes.NewReader(data), UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite it in the old layout.
	err = s.DB.Update(context.Background(), func(tx *store.Tx) error {
		b := tx.Bolt().Bucket(bChunks)
		for n := uint32(0); n*ChunkSize < size; n++ {
			c := bytes.Clone(chunkAt(b, m.ID, n))
			if err := b.Put(legacyChunkKey(m.ID, n), c); err != nil {
				return err
			}
		}
		return b.DeleteBucket(idKey(m.ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s.Open(m))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("legacy read: %d bytes, %v", len(got), err)
	}
	if err := s.DB.Update(context.Background(), func(tx *store.Tx) error { return deleteChunks(tx.Bolt(), m.ID) }); err != nil {
		t.Fatal(err)
	}
	s.DB.View(func(tx *store.Tx) error {
		if k, _ := tx.Bolt().Bucket(bChunks).Cursor().First(); k != nil {
			t.Fatalf("a chunk is left: %x", k)
		}
		return nil
	})
}

// TestWholeBatchOneTransaction stores a blob that fills the batch (up to
// 1 MiB, what clients upload most) as it stores a smaller one: in one
// transaction. The end of the stream used to be seen only by a read that
// returned nothing, which a full batch never made, so every blob of 768 KiB
// to 1 MiB went the streamed way, in three fsynced commits.
func TestWholeBatchOneTransaction(t *testing.T) {
	writes := func(size int64) int64 {
		s := newStore(t)
		up := func(i byte) {
			if _, err := s.Upload(context.Background(), did, &randReader{rng: rand.NewChaCha8([32]byte{i}), n: size}, UploadOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		up(0)
		st := s.DB.Bolt().Stats()
		before := st.TxStats.GetWrite()
		up(1)
		st = s.DB.Bolt().Stats()
		return st.TxStats.GetWrite() - before
	}
	const batch = batchChunks * ChunkSize
	small := writes((batchChunks - 1) * ChunkSize) // read to its end within the batch
	for _, size := range []int64{batch - 1, batch} {
		if w := writes(size); w > small+2 {
			t.Errorf("a %d-byte blob took %d page writes, a %d-byte one %d: it was streamed", size, w, (batchChunks-1)*ChunkSize, small)
		}
	}
	// The byte read past a full batch is not lost when the blob goes on.
	for _, size := range []int64{batch + 1, 2*batch + 1, 3 * batch} {
		s := newStore(t)
		data := make([]byte, size)
		rand.NewChaCha8([32]byte{byte(size)}).Read(data)
		m, err := s.Upload(context.Background(), did, bytes.NewReader(data), UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(s.Open(m))
		if err != nil || !bytes.Equal(got, data) || m.Size != size {
			t.Fatalf("%d bytes: read back %d (size %d), %v", size, len(got), m.Size, err)
		}
	}
}
