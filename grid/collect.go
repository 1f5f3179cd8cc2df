package grid

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// collect turns what the container left in work into results: it writes
// the logs and installs the built files into the output folder.
func (b *Builder) collect(k *config.Kernel, ready []versionBuild, work string, res Result) []BuildResult {
	headersLog, _ := os.ReadFile(filepath.Join(work, "headers.log"))
	status, err := readInt(filepath.Join(work, "headers.status"))
	if err != nil || status != 0 {
		reason := containerReason(res, "preparing kernel headers", status, err) + lastLine(headersLog)
		out := resultsOf(ready, Failed, reason, false, 0)
		b.writeLogs(out, headersLog, res.Log)
		return out
	}
	var out []BuildResult
	for i, vb := range ready {
		out = append(out, b.collectVersion(vb, filepath.Join(work, fmt.Sprintf("v%d", i)), headersLog, res)...)
	}
	return out
}

func (b *Builder) collectVersion(vb versionBuild, dir string, headersLog []byte, res Result) []BuildResult {
	buildLog, _ := os.ReadFile(filepath.Join(dir, "build.log"))
	status, err := readInt(filepath.Join(dir, "status"))
	ms, _ := readInt(filepath.Join(dir, "ms"))
	out := make([]BuildResult, len(vb.entries))
	for i, e := range vb.entries {
		r := BuildResult{Entry: e, Duration: float64(ms) / 1000}
		src := filepath.Join(dir, string(e.Kind)+e.Kind.Ext())
		switch {
		case err != nil || !kindBuilt(e.Kind, status, vb, src):
			r.Status, r.Reason = Failed, containerReason(res, "building "+e.File, status, err)+lastLine(buildLog)
		default:
			r.Status = Built
			var ierr error
			if r.SHA256, r.Size, ierr = config.CopyFile(src, filepath.Join(b.opts.Out, filepath.FromSlash(e.Key))); ierr != nil {
				r.Status, r.Reason, r.Infra = Failed, "install artifact: "+ierr.Error(), true
			}
		}
		out[i] = r
	}
	b.writeLogs(out, append(append(headersLog, '\n'), buildLog...), nil)
	return out
}

// kindBuilt tells whether the kind's output is trustworthy. driverkit's
// script builds the module first, then the probe: when it fails with the
// module on disk and a probe requested, the probe step is what failed.
func kindBuilt(kind config.Kind, status int, vb versionBuild, path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	if status == 0 {
		return true
	}
	return kind == config.Module && len(vb.entries) > 1
}

func containerReason(res Result, what string, status int, err error) string {
	switch {
	case res.TimedOut:
		return what + ": build container timed out"
	case err != nil:
		return fmt.Sprintf("%s: no status (container exit %d)", what, res.ExitCode)
	case status == timedOut:
		return what + ": timed out"
	case status == 0:
		return what + ": succeeded but produced no output file"
	}
	return fmt.Sprintf("%s: exit status %d", what, status)
}

// writeLogs writes log+extra once to each distinct log path (a module and
// a probe of one driver version share one) and points the results at it.
func (b *Builder) writeLogs(rs []BuildResult, log, extra []byte) {
	data := append(append([]byte{}, log...), extra...)
	written := map[string]bool{}
	for i := range rs {
		p := logPath(b.opts.Out, rs[i].Entry)
		if !written[p] && config.WriteFile(p, data) == nil {
			written[p] = true
		}
		if written[p] {
			rs[i].Log = p
		}
		if rs[i].Status == Failed {
			rs[i].LogTail = tail(data, 20)
		}
	}
}

// lastLine is ": <the last line of log that is not a shell trace>", to
// put the likely cause of a failure into its reason.
func lastLine(log []byte) string {
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "+") {
			if len(l) > 200 {
				l = l[:200] + "..."
			}
			return ": " + l
		}
	}
	return ""
}

func tail(data []byte, lines int) string {
	data = bytes.TrimRight(data, "\n")
	parts := strings.Split(string(data), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func readInt(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}
