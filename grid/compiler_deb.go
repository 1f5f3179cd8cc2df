package grid

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/blakesmith/ar"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

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
	err = debKernelConfig(f, func(name string, r io.Reader) error {
		found = true
		var perr error
		if c, perr = ParseKernelConfig(io.LimitReader(r, maxConfigBytes)); perr != nil {
			return fmt.Errorf("%s: %w", name, perr)
		}
		return nil
	})
	return c, found, err
}

// debKernelConfig streams the .deb in f and calls fn with the first
// usr/src/linux-headers-*/.config of its data archive, if any. A package
// whose control archive has an md5sums file (dpkg's list of the package's
// files; Debian's packages have one) that lists no such .config is not
// decompressed further: a common headers package takes seconds to scan.
func debKernelConfig(f *os.File, fn func(name string, r io.Reader) error) error {
	magic := make([]byte, len(ar.GLOBAL_HEADER))
	if _, err := f.ReadAt(magic, 0); err != nil || !bytes.Equal(magic, []byte(ar.GLOBAL_HEADER)) {
		return fmt.Errorf("%w: no ar header", ErrBadPackage)
	}
	a := ar.NewReader(f) // skips the global header; seeks past other members
	listed := true       // whether the package may hold a .config
	for {
		h, err := a.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: no data.tar member", ErrBadPackage)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadPackage, err)
		}
		name := strings.TrimSuffix(h.Name, "/") // GNU ar ends names with "/"
		switch {
		case name == "control.tar" || strings.HasPrefix(name, "control.tar."):
			if listed, err = controlListsConfig(name, io.LimitReader(a, h.Size)); err != nil {
				return err
			}
		case name == "data.tar" || strings.HasPrefix(name, "data.tar."):
			if !listed {
				return nil
			}
			return tarEntry(name, io.LimitReader(a, h.Size), isHeadersConfig, fn)
		}
	}
}

// controlListsConfig tells whether the control archive's md5sums lists a
// headers .config; true when it has no md5sums (then only the data tells).
func controlListsConfig(member string, r io.Reader) (bool, error) {
	listed := true
	err := tarEntry(member, r, func(name string) bool { return name == "md5sums" }, func(_ string, r io.Reader) error {
		listed = false
		s := bufio.NewScanner(io.LimitReader(r, maxConfigBytes))
		s.Buffer(make([]byte, 0, 4096), maxConfigLine)
		for s.Scan() {
			// "<md5>  <path>": two spaces, the path without "./".
			if _, p, ok := strings.Cut(s.Text(), "  "); ok && isHeadersConfig(strings.TrimPrefix(path.Clean("/"+p), "/")) {
				listed = true
				return nil
			}
		}
		if err := s.Err(); err != nil {
			return fmt.Errorf("%w: %s: md5sums: %w", ErrBadPackage, member, err)
		}
		return nil
	})
	return listed, err
}

// tarEntry decompresses a tar member of the package and calls fn with its
// first regular file whose name (without "./") is wanted, if any.
func tarEntry(member string, r io.Reader, wanted func(name string) bool, fn func(name string, r io.Reader) error) error {
	dr, closeFn, err := decompress(member, r)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadPackage, member, err)
	}
	defer closeFn()
	tr := tar.NewReader(io.LimitReader(dr, maxDataBytes))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadPackage, member, err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if h.Typeflag == tar.TypeReg && wanted(name) {
			return fn(name, tr)
		}
	}
}

// isHeadersConfig tells whether a package path (no leading "./" or "/") is
// usr/src/linux-headers-*/.config.
func isHeadersConfig(name string) bool {
	dir, file := path.Split(name)
	ok, _ := path.Match("usr/src/linux-headers-*/", dir)
	return ok && file == ".config"
}

// decompress opens the data member by its name's extension.
func decompress(member string, r io.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch path.Ext(member) {
	case ".tar":
		return r, nop, nil
	case ".xz":
		x, err := xz.NewReader(r)
		return x, nop, err
	case ".zst":
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, nop, err
		}
		return z, z.Close, nil
	case ".gz":
		g, err := gzip.NewReader(r)
		if err != nil {
			return nil, nop, err
		}
		return g, func() { g.Close() }, nil
	case ".bz2":
		return bzip2.NewReader(r), nop, nil
	}
	return nil, nop, fmt.Errorf("unsupported compression %q", path.Ext(member))
}
