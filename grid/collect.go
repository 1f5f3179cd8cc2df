package grid

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// collect turns what the container left in work (the container protocol
// of wrapper.go) into results: it writes the logs, checks each artifact and
// installs those that pass into the output folder. Logs are streamed, never
// held: each is read once while it is copied to its log file, keeping only
// what the result needs (logScan).
func (b *Builder) collect(ctx context.Context, k *config.Kernel, steps []step, work string, res Result, image *ImageRef) []BuildResult {
	hdir := filepath.Join(work, headersStep)
	headersLog := filepath.Join(hdir, logFile)
	status, err := readInt(filepath.Join(hdir, statusFile))
	if err != nil || status != 0 {
		what := containerReason(res, "preparing kernel headers", status, err)
		out := stepResults(steps, Failed, what, false, 0)
		for i := range out {
			headers := newLogScan(0)
			out[i].LogTail = b.writeLogParts(&out[i], logPart{path: headersLog, scan: headers}, logPart{data: res.Log})
			out[i].Reason = what + headers.Reason()
		}
		return out
	}
	unameR := readUnameR(work)
	unameErr := checkUnameR(unameR, k)
	compiler := readLine(filepath.Join(work, compilerFile))
	out := make([]BuildResult, len(steps))
	for i, s := range steps {
		dir := filepath.Join(work, buildStep(i))
		r := BuildResult{Entry: s.Entry}
		build := newLogScan(0)
		logTail := b.writeLogParts(&r, logPart{path: headersLog}, logPart{data: []byte{'\n'}}, logPart{path: filepath.Join(dir, logFile), scan: build})
		log := r.Log
		r = b.collectStep(ctx, k, s, dir, res, image, unameR, unameErr, build.Reason())
		r.Log = log
		r.Compiler = compiler
		if r.Status == Failed {
			r.LogTail = logTail
		}
		out[i] = r
	}
	return out
}

// collectStep is the result of one build: failed unless its script
// succeeded and its artifact passes the checks, and the boot check when
// asked (bootCheck).
// logReason is firstError of the build's own log.
func (b *Builder) collectStep(ctx context.Context, k *config.Kernel, s step, dir string, res Result, image *ImageRef, unameR string, unameErr error, logReason string) BuildResult {
	status, err := readInt(filepath.Join(dir, statusFile))
	ms, _ := readInt(filepath.Join(dir, msFile))
	r := BuildResult{Entry: s.Entry, Duration: float64(ms) / 1000, SourceSHA256: s.sourceSHA256, UnameR: unameR}
	record(&r, s, image)
	fail := func(reason string) BuildResult {
		r.Status, r.Reason = Failed, reason
		return r
	}
	if err != nil || status != 0 {
		return fail(containerReason(res, "building "+s.File, status, err) + logReason)
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
	if reason, infra := b.bootCheck(ctx, &r, k, src); reason != "" {
		if ctx.Err() != nil { // Ctrl-C during the boot: qemu was killed
			r.Status, r.Reason = Skipped, "not installed: run interrupted during the boot check"
			return r
		}
		r.Infra = infra
		return fail(reason)
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

// readLine is the trimmed text of a small file the wrapper wrote ("" when
// it wrote none), printable ASCII only.
func readLine(path string) string {
	data, _ := os.ReadFile(path)
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return -1
		}
		return r
	}, strings.TrimSpace(string(data)))
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

// writeLog writes log as the log file of r and points r at it; a failed
// r keeps its tail.
func (b *Builder) writeLog(r *BuildResult, log []byte) {
	tail := b.writeLogParts(r, logPart{data: log})
	if r.Status == Failed {
		r.LogTail = tail
	}
}

// logPart is a piece of a build's log file: a file, streamed (one that is
// missing or unreadable is empty, as a container that wrote nothing), or
// bytes; scan, when set, reads that piece alone as well.
type logPart struct {
	path string
	data []byte
	scan *logScan
}

// writeLogParts copies parts, in order, into the log file of r (written
// atomically) and points r at it. It returns the tail of the whole log
// (tailLines lines), and fills each part's scan, even when the log file
// cannot be written. Memory stays bounded whatever the logs' sizes.
func (b *Builder) writeLogParts(r *BuildResult, parts ...logPart) string {
	whole := newLogScan(tailLines)
	copied := false
	copyParts := func(w io.Writer) error {
		copied = true
		dst := &stickyWriter{w: w}
		for _, part := range parts {
			ws := []io.Writer{dst, whole}
			if part.scan != nil {
				ws = append(ws, part.scan)
			}
			copyPart(io.MultiWriter(ws...), part)
		}
		return dst.err
	}
	p := logPath(b.opts.Out, r.Entry)
	err := config.ReplaceFile(p, copyParts)
	if !copied {
		_ = copyParts(io.Discard) // the file could not be created: scan anyway
	}
	if err == nil {
		r.Log = p
	}
	return whole.Tail()
}

// copyPart copies one part of a log into w.
func copyPart(w io.Writer, part logPart) {
	if part.path == "" {
		_, _ = w.Write(part.data)
		return
	}
	f, err := os.Open(part.path)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(w, f)
}

// stickyWriter keeps the first error of w and drops what follows it, but
// reports every write as done, so that the scans beside it in a
// MultiWriter still see the whole log when the file cannot be written.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err == nil {
		_, s.err = s.w.Write(p)
	}
	return len(p), nil
}

func readInt(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}
