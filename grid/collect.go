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

// collect turns what the container left in work (the container protocol
// of wrapper.go) into results: it writes the logs, checks each artifact and
// installs those that pass into the output folder.
func (b *Builder) collect(k *config.Kernel, steps []step, work string, res Result) []BuildResult {
	hdir := filepath.Join(work, headersStep)
	headersLog, _ := os.ReadFile(filepath.Join(hdir, logFile))
	status, err := readInt(filepath.Join(hdir, statusFile))
	if err != nil || status != 0 {
		reason := containerReason(res, "preparing kernel headers", status, err) + firstError(headersLog)
		out := stepResults(steps, Failed, reason, false, 0)
		for i := range out {
			b.writeLog(&out[i], append(headersLog, res.Log...))
		}
		return out
	}
	unameR := readUnameR(work)
	unameErr := checkUnameR(unameR, k)
	out := make([]BuildResult, len(steps))
	for i, s := range steps {
		r := b.collectStep(k, s, filepath.Join(work, buildStep(i)), res, unameR, unameErr)
		buildLog, _ := os.ReadFile(filepath.Join(work, buildStep(i), logFile))
		b.writeLog(&r, append(append(headersLog, '\n'), buildLog...))
		out[i] = r
	}
	return out
}

// collectStep is the result of one build: failed unless its script
// succeeded and its artifact passes the checks.
func (b *Builder) collectStep(k *config.Kernel, s step, dir string, res Result, unameR string, unameErr error) BuildResult {
	status, err := readInt(filepath.Join(dir, statusFile))
	ms, _ := readInt(filepath.Join(dir, msFile))
	r := BuildResult{Entry: s.Entry, Duration: float64(ms) / 1000, SourceSHA256: s.sourceSHA256, UnameR: unameR}
	fail := func(reason string) BuildResult {
		r.Status, r.Reason = Failed, reason
		return r
	}
	if err != nil || status != 0 {
		buildLog, _ := os.ReadFile(filepath.Join(dir, logFile))
		return fail(containerReason(res, "building "+s.File, status, err) + firstError(buildLog))
	}
	src := filepath.Join(dir, artifactFile)
	if _, err := os.Stat(src); err != nil {
		return fail(containerReason(res, "building "+s.File, status, nil))
	}
	if unameErr != nil {
		return fail("check " + s.File + ": " + unameErr.Error())
	}
	if err := checkArtifact(src, s.Entry, k, unameR); err != nil {
		return fail("check " + s.File + ": " + err.Error())
	}
	sum, size, err := config.CopyFile(src, filepath.Join(b.opts.Out, filepath.FromSlash(s.Key)))
	if err != nil {
		r.Infra = true
		return fail("install artifact: " + err.Error())
	}
	r.Status, r.SHA256, r.Size = Built, sum, size
	return r
}

// readUnameR reads the `uname -r` the wrapper found in the headers ("" if
// none; checkUnameR says why that fails).
func readUnameR(work string) string {
	data, _ := os.ReadFile(filepath.Join(work, unameFile))
	return strings.TrimSpace(string(data))
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

// writeLog writes log as the log file of r and points r at it.
func (b *Builder) writeLog(r *BuildResult, log []byte) {
	p := logPath(b.opts.Out, r.Entry)
	if config.WriteFile(p, log) == nil {
		r.Log = p
	}
	if r.Status == Failed {
		r.LogTail = tail(log, 20)
	}
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
