package gridtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// imageScript downloads kernel image packages, relative to the repository root.
const imageScript = "grid/gridtest/fetch-debian-kernel-images.sh"

// ServeKernelImages downloads (or finds in headersDir, NewLab's headers
// cache) the unsigned image package of each of ks, the one Debian's archive
// keeps in the headers' folder (linux-image-<uname -r>-unsigned_<version>_
// <arch>.deb), and serves it beside the headers under /debian/, where the
// boot check derives it from the headers' URL. A lab kernel whose image is
// not served has none: its boot check says not_booted. It returns the
// images' URLs, in ks' order.
func (l *Lab) ServeKernelImages(ctx context.Context, headersDir string, ks ...LabKernel) ([]string, error) {
	return l.serveImages(ctx, headersDir, nil, ks)
}

// ServeSuiteKernelImages is ServeKernelImages for kernels of another Debian
// release (DebianSuiteKernel's, suite bullseye, trixie or sid), whose
// packages are in dir.
func (l *Lab) ServeSuiteKernelImages(ctx context.Context, suite, dir string, ks ...LabKernel) ([]string, error) {
	return l.serveImages(ctx, dir, []string{"--suite", suite}, ks)
}

// ServeSplitSuiteKernelImages is ServeSuiteKernelImages for kernels whose
// image is in linux-binary-unsigned-<uname -r> (sid's 7.x: linux-image is a
// meta package there), served beside the headers too.
func (l *Lab) ServeSplitSuiteKernelImages(ctx context.Context, suite, dir string, ks ...LabKernel) ([]string, error) {
	return l.serveImages(ctx, dir, []string{"--suite", suite, "--binary"}, ks)
}

func (l *Lab) serveImages(ctx context.Context, headersDir string, opts []string, ks []LabKernel) ([]string, error) {
	repo, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	urls := make([]string, len(ks))
	for i, k := range ks {
		version, err := headersVersion(k)
		if err != nil {
			return nil, err
		}
		var tail bytes.Buffer
		args := append(append([]string{filepath.Join(repo, imageScript)}, opts...), headersDir, string(k.Arch), k.UnameR+"="+version)
		cmd := exec.CommandContext(ctx, "bash", args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, io.MultiWriter(os.Stderr, &tail)
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("fetch the kernel image of %s with %s: %w\n%s", k.UnameR, imageScript, err, lastLines(tail.String(), 20))
		}
		name := fmt.Sprintf("linux-image-%s-unsigned_%s_%s.deb", k.UnameR, version, k.Arch)
		if slices.Contains(opts, "--binary") {
			name = fmt.Sprintf("linux-binary-unsigned-%s_%s_%s.deb", k.UnameR, version, k.Arch)
		}
		file := filepath.Join(headersDir, name)
		p := servePath("/debian/", file)
		l.srv.addFile(p, file)
		urls[i] = l.URL + p
	}
	return urls, nil
}

// headersVersion is the package version of a kernel's flavour headers,
// read from its file name (linux-headers-<uname -r>_<version>_<arch>.deb).
func headersVersion(k LabKernel) (string, error) {
	prefix := "linux-headers-" + k.UnameR + "_"
	for _, f := range k.Files {
		rest, ok := strings.CutPrefix(filepath.Base(f), prefix)
		if !ok {
			continue
		}
		if v, ok := strings.CutSuffix(rest, "_"+string(k.Arch)+".deb"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("kernel %s: no linux-headers-%s_<version>_%s.deb among its packages", k.UnameR, k.UnameR, k.Arch)
}
