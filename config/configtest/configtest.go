// Package configtest holds the test helpers that the tests of config and of
// the packages above it (grid, cmd/dbg) share: a git repository to run
// --changed-since against, files written with their folders, and the
// process's peak resident set for benchmarks. It imports nothing of dbg, so
// any package's tests may use it.
package configtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Git runs git with args in dir, as a fixed author and committer, and fails
// tb with git's output if it fails.
func Git(tb testing.TB, dir string, args ...string) {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// WriteFile writes content to path, creating its folders, and fails tb if
// it cannot.
func WriteFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// ResetPeakRSS resets the process's peak resident set (VmHWM; on Linux,
// by writing 5 to /proc/self/clear_refs), so that PeakRSSMB measures from
// here. Elsewhere it does nothing.
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// PeakRSSMB is the process's peak resident set in MiB since the last
// ResetPeakRSS (VmHWM of /proc/self/status), or 0 where it is not known.
func PeakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
