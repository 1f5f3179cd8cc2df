package gridtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// suiteScript downloads one kernel's headers of another Debian release,
// relative to the repository root.
const suiteScript = "grid/gridtest/fetch-debian-suite-headers.sh"

// SuiteKernel is one real Debian kernel of a given release (suite), with
// its flavour header package (the one that holds the kernel's .config).
type SuiteKernel struct {
	Suite  string      // bullseye, trixie, sid
	Arch   config.Arch // amd64 or arm64
	UnameR string      // 5.10.0-32-amd64, 6.12.117+deb13-amd64
	File   string      // path of linux-headers-<UnameR>_<version>_<arch>.deb in the cache
}

// DebianSuiteHeaders returns the kernel that dir (a header cache such as
// <CacheDir>/debian-headers) holds for suite and arch, as listed in
// dir/suite-<suite>-<arch>.tsv; when the list or its file is missing, it
// first runs fetch-debian-suite-headers.sh, which picks the suite's newest
// plain-flavour kernel with a private apt configuration (the machine's apt
// sources are left alone) and writes the list. A cached kernel needs no
// network.
func DebianSuiteHeaders(ctx context.Context, dir, suite string, arch config.Arch) (SuiteKernel, error) {
	if k, err := readSuite(dir, suite, arch); err == nil {
		return k, nil
	}
	repo, err := RepoRoot()
	if err != nil {
		return SuiteKernel{}, err
	}
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, suiteScript), suite, dir, string(arch))
	cmd.Stdout = os.Stderr
	cmd.Stderr = io.MultiWriter(os.Stderr, &tail)
	if err := cmd.Run(); err != nil {
		return SuiteKernel{}, fmt.Errorf("fetch the Debian %s %s kernel headers with %s (needs apt-get on a Debian host and the Debian archive): %w\n%s",
			suite, arch, suiteScript, err, lastLines(tail.String(), 20))
	}
	return readSuite(dir, suite, arch)
}

// readSuite parses dir/suite-<suite>-<arch>.tsv: uname -r, file name.
func readSuite(dir, suite string, arch config.Arch) (SuiteKernel, error) {
	path := filepath.Join(dir, "suite-"+suite+"-"+string(arch)+".tsv")
	data, err := os.ReadFile(path)
	if err != nil {
		return SuiteKernel{}, fmt.Errorf("read kernel list: %w", err)
	}
	f := strings.Split(strings.TrimSuffix(string(data), "\n"), "\t")
	if len(f) != 2 || f[0] == "" || f[1] == "" || f[1] != filepath.Base(f[1]) {
		return SuiteKernel{}, fmt.Errorf("%s: want one line: uname -r, a tab, a file name", path)
	}
	file := filepath.Join(dir, f[1])
	if _, err := os.Stat(file); err != nil {
		return SuiteKernel{}, fmt.Errorf("%s: header package %q: %w", path, f[1], err)
	}
	return SuiteKernel{Suite: suite, Arch: arch, UnameR: f[0], File: file}, nil
}

// DebianHeaders returns the kernels of the machine's Debian release that
// dir holds for arch (kernels.tsv, kernels-arm64.tsv); when their list is
// missing or names a missing file, it first runs fetch-debian-headers.sh
// for count kernels. Unlike NewLab it asks nothing of the network when the
// list is there, however old the package lists are.
func DebianHeaders(ctx context.Context, dir string, arch config.Arch, count int) ([]LabKernel, error) {
	if ks, err := readKernels(dir, arch); err == nil && len(ks) > 0 {
		return ks, nil
	}
	repo, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return fetchHeaders(ctx, repo, dir, arch, count)
}

// DebianSuiteKernel returns the kernel of suite and arch that dir (a header
// cache such as <CacheDir>/debian-headers) holds with the three packages a
// build needs (flavour, common, kbuild), as listed in
// dir/suite-<suite>-<arch>-build.tsv; when the list or one of its files is
// missing, it first runs fetch-debian-suite-headers.sh --build, which picks
// the suite's newest plain-flavour kernel. Its Config is empty: the kernel
// is not one of a lab's until Lab.WriteKernelsConfigDir serves it.
func DebianSuiteKernel(ctx context.Context, dir, suite string, arch config.Arch) (LabKernel, error) {
	list := "suite-" + suite + "-" + string(arch) + "-build.tsv"
	if k, err := readSuiteKernel(dir, list, arch); err == nil {
		return k, nil
	}
	repo, err := RepoRoot()
	if err != nil {
		return LabKernel{}, err
	}
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, suiteScript), "--build", suite, dir, string(arch))
	cmd.Stdout = os.Stderr
	cmd.Stderr = io.MultiWriter(os.Stderr, &tail)
	if err := cmd.Run(); err != nil {
		return LabKernel{}, fmt.Errorf("fetch the Debian %s %s kernel's build headers with %s (needs apt-get on a Debian host and the Debian archive): %w\n%s",
			suite, arch, suiteScript, err, lastLines(tail.String(), 20))
	}
	return readSuiteKernel(dir, list, arch)
}

// readSuiteKernel reads a one-kernel list of fetch-debian-headers.sh's
// format, its files made absolute.
func readSuiteKernel(dir, list string, arch config.Arch) (LabKernel, error) {
	ks, err := readKernelList(dir, list, arch)
	if err != nil {
		return LabKernel{}, err
	}
	if len(ks) != 1 {
		return LabKernel{}, fmt.Errorf("%s: %d kernels, want 1", filepath.Join(dir, list), len(ks))
	}
	k := ks[0]
	for i, name := range k.Files {
		k.Files[i] = filepath.Join(dir, name)
	}
	return k, nil
}
