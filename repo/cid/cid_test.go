package cid

import (
	"bytes"
	"errors"
	"testing"
)

func TestEmptyMSTNode(t *testing.T) {
	// From the repository spec: the empty MST node {"e":[],"l":null}.
	b := []byte{0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0xf6}
	got := Sum(DagCBOR, b).String()
	if want := "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
		"bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy",
	} {
		c, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if c.String() != s {
			t.Errorf("round trip: %s != %s", c, s)
		}
		d, err := Decode(c.Bytes())
		if err != nil || d != c {
			t.Errorf("Decode(Bytes()) = %v, %v", d, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
		"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", // dag-pb codec
		"BAFYREIE5737GDXLW5I64VZICHCALBA3Z2V5N6ICIFVX5XYTVSKE7MR3HPM",
		" bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
		"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpn", // non-canonical tail bits
		"zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid", s, err)
		}
	}
}

func TestCBORLink(t *testing.T) {
	c := Sum(DagCBOR, []byte("x"))
	b, err := c.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0xd8, 0x2a, 0x58, 0x25, 0x00, 0x01, 0x71}) {
		t.Fatalf("unexpected encoding % x", b[:8])
	}
	var d CID
	if err := d.UnmarshalCBOR(b); err != nil || d != c {
		t.Fatalf("UnmarshalCBOR = %v, %v", d, err)
	}
	bad := bytes.Clone(b)
	bad[4] = 0x01
	if err := d.UnmarshalCBOR(bad); err == nil {
		t.Fatal("accepted a link without the 0x00 prefix")
	}
	var z CID
	if b, _ := z.MarshalCBOR(); !bytes.Equal(b, []byte{0xf6}) {
		t.Fatalf("zero CID encodes as % x, want null", b)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Sum(DagCBOR, nil).Bytes())
	f.Add(Sum(Raw, []byte("a")).Bytes())
	f.Add([]byte{1, 0x70, 0x12, 0x20})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("round trip changed bytes")
		}
		if p, err := Parse(c.String()); err != nil || p != c {
			t.Fatalf("string round trip: %v", err)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")
	f.Add("bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy")
	f.Add("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("accepted non-canonical %q", s)
		}
	})
}

func BenchmarkSum(b *testing.B) {
	data := bytes.Repeat([]byte("a"), 300)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Sum(DagCBOR, data)
	}
}

func BenchmarkString(b *testing.B) {
	c := Sum(DagCBOR, []byte("x"))
	for b.Loop() {
		_ = c.String()
	}
}
