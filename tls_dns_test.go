package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// loopbackDNS is the smallest DNS server Pebble's validation needs: over
// TCP (Pebble's resolver uses it), every A question is answered 127.0.0.1
// and every other one with no record, so the names of the test, which
// exist nowhere, lead Pebble to Hearth's listeners on loopback.
type loopbackDNS struct {
	ln    net.Listener
	mu    sync.Mutex
	asked []string // the names of the A questions, as asked
}

func startLoopbackDNS(t *testing.T) *loopbackDNS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &loopbackDNS{ln: ln}
	go d.serve()
	t.Cleanup(func() { ln.Close() })
	return d
}

func (d *loopbackDNS) addr() string { return d.ln.Addr().String() }

func (d *loopbackDNS) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.asked...)
}

func (d *loopbackDNS) serve() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		go d.conn(c)
	}
}

// conn answers the length-prefixed messages of one TCP connection.
func (d *loopbackDNS) conn(c net.Conn) {
	defer c.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		ans, name, err := dnsAnswer(q)
		if err != nil {
			return
		}
		if name != "" {
			d.mu.Lock()
			d.asked = append(d.asked, name)
			d.mu.Unlock()
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(ans)))
		if _, err := c.Write(append(out, ans...)); err != nil {
			return
		}
	}
}

// dnsAnswer builds the reply to a one-question query, and returns the name
// when the question was for an A record.
func dnsAnswer(q []byte) ([]byte, string, error) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, "", errors.New("want one question")
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if l > 63 || i+1+l > len(q) {
			return nil, "", errors.New("bad name")
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	end := i + 1 + 4 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil, "", errors.New("short question")
	}
	qtype := binary.BigEndian.Uint16(q[i+1 : i+3])
	out := append([]byte(nil), q[:2]...)    // the ID
	out = append(out, 0x84|q[2]&0x01, 0x80) // QR, AA, RD as asked; RA; NOERROR
	out = binary.BigEndian.AppendUint16(out, 1)
	name := ""
	if qtype == 1 {
		out = binary.BigEndian.AppendUint16(out, 1)
		name = strings.Join(labels, ".")
	} else {
		out = binary.BigEndian.AppendUint16(out, 0)
	}
	out = append(out, 0, 0, 0, 0) // no authority, no additional
	out = append(out, q[12:end]...)
	if qtype == 1 {
		out = append(out, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
	}
	return out, name, nil
}
