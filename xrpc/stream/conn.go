package stream

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
)

// writeBuffer is the size of each subscriber connection's write buffer.
// The WebSocket library writes a frame's header and payload through the
// buffer the HTTP server hands over at the upgrade, 4 KiB, so a frame
// larger than that went out in two write calls, each a trip through the
// kernel's TCP stack, and with a hundred subscribers a hundred more per
// event. A post's #commit outgrows 4 KiB once the repository's tree is a
// few levels deep (a tenth of them at 8,000 records, 4.6 KiB the largest);
// 8 KiB holds a post's in a tree twice as deep, and a batch of a few
// writes. At the default cap of 100 subscribers this is 400 KiB more than
// the HTTP server's buffers; a larger commit takes two or three writes.
const writeBuffer = 8 << 10

// wideWriter hands the WebSocket library, at the upgrade, a connection
// whose write buffer holds a whole frame.
type wideWriter struct {
	http.ResponseWriter
}

func (w wideWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// The HTTP server's buffer is fresh at the hijack; flushing it first
	// keeps anything it held in order all the same.
	if err := rw.Writer.Flush(); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("stream: upgrade: %w", err)
	}
	rw.Writer = bufio.NewWriterSize(conn, writeBuffer)
	return conn, rw, nil
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w wideWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
