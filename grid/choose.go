package grid

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// ErrNoBuilder: no builder image has the gcc a kernel was built with.
var ErrNoBuilder = config.Classed(config.ErrData, "no builder image has gcc")

// choice is the builder image and gcc of one kernel's builds.
type choice struct {
	image, gcc string
}

// choose picks the image and gcc of k's builds. Each of the two comes from,
// in order: the config (builderimage, gccversion), the options (the
// --builder-image and --gcc-version flags), the kernel's own compiler (kc,
// read from its headers; kcErr when it could not be), the default. The gcc
// decided picks the image from the table (Builders) unless an image was
// named; a kernel built with a gcc no row has fails (ErrNoBuilder, a data
// failure). The kernel's compiler decides the gcc only when the image is
// the table's or an --builder-image template with {gcc}: a named image
// without {gcc} (the config's builderimage is never expanded) carries
// unknown compilers, and gets the default gcc, as before dbg read
// compilers. A kernel whose compiler is unknown (no CONFIG_CC_VERSION_TEXT,
// headers that are not .deb packages) or is clang gets the default gcc.
func (b *Builder) choose(k *config.Kernel, kc Compiler, kcErr error) (choice, error) {
	gcc, fromKernel := b.pickGCC(k, kc, kcErr)
	var c choice
	c.gcc = gcc
	switch {
	case k.BuilderImage != "":
		c.image = k.BuilderImage
	case b.opts.BuilderImage != "":
		c.image = expandImage(b.opts.BuilderImage, k.Architecture, k.Target, gcc)
	default:
		row, ok := b.builderFor(gcc)
		switch {
		case ok:
			c.image = expandImage(row.Image, k.Architecture, k.Target, gcc)
		case fromKernel:
			return c, fmt.Errorf("kernel built with %s; %w %d (have %s)", kc.Text, ErrNoBuilder, kc.Major, b.builderGCCs())
		default:
			c.image = expandImage(DefaultBuilderImage, k.Architecture, k.Target, gcc)
		}
	}
	return c, nil
}

// pickGCC is the gcc of k's builds, and whether it is the kernel's own.
func (b *Builder) pickGCC(k *config.Kernel, kc Compiler, kcErr error) (string, bool) {
	switch {
	case k.GCCVersion != "":
		return k.GCCVersion, false
	case b.opts.GCCVersion != "":
		return b.opts.GCCVersion, false
	case !b.gccFollowsKernel(k):
		return DefaultGCC, false
	case kcErr == nil && kc.Name == "gcc":
		return strconv.Itoa(kc.Major), true
	case kcErr == nil:
		slog.Warn("kernel built with clang: building with the default gcc", "kernel", k.ID(), "compiler", kc.Text, "gcc", DefaultGCC)
	case !errors.Is(kcErr, errCompilerUnneeded):
		slog.Info("kernel compiler unknown: building with the default gcc", "kernel", k.ID(), "reason", kcErr.Error(), "gcc", DefaultGCC)
	}
	return DefaultGCC, false
}

// gccFollowsKernel tells whether k's gcc is its own compiler's: neither the
// config nor the options name a gcc, and the image is the table's or a
// template with {gcc}.
func (b *Builder) gccFollowsKernel(k *config.Kernel) bool {
	if k.GCCVersion != "" || b.opts.GCCVersion != "" || k.BuilderImage != "" {
		return false
	}
	return b.opts.BuilderImage == "" || strings.Contains(b.opts.BuilderImage, "{gcc}")
}

// errCompilerUnneeded: the compiler was not read, as the kernel's gcc does
// not follow it (gccFollowsKernel).
var errCompilerUnneeded = errors.New("compiler not needed")

// errNotDeb: the kernel's headers are not Debian packages (RPM-based
// targets), whose compiler is not read.
var errNotDeb = errors.New("header packages are not .deb files")

// kernelCompilerOf reads the compiler k was built with: from the config's
// kernelconfigdata when it has CONFIG_CC_VERSION_TEXT, else from its header
// packages (debs: host paths of the fetched .deb files), on the host.
func (b *Builder) kernelCompilerOf(k *config.Kernel, headers []File) (Compiler, error) {
	if !b.gccFollowsKernel(k) {
		return Compiler{}, errCompilerUnneeded
	}
	if k.KernelConfigData != "" {
		data, _ := base64.StdEncoding.DecodeString(k.KernelConfigData) // validated
		if c, err := ParseKernelConfig(bytes.NewReader(data)); !errors.Is(err, ErrNoCompilerText) {
			return c, err
		}
	}
	var debs []string
	for _, f := range headers {
		if f.HostPath != "" && strings.HasSuffix(f.Path, ".deb") {
			debs = append(debs, f.HostPath)
		}
	}
	if len(debs) == 0 {
		return Compiler{}, errNotDeb
	}
	return KernelCompiler(debs)
}
