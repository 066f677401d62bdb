package egress

import (
	"net/netip"
	"testing"
)

func TestIsPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		// Public IPv4, and its IPv6 forms that embed it.
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"100.63.255.255", true}, // just below CGNAT
		{"100.128.0.0", true},    // just above
		{"172.32.0.1", true},
		{"198.20.0.1", true},
		{"223.255.255.255", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true},
		{"2002:808:808::1", true},
		// Public IPv6.
		{"2606:4700:4700::1111", true},
		{"2001:4860:4860::8888", true},
		{"2a00:1450:4001::1", true},

		// IPv4 ranges, both ends where it matters.
		{"0.0.0.0", false},
		{"0.255.255.255", false},
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"169.254.169.254", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.0.0.8", false},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.168.1.1", false},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},

		// IPv6 ranges.
		{"::", false},
		{"::1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"febf::1", false},
		{"ff02::1", false},
		{"2001:db8::1", false},
		{"2001::1", false},      // Teredo
		{"2001:2::1", false},    // benchmarking
		{"3fff::1", false},      // documentation
		{"100::1", false},       // discard-only
		{"64:ff9b:1::1", false}, // local-use NAT64
		{"5f00::1", false},      // outside 2000::/3

		// IPv4-mapped, -compatible, NAT64 and 6to4 forms of refused IPv4.
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:100.64.0.1", false},
		{"::ffff:0.0.0.0", false},
		{"::ffff:255.255.255.255", false},
		{"::127.0.0.1", false},
		{"::8.8.8.8", false}, // compatible form: deprecated, never dialed
		{"::ffff:0:8.8.8.8", false},
		{"64:ff9b::127.0.0.1", false},
		{"64:ff9b::10.0.0.1", false},
		{"64:ff9b::169.254.169.254", false},
		{"64:ff9b::100.64.0.1", false},
		{"2002:7f00:1::", false},
		{"2002:a00:1::", false},
		{"2002:c0a8:101::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := IsPublic(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("IsPublic(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	if IsPublic(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

// Every refused IPv4 range is refused in all its IPv6 disguises too.
func TestIsPublicEmbeddedForms(t *testing.T) {
	for _, p := range reserved4 {
		v4 := p.Addr().As4()
		for _, a := range []netip.Addr{
			p.Addr(),
			netip.AddrFrom16(netip.AddrFrom4(v4).As16()),                                                            // ::ffff:a.b.c.d
			netip.AddrFrom16([16]byte{12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),                                  // ::a.b.c.d
			netip.AddrFrom16([16]byte{0: 0, 1: 0x64, 2: 0xff, 3: 0x9b, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}), // 64:ff9b::
			netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: v4[0], 3: v4[1], 4: v4[2], 5: v4[3]}),                    // 2002::/16
		} {
			if IsPublic(a) {
				t.Errorf("%s (from %s) is public", a, p)
			}
		}
	}
}

func FuzzIsPublic(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "fe80::1", "2606:4700::1"} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		pub := IsPublic(a)
		if pub && (!a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast()) {
			t.Fatalf("%s is public but the standard library calls it local", a)
		}
		// The mapped form is judged as the IPv4 address.
		if a.Is4() && IsPublic(netip.AddrFrom16(a.As16())) != pub {
			t.Fatalf("%s and its mapped form disagree", a)
		}
		// Every IPv4 address is judged by its range alone.
		if a.Is4() {
			in := false
			for _, p := range reserved4 {
				in = in || p.Contains(a)
			}
			if pub == in {
				t.Fatalf("%s: public %v, in a reserved range %v", a, pub, in)
			}
		}
		if s := a.String(); IsPublic(netip.MustParseAddr(s)) != pub {
			t.Fatalf("%s: the parsed text disagrees", s)
		}
	})
}
