package resolve

import (
	"net/netip"
	"strings"

	"github.com/hearth-pds/hearth/identity"
)

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT): not
// private in the RFC 1918 sense, not reachable from the Internet either.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// localSuffixes are names that never reach the public DNS: special-use
// names (RFC 6761, RFC 6762, RFC 9476, .internal) and the suffixes home
// routers hand out, which is what a small machine on a LAN is likely called.
var localSuffixes = []string{
	"localhost", "local", "internal", "test", "example", "invalid", "arpa", "onion", "alt",
	"lan", "home", "corp", "intranet", "private",
}

// IsPublicHost reports whether host (a name or an IP literal, with or
// without brackets, without a port) can name a machine on the public
// Internet: a global unicast address outside private and shared ranges, or a
// syntactically valid multi-label DNS name outside the special-use and
// LAN suffixes.
//
// It looks at the text only and does no DNS lookup, so a public name that
// resolves to a private address passes: the egress dialer refuses that one
// when it connects.
func IsPublicHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if h == "" {
		return false
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		ip = ip.Unmap()
		return ip.IsGlobalUnicast() && !ip.IsPrivate() && !sharedAddressSpace.Contains(ip) && ip.Zone() == ""
	}
	// Handle syntax is DNS name syntax with at least two labels and a
	// top-level label not starting with a digit, which also refuses
	// shorthand IPv4 forms such as "127.1" or "0x7f000001".
	if _, err := identity.ParseHandle(h); err != nil {
		return false
	}
	tld := h[strings.LastIndexByte(h, '.')+1:]
	for _, s := range localSuffixes {
		if tld == s {
			return false
		}
	}
	return true
}
