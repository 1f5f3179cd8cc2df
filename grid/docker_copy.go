package grid

import (
	"archive/tar"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// ErrUnsafeOutput marks build output that was not (fully) extracted: links,
// special files, names leaving the folder, too many bytes or entries.
var ErrUnsafeOutput = errors.New("unsafe build output")

const maxOutEntries = 10000

// copyIn streams files into the container, one tar archive per top-level
// folder (each a volume: the root filesystem is read-only); missing parent
// folders are created by the daemon.
func (d *Docker) copyIn(ctx context.Context, id string, files []File, asUser bool) error {
	for _, top := range topFolders(files) {
		if top == "" {
			return errors.New("copy files into container: every file must be in a folder below /")
		}
		if err := d.copyInto(ctx, id, top, filesUnder(files, top), asUser); err != nil {
			return err
		}
	}
	return nil
}

// copyInto streams files, all under the folder top, into it.
// With asUser, the files belong to the job's user (CopyUIDGID).
func (d *Docker) copyInto(ctx context.Context, id, top string, files []File, asUser bool) error {
	pr, pw := io.Pipe()
	tarErr := make(chan error, 1)
	go func() {
		err := writeTar(pw, top, files)
		pw.CloseWithError(err)
		tarErr <- err
	}()
	err := d.api.CopyToContainer(ctx, id, top, pr, container.CopyToContainerOptions{CopyUIDGID: asUser})
	stopped := errors.New("copy stopped")
	pr.CloseWithError(stopped) // unblocks the writer if the daemon stopped reading
	if terr := <-tarErr; terr != nil && !errors.Is(terr, stopped) {
		return fmt.Errorf("copy files into container: %w", terr)
	}
	if err != nil {
		return fmt.Errorf("copy files into container %s: %w", top, err)
	}
	return nil
}

// topFolder is the top-level folder of a container path: /dbg of /dbg/x/y
// ("" for a path that is not absolute and clean, or a file at the root).
func topFolder(p string) string {
	if !path.IsAbs(p) || path.Clean(p) != p {
		return ""
	}
	first, rest, ok := strings.Cut(p[1:], "/")
	if !ok || first == "" || rest == "" {
		return ""
	}
	return "/" + first
}

// topFolders are the files' top-level folders, sorted; a file with none
// is refused by writeTar.
func topFolders(files []File) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		if t := topFolder(f.Path); !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func filesUnder(files []File, top string) []File {
	var out []File
	for _, f := range files {
		if topFolder(f.Path) == top {
			out = append(out, f)
		}
	}
	return out
}

func writeTar(w io.Writer, top string, files []File) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := addFile(tw, top, f); err != nil {
			return fmt.Errorf("file %s: %w", f.Path, err)
		}
	}
	return tw.Close()
}

// addFile adds f to an archive extracted in the container folder top ("/"
// for an image layer).
func addFile(tw *tar.Writer, top string, f File) error {
	switch {
	case !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/":
		return errors.New("container path must be absolute and clean")
	case top != "/" && topFolder(f.Path) != top:
		return fmt.Errorf("container path must be in %s", top)
	}
	name := strings.TrimPrefix(f.Path, strings.TrimSuffix(top, "/")+"/")
	if f.Dir {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: cmp.Or(f.Mode, 0o755), ModTime: time.Now()})
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: cmp.Or(f.Mode, 0o644),
		Size: int64(len(f.Data)), ModTime: time.Now()}
	if f.HostPath == "" {
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.Data)
		return err
	}
	src, err := os.Open(f.HostPath)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.HostPath)
	}
	hdr.Size = st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.CopyN(tw, src, hdr.Size)
	return err
}

// copyOut extracts the contents of the container folder dir into hostDir.
// A missing dir is not an error: the job built nothing.
func (d *Docker) copyOut(ctx context.Context, id, dir, hostDir string) error {
	if dir == "" || hostDir == "" {
		return nil
	}
	rc, _, err := d.api.CopyFromContainer(ctx, id, dir)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy %s out of container: %w", dir, err)
	}
	defer rc.Close()
	if err := extract(rc, hostDir, d.maxOut); err != nil {
		return fmt.Errorf("copy %s out of container: %w", dir, err)
	}
	return nil
}

// extract unpacks the archive of one folder into dir, without the archive's
// top folder. The archive comes from an untrusted container: only regular
// files and folders are written, through os.Root so nothing lands outside
// dir. Other entries are skipped and reported with ErrUnsafeOutput; going
// over limit bytes or maxOutEntries entries stops the extraction.
func extract(r io.Reader, dir string, limit int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var skipped []string // the first few
	nSkipped := 0
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if limit -= hdr.Size; limit < 0 || n >= maxOutEntries {
			return fmt.Errorf("%w: more than %d entries or the byte limit", ErrUnsafeOutput, maxOutEntries)
		}
		name, ok := outName(hdr.Name)
		if !ok || (hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeDir) {
			if nSkipped++; len(skipped) < 5 {
				skipped = append(skipped, fmt.Sprintf("%q (type %q)", hdr.Name, hdr.Typeflag))
			}
			continue
		}
		if err := writeEntry(root, name, hdr, tr); err != nil {
			return fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
	}
	if nSkipped > 0 {
		return fmt.Errorf("%w: %d entries skipped: %s", ErrUnsafeOutput, nSkipped, strings.Join(skipped, ", "))
	}
	return nil
}

// outName drops the first component (the folder's own name) of an archive
// name; ok is false for absolute names and names with "..".
func outName(name string) (string, bool) {
	if path.IsAbs(name) || slices.Contains(strings.Split(name, "/"), "..") {
		return "", false
	}
	_, rest, _ := strings.Cut(path.Clean(name), "/")
	return rest, true
}

func writeEntry(root *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	if name == "" {
		return nil // the top folder itself
	}
	if hdr.Typeflag == tar.TypeDir {
		return root.MkdirAll(name, 0o755)
	}
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	perm := fs.FileMode(hdr.Mode)&0o111 | 0o644
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max     int
	buf     []byte
	dropped int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > b.max { // trim rarely: at twice max
		b.dropped += over
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// Bytes returns the tail, after a note when bytes were dropped.
func (b *tailBuffer) Bytes() []byte {
	over := max(len(b.buf)-b.max, 0)
	if b.dropped+over == 0 {
		return b.buf
	}
	note := fmt.Appendf(nil, "[dbg: first %d bytes of the log dropped]\n", b.dropped+over)
	return append(note, b.buf[over:]...)
}
