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

// fetchScript is the header download script, relative to the repository root.
const fetchScript = "deploy/quickstart/fetch-debian-headers.sh"

// kernelList is the file the download script lists arch's kernels in:
// kernels.tsv for amd64, kernels-<arch>.tsv for another architecture.
func kernelList(arch config.Arch) string {
	if arch == config.AMD64 {
		return "kernels.tsv"
	}
	return "kernels-" + string(arch) + ".tsv"
}

// fetchHeaders runs the download script for arch into dir and returns the
// kernels it lists, each file checked to exist. The script's progress goes
// to stderr.
func fetchHeaders(ctx context.Context, repo, dir string, arch config.Arch, count int) ([]LabKernel, error) {
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, fetchScript), "--arch", string(arch), dir, fmt.Sprint(count))
	cmd.Stdout = os.Stderr
	cmd.Stderr = io.MultiWriter(os.Stderr, &tail)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("fetch Debian %s kernel headers with %s (needs apt-get on a Debian host): %w\n%s",
			arch, fetchScript, err, lastLines(tail.String(), 20))
	}
	return readKernels(dir, arch)
}

// readKernels parses dir's kernel list of arch (kernelList): release, uname
// -r, comma-separated files.
func readKernels(dir string, arch config.Arch) ([]LabKernel, error) {
	return readKernelList(dir, kernelList(arch), arch)
}

// readKernelList parses the kernel list dir/list of arch's kernels.
func readKernelList(dir, list string, arch config.Arch) ([]LabKernel, error) {
	path := filepath.Join(dir, list)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kernel list: %w", err)
	}
	var ks []LabKernel
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[0] == "" || f[1] == "" {
			return nil, fmt.Errorf("%s:%d: want release, uname -r and files separated by tabs", path, i+1)
		}
		k := LabKernel{Arch: arch, Release: f[0], UnameR: f[1], Files: strings.Split(f[2], ",")}
		for _, name := range k.Files {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil || name != filepath.Base(name) {
				return nil, fmt.Errorf("%s:%d: header package %q: not in %s", path, i+1, name, dir)
			}
		}
		ks = append(ks, k)
	}
	return ks, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
