package config

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/falcosecurity/dbg/grid/netpolicy"
)

// LoadOptions are how configs are judged. The zero value is dbg's default,
// what the package functions (Load, Kernel.Validate, ReadDriverVersions,
// LoadDriverVersions, DecodeDriverVersions, FromCrawler, ChangedSince) use;
// the methods of the same names take other options.
type LoadOptions struct {
	// AllowPrivateURLs accepts header URLs and driver source templates
	// whose host is a loopback, private, link-local or otherwise
	// non-public IP address, or a local name (localhost, *.internal): for
	// labs and tests serving from 127.0.0.1 (dbg's --allow-private-urls).
	// By default they are invalid: the host that downloads them is the CI
	// runner, which holds cloud credentials. A host in a numeric IPv4 form
	// other than dotted decimal (2130706433, 0x7f000001, 0177.0.0.1,
	// 127.1) is invalid either way.
	AllowPrivateURLs bool
}

// Load is LoadOptions{}.Load: every URL host must be public.
func Load(ctx context.Context, dir string, allowRegistries ...string) ([]*Kernel, Problems, error) {
	return LoadOptions{}.Load(ctx, dir, allowRegistries...)
}

// Validate checks every value of the kernel with the default options; see
// LoadOptions.Validate.
func (k *Kernel) Validate(registries ...string) Problems {
	return k.validate(LoadOptions{}, registries)
}

// Validate checks every value of k under o; registries are those its
// builder image may come from (see Kernel.validate).
func (o LoadOptions) Validate(k *Kernel, registries ...string) Problems {
	return k.validate(o, registries)
}

// LoadDriverVersions is LoadOptions{}.LoadDriverVersions.
func LoadDriverVersions(path string) (*DriverVersions, error) {
	return LoadOptions{}.LoadDriverVersions(path)
}

// ReadDriverVersions is LoadOptions{}.ReadDriverVersions.
func ReadDriverVersions(path string) (*DriverVersions, Problems) {
	return LoadOptions{}.ReadDriverVersions(path)
}

// DecodeDriverVersions is LoadOptions{}.DecodeDriverVersions.
func DecodeDriverVersions(path string, data []byte) (*DriverVersions, Problems) {
	return LoadOptions{}.DecodeDriverVersions(path, data)
}

// FromCrawler is LoadOptions{}.FromCrawler.
func FromCrawler(r io.Reader, arch Arch, distros []string) (*Crawled, error) {
	return LoadOptions{}.FromCrawler(r, arch, distros)
}

// ChangedSince is LoadOptions{}.ChangedSince.
func ChangedSince(ctx context.Context, dir, ref string) (*Changes, error) {
	return LoadOptions{}.ChangedSince(ctx, dir, ref)
}

// localNames are name suffixes that never point at a public mirror:
// loopback by definition (RFC 6761), link-local multicast DNS, and the
// private-use TLD (metadata.google.internal is the GCP metadata service).
var localNames = []string{"localhost", ".localhost", ".local", ".internal"}

// checkHost says what is wrong with host, a URL's host name, as a place
// the CI runner downloads from ("" when nothing is): an IP address in a
// numeric form other than dotted decimal, or, unless o allows private
// URLs, a non-public IP address or a local name. The same ranges as the
// fetcher's dialer (grid/netpolicy) are refused.
func (o LoadOptions) checkHost(host string) string {
	addr, legacy, ok := netpolicy.ParseHost(host)
	switch {
	case ok && legacy:
		return fmt.Sprintf("host %s is the IPv4 address %s in a numeric form other than dotted decimal (decimal, hex, octal or short), which resolvers read differently: write %s", host, addr, addr)
	case o.AllowPrivateURLs:
		return ""
	case ok:
		if r := netpolicy.Reason(addr); r != "" {
			return fmt.Sprintf("host %s is %s: downloads run on the CI runner, so only public addresses are allowed (--allow-private-urls for a lab)", host, r)
		}
		return ""
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, l := range localNames {
		if name == strings.TrimPrefix(l, ".") || strings.HasSuffix(name, l) {
			return fmt.Sprintf("host %s is a local name: downloads run on the CI runner, so only public hosts are allowed (--allow-private-urls for a lab)", host)
		}
	}
	return ""
}
