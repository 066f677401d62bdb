package egress

import "net/netip"

// reserved4 are the IPv4 ranges that are not public unicast (RFC 6890 and
// its registry): nothing on the Internet is reached through them, and some
// reach what only this machine or its LAN should.
var reserved4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network", unspecified
	netip.MustParsePrefix("10.0.0.0/8"),      // RFC 1918 private
	netip.MustParsePrefix("100.64.0.0/10"),   // RFC 6598 shared (CGNAT)
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),   // RFC 1918 private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1 documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
	netip.MustParsePrefix("192.168.0.0/16"),  // RFC 1918 private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2 documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3 documentation
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 broadcast
}

// IPv6 is public only inside global unicast 2000::/3, which leaves out
// ::1, ::, the IPv4-compatible ::/96, ULA fc00::/7, link-local fe80::/10,
// multicast ff00::/8 and the rest of the unassigned space in one rule.
// Inside it, reserved6 are not public, and two ranges embed an IPv4
// address that decides (nat64, sixToFour).
var (
	global6   = netip.MustParsePrefix("2000::/3")
	reserved6 = []netip.Prefix{
		netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments: Teredo, benchmarking, ORCHID
		netip.MustParsePrefix("2001:db8::/32"), // documentation
		netip.MustParsePrefix("3fff::/20"),     // documentation (RFC 9637)
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the last 32 bits are IPv4
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: bits 16–47 are IPv4
)

// IsPublic reports whether a is a public unicast address, one Hearth may
// dial on behalf of a name someone else chose. An IPv4-mapped address
// (::ffff:a.b.c.d) and the NAT64 and 6to4 forms are judged by the IPv4
// address they carry; an address with a zone is never public.
func IsPublic(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	if a.Is4() {
		return public4(a)
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return public4(netip.AddrFrom4([4]byte(b[12:16])))
	case !global6.Contains(a):
		return false
	case sixToFour.Contains(a):
		return public4(netip.AddrFrom4([4]byte(b[2:6])))
	}
	for _, p := range reserved6 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func public4(a netip.Addr) bool {
	for _, p := range reserved4 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
