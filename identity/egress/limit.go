package egress

import (
	"fmt"
	"io"
	"net/http"
)

// LimitBody returns a reader of r that fails with ErrTooLarge once more
// than n bytes would be read, where io.LimitReader would silently stop:
// a truncated document must not parse as a shorter one.
func LimitBody(r io.Reader, n int64) io.Reader {
	return &limitReader{r: r, left: n}
}

type limitReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte past the limit, to tell "exactly n" from "more".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		l.left = 0
		l.err = fmt.Errorf("%w: more than the limit", ErrTooLarge)
		return n, l.err
	}
	l.left -= int64(n)
	return n, err
}

// limitTransport bounds every response body of a Use.
type limitTransport struct {
	next http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if res.ContentLength > t.max {
		res.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, res.ContentLength, t.max)
	}
	res.Body = limitedBody{LimitBody(res.Body, t.max), res.Body}
	return res, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}
