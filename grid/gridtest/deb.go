package gridtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/blakesmith/ar"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// DebCompressions are the tar compressions Deb.Write makes: dpkg's
// xz (Debian), zstd (Ubuntu), gzip, and none.
var DebCompressions = []string{"xz", "zst", "gz", ""}

// Deb is a small Debian package, laid out as dpkg-deb lays one out: an ar
// archive of debian-binary, control.tar.<c> (control and, unless
// NoMD5sums, md5sums: the md5 and path of every file, as dh_md5sums
// writes it) and data.tar.<c>.
type Deb struct {
	// Compression of both tar members: "xz", "zst", "gz", or "" for plain
	// .tar files.
	Compression string
	// Files is data.tar's content: path in the package, such as
	// "./usr/src/linux-headers-6.1.0-1-amd64/.config", to contents; the
	// folders are added as the paths need them.
	Files     map[string]string
	NoMD5sums bool
}

// Write writes the package to w. The bytes depend only on d.
func (d Deb) Write(w io.Writer) error {
	ctl := map[string]string{"./control": "Package: fake\nVersion: 1\nArchitecture: all\n"}
	if !d.NoMD5sums {
		var sums strings.Builder
		for _, name := range sortedKeys(d.Files) {
			fmt.Fprintf(&sums, "%x  %s\n", md5.Sum([]byte(d.Files[name])), strings.TrimPrefix(name, "./"))
		}
		ctl["./md5sums"] = sums.String()
	}
	control, err := compressedTar(d.Compression, ctl)
	if err != nil {
		return err
	}
	data, err := compressedTar(d.Compression, d.Files)
	if err != nil {
		return err
	}
	ext := ".tar"
	if d.Compression != "" {
		ext += "." + d.Compression
	}
	a := ar.NewWriter(w)
	if err := a.WriteGlobalHeader(); err != nil {
		return err
	}
	for _, m := range []struct {
		name string
		body []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control" + ext, control}, {"data" + ext, data}} {
		if err := a.WriteHeader(&ar.Header{Name: m.name, ModTime: time.Unix(0, 0), Mode: 0o644, Size: int64(len(m.body))}); err != nil {
			return err
		}
		// One Write per member: the writer pads odd sizes per call.
		if _, err := a.Write(m.body); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compressedTar makes a tar of files, sorted, with their parent folders,
// compressed as compression says.
func compressedTar(compression string, files map[string]string) ([]byte, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	dirs := map[string]bool{}
	for _, name := range sortedKeys(files) {
		for i := 0; i < len(name); i++ {
			if name[i] != '/' || i == 0 || dirs[name[:i+1]] || name[:i+1] == "./" {
				continue
			}
			dirs[name[:i+1]] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name[:i+1], Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
				return nil, err
			}
		}
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	var cw io.WriteCloser
	var err error
	switch compression {
	case "":
		return raw.Bytes(), nil
	case "xz":
		cw, err = xz.NewWriter(&out)
	case "zst":
		cw, err = zstd.NewWriter(&out, zstd.WithEncoderConcurrency(1))
	case "gz":
		cw = gzip.NewWriter(&out)
	default:
		return nil, fmt.Errorf("fake .deb: unknown compression %q", compression)
	}
	if err != nil {
		return nil, err
	}
	if _, err := cw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := cw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
