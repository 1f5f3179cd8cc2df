package grid

import (
	"slices"
	"strconv"
	"strings"
)

// BuilderImage is a builder image by the kernel compiler it carries: the
// image has /usr/bin/gcc-<GCC>, which driverkit's scripts build with.
type BuilderImage struct {
	GCC   int    // major version of its gcc
	Image string // reference; {arch}, {target} and {gcc} are replaced
	About string // what it is, for people
}

// DefaultBuilders is the one table from a kernel's compiler to the image
// that builds its drivers: deploy/builder's Debian images, one per release,
// each with the gcc that release builds its kernels with. Another distro's
// image (driverkit's builder images from a registry, say) is one more row,
// passed as BuildOptions.Builders; a gcc major appears at most once.
func DefaultBuilders() []BuilderImage {
	return []BuilderImage{
		{GCC: 10, Image: "dbg-builder:bullseye-{arch}", About: "Debian bullseye's gcc-10 on a bookworm root"},
		{GCC: 12, Image: "dbg-builder:bookworm-{arch}", About: "Debian bookworm"},
		{GCC: 14, Image: "dbg-builder:trixie-{arch}", About: "Debian trixie"},
		{GCC: 16, Image: "dbg-builder:sid-{arch}", About: "Debian sid"},
	}
}

// builderFor is the table's row of gcc (a version like 12 or 12.2.0: its major).
func (b *Builder) builderFor(gcc string) (BuilderImage, bool) {
	major, _, _ := strings.Cut(gcc, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return BuilderImage{}, false
	}
	i := slices.IndexFunc(b.opts.Builders, func(r BuilderImage) bool { return r.GCC == n })
	if i < 0 {
		return BuilderImage{}, false
	}
	return b.opts.Builders[i], true
}

// builderGCCs lists the table's gcc majors: "10, 12, 14, 16".
func (b *Builder) builderGCCs() string {
	var ns []int
	for _, r := range b.opts.Builders {
		ns = append(ns, r.GCC)
	}
	slices.Sort(ns)
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
