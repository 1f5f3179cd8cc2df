package netpolicy

import (
	"net/netip"
	"strconv"
	"strings"
)

// special is every non-public range, with the reason a URL or a connection
// there is refused. Reason checks an IPv4 address against the IPv4 entries
// and an IPv6 address against the IPv6 ones, in order.
var special = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address (0.0.0.0/8)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address (RFC 1918, 10.0.0.0/8)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address (100.64.0.0/10)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address (127.0.0.0/8)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (169.254.0.0/16, cloud metadata)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address (RFC 1918, 172.16.0.0/12)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address (192.0.2.0/24)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay address (192.88.99.0/24)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address (RFC 1918, 192.168.0.0/16)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address (198.51.100.0/24)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address (203.0.113.0/24)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address (224.0.0.0/4)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address (240.0.0.0/4)"},
	// Public by its range, but on Azure (GitHub's hosted runners) the
	// host's wire server: metadata, extensions, credentials.
	{netip.MustParsePrefix("168.63.129.16/32"), "the Azure host endpoint (168.63.129.16)"},

	{netip.MustParsePrefix("::/128"), "the unspecified address (::)"},
	{netip.MustParsePrefix("::1/128"), "a loopback address (::1)"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address (::/96)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address (64:ff9b:1::/48)"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address (100::/64)"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address (2001:db8::/32)"},
	{netip.MustParsePrefix("fc00::/7"), "a unique local address (fc00::/7)"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address (fe80::/10)"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address (fec0::/10)"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address (ff00::/8)"},
}

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96") // the IPv4 address in its last 32 bits
	sixToV4 = netip.MustParsePrefix("2002::/16")    // the IPv4 address in bits 16-47
)

// Reason says why addr is not a public address, naming its range ("a
// loopback address (127.0.0.0/8)"); "" when it is public. An IPv4-mapped
// IPv6 address (::ffff:127.0.0.1) is judged as its IPv4 address, and so is
// the IPv4 address a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address
// carries; a zone is ignored.
func Reason(addr netip.Addr) string {
	if !addr.IsValid() {
		return "not an IP address"
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is6() {
		if v4, ok := embeddedIPv4(addr); ok {
			if r := Reason(v4); r != "" {
				return "an IPv6 address for " + v4.String() + ", " + r
			}
			return ""
		}
	}
	for _, s := range special {
		if s.prefix.Addr().Is4() == addr.Is4() && s.prefix.Contains(addr) {
			return s.reason
		}
	}
	switch {
	case !addr.IsGlobalUnicast():
		return "not a global unicast address"
	case addr.IsPrivate():
		return "a private address"
	}
	return ""
}

// embeddedIPv4 is the IPv4 address a NAT64 or 6to4 address stands for.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToV4.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Public reports whether addr is a public address: Reason has nothing
// against it. It is the default policy of every download.
func Public(addr netip.Addr) bool { return Reason(addr) == "" }

// Any allows every address: for a lab or a test whose servers listen on
// loopback.
func Any(netip.Addr) bool { return true }

// ParseHost reads host, a URL's host name (brackets removed, as
// url.URL.Hostname gives it; one trailing dot ignored), as an IP address. ok
// tells that host is one: in canonical form (dotted-decimal IPv4 or IPv6,
// legacy false), or in one of the numeric forms of inet_aton(3) that
// resolvers such as glibc's (so curl and Go's cgo resolver) also accept
// (legacy true): decimal 2130706433, hex 0x7f000001, octal 0177.0.0.1,
// short 127.1 — all 127.0.0.1.
func ParseHost(host string) (addr netip.Addr, legacy, ok bool) {
	host = strings.TrimSuffix(host, ".")
	if a, err := netip.ParseAddr(host); err == nil {
		return a, false, true
	}
	if a, ok := parseInetAton(host); ok {
		return a, true, true
	}
	return netip.Addr{}, false, false
}

// parseInetAton parses 1 to 4 dot-separated numbers, each decimal, hex
// (0x) or octal (leading 0); the last fills the remaining bytes.
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := atonNumber(p)
		if !ok {
			return netip.Addr{}, false
		}
		last := i == len(parts)-1
		limit := uint64(0xff)
		if last {
			limit = 1<<(8*(5-len(parts))) - 1
		}
		if n > limit {
			return netip.Addr{}, false
		}
		if last {
			v = v<<(8*(5-len(parts))) | n
		} else {
			v = v<<8 | n
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func atonNumber(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true // glibc reads "0x" as 0
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	for _, c := range p { // ParseUint takes signs and underscores; inet_aton does not
		if !isDigit(c, base) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

func isDigit(c rune, base int) bool {
	switch {
	case c >= '0' && c <= '9':
		return int(c-'0') < base
	case base == 16:
		return c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	return false
}
