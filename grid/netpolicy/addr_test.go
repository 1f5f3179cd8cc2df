package netpolicy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestReason(t *testing.T) {
	tests := []struct {
		addr string
		want string // a part of the reason; "": public
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fc00::1", "unique local"},
		{"fd00:ec2::254", "unique local"}, // AWS's IPv6 metadata service
		{"169.254.169.254", "link-local"},
		{"::ffff:169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.100.100.200", "carrier-grade NAT"}, // Alibaba's metadata service
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"0.0.0.0", "this network"},
		{"0.1.2.3", "this network"},
		{"::", "unspecified"},
		{"192.0.0.192", "IETF protocol"}, // Oracle's metadata service
		{"198.18.0.1", "benchmarking"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "broadcast"},
		{"192.0.2.1", "documentation"},
		{"2001:db8::1", "documentation"},
		{"168.63.129.16", "Azure"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"64:ff9b::a9fe:a9fe", "169.254.169.254, a link-local"}, // NAT64 of the metadata service
		{"2002:7f00:1::", "127.0.0.1, a loopback"},              // 6to4 of loopback
		{"fec0::1", "site-local"},

		{"8.8.8.8", ""},
		{"151.101.2.132", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.32.0.1", ""},
		{"168.63.129.17", ""},
		{"2a04:4e42::644", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"::ffff:8.8.8.8", ""},
	}
	for _, tt := range tests {
		got := Reason(netip.MustParseAddr(tt.addr))
		switch {
		case tt.want == "" && got != "":
			t.Errorf("%s: %q, want public", tt.addr, got)
		case tt.want != "" && !strings.Contains(got, tt.want):
			t.Errorf("%s: %q, want a reason with %q", tt.addr, got, tt.want)
		}
		if Public(netip.MustParseAddr(tt.addr)) != (tt.want == "") {
			t.Errorf("%s: Public disagrees with Reason", tt.addr)
		}
	}
	if Reason(netip.Addr{}) == "" {
		t.Error("the zero Addr is public")
	}
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		host   string
		want   string // "": not an address
		legacy bool
	}{
		{"127.0.0.1", "127.0.0.1", false},
		{"127.0.0.1.", "127.0.0.1", false},
		{"::1", "::1", false},
		{"2130706433", "127.0.0.1", true},
		{"0x7f000001", "127.0.0.1", true},
		{"0X7F000001", "127.0.0.1", true},
		{"0177.0.0.1", "127.0.0.1", true},
		{"0177.0.0.01", "127.0.0.1", true},
		{"127.1", "127.0.0.1", true},
		{"127.0.1", "127.0.0.1", true},
		{"0x7f.1", "127.0.0.1", true},
		{"127.000.000.001", "127.0.0.1", true},
		{"169.254.43518", "169.254.169.254", true},
		{"0xa9fea9fe", "169.254.169.254", true},
		{"0", "0.0.0.0", true},
		{"0x", "0.0.0.0", true},
		{"4294967295", "255.255.255.255", true},

		{"4294967296", "", false},
		{"1.2.3.256", "", false},
		{"1.2.3.4.5", "", false},
		{"08.1.2.3", "", false}, // 8 is not an octal digit
		{"1..2", "", false},
		{"+1.2.3.4", "", false},
		{"1_0.0.0.1", "", false},
		{"example.org", "", false},
		{"deb.debian.org", "", false},
		{"0x7f.example", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		addr, legacy, ok := ParseHost(tt.host)
		if got := map[bool]string{true: addr.String()}[ok]; got != tt.want || legacy != tt.legacy {
			t.Errorf("ParseHost(%q) = %q legacy %v, want %q legacy %v", tt.host, got, legacy, tt.want, tt.legacy)
		}
	}
}
