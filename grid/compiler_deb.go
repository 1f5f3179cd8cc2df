package grid

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

var (
	// ErrNoKernelConfig: none of the header packages holds a kernel .config.
	ErrNoKernelConfig = config.Classed(config.ErrData, "no usr/src/linux-headers-*/.config")
	// ErrBadPackage: a file is not a readable Debian package.
	ErrBadPackage = config.Classed(config.ErrData, "not a readable Debian package")
)

const (
	// maxDataBytes caps what is decompressed of one package's data.tar
	// while looking for the .config (the largest Debian header packages
	// unpack to about 100 MB).
	maxDataBytes = 4 << 30
	// maxConfigBytes caps the .config itself (real ones are about 300 KB).
	maxConfigBytes = 16 << 20
	// maxZstdWindow caps the zstd decoder's window, so a package cannot ask
	// for gigabytes of memory (dpkg-deb and Ubuntu's packages use at most
	// 8 MiB; zstd --long=27 uses 128 MiB).
	maxZstdWindow = 128 << 20
)

// KernelCompiler reads the compiler a Debian kernel was built with from its
// header packages (.deb files), on the host, without unpacking them: the
// packages are read in the order given, each as a stream (ar, then its
// data.tar.xz, .zst, .gz, .bz2 or plain data.tar), until one holds
// usr/src/linux-headers-<release>/.config (Debian puts it in the flavour's
// package, linux-headers-<release>, not in -common or linux-kbuild-*); its
// CONFIG_CC_VERSION_TEXT is parsed (ParseCCVersionText). A package whose
// md5sums (the file list in its control archive) names no such .config is
// passed over without decompressing its data: reading a -common package
// through takes about 7 s. Errors name the package and what was missing.
func KernelCompiler(debPaths []string) (Compiler, error) {
	if len(debPaths) == 0 {
		return Compiler{}, fmt.Errorf("%w: no header packages given", ErrNoKernelConfig)
	}
	for _, p := range debPaths {
		c, found, err := debCompiler(p)
		if err != nil {
			return Compiler{}, fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		if found {
			return c, nil
		}
	}
	names := make([]string, len(debPaths))
	for i, p := range debPaths {
		names[i] = filepath.Base(p)
	}
	return Compiler{}, fmt.Errorf("%w in %s", ErrNoKernelConfig, strings.Join(names, ", "))
}

// debCompiler parses the .config of one package; found is false when the
// package has none.
func debCompiler(debPath string) (c Compiler, found bool, err error) {
	f, err := os.Open(debPath)
	if err != nil {
		return Compiler{}, false, err
	}
	defer f.Close()
	err = debFile(f, isHeadersConfig, func(name string, r io.Reader) error {
		found = true
		var perr error
		if c, perr = ParseKernelConfig(io.LimitReader(r, maxConfigBytes)); perr != nil {
			return fmt.Errorf("%s: %w", name, perr)
		}
		return nil
	})
	return c, found, err
}

// isHeadersConfig tells whether a package path (no leading "./" or "/") is
// usr/src/linux-headers-*/.config.
func isHeadersConfig(name string) bool {
	dir, file := path.Split(name)
	ok, _ := path.Match("usr/src/linux-headers-*/", dir)
	return ok && file == ".config"
}
