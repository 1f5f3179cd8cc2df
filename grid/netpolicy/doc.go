// Package netpolicy is where dbg's host-side downloads may connect: the
// CI runner that fetches what kernel configs, driverversions.yaml and
// kernel-crawler output name holds cloud credentials, so by default only
// public addresses are fetched (Public, Reason): not loopback, private
// (RFC 1918, fc00::/7), link-local (169.254.0.0/16, fe80::/10, the cloud
// metadata services), carrier-grade NAT (100.64.0.0/10), multicast,
// unspecified, reserved or documentation ranges, nor the Azure host
// endpoint 168.63.129.16; IPv4-mapped IPv6 addresses are judged as their
// IPv4 address.
//
// Policy.Client checks every connection in the dialer, on the resolved
// address (so DNS rebinding and redirects do not get past it), and every
// redirect (http(s) only, no credentials, at most MaxRedirects, never
// forwarding Authorization). Config validation uses Reason and ParseHost
// to reject the same addresses, and numeric IPv4 forms (2130706433), as
// URL hosts. Any lifts the policy, for labs and tests on loopback.
//
// The package imports nothing of dbg.
package netpolicy
