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
	"strings"

	"github.com/blakesmith/ar"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// debFile streams the Debian package in f (ar, then its data.tar.xz, .zst,
// .gz, .bz2 or plain data.tar) and calls fn with the first regular file of
// its data archive whose path (without "./") wanted accepts, if any; it
// returns nil without calling fn when there is none. A package whose
// control archive has an md5sums file (dpkg's list of the package's files;
// Debian's packages have one) that lists no wanted path is not
// decompressed further: a common headers package takes seconds to scan.
// It serves the compiler lookup (a headers .config) and the boot check (a
// kernel image's boot/vmlinuz-*).
func debFile(f *os.File, wanted func(name string) bool, fn func(name string, r io.Reader) error) error {
	magic := make([]byte, len(ar.GLOBAL_HEADER))
	if _, err := f.ReadAt(magic, 0); err != nil || !bytes.Equal(magic, []byte(ar.GLOBAL_HEADER)) {
		return fmt.Errorf("%w: no ar header", ErrBadPackage)
	}
	a := ar.NewReader(f) // skips the global header; seeks past other members
	listed := true       // whether the package may hold a wanted file
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
			if listed, err = controlLists(name, io.LimitReader(a, h.Size), wanted); err != nil {
				return err
			}
		case name == "data.tar" || strings.HasPrefix(name, "data.tar."):
			if !listed {
				return nil
			}
			return tarEntry(name, io.LimitReader(a, h.Size), wanted, fn)
		}
	}
}

// controlLists tells whether the control archive's md5sums lists a wanted
// path; true when it has no md5sums (then only the data tells).
func controlLists(member string, r io.Reader, wanted func(name string) bool) (bool, error) {
	listed := true
	err := tarEntry(member, r, func(name string) bool { return name == "md5sums" }, func(_ string, r io.Reader) error {
		listed = false
		s := bufio.NewScanner(io.LimitReader(r, maxConfigBytes))
		s.Buffer(make([]byte, 0, 4096), maxConfigLine)
		for s.Scan() {
			// "<md5>  <path>": two spaces, the path without "./".
			if _, p, ok := strings.Cut(s.Text(), "  "); ok && wanted(strings.TrimPrefix(path.Clean("/"+p), "/")) {
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
